#include "bare_call.h"

#include <gst/webrtc/webrtc.h>

namespace bench {
namespace {

constexpr guint kAudioPayloadType = 96;
constexpr guint kVideoPayloadType = 97;

GstElement* chainBin(const char* description)
{
    g_autoptr(GError) error = nullptr;
    GstElement* bin = gst_parse_bin_from_description(description, TRUE, &error);
    if (!bin)
        g_printerr("calling-bench: cannot build '%s': %s\n", description, error->message);
    return bin;
}

// The pipeline's latency follows webrtcbin's elements as negotiation adds them.
gboolean recalculateLatency(gpointer pipeline)
{
    gst_bin_recalculate_latency(GST_BIN(pipeline));
    return G_SOURCE_REMOVE;
}

}  // namespace

CallObservations::~CallObservations()
{
    for (GstElement* sink : speakers_)
        gst_object_unref(sink);
}

void CallObservations::keepSpeaker(GstElement* sink)
{
    std::lock_guard lock(speakersMutex_);
    speakers_.push_back(GST_ELEMENT(gst_object_ref(sink)));
}

std::pair<uint64_t, uint64_t> CallObservations::speakerCounts() const
{
    std::lock_guard lock(speakersMutex_);
    uint64_t rendered = 0, dropped = 0;
    for (GstElement* sink : speakers_) {
        GstStructure* stats = nullptr;
        g_object_get(sink, "stats", &stats, nullptr);
        guint64 value = 0;
        if (stats && gst_structure_get_uint64(stats, "rendered", &value))
            rendered += value;
        if (stats && gst_structure_get_uint64(stats, "dropped", &value))
            dropped += value;
        if (stats)
            gst_structure_free(stats);
    }
    return {rendered, dropped};
}

GstElement* makeSpeaker(CallObservations* observations)
{
    GstElement* sink = makeRealTimeSink();
    g_object_set(sink, "max-lateness", gint64(20 * GST_MSECOND), "qos", TRUE, nullptr);
    if (observations)
        observations->keepSpeaker(sink);
    return sink;
}

BareCall::BareCall(CallMedia media, CallObservations* observations) : media_(media), observations_(observations) {}

BareCall::~BareCall()
{
    stop();
}

void BareCall::fail(const std::string& why)
{
    if (!observations_->failed.exchange(true))
        observations_->failure = why;
}

bool BareCall::addSender(GstElement* webrtc, bool stamped)
{
    GstElement* audioSource = makeAudioSource(stamped ? &observations_->bursts : nullptr);
    g_autofree char* audioChain = g_strdup_printf(
        "audioconvert ! audioresample ! audio/x-raw,rate=48000,channels=1 ! opusenc name=encoder ! "
        "rtpopuspay pt=%u ! capsfilter caps=application/x-rtp,media=audio,encoding-name=OPUS,clock-rate=48000,payload=%u",
        kAudioPayloadType, kAudioPayloadType);
    GstElement* audio = chainBin(audioChain);
    if (!audioSource || !audio)
        return false;
    g_autoptr(GstElement) opus = gst_bin_get_by_name(GST_BIN(audio), "encoder");
    configureOpusLikeCallbin(opus);
    gst_bin_add_many(GST_BIN(pipeline_), audioSource, audio, nullptr);
    if (!gst_element_link(audioSource, audio) || !gst_element_link_pads(audio, "src", webrtc, "sink_%u"))
        return false;
    if (!media_.video)
        return true;
    GstElement* videoSource = makeVideoSource(stamped);
    g_autofree char* videoChain = g_strdup_printf(
        "queue max-size-buffers=2 max-size-bytes=0 max-size-time=0 leaky=downstream ! videoconvert ! "
        "vp8enc name=encoder ! rtpvp8pay picture-id-mode=15-bit pt=%u ! "
        "capsfilter caps=application/x-rtp,media=video,encoding-name=VP8,clock-rate=90000,payload=%u",
        kVideoPayloadType, kVideoPayloadType);
    GstElement* video = chainBin(videoChain);
    if (!videoSource || !video)
        return false;
    g_autoptr(GstElement) vp8 = gst_bin_get_by_name(GST_BIN(video), "encoder");
    configureVp8LikeCallbin(vp8);
    gst_bin_add_many(GST_BIN(pipeline_), videoSource, video, nullptr);
    return gst_element_link(videoSource, video) && gst_element_link_pads(video, "src", webrtc, "sink_%u");
}

bool BareCall::start()
{
    pipeline_ = gst_pipeline_new(nullptr);
    a_ = gst_element_factory_make("webrtcbin", "a");
    b_ = gst_element_factory_make("webrtcbin", "b");
    if (!a_ || !b_) {
        fail("no webrtcbin");
        return false;
    }
    for (GstElement* webrtc : {a_, b_}) {
        gst_util_set_object_arg(G_OBJECT(webrtc), "bundle-policy", "max-bundle");
        gst_bin_add(GST_BIN(pipeline_), webrtc);
        g_signal_connect(webrtc, "on-ice-candidate", G_CALLBACK(onIceCandidate), this);
        g_signal_connect(webrtc, "pad-added", G_CALLBACK(onPadAdded), this);
    }
    g_signal_connect(a_, "on-negotiation-needed", G_CALLBACK(onNegotiationNeeded), this);
    g_signal_connect(a_, "notify::connection-state", G_CALLBACK(+[](GObject* webrtc, GParamSpec*, gpointer data) {
        GstWebRTCPeerConnectionState state;
        g_object_get(webrtc, "connection-state", &state, nullptr);
        int64_t expected = 0;
        if (state == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED)
            static_cast<CallObservations*>(data)->connectedUs.compare_exchange_strong(expected, nowUs());
    }), observations_);
    bool latency = media_.probe == Probe::Latency;
    if (!addSender(a_, false) || !addSender(b_, latency)) {
        fail("cannot build the senders");
        return false;
    }
    g_autoptr(GstBus) bus = gst_element_get_bus(pipeline_);
    gst_bus_set_sync_handler(
        bus,
        [](GstBus*, GstMessage* message, gpointer data) -> GstBusSyncReply {
            auto* self = static_cast<BareCall*>(data);
            if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR) {
                g_autoptr(GError) error = nullptr;
                gst_message_parse_error(message, &error, nullptr);
                self->fail(std::string("pipeline error: ") + error->message);
            } else if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_LATENCY) {
                g_idle_add_full(G_PRIORITY_DEFAULT, recalculateLatency, gst_object_ref(self->pipeline_),
                                gst_object_unref);
            }
            return GST_BUS_DROP;
        },
        this, nullptr);
    if (gst_element_set_state(pipeline_, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
        fail("the pipeline does not start");
        return false;
    }
    return true;
}

