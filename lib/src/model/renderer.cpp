#include "model/model.h"

namespace calling {

namespace detail {

void ViewList::add(const std::shared_ptr<RendererView::Impl>& view)
{
    std::lock_guard lock(mutex);
    std::erase_if(views, [](const std::weak_ptr<RendererView::Impl>& weak) { return weak.expired(); });
    views.push_back(view);
}

void ViewList::disposeAll()
{
    std::vector<std::weak_ptr<RendererView::Impl>> all;
    {
        std::lock_guard lock(mutex);
        all.swap(views);
    }
    for (auto& weak : all)
        if (auto view = weak.lock())
            view->dispose();
}

StreamSize ViewList::currentSize()
{
    std::lock_guard lock(mutex);
    for (auto& weak : views) {
        auto view = weak.lock();
        if (!view)
            continue;
        std::lock_guard viewLock(view->mutex);
        if (!view->branch)
            continue;
        guint width = 0, height = 0;
        g_object_get(view->branch->renderSink(), "source-width", &width, "source-height", &height, nullptr);
        if (width && height)
            size = StreamSize{int(width), int(height)};
    }
    return size;
}

}  // namespace detail

namespace {

int renderSinkMode(ScalingMode mode)
{
    // callrendersink's CallScalingMode: stretch, crop, fit.
    switch (mode) {
    case ScalingMode::Stretch: return 0;
    case ScalingMode::Crop: return 1;
    case ScalingMode::Fit: return 2;
    }
    return 1;
}

detail::ViewSettings settingsFrom(const CreateViewOptions& options)
{
    detail::ViewSettings settings;
    settings.scalingMode = renderSinkMode(options.scalingMode);
    settings.mirrored = options.isMirrored;
    settings.width = std::max(0, options.width);
    settings.height = std::max(0, options.height);
    settings.windowHandle = options.windowHandle;
    if (options.sink)
        settings.sink = detail::RefPtr<GstElement>::adopt(options.sink());
    return settings;
}

std::shared_ptr<RendererView::Impl> newView(const CreateViewOptions& options, std::unique_ptr<detail::ViewBranch> branch)
{
    auto view = std::make_shared<RendererView::Impl>();
    view->mode = options.scalingMode;
    view->mirrored = options.isMirrored;
    view->target = branch->target();
    view->branch = std::move(branch);
    return view;
}

}  // namespace

void RendererView::Impl::dispose()
{
    std::unique_ptr<detail::ViewBranch> going;
    {
        std::lock_guard lock(mutex);
        if (disposed)
            return;
        disposed = true;
        going = std::move(branch);
        target.reset();
    }
    if (local)
        local->detachView(std::move(going));
}

RendererView::RendererView(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
RendererView::~RendererView() { impl_->dispose(); }

ScalingMode RendererView::scalingMode() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->mode;
}

bool RendererView::isMirrored() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->mirrored;
}

GstElement* RendererView::target() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->target.get();
}

void RendererView::updateScalingMode(ScalingMode mode)
{
    std::lock_guard lock(impl_->mutex);
    impl_->mode = mode;
    if (impl_->branch)
        g_object_set(impl_->branch->renderSink(), "scaling-mode", renderSinkMode(mode), nullptr);
}

void RendererView::dispose() { impl_->dispose(); }

bool RendererView::isDisposed() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->disposed;
}

struct Renderer::Impl {
    std::shared_ptr<RemoteVideoStream::Impl> remote;
    std::shared_ptr<LocalVideoStream::Impl> local;
    detail::ViewList views;  // this renderer's own, for dispose()
};

Renderer::Renderer(std::shared_ptr<RemoteVideoStream> stream) : impl_(std::make_shared<Impl>())
{
    if (stream)
        impl_->remote = RemoteVideoStream::Impl::of(*stream);
}

Renderer::Renderer(std::shared_ptr<LocalVideoStream> stream) : impl_(std::make_shared<Impl>())
{
    if (stream)
        impl_->local = stream->impl();
}

Renderer::~Renderer() = default;

StreamSize Renderer::size() const { return impl_->views.currentSize(); }

void Renderer::dispose() { impl_->views.disposeAll(); }

void Renderer::createView(CreateViewOptions options, std::function<void(Result<std::shared_ptr<RendererView>>)> done)
{
    using ViewResult = Result<std::shared_ptr<RendererView>>;
    auto impl = impl_;
    if (auto remote = impl->remote) {
        // Views are made on the library thread, which owns the call's pipeline; the completion
        // comes on the callback thread, also when the call ended meanwhile.
        remote->shared.work([impl, remote, options = std::move(options), done = std::move(done)]() mutable {
            auto call = remote->call.lock();
            auto finish = [&](ViewResult result) {
                if (!done)
                    return;
                const detail::Shared& via = call ? call->shared : remote->shared;
                via.complete([done = std::move(done), result = std::move(result)] { done(result); });
            };
            if (!call || call->ended || !call->pipeline)
                return finish(Error{404, 43202, "the stream's call is over"});
            if (!remote->coreAvailable)
                return finish(Error{412, 43200, "the stream is not available"});
            GstElement* tee = call->pipeline->remoteVideo(remote->participantId, remote->msid);
            auto branch = tee ? detail::ViewBranch::attach(call->pipeline->bin(), tee, true, settingsFrom(options)) : nullptr;
            if (!branch)
                return finish(Error{500, 43204, "the view could not be built"});
            auto view = newView(options, std::move(branch));
            remote->views.add(view);
            impl->views.add(view);
            finish(RendererView::Impl::makeHandle(view));
        });
        return;
    }
    auto local = impl->local;
    auto shared = local ? local->shared() : std::nullopt;
    if (!shared) {
        // No CallClient lists the device: there is no callback thread to answer on.
        if (done)
            done(Error{404, 43202, "no CallClient's DeviceManager lists this stream's device"});
        return;
    }
    shared->work([impl, local, shared = *shared, options = std::move(options), done = std::move(done)]() mutable {
        auto attached = local->attachView(settingsFrom(options));
        ViewResult result = Error{500, 43204, "the view could not be built"};
        if (!attached) {
            result = attached.error();
        } else {
            auto view = newView(options, std::move(attached).value());
            view->local = local;
            local->views.add(view);
            impl->views.add(view);
            result = RendererView::Impl::makeHandle(view);
        }
        if (done)
            shared.complete([done = std::move(done), result = std::move(result)] { done(result); });
    });
}

}  // namespace calling
