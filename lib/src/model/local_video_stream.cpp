#include "model/device_manager_impl.h"
#include "model/model.h"

namespace calling {

namespace {

detail::DeviceEntry::Kind kindOf(const VideoDeviceInfo& device)
{
    return device.deviceType == VideoDeviceType::ScreenSharing ? detail::DeviceEntry::Kind::Screen
                                                                : detail::DeviceEntry::Kind::Camera;
}

}  // namespace

LocalVideoStream::LocalVideoStream(VideoDeviceInfo source) : impl_(std::make_shared<Impl>(std::move(source))) {}
LocalVideoStream::LocalVideoStream(VideoDeviceInfo source, std::function<GstElement*()> element)
    : impl_(std::make_shared<Impl>(std::move(source), std::move(element)))
{
}
LocalVideoStream::~LocalVideoStream() = default;

VideoDeviceInfo LocalVideoStream::source() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->source;
}

MediaStreamType LocalVideoStream::mediaStreamType() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->source.deviceType == VideoDeviceType::ScreenSharing ? MediaStreamType::ScreenSharing
                                                                       : MediaStreamType::Video;
}

Result<Done> LocalVideoStream::switchSource(const VideoDeviceInfo& source) { return impl_->switchSource(source); }

LocalVideoStream::Impl::Impl(VideoDeviceInfo device, std::function<GstElement*()> makeElement)
    : source(std::move(device)),
      // An application's source is no device of any list.
      devices(makeElement ? nullptr : DeviceManager::Impl::listing(source.id, kindOf(source))),
      element(std::move(makeElement))
{
}

std::optional<detail::Shared> LocalVideoStream::Impl::shared() const
{
    std::lock_guard lock(mutex);
    if (auto manager = devices.lock())
        return manager->shared;
    return std::nullopt;
}

Result<detail::VideoCapture*> LocalVideoStream::Impl::acquire()
{
    if (!capture) {
        GstElement* made = nullptr;
        if (element) {
            made = element();
        } else if (auto manager = devices.lock()) {
            made = manager->createElement(source.id, kindOf(source));
        }
        if (!made)
            return Error{412, 43013, "no such camera or screen: " + source.id};
        auto created = detail::VideoCapture::create(made);
        if (!created)
            return created.error();
        capture = std::move(created).value();
    }
    users++;
    return capture.get();
}

void LocalVideoStream::Impl::release()
{
    if (--users == 0)
        capture.reset();  // the device is free again
}

Result<int> LocalVideoStream::Impl::addConsumer(detail::VideoCapture::Consumer consumer)
{
    std::lock_guard lock(mutex);
    auto acquired = acquire();
    if (!acquired)
        return acquired.error();
    return acquired.value()->addConsumer(std::move(consumer));
}

void LocalVideoStream::Impl::removeConsumer(int id)
{
    std::lock_guard lock(mutex);
    if (!capture)
        return;
    capture->removeConsumer(id);
    release();
}

Result<std::unique_ptr<detail::ViewBranch>> LocalVideoStream::Impl::attachView(const detail::ViewSettings& settings)
{
    std::lock_guard lock(mutex);
    auto acquired = acquire();
    if (!acquired)
        return acquired.error();
    detail::VideoCapture* running = acquired.value();
    auto branch = detail::ViewBranch::attach(running->bin(), running->tee(), false, settings);
    if (!branch) {
        release();
        return Error{500, 43204, "the view could not be built"};
    }
    return branch;
}

void LocalVideoStream::Impl::detachView(std::unique_ptr<detail::ViewBranch> branch)
{
    std::lock_guard lock(mutex);
    if (!branch)
        return;
    branch.reset();
    release();
}

Result<Done> LocalVideoStream::Impl::switchSource(const VideoDeviceInfo& next)
{
    std::lock_guard lock(mutex);
    if (element)
        return Error{400, 43004, "a stream of the application's own source cannot switch devices"};
    if (next.id == source.id)
        return Error{400, 43005, "the stream already uses this device"};
    auto kind = kindOf(source);
    auto manager = DeviceManager::Impl::listing(next.id, kind);
    if (!manager)
        return Error{400, 43004, "not a " + std::string(kind == detail::DeviceEntry::Kind::Screen ? "screen" : "camera") +
                                     " of the device lists: " + next.id};
    auto entry = manager->find(next.id, kind);
    // A device that can take over the element playing now (the virtual ones can; PipeWire's may)
    // switches between two frames; any other gets an element of its own beside the old one.
    bool inPlace = capture && entry && capture->reconfigureSource([&](GstElement* source) {
        return gst_device_reconfigure_element(entry->device.get(), source);
    });
    if (capture && !inPlace) {
        GstElement* element = manager->createElement(next.id, kind);
        if (!element)
            return Error{400, 43004, "the device is gone: " + next.id};
        if (auto switched = capture->switchSource(element); !switched)
            return switched.error();
    }
    source = next;
    devices = manager;
    return Done{};
}

}  // namespace calling