void BareCall::onNegotiationNeeded(GstElement* webrtc, gpointer data)
{
    auto* self = static_cast<BareCall*>(data);
    if (self->offered_)
        return;
    self->offered_ = true;
    self->observations_->startedUs = nowUs();
    GstPromise* promise = gst_promise_new_with_change_func(onOfferCreated, self, nullptr);
    g_signal_emit_by_name(webrtc, "create-offer", nullptr, promise);
}

void BareCall::onOfferCreated(GstPromise* promise, gpointer data)
{
    auto* self = static_cast<BareCall*>(data);
    GstWebRTCSessionDescription* offer = nullptr;
    const GstStructure* reply = gst_promise_get_reply(promise);
    if (reply)
        gst_structure_get(reply, "offer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &offer, nullptr);
    gst_promise_unref(promise);
    if (!offer) {
        self->fail("create-offer gave no offer");
        return;
    }
    g_signal_emit_by_name(self->a_, "set-local-description", offer, nullptr);
    g_signal_emit_by_name(self->b_, "set-remote-description", offer, nullptr);
    gst_webrtc_session_description_free(offer);
    GstPromise* answered = gst_promise_new_with_change_func(onAnswerCreated, self, nullptr);
    g_signal_emit_by_name(self->b_, "create-answer", nullptr, answered);
}

void BareCall::onAnswerCreated(GstPromise* promise, gpointer data)
{
    auto* self = static_cast<BareCall*>(data);
    GstWebRTCSessionDescription* answer = nullptr;
    const GstStructure* reply = gst_promise_get_reply(promise);
    if (reply)
        gst_structure_get(reply, "answer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &answer, nullptr);
    gst_promise_unref(promise);
    if (!answer) {
        self->fail("create-answer gave no answer");
        return;
    }
    g_signal_emit_by_name(self->b_, "set-local-description", answer, nullptr);
    g_signal_emit_by_name(self->a_, "set-remote-description", answer, nullptr);
    gst_webrtc_session_description_free(answer);
}

void BareCall::onIceCandidate(GstElement* webrtc, guint mline, const char* candidate, gpointer data)
{
    auto* self = static_cast<BareCall*>(data);
    GstElement* other = webrtc == self->a_ ? self->b_ : self->a_;
    g_signal_emit_by_name(other, "add-ice-candidate", mline, candidate);
}

void BareCall::onPadAdded(GstElement* webrtc, GstPad* pad, gpointer data)
{
    auto* self = static_cast<BareCall*>(data);
    if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC)
        return;
    g_autoptr(GstCaps) caps = gst_pad_get_current_caps(pad);
    if (!caps)
        caps = gst_pad_query_caps(pad, nullptr);
    const char* kind = gst_structure_get_string(gst_caps_get_structure(caps, 0), "media");
    bool video = kind && g_str_equal(kind, "video");
    bool atCaller = webrtc == self->a_;
    int64_t expected = 0;
    if (atCaller && video)
        self->observations_->remoteVideoUs.compare_exchange_strong(expected, nowUs());
    GstElement* sink = nullptr;
    const char* decode = video ? "rtpvp8depay ! vp8dec" : "rtpopusdepay ! opusdec ! audioconvert ! audioresample";
    std::string description = decode;
    if (atCaller && video && self->media_.probe == Probe::FirstFrame) {
        sink = makeFirstFrameSink(&self->observations_->firstFrameUs);
    } else if (atCaller && video && self->media_.probe == Probe::Latency) {
        description += " ! videoconvert";
        sink = makeStampReader(&self->observations_->videoLatencyMs, &self->observations_->firstFrameUs);
    } else if (atCaller && !video && self->media_.probe == Probe::Latency) {
        sink = makeOnsetDetector(&self->observations_->bursts, &self->observations_->audioLatencyMs);
    } else if (!video) {
        sink = makeSpeaker(self->observations_);
    } else {
        sink = makeRealTimeSink(atCaller ? &self->observations_->firstFrameUs : nullptr,
                                &self->observations_->videoFrames);
    }
    GstElement* chain = chainBin(description.c_str());
    if (!chain || !sink) {
        self->fail("cannot build a receiver");
        return;
    }
    gst_bin_add_many(GST_BIN(self->pipeline_), chain, sink, nullptr);
    gst_element_link(chain, sink);
    gst_element_sync_state_with_parent(sink);
    gst_element_sync_state_with_parent(chain);
    g_autoptr(GstPad) input = gst_element_get_static_pad(chain, "sink");
    if (gst_pad_link(pad, input) != GST_PAD_LINK_OK)
        self->fail("cannot link a received stream");
}

bool BareCall::connected() const
{
    for (GstElement* webrtc : {a_, b_}) {
        if (!webrtc)
            return false;
        GstWebRTCPeerConnectionState state;
        g_object_get(webrtc, "connection-state", &state, nullptr);
        if (state != GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED)
            return false;
    }
    return true;
}

LossCount BareCall::audioLoss() const
{
    LossCount count;
    for (GstElement* webrtc : {a_, b_}) {
        if (!webrtc)
            continue;
        GstPromise* promise = gst_promise_new();
        g_signal_emit_by_name(webrtc, "get-stats", nullptr, promise);
        if (gst_promise_wait(promise) == GST_PROMISE_RESULT_REPLIED) {
            const GstStructure* stats = gst_promise_get_reply(promise);
            int fields = gst_structure_n_fields(stats);
            for (int i = 0; i < fields; i++) {
                const GValue* value = gst_structure_get_value(stats, gst_structure_nth_field_name(stats, i));
                if (!GST_VALUE_HOLDS_STRUCTURE(value))
                    continue;
                const GstStructure* entry = gst_value_get_structure(value);
                GstWebRTCStatsType type;
                if (!gst_structure_get(entry, "type", GST_TYPE_WEBRTC_STATS_TYPE, &type, nullptr) ||
                    type != GST_WEBRTC_STATS_INBOUND_RTP)
                    continue;
                guint64 received = 0;
                gint64 lost = 0;
                gst_structure_get_uint64(entry, "packets-received", &received);
                gst_structure_get_int64(entry, "packets-lost", &lost);
                count.received += received;
                count.lost += lost;
            }
        }
        gst_promise_unref(promise);
    }
    return count;
}

void BareCall::stop()
{
    if (!pipeline_)
        return;
    gst_element_set_state(pipeline_, GST_STATE_NULL);
    g_autoptr(GstBus) bus = gst_element_get_bus(pipeline_);
    gst_bus_set_sync_handler(bus, nullptr, nullptr, nullptr);
    gst_object_unref(pipeline_);
    pipeline_ = a_ = b_ = nullptr;
}

}  // namespace bench
