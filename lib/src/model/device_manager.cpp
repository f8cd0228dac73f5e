#include "model/device_manager_impl.h"

#include <algorithm>

GST_DEBUG_CATEGORY_STATIC(devices_debug);
#define GST_CAT_DEFAULT devices_debug

namespace calling {

namespace {

std::string stringProperty(const GstStructure* properties, const char* name)
{
    const char* value = properties ? gst_structure_get_string(properties, name) : nullptr;
    return value ? value : "";
}

bool booleanProperty(const GstStructure* properties, const char* name)
{
    gboolean value = FALSE;
    return properties && gst_structure_get_boolean(properties, name, &value) && value;
}

// Every DeviceManager of the process, for DeviceManager::Impl::listing.
std::mutex registryMutex;
std::vector<std::weak_ptr<DeviceManager::Impl>> registry;

}  // namespace

std::shared_ptr<DeviceManager::Impl> DeviceManager::Impl::listing(const std::string& id, detail::DeviceEntry::Kind kind)
{
    std::lock_guard lock(registryMutex);
    std::erase_if(registry, [](const std::weak_ptr<Impl>& manager) { return manager.expired(); });
    for (const auto& weak : registry)
        if (auto manager = weak.lock(); manager && manager->find(id, kind))
            return manager;
    return nullptr;
}

detail::DeviceEntry detail::describeDevice(GstDevice* device)
{
    DeviceEntry entry;
    entry.device = detail::RefPtr<GstDevice>::ref(device);
    g_autofree gchar* name = gst_device_get_display_name(device);
    entry.name = name ? name : "";
    GstStructure* properties = gst_device_get_properties(device);
    bool isVirtual = booleanProperty(properties, "calling.virtual");
    std::string id = stringProperty(properties, "calling.device-id");
    if (isVirtual) {
        if (!g_str_has_prefix(id.c_str(), "calling-virtual:"))
            id = "calling-virtual:" + (id.empty() ? entry.name : id);
    } else {
        // A path the system gives the device, stable across runs; the name as a last resort.
        for (const char* key : {"object.path", "api.v4l2.path", "device.path", "api.alsa.path", "node.name"}) {
            id = stringProperty(properties, key);
            if (!id.empty())
                break;
        }
        if (id.empty())
            id = entry.name;
    }
    if (gst_device_has_classes(device, "Video/Source")) {
        bool screen = booleanProperty(properties, "calling.screen");
        entry.kind = screen ? DeviceEntry::Kind::Screen : DeviceEntry::Kind::Camera;
        entry.video = VideoDeviceInfo{id, entry.name,
                                      screen ? VideoDeviceType::ScreenSharing
                                             : isVirtual ? VideoDeviceType::Virtual : VideoDeviceType::UsbCamera};
    } else if (gst_device_has_classes(device, "Audio/Source")) {
        entry.kind = DeviceEntry::Kind::Microphone;
        entry.audio = AudioDeviceInfo{id, entry.name, AudioDeviceType::Microphone,
                                      booleanProperty(properties, "is-default")};
    } else if (gst_device_has_classes(device, "Audio/Sink")) {
        entry.kind = DeviceEntry::Kind::Speaker;
        entry.audio = AudioDeviceInfo{id, entry.name, AudioDeviceType::Speaker, booleanProperty(properties, "is-default")};
    }
    entry.id = id;
    if (properties)
        gst_structure_free(properties);
    return entry;
}

std::shared_ptr<DeviceManager::Impl> DeviceManager::Impl::create(detail::Shared shared)
{
    static gsize once = 0;
    if (g_once_init_enter(&once)) {
        GST_DEBUG_CATEGORY_INIT(devices_debug, "calldevices", 0, "gst-calling: the device manager");
        g_once_init_leave(&once, 1);
    }
    auto impl = std::make_shared<Impl>(std::move(shared));
    impl->monitor = detail::RefPtr<GstDeviceMonitor>::adopt(gst_device_monitor_new());
    for (const char* deviceClass : {"Video/Source", "Audio/Source", "Audio/Sink"})
        gst_device_monitor_add_filter(impl->monitor.get(), deviceClass, nullptr);
    std::lock_guard lock(registryMutex);
    registry.push_back(impl);
    return impl;
}

void DeviceManager::Impl::start(GMainContext* libraryContext)
{
    GstBus* bus = gst_device_monitor_get_bus(monitor.get());
    busWatch.reset(gst_bus_create_watch(bus));
    gst_object_unref(bus);
    g_source_set_callback(busWatch.get(), G_SOURCE_FUNC(+[](GstBus*, GstMessage* message, gpointer data) -> gboolean {
        static_cast<Impl*>(data)->onMonitorMessage(message);
        return G_SOURCE_CONTINUE;
    }), this, nullptr);
    g_source_attach(busWatch.get(), libraryContext);
    if (!gst_device_monitor_start(monitor.get()))
        GST_WARNING("the device monitor did not start; device lists come from a one-off probe");
    GList* devices = gst_device_monitor_get_devices(monitor.get());
    std::lock_guard lock(mutex);
    for (GList* item = devices; item; item = item->next) {
        auto entry = detail::describeDevice(GST_DEVICE(item->data));
        if (entry.kind != detail::DeviceEntry::Kind::None)
            entries.push_back(std::move(entry));
    }
    g_list_free_full(devices, gst_object_unref);
}

void DeviceManager::Impl::stop()
{
    busWatch.reset();
    if (monitor)
        gst_device_monitor_stop(monitor.get());
}

void DeviceManager::Impl::onMonitorMessage(GstMessage* message)
{
    bool added = GST_MESSAGE_TYPE(message) == GST_MESSAGE_DEVICE_ADDED;
    if (!added && GST_MESSAGE_TYPE(message) != GST_MESSAGE_DEVICE_REMOVED)
        return;
    GstDevice* device = nullptr;
    if (added)
        gst_message_parse_device_added(message, &device);
    else
        gst_message_parse_device_removed(message, &device);
    auto entry = detail::describeDevice(device);
    gst_object_unref(device);
    if (entry.kind == detail::DeviceEntry::Kind::None)
        return;
    {
        std::lock_guard lock(mutex);
        auto same = [&](const detail::DeviceEntry& other) { return other.id == entry.id; };
        if (added) {
            if (std::any_of(entries.begin(), entries.end(), same))
                return;
            entries.push_back(entry);
        } else {
            std::erase_if(entries, same);
        }
    }
    GST_INFO("device %s: %s", added ? "added" : "removed", entry.id.c_str());
    auto self = shared_from_this();
    shared.fire([self, entry, added] {
        if (entry.kind == detail::DeviceEntry::Kind::Microphone || entry.kind == detail::DeviceEntry::Kind::Speaker) {
            CollectionUpdate<AudioDeviceInfo> update;
            (added ? update.added : update.removed).push_back(entry.audio);
            self->audioDevicesUpdated.emit(update);
        } else {
            CollectionUpdate<VideoDeviceInfo> update;
            (added ? update.added : update.removed).push_back(entry.video);
            self->videoDevicesUpdated.emit(update);
        }
    });
}

std::optional<detail::DeviceEntry> DeviceManager::Impl::find(const std::string& id, detail::DeviceEntry::Kind kind) const
{
    std::lock_guard lock(mutex);
    for (const auto& entry : entries)
        if (entry.id == id && entry.kind == kind)
            return entry;
    return std::nullopt;
}

GstElement* DeviceManager::Impl::createElement(const std::string& id, detail::DeviceEntry::Kind kind) const
{
    auto entry = find(id, kind);
    return entry ? gst_device_create_element(entry->device.get(), nullptr) : nullptr;
}

std::optional<std::string> DeviceManager::Impl::selected(detail::DeviceEntry::Kind kind) const
{
    std::lock_guard lock(mutex);
    const auto& choice = kind == detail::DeviceEntry::Kind::Microphone ? microphone : speaker;
    if (!choice)
        return std::nullopt;
    return choice->id;
}

void DeviceManager::Impl::select(const AudioDeviceInfo& device, detail::DeviceEntry::Kind kind,
                                 std::function<void(Result<Done>)> done)
{
    auto self = shared_from_this();
    shared.work([self, device, kind, done = std::move(done)] {
        if (!self->find(device.id, kind)) {
            if (done)
                self->shared.fire([done] { done(Error{400, 43004, "no such device"}); });
            return;
        }
        {
            std::lock_guard lock(self->mutex);
            (kind == detail::DeviceEntry::Kind::Microphone ? self->microphone : self->speaker) = device;
        }
        // Calls in progress switch now, on this thread.
        auto listeners = self->selectionListeners;
        for (auto& [key, listener] : listeners)
            listener(kind);
        self->shared.fire([self, kind, done] {
            (kind == detail::DeviceEntry::Kind::Microphone ? self->selectedMicrophoneChanged
                                                          : self->selectedSpeakerChanged)
                .emit();
            if (done)
                done(Done{});
        });
    });
}

PermissionState DeviceManager::Impl::permission(detail::DeviceEntry::Kind kind) const
{
    std::vector<detail::DeviceEntry> candidates;
    {
        std::lock_guard lock(mutex);
        for (const auto& entry : entries)
            if (entry.kind == kind)
                candidates.push_back(entry);
    }
    if (candidates.empty())
        return PermissionState::Unknown;
    for (const auto& entry : candidates) {
        GstElement* element = gst_device_create_element(entry.device.get(), nullptr);
        if (!element)
            continue;
        gst_object_ref_sink(element);
        // READY opens the device (the node, the sound server connection) without streaming.
        bool opened = gst_element_set_state(element, GST_STATE_READY) != GST_STATE_CHANGE_FAILURE;
        gst_element_set_state(element, GST_STATE_NULL);
        gst_object_unref(element);
        if (opened)
            return PermissionState::Granted;
    }
    return PermissionState::Denied;
}

DeviceManager::DeviceManager(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
DeviceManager::~DeviceManager() = default;

namespace {

template <typename Info>
std::vector<Info> listOf(const DeviceManager::Impl& impl, detail::DeviceEntry::Kind kind, Info detail::DeviceEntry::*field)
{
    std::lock_guard lock(impl.mutex);
    std::vector<Info> out;
    for (const auto& entry : impl.entries)
        if (entry.kind == kind)
            out.push_back(entry.*field);
    return out;
}

}  // namespace

std::vector<VideoDeviceInfo> DeviceManager::getCameraList() const
{
    return listOf(*impl_, detail::DeviceEntry::Kind::Camera, &detail::DeviceEntry::video);
}

std::vector<VideoDeviceInfo> DeviceManager::getScreenList() const
{
    return listOf(*impl_, detail::DeviceEntry::Kind::Screen, &detail::DeviceEntry::video);
}

std::vector<AudioDeviceInfo> DeviceManager::getMicrophoneList() const
{
    return listOf(*impl_, detail::DeviceEntry::Kind::Microphone, &detail::DeviceEntry::audio);
}

std::vector<AudioDeviceInfo> DeviceManager::getSpeakerList() const
{
    return listOf(*impl_, detail::DeviceEntry::Kind::Speaker, &detail::DeviceEntry::audio);
}

std::optional<AudioDeviceInfo> DeviceManager::getMicrophone() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->microphone;
}

std::optional<AudioDeviceInfo> DeviceManager::getSpeaker() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->speaker;
}

