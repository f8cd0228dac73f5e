// LocalVideoStream: video this side can send, from a camera or a screen of the DeviceManager's lists.
//
//   auto devices = client.deviceManager();
//   auto camera = std::make_shared<LocalVideoStream>(devices->getCameraList().at(0));
//   StartCallOptions options;
//   options.videoOptions.localVideoStreams = {camera};      // the call starts with video
//   auto call = agent->call({target}, options);
//   camera->switchSource(devices->getCameraList().at(1));   // the far end sees the other camera
//
// The stream captures only while something uses it: a call that sends it (startVideo, or
// videoOptions) or a view of it (Renderer; a local preview, which is never sent). Frames are sent
// at the device's size scaled down to at most 1280x720, and at most 30 fps. One stream may be sent
// in several calls at once.
//
// A native extension (not in the ACS SDK): a stream from a GStreamer source element the application
// makes, for video that is not a device (another call's picture, a file, a generated test
// picture):
//
//   auto picture = std::make_shared<LocalVideoStream>(
//       VideoDeviceInfo{.id = "bridge:a", .name = "Bridged video", .deviceType = VideoDeviceType::Unknown},
//       [] { return gst_element_factory_make("intervideosrc", nullptr); });
//
// It is sent as a camera stream (MediaStreamType::Video). The factory is called, on the thread
// that starts the capture (the library thread for a call), each time the capture starts; the
// library takes over the element returned (floating or full). Such a stream cannot switchSource
// (400/43004) and has no local preview (createView fails with 404/43202).
//
// Threads: methods are safe from any thread and complete before they return (they only touch
// local devices). A handle stays valid as long as it is held.
#pragma once

#include <calling/device_manager.h>
#include <calling/remote_video_stream.h>
#include <calling/result.h>

#include <functional>
#include <memory>

typedef struct _GstElement GstElement;

namespace calling {

class LocalVideoStream {
public:
    // `source` comes from DeviceManager::getCameraList() or getScreenList() of a living CallClient.
    explicit LocalVideoStream(VideoDeviceInfo source);
    // A stream from the application's element (see above); `source` only names it.
    LocalVideoStream(VideoDeviceInfo source, std::function<GstElement*()> element);
    ~LocalVideoStream();
    LocalVideoStream(const LocalVideoStream&) = delete;
    LocalVideoStream& operator=(const LocalVideoStream&) = delete;

    VideoDeviceInfo source() const;
    // ScreenSharing for a screen, Video for a camera.
    MediaStreamType mediaStreamType() const;

    // Changes the device while the stream goes on being sent (no renegotiation; the far end's
    // picture changes with the next frame of the new device). Fails with 400/43005 for the device
    // in use, 400/43004 for a device that is not a camera (or screen) of the lists, and 412/43000
    // when the device cannot start; the old one goes on then.
    Result<Done> switchSource(const VideoDeviceInfo& source);

    struct Impl;
    const std::shared_ptr<Impl>& impl() const { return impl_; }

private:
    std::shared_ptr<Impl> impl_;
};

}  // namespace calling
