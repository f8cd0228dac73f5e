#include "media/view_branch.h"

#include <gst/video/video.h>
#include <gst/video/videooverlay.h>

namespace calling::detail {

std::unique_ptr<ViewBranch> ViewBranch::attach(GstBin* bin, GstElement* tee, bool decode, const ViewSettings& settings)
{
    std::unique_ptr<ViewBranch> branch(new ViewBranch);
    branch->bin_ = RefPtr<GstBin>::ref(bin);
    branch->tee_ = RefPtr<GstElement>::ref(tee);
    branch->queue_ = RefPtr<GstElement>::adopt(gst_element_factory_make("queue", nullptr));
    branch->render_ = RefPtr<GstElement>::adopt(gst_element_factory_make("callrendersink", nullptr));
    // The codec is the call's (VP8 or H.264), and may be known only once the stream's first caps
    // arrive: decodebin picks the decoder then (vp8dec; h264parse and openh264dec).
    if (decode)
        branch->decoder_ = RefPtr<GstElement>::adopt(gst_element_factory_make("decodebin", nullptr));
    if (!branch->queue_ || !branch->render_ || (decode && !branch->decoder_))
        return nullptr;
    // A view shows the newest frame: a slow sink drops old ones instead of holding the stream up.
    g_object_set(branch->queue_.get(), "max-size-buffers", 2, "max-size-bytes", 0, "max-size-time", guint64(0),
                 "leaky", 2 /* downstream */, nullptr);
    g_object_set(branch->render_.get(), "scaling-mode", settings.scalingMode, "mirrored", settings.mirrored, "width",
                 guint(settings.width), "height", guint(settings.height), nullptr);
    if (settings.sink) {
        // Joining a running live pipeline, a sink that waited for preroll would take the pipeline
        // back to PAUSED, where the live source stops: no frame would ever come.
        if (g_object_class_find_property(G_OBJECT_GET_CLASS(settings.sink.get()), "async"))
            g_object_set(settings.sink.get(), "async", FALSE, nullptr);
        g_object_set(branch->render_.get(), "video-sink", settings.sink.get(), nullptr);
    }
    if (settings.windowHandle)
        gst_video_overlay_set_window_handle(GST_VIDEO_OVERLAY(branch->render_.get()), settings.windowHandle);

    gst_bin_add_many(bin, branch->queue_.get(), branch->render_.get(), nullptr);
    bool linked;
    if (decode) {
        gst_bin_add(bin, branch->decoder_.get());
        linked = gst_element_link(branch->queue_.get(), branch->decoder_.get());
        // decodebin's src pad comes with the decoder, on the streaming thread.
        g_signal_connect_object(branch->decoder_.get(), "pad-added", G_CALLBACK(+[](GstElement*, GstPad* pad, gpointer render) {
                                    g_autoptr(GstPad) sink = gst_element_get_static_pad(GST_ELEMENT(render), "sink");
                                    if (GST_PAD_IS_SRC(pad) && !gst_pad_is_linked(sink))
                                        gst_pad_link(pad, sink);
                                }),
                                branch->render_.get(), GConnectFlags(0));
    } else {
        linked = gst_element_link(branch->queue_.get(), branch->render_.get());
    }
    for (GstElement* element : {branch->render_.get(), branch->decoder_.get(), branch->queue_.get()})
        if (element)
            gst_element_sync_state_with_parent(element);
    branch->teePad_ = RefPtr<GstPad>::adopt(gst_element_request_pad_simple(tee, "src_%u"));
    g_autoptr(GstPad) queueSink = gst_element_get_static_pad(branch->queue_.get(), "sink");
    if (!linked || !branch->teePad_ || gst_pad_link(branch->teePad_.get(), queueSink) != GST_PAD_LINK_OK)
        return nullptr;  // the destructor takes the elements out again
    if (decode)
        gst_pad_send_event(queueSink, gst_video_event_new_upstream_force_key_unit(GST_CLOCK_TIME_NONE, TRUE, 0));
    return branch;
}

ViewBranch::~ViewBranch()
{
    // Released first, the tee pad stops feeding the branch; then the branch's own threads stop.
    if (teePad_)
        gst_element_release_request_pad(tee_.get(), teePad_.get());
    for (auto* element : {queue_.get(), decoder_.get(), render_.get()}) {
        if (!element)
            continue;
        gst_element_set_state(element, GST_STATE_NULL);
        if (GST_OBJECT_PARENT(element) == GST_OBJECT(bin_.get()))
            gst_bin_remove(bin_.get(), element);
    }
}

RefPtr<GstElement> ViewBranch::target() const
{
    GstElement* sink = nullptr;
    g_object_get(render_.get(), "video-sink", &sink, nullptr);
    return RefPtr<GstElement>::adopt(sink);
}

}  // namespace calling::detail
