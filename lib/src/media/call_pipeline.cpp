#include "media/call_pipeline.h"

#define GST_USE_UNSTABLE_API  // GstWebRTCPeerConnectionState; stable in practice since 1.14
#include <gst/webrtc/webrtc.h>

#include <gst/app/gstappsrc.h>

#include <cmath>

GST_DEBUG_CATEGORY_STATIC(call_pipeline_debug);
#define GST_CAT_DEFAULT call_pipeline_debug

namespace calling::detail {

namespace {

GstElement* make(const char* factory, const char* name = nullptr)
{
    return gst_element_factory_make(factory, name);
}

// The application's element, or the default, as a floating reference that gst_bin_add() takes
// over: a factory may return a floating or a full reference, and either is the library's now.
GstElement* fromFactory(const ElementFactory& factory, GstElement* (*fallback)())
{
    GstElement* element = factory ? factory() : nullptr;
    if (!element)
        element = fallback();
    if (element && !g_object_is_floating(element))
        g_object_force_floating(G_OBJECT(element));
    return element;
}

GstElement* virtualTestMicrophone()
{
    GstElement* source = make("audiotestsrc", "microphone");
    if (source)
        g_object_set(source, "is-live", TRUE, "wave", 0 /* sine */, "freq", 440.0, nullptr);
    return source;
}

// Whether the system has a real device of the class; the calling plugin's own virtual test
// devices do not count.
bool hasRealDevice(const char* deviceClass)
{
    GstDeviceMonitor* monitor = gst_device_monitor_new();
    gst_device_monitor_add_filter(monitor, deviceClass, nullptr);
    GList* devices = gst_device_monitor_get_devices(monitor);
    bool found = false;
    for (GList* item = devices; item && !found; item = item->next) {
        GstStructure* properties = gst_device_get_properties(GST_DEVICE(item->data));
        gboolean isVirtual = FALSE;
        if (!properties || !gst_structure_get_boolean(properties, "calling.virtual", &isVirtual) || !isVirtual)
            found = true;
        if (properties)
            gst_structure_free(properties);
    }
    g_list_free_full(devices, gst_object_unref);
    gst_object_unref(monitor);
    return found;
}

GstElement* defaultMicrophone()
{
    static const bool haveInput = hasRealDevice("Audio/Source");
    if (haveInput)
        if (GstElement* source = make("autoaudiosrc", "microphone"))
            return source;
    return virtualTestMicrophone();
}

GstElement* defaultSpeaker()
{
    static const bool haveOutput = hasRealDevice("Audio/Sink");
    if (haveOutput)
        if (GstElement* sink = make("autoaudiosink", "speaker"))
            return sink;
    GstElement* sink = make("fakesink", "speaker");
    if (sink)
        g_object_set(sink, "sync", TRUE, nullptr);
    return sink;
}

}  // namespace

Result<std::unique_ptr<CallPipeline>> CallPipeline::create(const std::string& callId, const AudioDevices& devices,
                                                           CallSignaller* signaller, bool muted, Events events,
                                                           GMainContext* libraryContext, const char* videoCodecs)
{
    static gsize debugOnce = 0;
    if (g_once_init_enter(&debugOnce)) {
        GST_DEBUG_CATEGORY_INIT(call_pipeline_debug, "callpipeline", 0, "gst-calling: the library's call pipelines");
        g_once_init_leave(&debugOnce, 1);
    }

    std::unique_ptr<CallPipeline> self(new CallPipeline);
    self->events_ = std::move(events);
    self->muted_ = muted;
    self->pipeline_ = RefPtr<GstElement>::adopt(gst_pipeline_new(("call-" + callId).c_str()));
    GstBin* bin = GST_BIN(self->pipeline_.get());

    GstElement* microphone = fromFactory(devices.microphone, defaultMicrophone);
    GstElement* selector = make("input-selector", "microphones");
    GstElement* callbin = make("callbin", "callbin");
    GstElement* mixer = make("audiomixer", "mixer");
    GstElement* playback = make("volume", "playback");
    GstElement* speaker = fromFactory(devices.speaker, defaultSpeaker);
    if (!microphone || !selector || !callbin || !mixer || !playback || !speaker) {
        for (GstElement* element : {microphone, selector, callbin, mixer, playback, speaker})
            if (element)
                gst_object_unref(gst_object_ref_sink(element));
        return Error{410, 0, "cannot create the call's elements (is the calling plugin installed?)"};
    }
    // A live pipeline: the speaker must not wait for a first buffer to reach PLAYING, because the
    // far end's audio only flows once the call is connected.
    if (g_object_class_find_property(G_OBJECT_GET_CLASS(speaker), "async"))
        g_object_set(speaker, "async", FALSE, nullptr);
    g_object_set(callbin, "signaller", signaller, "muted", muted, "video-codecs", videoCodecs, nullptr);
    // The selector lets the microphone change during the call without touching callbin.
    g_object_set(selector, "sync-streams", FALSE, nullptr);
    gst_bin_add_many(bin, microphone, selector, callbin, mixer, playback, speaker, nullptr);
    if (!gst_element_link_pads(microphone, nullptr, selector, "sink_%u") ||
        !gst_element_link_pads(selector, "src", callbin, "audio_%u") ||
        !gst_element_link_many(mixer, playback, speaker, nullptr))
        return Error{410, 0, "cannot link the call's elements"};
    self->microphone_ = microphone;
    self->selector_ = selector;
    self->speaker_ = speaker;
    self->callbin_ = callbin;
    self->mixer_ = mixer;
    self->playback_ = playback;

    for (VideoSlot slot : {VideoSlot::Camera, VideoSlot::Screen}) {
        GstElement* input = make("appsrc", slot == VideoSlot::Camera ? "camera" : "screen");
        if (!input)
            return Error{410, 0, "cannot create the call's video inputs"};
        // Frames are stamped as they enter this pipeline; the capture's own clock does not matter.
        // A burst the encoder cannot take is dropped, oldest first, rather than delayed.
        g_object_set(input, "is-live", TRUE, "format", GST_FORMAT_TIME, "do-timestamp", TRUE, "max-buffers",
                     guint64(2), "leaky-type", 2 /* downstream */, nullptr);
        gst_bin_add(bin, input);
        std::string pad = "video_" + std::to_string(streamIdOf(slot));
        if (!gst_element_link_pads(input, "src", callbin, pad.c_str()))
            return Error{410, 0, "cannot link the call's video inputs"};
        (slot == VideoSlot::Camera ? self->camera_ : self->screen_) = input;
    }

    g_signal_connect(callbin, "pad-added", G_CALLBACK(onPadAdded), self.get());
    g_signal_connect(callbin, "notify::connection-state", G_CALLBACK(onConnectionState), self.get());

    GstBus* bus = gst_pipeline_get_bus(GST_PIPELINE(self->pipeline_.get()));
    self->busWatch_.reset(gst_bus_create_watch(bus));
    g_source_set_callback(self->busWatch_.get(), G_SOURCE_FUNC(onBusMessage), self.get(), nullptr);
    g_source_attach(self->busWatch_.get(), libraryContext);
    gst_object_unref(bus);

    if (gst_element_set_state(self->pipeline_.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
        return Error{410, 0, "the call's pipeline failed to start"};
    return self;
}

CallPipeline::~CallPipeline()
{
    busWatch_.reset();
    if (callbin_)
        g_signal_handlers_disconnect_by_data(callbin_, this);
    if (pipeline_) {
        // webrtcbin must reach NULL before its last reference goes (gst-webrtc-anchors, teardown).
        gst_element_set_state(pipeline_.get(), GST_STATE_NULL);
        gst_element_get_state(pipeline_.get(), nullptr, nullptr, GST_CLOCK_TIME_NONE);
    }
}

bool CallPipeline::setMicrophone(GstElement* source)
{
    if (!source)
        return false;
    if (!g_object_is_floating(source))
        g_object_force_floating(G_OBJECT(source));
    GstBin* bin = GST_BIN(pipeline_.get());
    gst_bin_add(bin, source);
    GstPad* selectorPad = gst_element_request_pad_simple(selector_, "sink_%u");
    GstPad* sourcePad = gst_element_get_static_pad(source, "src");
    bool linked = sourcePad && gst_pad_link(sourcePad, selectorPad) == GST_PAD_LINK_OK;
    if (sourcePad)
        gst_object_unref(sourcePad);
    if (!linked || !gst_element_sync_state_with_parent(source)) {
        GST_WARNING("the new microphone could not start; keeping the old one");
        gst_element_set_state(source, GST_STATE_NULL);
        gst_bin_remove(bin, source);
        gst_element_release_request_pad(selector_, selectorPad);
        gst_object_unref(selectorPad);
        return false;
    }
    g_object_set(selector_, "active-pad", selectorPad, nullptr);
    gst_object_unref(selectorPad);

    // The old microphone goes: stopped first, then its selector pad is released.
    GstElement* old = microphone_;
    microphone_ = source;
    GstPad* oldPad = gst_element_get_static_pad(old, "src");
    GstPad* oldSelectorPad = oldPad ? gst_pad_get_peer(oldPad) : nullptr;
    gst_element_set_state(old, GST_STATE_NULL);
    if (oldSelectorPad) {
        gst_pad_unlink(oldPad, oldSelectorPad);
        gst_element_release_request_pad(selector_, oldSelectorPad);
        gst_object_unref(oldSelectorPad);
    }
    if (oldPad)
        gst_object_unref(oldPad);
    gst_bin_remove(bin, old);
    return true;
}

namespace {

struct SpeakerSwap {
    GstElement* pipeline;  // borrowed: the swap runs while the pipeline lives
    GstElement* oldSpeaker;
    GstElement* newSpeaker;
};

// Runs when the playback volume's src pad is idle, on whichever thread that is: relinks, and
// leaves stopping the old speaker to the library thread (through the bus), since a sink must not
// be stopped from the thread streaming into it.
GstPadProbeReturn swapSpeaker(GstPad* pad, GstPadProbeInfo*, gpointer data)
{
    auto* swap = static_cast<SpeakerSwap*>(data);
    GstPad* oldSink = gst_element_get_static_pad(swap->oldSpeaker, "sink");
    GstPad* newSink = gst_element_get_static_pad(swap->newSpeaker, "sink");
    gst_pad_unlink(pad, oldSink);
    if (gst_pad_link(pad, newSink) != GST_PAD_LINK_OK)
        GST_WARNING("the new speaker does not accept the call's audio");
    gst_object_unref(oldSink);
    gst_object_unref(newSink);
    gst_element_post_message(swap->pipeline,
                             gst_message_new_application(GST_OBJECT(swap->pipeline),
                                                         gst_structure_new("call-retire-speaker", "element",
                                                                           GST_TYPE_ELEMENT, swap->oldSpeaker,
                                                                           nullptr)));
    return GST_PAD_PROBE_REMOVE;
}

}  // namespace

bool CallPipeline::setSpeaker(GstElement* sink)
{
    if (!sink)
        return false;
    if (!g_object_is_floating(sink))
        g_object_force_floating(G_OBJECT(sink));
    if (g_object_class_find_property(G_OBJECT_GET_CLASS(sink), "async"))
        g_object_set(sink, "async", FALSE, nullptr);
    GstBin* bin = GST_BIN(pipeline_.get());
    gst_bin_add(bin, sink);
    if (!gst_element_sync_state_with_parent(sink)) {
        GST_WARNING("the new speaker could not start; keeping the old one");
        gst_element_set_state(sink, GST_STATE_NULL);
        gst_bin_remove(bin, sink);
        return false;
    }
    auto* swap = new SpeakerSwap{pipeline_.get(), speaker_, sink};
    speaker_ = sink;
    GstPad* playbackSrc = gst_element_get_static_pad(playback_, "src");
    gst_pad_add_probe(playbackSrc, GST_PAD_PROBE_TYPE_IDLE, swapSpeaker, swap,
                      [](gpointer data) { delete static_cast<SpeakerSwap*>(data); });
    gst_object_unref(playbackSrc);
    return true;
}

namespace {

// A remote stream's tee, added to `bin` and playing.
GstElement* makeRemoteTee(GstBin* bin)
{
    GstElement* tee = make("tee");
    if (!tee)
        return nullptr;
    // Nobody watching is normal: the stream is then dropped here, undecoded.
    g_object_set(tee, "allow-not-linked", TRUE, nullptr);
    gst_bin_add(bin, tee);
    gst_element_sync_state_with_parent(tee);
    return tee;
}

}  // namespace

GstElement* CallPipeline::remoteAudio(const std::string& participantId)
{
    std::lock_guard lock(videoMutex_);
    if (auto found = remoteAudios_.find(participantId); found != remoteAudios_.end())
        return found->second;
    GstElement* tee = makeRemoteTee(GST_BIN(pipeline_.get()));
    if (tee)
        remoteAudios_.emplace(participantId, tee);
    return tee;
}

GstElement* CallPipeline::remoteVideo(const std::string& participantId, const std::string& msid)
{
    std::lock_guard lock(videoMutex_);
    std::string key = participantId + "/" + msid;
    if (auto found = remoteVideos_.find(key); found != remoteVideos_.end())
        return found->second;
    GstElement* tee = makeRemoteTee(GST_BIN(pipeline_.get()));
    if (!tee)
        return nullptr;
    remoteVideos_.emplace(key, tee);
    return tee;
}

void CallPipeline::setMuted(bool muted)
{
    muted_ = muted;
    updateSending();
}

void CallPipeline::setHeld(bool held)
{
    held_ = held;
    updateSending();
    g_object_set(playback_, "mute", held, nullptr);
}

void CallPipeline::updateSending()
{
    g_object_set(callbin_, "muted", muted_ || held_, nullptr);
}

// A streaming thread: only stock elements are made here, no application code runs.
void CallPipeline::onPadAdded(GstElement*, GstPad* pad, gpointer data)
{
    auto* self = static_cast<CallPipeline*>(data);
    if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC)
        return;
    g_autofree gchar* name = gst_pad_get_name(pad);
    g_autofree gchar* participant = nullptr;
    g_object_get(pad, "participant-id", &participant, nullptr);
    if (g_str_has_prefix(name, "video_")) {
        // The stream id is the sender's msid, which its published streams name.
        g_autofree gchar* streamId = nullptr;
        g_object_get(pad, "stream-id", &streamId, nullptr);
        GstElement* tee = self->remoteVideo(participant ? participant : "", streamId ? streamId : "");
        g_autoptr(GstPad) teeSink = tee ? gst_element_get_static_pad(tee, "sink") : nullptr;
        if (!teeSink || gst_pad_is_linked(teeSink) || gst_pad_link(pad, teeSink) != GST_PAD_LINK_OK)
            GST_WARNING("cannot route %s (stream %s)", name, streamId ? streamId : "?");
        return;
    }
    if (!g_str_has_prefix(name, "audio_"))
        return;

    GstBin* bin = GST_BIN(self->pipeline_.get());
    // Through a tee, where a recording takes the Opus as it arrives.
    GstElement* tee = self->remoteAudio(participant ? participant : "");
    g_autoptr(GstPad) teeSink = tee ? gst_element_get_static_pad(tee, "sink") : nullptr;
    if (!teeSink || gst_pad_is_linked(teeSink)) {
        GST_WARNING("cannot route %s", name);
        return;
    }
    GstElement* decoder = make("opusdec");
    GstElement* convert = make("audioconvert");
    GstElement* resample = make("audioresample");
    GstElement* level = make("level");
    if (!decoder || !convert || !resample || !level) {
        GST_ERROR("cannot create the decoding elements for %s", name);
        return;
    }
    g_object_set(level, "interval", 50 * GST_MSECOND, "post-messages", TRUE, nullptr);
    {
        // Level messages come from this element: remember whose audio it measures.
        std::lock_guard lock(self->levelsMutex_);
        self->levelParticipants_[GST_OBJECT_NAME(level)] = participant ? participant : "";
    }
    gst_bin_add_many(bin, decoder, convert, resample, level, nullptr);
    gst_element_link_many(decoder, convert, resample, level, nullptr);
    GstPad* mixerPad = gst_element_request_pad_simple(self->mixer_, "sink_%u");
    GstPad* levelSrc = gst_element_get_static_pad(level, "src");
    gst_pad_link(levelSrc, mixerPad);
    gst_object_unref(levelSrc);
    gst_object_unref(mixerPad);
    for (GstElement* element : {level, resample, convert, decoder})
        gst_element_sync_state_with_parent(element);
    if (!gst_element_link_pads(tee, "src_%u", decoder, "sink") || gst_pad_link(pad, teeSink) != GST_PAD_LINK_OK)
        GST_ERROR("cannot link %s to its decoder", name);
}

void CallPipeline::onConnectionState(GObject* callbin, GParamSpec*, gpointer data)
{
    auto* self = static_cast<CallPipeline*>(data);
    GstWebRTCPeerConnectionState state;
    g_object_get(callbin, "connection-state", &state, nullptr);
    // Notified on webrtcbin's thread: hand the change to the library thread through the bus.
    gst_element_post_message(self->callbin_,
                             gst_message_new_application(GST_OBJECT(callbin),
                                                         gst_structure_new("call-connection-state", "state",
                                                                           G_TYPE_INT, int(state), nullptr)));
}

gboolean CallPipeline::onBusMessage(GstBus*, GstMessage* message, gpointer data)
{
    auto* self = static_cast<CallPipeline*>(data);
    const GstStructure* structure = gst_message_get_structure(message);
    switch (GST_MESSAGE_TYPE(message)) {
    case GST_MESSAGE_ELEMENT:
        if (structure && gst_structure_has_name(structure, "level") && self->events_.level) {
            const gchar* name = GST_OBJECT_NAME(GST_MESSAGE_SRC(message));
            const GValue* rms = gst_structure_get_value(structure, "rms");
            double loudest = -INFINITY;
            // level (1.22) reports per-channel values in a GValueArray.
            G_GNUC_BEGIN_IGNORE_DEPRECATIONS
            if (rms && G_VALUE_HOLDS(rms, g_value_array_get_type())) {
                auto* channels = static_cast<GValueArray*>(g_value_get_boxed(rms));
                for (guint i = 0; channels && i < channels->n_values; i++)
                    loudest = std::fmax(loudest, g_value_get_double(g_value_array_get_nth(channels, i)));
            }
            G_GNUC_END_IGNORE_DEPRECATIONS
            std::string participant;
            {
                std::lock_guard lock(self->levelsMutex_);
                auto found = self->levelParticipants_.find(name);
                if (found == self->levelParticipants_.end())
                    break;
                participant = found->second;
            }
            self->events_.level(participant, loudest);
        }
        break;
    case GST_MESSAGE_APPLICATION:
        if (structure && gst_structure_has_name(structure, "call-retire-speaker")) {
            GstElement* old = nullptr;
            gst_structure_get(structure, "element", GST_TYPE_ELEMENT, &old, nullptr);
            if (old) {
                gst_element_set_state(old, GST_STATE_NULL);
                gst_bin_remove(GST_BIN(self->pipeline_.get()), old);
                gst_object_unref(old);
            }
        }
        if (structure && gst_structure_has_name(structure, "call-connection-state")) {
            int state = 0;
            gst_structure_get_int(structure, "state", &state);
            bool connected = state == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED;
            bool lost = state == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED ||
                        state == GST_WEBRTC_PEER_CONNECTION_STATE_CLOSED ||
                        state == GST_WEBRTC_PEER_CONNECTION_STATE_DISCONNECTED;
            if (connected && !self->connected_) {
                self->connected_ = true;
                if (self->events_.connection)
                    self->events_.connection(true);
            } else if (lost && self->connected_) {
                self->connected_ = false;
                if (self->events_.connection)
                    self->events_.connection(false);
            }
        }
        break;
    case GST_MESSAGE_LATENCY:
        // webrtcbin's network elements appear during negotiation, after the first latency query.
        gst_bin_recalculate_latency(GST_BIN(self->pipeline_.get()));
        break;
    case GST_MESSAGE_ERROR: {
        g_autoptr(GError) error = nullptr;
        g_autofree gchar* details = nullptr;
        gst_message_parse_error(message, &error, &details);
        GST_ERROR("%s (%s)", error->message, details ? details : "");
        if (self->events_.failed)
            self->events_.failed(error->message);
        break;
    }
    default:
        break;
    }
    return G_SOURCE_CONTINUE;
}

}  // namespace calling::detail
