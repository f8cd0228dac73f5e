// One RendererView's branch of a pipeline: from a tee that carries a video stream to
// callrendersink, which scales it into the view and hands it to the application's sink.
//
//   tee ─▶ queue ─▶ [decodebin ─▶] callrendersink (video-sink: the application's, or its default)
//
// A remote stream's tee carries VP8 or H.264 as it arrives, so its branches decode (only while someone
// watches); a local capture's tee carries raw frames. A decoding branch asks upstream for a
// keyframe when it joins, so it starts at once instead of at the sender's next keyframe.
//
// Threads: attach() may run on a streaming thread (a stream that appears with views waiting) or
// any other; detach() must not run on the tee's streaming thread (it stops the branch's elements).
#pragma once

#include "gstreamer/ref_ptr.h"

#include <gst/gst.h>

#include <cstdint>
#include <memory>

namespace calling::detail {

struct ViewSettings {
    int scalingMode = 0;  // callrendersink's scaling-mode: 0 stretch, 1 crop, 2 fit
    bool mirrored = false;
    int width = 0;   // 0: follow the stream
    int height = 0;
    RefPtr<GstElement> sink;  // the application's video sink, or null for callrendersink's default
    uintptr_t windowHandle = 0;
};

class ViewBranch {
public:
    // Null when an element is missing or the branch cannot link.
    static std::unique_ptr<ViewBranch> attach(GstBin* bin, GstElement* tee, bool decode, const ViewSettings& settings);
    ~ViewBranch();  // detaches

    GstElement* renderSink() const { return render_.get(); }
    // The sink the frames end in: the application's, or the one callrendersink made.
    RefPtr<GstElement> target() const;

private:
    ViewBranch() = default;
    RefPtr<GstBin> bin_;
    RefPtr<GstElement> tee_;
    RefPtr<GstPad> teePad_;
    RefPtr<GstElement> queue_;
    RefPtr<GstElement> decoder_;
    RefPtr<GstElement> render_;
};

}  // namespace calling::detail
