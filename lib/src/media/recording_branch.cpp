#include "media/recording_branch.h"

#include <gst/video/video.h>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <cstring>
#include <mutex>

GST_DEBUG_CATEGORY_STATIC(recording_debug);
#define GST_CAT_DEFAULT recording_debug

namespace calling::detail {

// What the streaming threads report, under one lock: which tracks had data, which are unhooked
// from their tees, and whether EOS reached the file.
struct RecordingBranch::Progress {
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<bool> hadData;
    std::vector<bool> unhooked;
    std::vector<RecordingBranch::TrackCount> counts;
    bool fileEnded = false;
};

namespace {

// What a pad probe of one track needs; the probe owns it (destroy notify).
struct TrackProbe {
    std::shared_ptr<RecordingBranch::Progress> progress;
    size_t index = 0;
    bool video = false;
    RefPtr<GstPad> queueSink;  // the unhook probe: the track's queue, unlinked from the tee
};

// The caps' codec as SDP names it: "VP8" for video/x-vp8.
std::string codecOf(GstPad* pad)
{
    g_autoptr(GstCaps) caps = gst_pad_get_current_caps(pad);
    const char* name = caps && !gst_caps_is_empty(caps) ? gst_structure_get_name(gst_caps_get_structure(caps, 0)) : "";
    const char* subtype = strchr(name, '/');
    std::string codec = subtype ? subtype + 1 : "";
    if (codec.starts_with("x-"))
        codec.erase(0, 2);
    std::transform(codec.begin(), codec.end(), codec.begin(), [](unsigned char c) { return std::toupper(c); });
    return codec;
}

// On the queue's sink pad: notes the first buffer; a video track drops frames until a keyframe.
GstPadProbeReturn onTrackBuffer(GstPad* pad, GstPadProbeInfo* info, gpointer data)
{
    auto* probe = static_cast<TrackProbe*>(data);
    GstBuffer* buffer = GST_PAD_PROBE_INFO_BUFFER(info);
    std::lock_guard lock(probe->progress->mutex);
    bool first = !probe->progress->hadData[probe->index];
    if (first && probe->video && GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DELTA_UNIT)) {
        GST_LOG("track %zu: a frame before the first keyframe, dropped", probe->index);
        return GST_PAD_PROBE_DROP;
    }
    if (first)
        GST_INFO("track %zu: first buffer, %" GST_TIME_FORMAT, probe->index, GST_TIME_ARGS(GST_BUFFER_PTS(buffer)));
    GST_TRACE("track %zu: buffer %" GST_TIME_FORMAT "%s", probe->index, GST_TIME_ARGS(GST_BUFFER_PTS(buffer)),
              GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DELTA_UNIT) ? "" : " (key)");
    probe->progress->hadData[probe->index] = true;
    RecordingBranch::TrackCount& count = probe->progress->counts[probe->index];
    count.buffers++;
    if (first)
        count.codec = codecOf(pad);
    if (GST_BUFFER_PTS_IS_VALID(buffer)) {
        auto pts = std::chrono::nanoseconds(GST_BUFFER_PTS(buffer));
        if (first)
            count.first = pts;
        count.last = std::max(count.last, pts);
    }
    return GST_PAD_PROBE_OK;
}

// On the tee's src pad, when no buffer is in flight there: the track stops taking data.
GstPadProbeReturn onTeeIdle(GstPad* pad, GstPadProbeInfo*, gpointer data)
{
    auto* probe = static_cast<TrackProbe*>(data);
    gst_pad_unlink(pad, probe->queueSink.get());
    {
        std::lock_guard lock(probe->progress->mutex);
        probe->progress->unhooked[probe->index] = true;
    }
    probe->progress->changed.notify_all();
    return GST_PAD_PROBE_REMOVE;
}

// On the file sink's sink pad: EOS arrived, after matroskamux wrote its index and header.
GstPadProbeReturn onFileEvent(GstPad*, GstPadProbeInfo* info, gpointer data)
{
    auto* progress = static_cast<std::shared_ptr<RecordingBranch::Progress>*>(data)->get();
    if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) == GST_EVENT_EOS) {
        {
            std::lock_guard lock(progress->mutex);
            progress->fileEnded = true;
        }
        progress->changed.notify_all();
    }
    return GST_PAD_PROBE_OK;
}

void deleteProbe(gpointer data)
{
    delete static_cast<TrackProbe*>(data);
}

}  // namespace

