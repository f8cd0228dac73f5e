#include "media/video_capture.h"

#include <gst/app/gstappsink.h>

GST_DEBUG_CATEGORY_STATIC(video_capture_debug);
#define GST_CAT_DEFAULT video_capture_debug

namespace calling::detail {

namespace {

// Sensible for calls: what vp8enc at 1 Mb/s carries well, and what every sink can show.
constexpr const char* kCallVideoCaps =
    "video/x-raw,format=I420,width=[16,1280],height=[16,720],framerate=[1/1,30/1],pixel-aspect-ratio=1/1";

void initDebug()
{
    static gsize once = 0;
    if (g_once_init_enter(&once)) {
        GST_DEBUG_CATEGORY_INIT(video_capture_debug, "videocapture", 0, "gst-calling: local video captures");
        g_once_init_leave(&once, 1);
    }
}

// A switch in flight. It holds references of its own, so that it may finish after the capture is gone.
struct Switch {
    RefPtr<GstElement> pipeline;
    RefPtr<GstElement> selector;
    RefPtr<GstElement> old;  // the source chain to stop
};

void retire(const Switch& change)
{
    GstElement* chain = change.old.get();
    g_autoptr(GstPad) chainSrc = gst_element_get_static_pad(chain, "src");
    g_autoptr(GstPad) selectorPad = chainSrc ? gst_pad_get_peer(chainSrc) : nullptr;
    gst_element_set_state(chain, GST_STATE_NULL);
    if (selectorPad) {
        gst_pad_unlink(chainSrc, selectorPad);
        gst_element_release_request_pad(change.selector.get(), selectorPad);
    }
    if (GST_OBJECT_PARENT(chain) == GST_OBJECT(change.pipeline.get()))
        gst_bin_remove(GST_BIN(change.pipeline.get()), chain);
}

}  // namespace

Result<std::unique_ptr<VideoCapture>> VideoCapture::create(GstElement* source)
{
    initDebug();
    auto owned = RefPtr<GstElement>::adopt(source);
    std::unique_ptr<VideoCapture> self(new VideoCapture);
    self->pipeline_ = RefPtr<GstElement>::adopt(gst_pipeline_new("video-capture"));
    GstElement* selector = gst_element_factory_make("input-selector", "sources");
    GstElement* tee = gst_element_factory_make("tee", "frames");
    GstElement* appsink = gst_element_factory_make("appsink", "calls");
    if (!owned || !selector || !tee || !appsink) {
        for (GstElement* element : {selector, tee, appsink})
            if (element)
                gst_object_unref(gst_object_ref_sink(element));
        return Error{500, 43002, "cannot create the video capture's elements"};
    }
    g_object_set(selector, "sync-streams", FALSE, nullptr);
    g_object_set(tee, "allow-not-linked", TRUE, nullptr);
    // Frames go to calls as they come; a call that cannot keep up gets the newest.
    g_object_set(appsink, "sync", FALSE, "max-buffers", 1, "drop", TRUE, nullptr);
    GstAppSinkCallbacks callbacks{};
    callbacks.new_sample = onSample;
    gst_app_sink_set_callbacks(GST_APP_SINK(appsink), &callbacks, self.get(), nullptr);
    gst_bin_add_many(GST_BIN(self->pipeline_.get()), selector, tee, appsink, nullptr);
    gst_element_link_many(selector, tee, appsink, nullptr);
    self->selector_ = selector;
    self->tee_ = tee;

    GstPad* selectorPad = self->addSourceChain(owned.get());
    if (!selectorPad)
        return Error{412, 43017, "the video device gives nothing a call can send"};
    g_object_set(selector, "active-pad", selectorPad, nullptr);
    gst_object_unref(selectorPad);
    if (gst_element_set_state(self->pipeline_.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
        return Error{412, 43000, "the video device could not start (in use, or gone)"};
    return self;
}

VideoCapture::~VideoCapture()
{
    if (pipeline_) {
        gst_element_set_state(pipeline_.get(), GST_STATE_NULL);
        gst_element_get_state(pipeline_.get(), nullptr, nullptr, GST_CLOCK_TIME_NONE);
    }
}

GstPad* VideoCapture::addSourceChain(GstElement* source)
{
    GstElement* chain = gst_bin_new(nullptr);
    GstElement* convert = gst_element_factory_make("videoconvert", nullptr);
    GstElement* scale = gst_element_factory_make("videoscale", nullptr);
    GstElement* rate = gst_element_factory_make("videorate", nullptr);
    GstElement* filter = gst_element_factory_make("capsfilter", nullptr);
    if (!convert || !scale || !rate || !filter) {
        for (GstElement* element : {convert, scale, rate, filter})
            if (element)
                gst_object_unref(gst_object_ref_sink(element));
        gst_object_unref(gst_object_ref_sink(chain));
        return nullptr;
    }
    GstCaps* caps = gst_caps_from_string(kCallVideoCaps);
    g_object_set(filter, "caps", caps, nullptr);
    gst_caps_unref(caps);
    // videorate only drops frames above the limit; it never makes up frames a source did not send.
    g_object_set(rate, "drop-only", TRUE, nullptr);
    gst_bin_add_many(GST_BIN(chain), GST_ELEMENT(gst_object_ref(source)), convert, scale, rate, filter, nullptr);
    bool linked = gst_element_link_many(source, convert, scale, rate, filter, nullptr);
    g_autoptr(GstPad) filterSrc = gst_element_get_static_pad(filter, "src");
    gst_element_add_pad(chain, gst_ghost_pad_new("src", filterSrc));
    gst_bin_add(GST_BIN(pipeline_.get()), chain);
    GstPad* selectorPad = gst_element_request_pad_simple(selector_, "sink_%u");
    g_autoptr(GstPad) chainSrc = gst_element_get_static_pad(chain, "src");
    if (!linked || gst_pad_link(chainSrc, selectorPad) != GST_PAD_LINK_OK ||
        !gst_element_sync_state_with_parent(chain)) {
        GST_WARNING("a video source could not be linked or started");
        gst_element_set_state(chain, GST_STATE_NULL);
        gst_element_release_request_pad(selector_, selectorPad);
        gst_object_unref(selectorPad);
        gst_bin_remove(GST_BIN(pipeline_.get()), chain);
        return nullptr;
    }
    current_ = chain;
    source_ = source;
    return selectorPad;
}

int VideoCapture::addConsumer(Consumer consumer)
{
    std::lock_guard lock(consumersMutex_);
    int id = nextConsumer_++;
    consumers_.emplace(id, std::move(consumer));
    return id;
}

void VideoCapture::removeConsumer(int id)
{
    std::lock_guard lock(consumersMutex_);
    consumers_.erase(id);
}

GstFlowReturn VideoCapture::onSample(GstAppSink* appsink, gpointer data)
{
    auto* self = static_cast<VideoCapture*>(data);
    auto sample = RefPtr<GstSample>::adopt(gst_app_sink_pull_sample(appsink));
    if (!sample)
        return GST_FLOW_EOS;
    std::lock_guard lock(self->consumersMutex_);
    for (auto& [id, consumer] : self->consumers_)
        consumer(sample.get());
    return GST_FLOW_OK;
}

bool VideoCapture::reconfigureSource(const std::function<bool(GstElement* source)>& change)
{
    return source_ && change(source_);
}

Result<Done> VideoCapture::switchSource(GstElement* source)
{
    auto owned = RefPtr<GstElement>::adopt(source);
    GstElement* old = current_;
    GstPad* selectorPad = addSourceChain(owned.get());
    if (!selectorPad)
        return Error{412, 43000, "the video device could not start (in use, or gone)"};
    // The switch happens on the new source's first frame, on its streaming thread.
    auto* change = new Switch{pipeline_, RefPtr<GstElement>::ref(selector_), RefPtr<GstElement>::ref(old)};
    gst_pad_add_probe(selectorPad, GST_PAD_PROBE_TYPE_BUFFER, onFirstFrame, change, nullptr);
    gst_object_unref(selectorPad);
    return Done{};
}

GstPadProbeReturn VideoCapture::onFirstFrame(GstPad* pad, GstPadProbeInfo*, gpointer data)
{
    auto* change = static_cast<Switch*>(data);
    g_object_set(change->selector.get(), "active-pad", pad, nullptr);
    // The old source is stopped from another thread: not from a streaming thread of this pipeline.
    gst_element_call_async(
        change->pipeline.get(),
        [](GstElement*, gpointer data) {
            auto* change = static_cast<Switch*>(data);
            retire(*change);
            delete change;
        },
        change, nullptr);
    return GST_PAD_PROBE_REMOVE;
}

}  // namespace calling::detail
