// A LocalVideoStream's capture: a pipeline of its own that turns a camera or screen into frames
// fit for calls, and hands them to every call that sends the stream and to local previews.
//
//   source ─▶ videoconvert ─▶ videoscale ─▶ videorate ─▶ capsfilter ─┐
//                                               (the next source) ─┤ input-selector ─▶ tee ─▶ appsink ─▶ calls
//                                                                                         └─▶ previews (ViewBranch)
//
// Frames are I420, at most 1280x720 (scaled down keeping the aspect ratio) and 30 fps. Calls get
// them through `Consumer`s, called on the capture's streaming thread for each frame; each call
// pushes them into an appsrc of its own pipeline, so the capture's clock and the calls' are
// independent and one capture feeds any number of calls.
//
// switchSource() adds the next source beside the current one and switches over on its first
// frame, then stops the old one: the far end sees no gap and nothing is renegotiated.
//
// Threads: every method is safe from any thread but the capture's streaming threads.
#pragma once

#include <calling/result.h>

#include "gstreamer/ref_ptr.h"

#include <gst/gst.h>

typedef struct _GstAppSink GstAppSink;

#include <functional>
#include <map>
#include <memory>
#include <mutex>

namespace calling::detail {

class VideoCapture {
public:
    using Consumer = std::function<void(GstSample*)>;

    // Takes over `source` (floating or full). Fails when the source cannot start.
    static Result<std::unique_ptr<VideoCapture>> create(GstElement* source);
    ~VideoCapture();

    int addConsumer(Consumer consumer);
    // Once it returns, the consumer is not called again.
    void removeConsumer(int id);

    // Takes over `source`. Fails, keeping the current source, when the new one cannot start.
    Result<Done> switchSource(GstElement* source);
    // Lets `change` turn the source element that plays now into the next device in place (what
    // gst_device_reconfigure_element does for devices that support it): no new element, no gap.
    bool reconfigureSource(const std::function<bool(GstElement* source)>& change);

    GstBin* bin() const { return GST_BIN(pipeline_.get()); }
    GstElement* tee() const { return tee_; }

private:
    VideoCapture() = default;
    // The source with its conversion, as a bin with one src pad, linked to a new selector pad.
    GstPad* addSourceChain(GstElement* source);
    static GstFlowReturn onSample(GstAppSink* appsink, gpointer self);
    static GstPadProbeReturn onFirstFrame(GstPad* pad, GstPadProbeInfo* info, gpointer self);

    RefPtr<GstElement> pipeline_;
    GstElement* selector_ = nullptr;  // owned by pipeline_
    GstElement* tee_ = nullptr;       // owned by pipeline_
    GstElement* current_ = nullptr;   // the source chain playing, owned by pipeline_
    GstElement* source_ = nullptr;    // the source element in it

    std::mutex consumersMutex_;  // held while consumers run
    std::map<int, Consumer> consumers_;
    int nextConsumer_ = 0;
};

}  // namespace calling::detail