Result<std::unique_ptr<RecordingBranch>> RecordingBranch::start(GstBin* bin, const std::string& path,
                                                                const std::vector<Track>& tracks)
{
    static gsize debugOnce = 0;
    if (g_once_init_enter(&debugOnce)) {
        GST_DEBUG_CATEGORY_INIT(recording_debug, "callrecording", 0, "gst-calling: recordings of calls");
        g_once_init_leave(&debugOnce, 1);
    }
    std::unique_ptr<RecordingBranch> self(new RecordingBranch);
    self->bin_ = RefPtr<GstBin>::ref(bin);
    self->progress_ = std::make_shared<Progress>();
    self->progress_->hadData.assign(tracks.size(), false);
    self->progress_->unhooked.assign(tracks.size(), false);
    self->progress_->counts.assign(tracks.size(), {});
    self->mux_ = RefPtr<GstElement>::adopt(gst_element_factory_make("matroskamux", nullptr));
    self->sink_ = RefPtr<GstElement>::adopt(gst_element_factory_make("filesink", nullptr));
    if (!self->mux_ || !self->sink_)
        return Error{500, 0, "cannot create the recorder's elements (matroskamux, filesink)"};
    // The file starts at 0 whenever the call's media started; the sink writes as data comes and
    // must not hold the live pipeline's state changes (async) or wait for the clock (sync).
    g_object_set(self->mux_.get(), "offset-to-zero", TRUE, nullptr);
    g_object_set(self->sink_.get(), "location", path.c_str(), "async", FALSE, "sync", FALSE, nullptr);
    gst_bin_add_many(bin, self->mux_.get(), self->sink_.get(), nullptr);
    if (!gst_element_link(self->mux_.get(), self->sink_.get()))
        return Error{500, 0, "cannot link the recorder's elements"};
    // Opening the file is the sink's READY→PAUSED: a path that cannot be written fails here.
    if (gst_element_set_state(self->sink_.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
        return Error{500, 0, "cannot open " + path + " for writing"};
    g_autoptr(GstPad) sinkPad = gst_element_get_static_pad(self->sink_.get(), "sink");
    gst_pad_add_probe(sinkPad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, onFileEvent,
                      new std::shared_ptr<Progress>(self->progress_),
                      [](gpointer data) { delete static_cast<std::shared_ptr<Progress>*>(data); });

    // Every track's mux pad is requested before any of them is linked to its stream: the mux
    // takes no pad once it has started writing.
    for (const Track& track : tracks) {
        Hooked hooked{.track = track};
        hooked.queue = RefPtr<GstElement>::adopt(gst_element_factory_make("queue", nullptr));
        if (!hooked.queue)
            return Error{500, 0, "cannot create the recorder's queues"};
        g_object_set(hooked.queue.get(), "max-size-buffers", 0u, "max-size-bytes", 0u, "max-size-time", guint64(0),
                     nullptr);
        gst_bin_add(bin, hooked.queue.get());
        hooked.muxPad = RefPtr<GstPad>::adopt(
            gst_element_request_pad_simple(self->mux_.get(), track.video ? "video_%u" : "audio_%u"));
        g_autoptr(GstPad) queueSrc = gst_element_get_static_pad(hooked.queue.get(), "src");
        bool linked = hooked.muxPad && gst_pad_link(queueSrc, hooked.muxPad.get()) == GST_PAD_LINK_OK;
        self->hooked_.push_back(std::move(hooked));
        if (!linked)
            return Error{500, 0, "cannot add a track for the " + track.description};
    }
    gst_element_sync_state_with_parent(self->mux_.get());
    for (size_t i = 0; i < self->hooked_.size(); ++i) {
        Hooked& hooked = self->hooked_[i];
        gst_element_sync_state_with_parent(hooked.queue.get());
        g_autoptr(GstPad) queueSink = gst_element_get_static_pad(hooked.queue.get(), "sink");
        gst_pad_add_probe(queueSink, GST_PAD_PROBE_TYPE_BUFFER, onTrackBuffer,
                          new TrackProbe{self->progress_, i, hooked.track.video, nullptr}, deleteProbe);
        hooked.teePad = RefPtr<GstPad>::adopt(gst_element_request_pad_simple(hooked.track.tee, "src_%u"));
        if (!hooked.teePad || gst_pad_link(hooked.teePad.get(), queueSink) != GST_PAD_LINK_OK)
            return Error{500, 0, "cannot hook the recorder to the " + hooked.track.description};
        // The sender makes a keyframe (callbin turns this into a PLI), so video starts at once.
        if (hooked.track.video)
            gst_pad_push_event(queueSink, gst_video_event_new_upstream_force_key_unit(GST_CLOCK_TIME_NONE, TRUE, 0));
        GST_INFO("recording the %s into %s", hooked.track.description.c_str(), path.c_str());
    }
    return self;
}

void RecordingBranch::requestKeyframe(size_t track)
{
    if (finished_ || track >= hooked_.size() || !hooked_[track].track.video)
        return;
    g_autoptr(GstPad) queueSink = gst_element_get_static_pad(hooked_[track].queue.get(), "sink");
    gst_pad_push_event(queueSink, gst_video_event_new_upstream_force_key_unit(GST_CLOCK_TIME_NONE, TRUE, 0));
}

Result<std::vector<size_t>> RecordingBranch::finish(std::chrono::milliseconds timeout)
{
    finished_ = true;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    // 1. Unhook every track from its tee, between two of the tee's buffers: from then on the
    //    track's data is all in its queue, and the stream goes on for the call (or nowhere).
    for (size_t i = 0; i < hooked_.size(); ++i) {
        Hooked& hooked = hooked_[i];
        g_autoptr(GstPad) queueSink = gst_element_get_static_pad(hooked.queue.get(), "sink");
        if (!hooked.teePad) {
            std::lock_guard lock(progress_->mutex);
            progress_->unhooked[i] = true;
            continue;
        }
        gst_pad_add_probe(hooked.teePad.get(), GST_PAD_PROBE_TYPE_IDLE, onTeeIdle,
                          new TrackProbe{progress_, i, hooked.track.video, RefPtr<GstPad>::ref(queueSink)},
                          deleteProbe);
    }
    std::vector<bool> hadData;
    {
        std::unique_lock lock(progress_->mutex);
        counts_ = progress_->counts;
        bool unhooked = progress_->changed.wait_until(lock, deadline, [&] {
            return std::find(progress_->unhooked.begin(), progress_->unhooked.end(), false) == progress_->unhooked.end();
        });
        if (!unhooked)
            return Error{500, 0, "the recording could not be stopped: a stream did not let go"};
        hadData = progress_->hadData;
    }
    // 2. A track that never had data goes: the mux has not started without it, and could not
    //    write a track whose caps it never saw. The others end with EOS.
    std::vector<size_t> written;
    for (size_t i = 0; i < hooked_.size(); ++i) {
        Hooked& hooked = hooked_[i];
        g_autoptr(GstPad) queueSink = gst_element_get_static_pad(hooked.queue.get(), "sink");
        if (hadData[i]) {
            written.push_back(i);
            gst_pad_send_event(queueSink, gst_event_new_eos());
            continue;
        }
        GST_INFO("the %s had no data: no track for it", hooked.track.description.c_str());
        g_autoptr(GstPad) queueSrc = gst_element_get_static_pad(hooked.queue.get(), "src");
        gst_pad_unlink(queueSrc, hooked.muxPad.get());
        gst_element_release_request_pad(mux_.get(), hooked.muxPad.get());
        hooked.muxPad = nullptr;
    }
    if (written.empty()) {
        // Nothing came: the mux has nothing to write, and the file stays as it is (empty).
        return Error{500, 0, "nothing was recorded: no media arrived"};
    }
    // 3. The file is complete when EOS reaches it.
    std::unique_lock lock(progress_->mutex);
    if (!progress_->changed.wait_until(lock, deadline, [&] { return progress_->fileEnded; }))
        return Error{500, 0, "the recording was not finalised in time"};
    return written;
}

RecordingBranch::~RecordingBranch()
{
    // Downstream first: the file is closed (and flushed) when the sink leaves PAUSED.
    std::vector<GstElement*> elements = {sink_.get(), mux_.get()};
    for (Hooked& hooked : hooked_) {
        if (hooked.teePad) {
            g_autoptr(GstPad) peer = gst_pad_get_peer(hooked.teePad.get());
            if (peer)
                gst_pad_unlink(hooked.teePad.get(), peer);
            gst_element_release_request_pad(hooked.track.tee, hooked.teePad.get());
        }
        elements.push_back(hooked.queue.get());
    }
    for (GstElement* element : elements) {
        if (!element)
            continue;
        gst_element_set_state(element, GST_STATE_NULL);
        if (GST_OBJECT_PARENT(element) == GST_OBJECT(bin_.get()))
            gst_bin_remove(bin_.get(), element);
    }
}

}  // namespace calling::detail
