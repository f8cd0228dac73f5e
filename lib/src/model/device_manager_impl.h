// The insides of DeviceManager: a GstDeviceMonitor watched on the library thread, the devices it
// lists, and the selected microphone and speaker, which calls in progress follow.
#pragma once

#include <calling/device_manager.h>

#include "gstreamer/ref_ptr.h"
#include "model/model.h"
#include "protocol/glib_ptr.h"

#include <gst/gst.h>

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace calling {

namespace detail {

struct DeviceEntry {
    enum class Kind { None, Camera, Screen, Microphone, Speaker };
    std::string id;
    std::string name;
    Kind kind = Kind::None;
    VideoDeviceInfo video;  // Camera, Screen
    AudioDeviceInfo audio;  // Microphone, Speaker
    RefPtr<GstDevice> device;
};

DeviceEntry describeDevice(GstDevice* device);

}  // namespace detail

struct DeviceManager::Impl : std::enable_shared_from_this<DeviceManager::Impl> {
    explicit Impl(detail::Shared shared) : shared(std::move(shared)) {}

    static std::shared_ptr<Impl> create(detail::Shared shared);
    // The living DeviceManager that lists a camera or screen of this id: LocalVideoStream(device)
    // is given only the device's description, and finds its manager (its devices, its callback
    // thread) here.
    static std::shared_ptr<Impl> listing(const std::string& id, detail::DeviceEntry::Kind kind);
    static std::shared_ptr<DeviceManager> makeHandle(std::shared_ptr<Impl> impl)
    {
        return std::shared_ptr<DeviceManager>(new DeviceManager(std::move(impl)));
    }

    // Library thread.
    void start(GMainContext* libraryContext);
    void stop();
    // A new element for the device, or null when it is gone.
    GstElement* createElement(const std::string& id, detail::DeviceEntry::Kind kind) const;
    std::optional<std::string> selected(detail::DeviceEntry::Kind kind) const;
    void select(const AudioDeviceInfo& device, detail::DeviceEntry::Kind kind, std::function<void(Result<Done>)> done);
    PermissionState permission(detail::DeviceEntry::Kind kind) const;
    std::optional<detail::DeviceEntry> find(const std::string& id, detail::DeviceEntry::Kind kind) const;
    void onMonitorMessage(GstMessage* message);

    detail::Shared shared;
    detail::RefPtr<GstDeviceMonitor> monitor;
    protocol::SourcePtr busWatch;
    // Told (on the library thread) when the selected microphone or speaker changes; by key.
    std::map<const void*, std::function<void(detail::DeviceEntry::Kind)>> selectionListeners;

    mutable std::mutex mutex;
    std::vector<detail::DeviceEntry> entries;
    std::optional<AudioDeviceInfo> microphone;
    std::optional<AudioDeviceInfo> speaker;

    Event<const CollectionUpdate<VideoDeviceInfo>&> videoDevicesUpdated;
    Event<const CollectionUpdate<AudioDeviceInfo>&> audioDevicesUpdated;
    Event<> selectedMicrophoneChanged;
    Event<> selectedSpeakerChanged;
};

}  // namespace calling
