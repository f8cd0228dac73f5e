// Renderer and RendererView: showing a video stream, remote or local.
//
//   Renderer renderer(remoteParticipant->videoStreams().at(0));
//   CreateViewOptions options;
//   options.scalingMode = ScalingMode::Fit;
//   options.width = 320; options.height = 320;
//   options.sink = [] { return gst_element_factory_make("appsink", nullptr); };   // a bot's pixels
//   renderer.createView(options, [](Result<std::shared_ptr<RendererView>> view) { ... });
//
// A view is a branch of the pipeline that carries the stream, ending in `callrendersink`, which
// scales the stream into the view (Stretch, Crop, Fit; mirrored or not) and hands the frames to
// the view's target: the GStreamer sink the application chose (an appsink gives raw frames of the
// view's size, a window sink shows them), or, with none chosen, a window sink when a display
// exists and a null sink otherwise. A window handle in the options goes to that sink through
// GstVideoOverlay. A remote stream is decoded only while it has views.
//
// Rendering a LocalVideoStream is a local preview: it starts the camera, and nothing is sent.
//
// A remote stream's views are disposed when it becomes unavailable (the far end stopped its
// video) and when its call ends; createView on an unavailable stream fails with 412/43200.
//
// Threads: methods are safe from any thread; createView completes on the CallClient's callback
// thread. Ownership: the application holds Renderer and views; a view lives until dispose() (of
// the view or its renderer), the events above, or its last handle going.
#pragma once

#include <calling/audio_devices.h>
#include <calling/local_video_stream.h>
#include <calling/remote_video_stream.h>
#include <calling/result.h>

#include <cstdint>
#include <functional>
#include <memory>

namespace calling {

enum class ScalingMode { Stretch, Crop, Fit };

struct CreateViewOptions {
    ScalingMode scalingMode = ScalingMode::Crop;
    bool isMirrored = false;
    // The view's size in pixels; 0 follows the stream (both 0: the stream's own size).
    int width = 0;
    int height = 0;
    // The view's target: a GStreamer video sink, made once when the view is created. Empty: a
    // window sink when a display exists (autovideosink), otherwise a sink that only consumes.
    ElementFactory sink;
    // A native window (an X11 Window, for example) to draw into, through GstVideoOverlay; 0: none.
    uintptr_t windowHandle = 0;
};

struct StreamSize {
    int width = 0;
    int height = 0;
    bool operator==(const StreamSize&) const = default;
};

class RendererView {
public:
    ~RendererView();

    ScalingMode scalingMode() const;
    bool isMirrored() const;
    // The sink the frames go to (the one the options' factory made, or the default one); null
    // once disposed. Owned by the view.
    GstElement* target() const;
    // Takes effect with the next frame.
    void updateScalingMode(ScalingMode mode);
    void dispose();
    bool isDisposed() const;

    struct Impl;

private:
    friend struct Impl;
    explicit RendererView(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_;
};

class Renderer {
public:
    explicit Renderer(std::shared_ptr<RemoteVideoStream> stream);
    explicit Renderer(std::shared_ptr<LocalVideoStream> stream);
    ~Renderer();

    // The stream's frame size, once a view has seen a frame; 0x0 before.
    StreamSize size() const;
    // Fails with 412/43200 for a remote stream that is not available, 404/43202 for one whose
    // call is over, and 500/43204 when the view cannot be built.
    void createView(CreateViewOptions options, std::function<void(Result<std::shared_ptr<RendererView>>)> done);
    // Disposes every view of this renderer.
    void dispose();

    struct Impl;

private:
    std::shared_ptr<Impl> impl_;
};

}  // namespace calling
