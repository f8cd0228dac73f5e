// DeviceManager: the cameras, microphones and speakers a call can use, and which ones it uses.
//
// Devices come from GStreamer's device monitor: the system's real devices, plus the calling
// plugin's virtual test devices (two cameras, a screen, two microphones at 440 Hz and 880 Hz, a
// null speaker), so that headless machines and tests have devices. A device is named by a stable
// `id`; virtual devices' ids start with "calling-virtual:".
//
//   auto devices = client.deviceManager();
//   for (auto& microphone : devices->getMicrophoneList()) ...
//   devices->setMicrophone(devices->getMicrophoneList().at(1));   // live calls switch at once
//
// The selected microphone and speaker are used by every call of the client's agents, and switching
// them takes effect in calls in progress. With none selected, a call uses AudioDevices (see
// audio_devices.h) or the defaults.
//
// Permissions on Linux: there is no prompt. getPermissionState() says Granted when a device of the
// kind exists and can be opened by this process (its element reaches READY), Denied when devices
// exist but none can be opened (for example /dev/video* or the sound server refuse this user), and
// Unknown when there is no device of the kind at all. askDevicePermission() checks the same, now.
//
// Threads: the lists and getters are safe from any thread; events and completions fire on the
// CallClient's callback thread. The DeviceManager lives as long as its CallClient.
#pragma once

#include <calling/events.h>
#include <calling/result.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace calling {

enum class VideoDeviceType { Unknown, UsbCamera, CaptureAdapter, Virtual, ScreenSharing };
enum class AudioDeviceType { Microphone, Speaker };

struct VideoDeviceInfo {
    std::string id;
    std::string name;
    VideoDeviceType deviceType = VideoDeviceType::Unknown;
    bool operator==(const VideoDeviceInfo& other) const { return id == other.id; }
};

struct AudioDeviceInfo {
    std::string id;
    std::string name;
    AudioDeviceType deviceType = AudioDeviceType::Microphone;
    bool isSystemDefault = false;
    bool operator==(const AudioDeviceInfo& other) const { return id == other.id; }
};

enum class PermissionState { Granted, Denied, Prompt, Unknown };
enum class PermissionKind { Camera, Microphone };

struct PermissionConstraints {
    bool audio = false;
    bool video = false;
};

struct DeviceAccess {
    bool audio = false;
    bool video = false;
};

class DeviceManager {
public:
    ~DeviceManager();

    std::vector<VideoDeviceInfo> getCameraList() const;
    std::vector<AudioDeviceInfo> getMicrophoneList() const;
    std::vector<AudioDeviceInfo> getSpeakerList() const;
    // Screens that can be shared (virtual or captured), for startScreenSharing.
    std::vector<VideoDeviceInfo> getScreenList() const;

    std::optional<AudioDeviceInfo> getMicrophone() const;
    std::optional<AudioDeviceInfo> getSpeaker() const;
    // Fails with 400/43004 for a device that is not in the list (or not of the kind).
    void setMicrophone(const AudioDeviceInfo& microphone, std::function<void(Result<Done>)> done = {});
    void setSpeaker(const AudioDeviceInfo& speaker, std::function<void(Result<Done>)> done = {});

    PermissionState getPermissionState(PermissionKind kind) const;
    void askDevicePermission(PermissionConstraints constraints, std::function<void(DeviceAccess)> done);

    Subscription onVideoDevicesUpdated(std::function<void(const CollectionUpdate<VideoDeviceInfo>&)> handler);
    Subscription onAudioDevicesUpdated(std::function<void(const CollectionUpdate<AudioDeviceInfo>&)> handler);
    Subscription onSelectedMicrophoneChanged(std::function<void()> handler);
    Subscription onSelectedSpeakerChanged(std::function<void()> handler);

    struct Impl;

private:
    friend struct Impl;
    explicit DeviceManager(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_;
};

}  // namespace calling