void DeviceManager::setMicrophone(const AudioDeviceInfo& microphone, std::function<void(Result<Done>)> done)
{
    impl_->select(microphone, detail::DeviceEntry::Kind::Microphone, std::move(done));
}

void DeviceManager::setSpeaker(const AudioDeviceInfo& speaker, std::function<void(Result<Done>)> done)
{
    impl_->select(speaker, detail::DeviceEntry::Kind::Speaker, std::move(done));
}

PermissionState DeviceManager::getPermissionState(PermissionKind kind) const
{
    return impl_->permission(kind == PermissionKind::Camera ? detail::DeviceEntry::Kind::Camera
                                                             : detail::DeviceEntry::Kind::Microphone);
}

void DeviceManager::askDevicePermission(PermissionConstraints constraints, std::function<void(DeviceAccess)> done)
{
    auto impl = impl_;
    impl->shared.work([impl, constraints, done = std::move(done)] {
        DeviceAccess access;
        access.audio = constraints.audio && impl->permission(detail::DeviceEntry::Kind::Microphone) == PermissionState::Granted;
        access.video = constraints.video && impl->permission(detail::DeviceEntry::Kind::Camera) == PermissionState::Granted;
        if (done)
            impl->shared.fire([done, access] { done(access); });
    });
}

Subscription DeviceManager::onVideoDevicesUpdated(std::function<void(const CollectionUpdate<VideoDeviceInfo>&)> handler)
{
    return impl_->videoDevicesUpdated.subscribe(std::move(handler));
}

Subscription DeviceManager::onAudioDevicesUpdated(std::function<void(const CollectionUpdate<AudioDeviceInfo>&)> handler)
{
    return impl_->audioDevicesUpdated.subscribe(std::move(handler));
}

Subscription DeviceManager::onSelectedMicrophoneChanged(std::function<void()> handler)
{
    return impl_->selectedMicrophoneChanged.subscribe(std::move(handler));
}

Subscription DeviceManager::onSelectedSpeakerChanged(std::function<void()> handler)
{
    return impl_->selectedSpeakerChanged.subscribe(std::move(handler));
}

}  // namespace calling
