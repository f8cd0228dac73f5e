/**
 * SECTION:element-callbin
 * @title: callbin
 *
 * callbin is one call's media: a webrtcbin (max-bundle, NACK on video, where audio has Opus's
 * in-band FEC instead; jitterbuffer latency tuned for calls) that a #CallSignaller drives. callbin
 * never touches the network for signalling: the signaller tells it to offer ("session-requested"),
 * hands it the peer's descriptions and ICE candidates, and carries callbin's own back to the peer
 * (see lib/src/protocol/call_signaller.h).
 *
 * Sending: each request sink pad `audio_%u` takes raw audio, which callbin converts to 48 kHz mono,
 * encodes with Opus (voice, 32 kb/s, 20 ms frames, in-band FEC) and sends on a sendrecv audio
 * transceiver of its own. Each request sink pad `video_%u` takes raw video, which callbin encodes
 * at its own size and sends on a sendrecv video transceiver of its own (NACK on): with VP8 tuned
 * for calls (real time, 1 Mb/s constant bitrate, error resilient, no periodic keyframes, 15-bit
 * picture ids) or H.264 (openh264, constrained baseline, 1 Mb/s, no periodic keyframes, SPS and
 * PPS before each keyframe). #CallBin:video-codecs lists the codecs callbin may send, in order of
 * preference (VP8, then H.264, by default): its offer lists them in that order, and an answerer
 * takes the first codec of the offer it may send, so the caller's preference decides; both
 * directions of a call use that codec. The encoder is made when the call settles on its codec;
 * what comes before is dropped. A keyframe is forced when the peer connection is connected (what the encoder
 * made before DTLS completed is lost) and whenever the far end asks for one (a PLI or FIR, which
 * rtpbin turns into a force-key-unit event that reaches the encoder). Request the pads before the
 * call is negotiated: webrtcbin 1.22 cannot add media to a call later. #CallBin:muted turns the
 * sent audio into digital silence without renegotiating (webrtcbin 1.22 cannot change a
 * transceiver's direction either). A callbin with no sink pad at all offers to receive audio and
 * video, as a recording bot wants.
 *
 * Receiving: each remote stream comes out of a sometimes src pad named after its participant,
 * `audio_<participant>` or `video_<participant>` (the raw id with everything outside
 * [A-Za-z0-9_-] turned into '_'), carrying the encoded media (audio/x-opus; video/x-vp8 or
 * video/x-h264 in avc form, whole frames, parsed) so that recorders can mux it without transcoding;
 * decoding is up to the application. After a lost video packet nothing goes out until the next
 * keyframe, which callbin asks the sender for. The pad's properties (participant-id, kind, stream-id,
 * display-name) and a sticky "call-stream-info" event say whose stream it is. `pad-added` fires on
 * a streaming thread when the stream's first packet arrives. An unlinked pad drops its data and
 * stalls nothing.
 *
 * When a stream ends (the peer left, or webrtcbin sent EOS for an inactive transceiver) the pad
 * stays, its downstream sees a gap rather than EOS, and #CallBin::participant-stream-ended is
 * emitted. An EOS event sent to callbin (or to its pipeline, as `gst-launch-1.0 -e` does) ends
 * every remote stream for real, so that recorders can finalize, and callbin posts EOS; it never
 * blocks the thread that sends it. A kind of stream that never came (video from a caller without
 * a camera) gets its pad then, empty and ended at once, so that whatever waits for it (a launch
 * line's `call. ! video/x-vp8 ! …`, a muxer's track) ends too.
 *
 * The signaller is started when callbin goes to PAUSED and stopped when it goes back to READY;
 * going back to READY ends the call (its webrtcbin is set to NULL and dropped, from the thread
 * that changes the state) and leaves callbin ready for the next one. As in any live pipeline,
 * the application recalculates latency on GST_MESSAGE_LATENCY (webrtcbin's network sinks appear
 * only once the call is negotiated).
 *
 * Statistics: the action signal #CallBin::get-stats answers a #GstPromise with webrtcbin's
 * statistics of the current call (W3C RTCStats: outbound-rtp, inbound-rtp, remote-inbound-rtp,
 * codec, ...), so an application need not reach for the webrtcbin inside.
 *
 * ## On its own: server-url, access-token, target
 *
 * Given #CallBin:server-url and #CallBin:access-token and no #CallBin:signaller, callbin makes a
 * signaller of its own on NULL to READY (a #CallServerSignaller, exposed through #GstChildProxy as
 * the child "signaller", so `signaller::ca-file=…` works in a launch line) that connects to
 * calling-server by itself, from a thread of its own. With #CallBin:target it calls that raw id;
 * without, it answers the first incoming call. The settings are read when callbin goes to PAUSED.
 *
 * callbin then reports the call on the bus:
 * - a `call-state` element message (`state`: connecting, waiting, calling, ringing, connected,
 *   ended; `call-id`, `peer-id`) each time the call moves on;
 * - when the call is over, a `call-ended` element message (`code`, `sub-code`, `message`,
 *   `peer-id`: calling-server's end reason), then:
 *   - EOS when the call had been connected, however it ended (hung up, also for everyone; the
 *     far end vanished, 410/301005; a token expired, 495/4507): the remote streams end and the
 *     pipeline with them, so recorders finalise their files and `gst-launch-1.0` exits 0;
 *   - an error when it never connected (rejected, no answer, callee offline), unless its code is 0;
 * - an error when it cannot go on before the call is connected: no connection, a refused token
 *   (`RESOURCE NOT_AUTHORIZED`, with 401/4507 in the message; the token is never shown), a bad
 *   setting. Once connected, losing calling-server is a warning, and EOS as above.
 * Going back to READY hangs up and closes the connection.
 *
 * A signaller given with #CallBin:signaller may report the same way: callbin reacts to the
 * "call-state-changed", "call-ended" and "error" signals of any #CallSignaller.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 audiotestsrc is-live=true ! callbin name=call \
 *     server-url=http://127.0.0.1:8080/ access-token=$TOKEN target=8:acs:… \
 *     call. ! audio/x-opus ! queue ! opusdec ! audioconvert ! autoaudiosink
 * ]| Calls a user, sends a tone and plays what the user says; ends when either side hangs up.
 * |[
 * gst-launch-1.0 -m pulsesrc ! callbin name=call server-url=http://127.0.0.1:8080/ \
 *     access-token=$TOKEN signaller::display-name=Bot \
 *     call. ! audio/x-opus ! queue ! opusdec ! audioconvert ! autoaudiosink
 * ]| Answers the first incoming call; `-m` shows the `call-state` messages.
 * |[
 * gst-launch-1.0 -e callbin name=call server-url=http://127.0.0.1:8080/ access-token=$TOKEN \
 *     call. ! audio/x-opus ! queue ! mux.audio_%u call. ! video/x-vp8 ! queue ! mux.video_%u \
 *     matroskamux name=mux offset-to-zero=true ! filesink location=call.mkv
 * ]| Answers the first incoming call and records the caller's audio and video as they arrive; the
 * file is finished however the call ends, and on Ctrl-C. In an application, connect to
 * `pad-added` and link each `audio_*` or `video_*` pad to a decoder (opusdec; vp8dec, or
 * h264parse ! openh264dec, or decodebin for either) or a muxer; unlinked pads stall nothing.
 * |[
 * gst-launch-1.0 -e v4l2src ! callbin name=call video-codecs=h264,vp8 \
 *     server-url=http://127.0.0.1:8080/ access-token=$TOKEN target=8:acs:… \
 *     call. ! video/x-h264 ! queue ! mux.video_%u  matroskamux name=mux ! filesink location=call.mkv
 * ]| Calls a user preferring H.264, sends the camera and records the user's video untouched.
 */
#include "call_bin.h"

#include <gst/sdp/sdp.h>
#include <gst/video/video.h>
#include <gst/webrtc/webrtc.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "call_participant_demux.h"
#include "call_server_signaller.h"
#include "call_stream_info.h"
#include "gstreamer/ref_ptr.h"
#include "protocol/call_signaller.h"

GST_DEBUG_CATEGORY_STATIC(call_bin_debug);
#define GST_CAT_DEFAULT call_bin_debug

using calling::detail::RefPtr;
using calling::detail::StreamInfo;

namespace {

// A jitterbuffer of 80 ms absorbs the jitter of most networks a call survives, and keeps the
// mouth-to-ear delay well below the 150 ms where conversation starts to suffer (ITU-T G.114).
constexpr guint kDefaultLatency = 80;
constexpr gboolean kDefaultMuted = FALSE;
constexpr guint kOpusBitrate = 32000;
// Opus is sent with this payload type on the first audio transceiver, the next ones counting up;
// VP8 likewise from kFirstVideoPayloadType. Both sides of a call number them the same way, so an
// answerer's transceivers match the offer's media (webrtcbin 1.22 never renumbers what it sends).
// What is left up to 127 is webrtcbin's, for the retransmission (RTX) payloads it adds.
constexpr guint kFirstAudioPayloadType = 96;
constexpr size_t kMaxAudioPads = 8;
constexpr guint kFirstVideoPayloadType = 104;
constexpr size_t kMaxVideoPads = 4;
// A video slot's H.264 payload type is its VP8 one plus this: 108 up.
constexpr guint kH264PayloadTypeOffset = kMaxVideoPads;
// VP8 and H.264 for calls: about 1 Mb/s suits 640x480 at 30 frames a second.
constexpr guint kVideoBitrate = 1000000;
// Periodic keyframes cost bitrate spikes for nothing in a call: the far end asks for one (PLI/FIR)
// when it needs one, and callbin forces one when the connection comes up.
constexpr guint kKeyframeMaxDistance = 3000;
constexpr const char* kDefaultVideoCodecs = "vp8,h264";

enum {
    PROP_0,
    PROP_SIGNALLER,
    PROP_LATENCY,
    PROP_STUN_SERVER,
    PROP_MUTED,
    PROP_PEER_ID,
    PROP_CONNECTION_STATE,
    PROP_SERVER_URL,
    PROP_ACCESS_TOKEN,
    PROP_TARGET,
    PROP_DISPLAY_NAME,
    PROP_VIDEO_CODECS,
    N_PROPERTIES,
};

enum {
    SIGNAL_PARTICIPANT_STREAM_ENDED,
    SIGNAL_GET_STATS,
    SIGNAL_COUNT,
};

guint binSignals[SIGNAL_COUNT];

GstStaticPadTemplate audioSinkTemplate =
    GST_STATIC_PAD_TEMPLATE("audio_%u", GST_PAD_SINK, GST_PAD_REQUEST, GST_STATIC_CAPS("audio/x-raw"));
GstStaticPadTemplate videoSinkTemplate =
    GST_STATIC_PAD_TEMPLATE("video_%u", GST_PAD_SINK, GST_PAD_REQUEST, GST_STATIC_CAPS("video/x-raw"));
GstStaticPadTemplate audioSrcTemplate =
    GST_STATIC_PAD_TEMPLATE("audio_%s", GST_PAD_SRC, GST_PAD_SOMETIMES, GST_STATIC_CAPS("audio/x-opus"));
// H.264 comes out as matroskamux and mp4mux take it (avc, whole frames, with the picture's size,
// which h264parse reads from the SPS), so that recorders need no parser of their own; a decoder
// wants byte-stream (decodebin adds another h264parse).
#define CALL_BIN_H264_CAPS "video/x-h264, stream-format=(string)avc, alignment=(string)au"
GstStaticPadTemplate videoSrcTemplate = GST_STATIC_PAD_TEMPLATE("video_%s", GST_PAD_SRC, GST_PAD_SOMETIMES,
                                                                GST_STATIC_CAPS("video/x-vp8; " CALL_BIN_H264_CAPS));

// How a received stream is unpacked, by its RTP encoding name. Decoding is the application's.
struct ReceiveCodec {
    const char* encodingName;
    const char* kind;
    const char* depayloader;
    const char* parser;  // after the depayloader, if any
    const char* caps;    // what comes out, if there is a choice
};
constexpr ReceiveCodec kReceiveCodecs[] = {
    {"OPUS", "audio", "rtpopusdepay", nullptr, nullptr},
    {"VP8", "video", "rtpvp8depay", nullptr, nullptr},
    {"H264", "video", "rtph264depay", "h264parse", CALL_BIN_H264_CAPS},
};

enum class VideoCodec { Vp8, H264 };

struct VideoCodecName {
    VideoCodec codec;
    const char* name;          // in #CallBin:video-codecs
    const char* encodingName;  // in SDP
};
constexpr VideoCodecName kVideoCodecNames[] = {
    {VideoCodec::Vp8, "vp8", "VP8"},
    {VideoCodec::H264, "h264", "H264"},
};

const VideoCodecName& nameOf(VideoCodec codec)
{
    return codec == VideoCodec::Vp8 ? kVideoCodecNames[0] : kVideoCodecNames[1];
}

// "vp8,h264" (any case, blanks around names allowed) as codecs in order; empty when the text
// names no codec, an unknown one, or one twice.
std::vector<VideoCodec> parseVideoCodecs(const char* text)
{
    std::vector<VideoCodec> codecs;
    g_auto(GStrv) names = g_strsplit(text ? text : "", ",", -1);
    for (gchar** name = names; *name; ++name) {
        g_strstrip(*name);
        auto known = std::find_if(std::begin(kVideoCodecNames), std::end(kVideoCodecNames),
                                  [&](const VideoCodecName& codec) { return g_ascii_strcasecmp(codec.name, *name) == 0; });
        if (known == std::end(kVideoCodecNames) || std::find(codecs.begin(), codecs.end(), known->codec) != codecs.end())
            return {};
        codecs.push_back(known->codec);
    }
    return codecs;
}

std::string videoCodecsText(const std::vector<VideoCodec>& codecs)
{
    std::string text;
    for (VideoCodec codec : codecs)
        text += (text.empty() ? "" : ",") + std::string(nameOf(codec).name);
    return text;
}

enum class Kind { Audio, Video };

const char* kindName(Kind kind)
{
    return kind == Kind::Audio ? "audio" : "video";
}

RefPtr<GstCaps> opusRtpCaps(guint payloadType)
{
    return RefPtr<GstCaps>::adopt(gst_caps_new_simple("application/x-rtp", "media", G_TYPE_STRING, "audio",
                                                      "encoding-name", G_TYPE_STRING, "OPUS", "clock-rate",
                                                      G_TYPE_INT, 48000, "encoding-params", G_TYPE_STRING, "2",
                                                      "payload", G_TYPE_INT, gint(payloadType), nullptr));
}

// With `formatParameters`, H.264's as browsers offer and expect it: non-interleaved packets
// (FU-A, what rtph264pay makes) of constrained baseline up to level 3.1, which every WebRTC
// endpoint decodes. Without, only what webrtcbin must match the sent packets against: the
// payloader names the profile-level-id of its SPS (openh264 says 42c01e for 640x480), which as
// a string differs from the negotiated one although it is what was negotiated.
RefPtr<GstCaps> videoRtpCaps(VideoCodec codec, guint payloadType, bool formatParameters = true)
{
    auto caps = RefPtr<GstCaps>::adopt(gst_caps_new_simple(
        "application/x-rtp", "media", G_TYPE_STRING, "video", "encoding-name", G_TYPE_STRING,
        nameOf(codec).encodingName, "clock-rate", G_TYPE_INT, 90000, "payload", G_TYPE_INT, gint(payloadType), nullptr));
    if (codec == VideoCodec::H264 && formatParameters)
        gst_caps_set_simple(caps.get(), "packetization-mode", G_TYPE_STRING, "1", "profile-level-id", G_TYPE_STRING,
                            "42e01f", "level-asymmetry-allowed", G_TYPE_STRING, "1", nullptr);
    return caps;
}

// A video slot's payload type for `codec`, from the slot's VP8 one.
guint videoPayloadType(guint vp8PayloadType, VideoCodec codec)
{
    return codec == VideoCodec::Vp8 ? vp8PayloadType : vp8PayloadType + kH264PayloadTypeOffset;
}

// What a video transceiver offers: each codec in order of preference, the preferred one first
// (webrtcbin 1.22 gives only the first an RTX payload type). `ssrc`, when not 0, goes on the
// first alone: webrtcbin writes the a=ssrc lines once per structure that names one.
RefPtr<GstCaps> videoOfferCaps(const std::vector<VideoCodec>& codecs, guint vp8PayloadType, guint ssrc)
{
    auto caps = RefPtr<GstCaps>::adopt(gst_caps_new_empty());
    for (VideoCodec codec : codecs) {
        RefPtr<GstCaps> one = videoRtpCaps(codec, videoPayloadType(vp8PayloadType, codec));
        if (ssrc && gst_caps_is_empty(caps.get()))
            gst_caps_set_simple(one.get(), "ssrc", G_TYPE_UINT, ssrc, nullptr);
        gst_caps_append(caps.get(), one.release());
    }
    return caps;
}

// NACK (and the RTX stream webrtcbin adds with it) for video only: a lost video packet spoils frames
// until the next keyframe, while Opus covers a lost packet with its in-band FEC; and browsers refuse
// an audio m-line with an RTX stream (Chromium: "Failed to add remote stream ssrc" on the offer's
// ssrc-group FID), so an offer with audio RTX never reaches a browser's call.
gboolean nackFor(Kind kind)
{
    return kind == Kind::Video;
}

// A receive-only transceiver's caps for an offer of callbin's own.
RefPtr<GstCaps> receiveCaps(Kind kind, const std::vector<VideoCodec>& videoCodecs)
{
    return kind == Kind::Audio ? opusRtpCaps(kFirstAudioPayloadType)
                               : videoOfferCaps(videoCodecs, kFirstVideoPayloadType, 0);
}

// One request sink pad and the encoding chain behind it. An audio slot's chain is whole from the
// start, Opus to its RTP capsfilter. A video slot's is raw video (queue, videoconvert) until the
// call's codec is settled: then the encoder, payloader and RTP capsfilter of that codec join it
// (`codecElements`), for this call only.
struct SendSlot {
    Kind kind = Kind::Audio;
    RefPtr<GstPad> ghost;
    std::vector<RefPtr<GstElement>> elements;       // in link order
    std::vector<RefPtr<GstElement>> codecElements;  // video, in link order, for the current call
    RefPtr<GstElement> volume;                      // audio: mute
    RefPtr<GstElement> encoder;                     // video: where forced keyframes go, once settled
    // Audio: Opus's. Video: VP8's; H.264 has its own (videoPayloadType).
    guint payloadType = 0;
    // Fixed up front, so that the offer names it (a=ssrc … msid:) before the first packet: the far
    // end maps each stream to its msid by SSRC, which tells a participant's streams apart.
    guint ssrc = 0;
    RefPtr<GstPad> webrtcPad;  // the sink pad of the current webrtcbin it feeds
};

// The RTP caps at the end of a slot's chain (video: once its codec is settled).
RefPtr<GstCaps> slotCaps(const SendSlot& slot, VideoCodec codec = VideoCodec::Vp8, guint payloadType = 0)
{
    RefPtr<GstCaps> caps = slot.kind == Kind::Audio ? opusRtpCaps(slot.payloadType)
                                                    : videoRtpCaps(codec, payloadType, false);
    gst_caps_set_simple(caps.get(), "ssrc", G_TYPE_UINT, slot.ssrc, nullptr);
    return caps;
}

// The element at the end of a slot's chain, whose src pad feeds webrtcbin; null for a video slot
// whose codec is not settled yet.
GstElement* chainEnd(const SendSlot& slot)
{
    const auto& chain = slot.kind == Kind::Audio ? slot.elements : slot.codecElements;
    return chain.empty() ? nullptr : chain.back().get();
}

// One webrtcbin src pad and the depayloader behind it; or, with neither, the demuxer sink pad of
// a stream that never came (see exposeMissingStreams).
struct ReceiveChain {
    RefPtr<GstPad> webrtcPad;
    RefPtr<GstElement> tail;  // depayloader, or a fakesink for what callbin cannot unpack
    std::vector<RefPtr<GstElement>> after;  // after the depayloader: a parser, a capsfilter
    RefPtr<GstPad> demuxSink;
};

struct PromiseContext {
    GWeakRef bin;
    guint64 generation;
    std::string peerId;
};

void freePromiseContext(gpointer data)
{
    auto* context = static_cast<PromiseContext*>(data);
    g_weak_ref_clear(&context->bin);
    delete context;
}

}  // namespace

// The element's C++ state, new-ed in init and deleted in finalize.
//
// Locks, in the order they are taken:
//   1. the element's state lock (GST_STATE_LOCK), held by GStreamer around state changes;
//   2. `structureMutex`, held while webrtcbin or a send slot is built or torn down (state changes,
//      request and release of pads), so that a slot is never half attached. Never taken on a
//      streaming thread or webrtcbin's thread, so it may be held while webrtcbin goes to NULL;
//   3. `mutex`, for everything below. Never held while calling into webrtcbin, the signaller or
//      other elements, adding or removing pads or elements, or emitting signals: take what is
//      needed (references) and let go first.
struct CallBinState {
    std::mutex structureMutex;
    std::mutex mutex;

    // Properties.
    RefPtr<CallSignaller> signaller;
    // The signaller is one callbin made itself (a CallServerSignaller) from the settings below.
    bool ownSignaller = false;
    // For a signaller of callbin's own; the token is never logged.
    std::string serverUrl;
    std::string accessToken;
    std::string target;
    std::string displayName;
    guint latency = kDefaultLatency;
    std::string stunServer;
    bool muted = kDefaultMuted;
    // #CallBin:video-codecs as given, and as understood: empty when it names no codec callbin
    // knows (then the next call fails to start, saying so).
    std::string videoCodecsSetting = kDefaultVideoCodecs;
    std::vector<VideoCodec> videoCodecs = parseVideoCodecs(kDefaultVideoCodecs);

    RefPtr<GstElement> demux;
    // The webrtcbin of the current call; a new one for each call (webrtcbin 1.22 can neither
    // restart ICE nor forget a negotiation). Null in NULL and READY after a call.
    RefPtr<GstElement> webrtc;
    // Counts webrtcbins, so that late answers from a previous call's webrtcbin are recognised.
    guint64 generation = 0;

    std::vector<std::unique_ptr<SendSlot>> sendSlots;
    guint nextAudioIndex = 0;
    guint nextVideoIndex = 0;
    std::vector<ReceiveChain> receiveChains;

    // The signaller's handlers, connected from PAUSED to READY.
    std::vector<gulong> signallerHandlers;
    bool running = false;

    // The session: one peer per call.
    std::string peerId;
    std::string peerDisplayName;
    bool negotiating = false;  // an offer was made or received: no new transceivers from now on
    // The current webrtcbin's peer connection state, mirrored for the application.
    GstWebRTCPeerConnectionState connectionState = GST_WEBRTC_PEER_CONNECTION_STATE_NEW;
    // The peer left: media in both directions is dropped until the next call. Read by pad probes.
    std::atomic<bool> sessionEnded = false;
    // connectionState is CONNECTED: only then is a send slot's media sent. Read by pad probes.
    std::atomic<bool> transportUp = false;
    // The signaller said the call was connected: from then on, any end of it ends the pipeline with
    // EOS (recordings finalise) rather than an error. Reset when the signaller starts.
    bool callConnected = false;
    // The remote streams were ended for good (EOS): once per call.
    bool remoteStreamsEnded = false;
};

struct _CallBin {
    GstBin parent;
    CallBinState* state;
};

struct _CallBinPad {
    GstGhostPad parent;
    // Written once before the pad is added, read by property getters: under the pad's object lock.
    StreamInfo* info;
};

G_DEFINE_TYPE(CallBinPad, call_bin_pad, GST_TYPE_GHOST_PAD)

static void call_bin_child_proxy_init(GstChildProxyInterface* iface);

G_DEFINE_TYPE_WITH_CODE(CallBin, call_bin, GST_TYPE_BIN,
                        G_IMPLEMENT_INTERFACE(GST_TYPE_CHILD_PROXY, call_bin_child_proxy_init)
                        GST_DEBUG_CATEGORY_INIT(call_bin_debug, "callbin", 0, "Call media around webrtcbin"))

GST_ELEMENT_REGISTER_DEFINE(callbin, "callbin", GST_RANK_NONE, CALL_TYPE_BIN)

// ---------------------------------------------------------------------------------------------
// The src pad type

enum {
    PAD_PROP_0,
    PAD_PROP_FIRST_INFO,
};

static void call_bin_pad_init(CallBinPad* self)
{
    self->info = new StreamInfo;
}

static void call_bin_pad_finalize(GObject* object)
{
    delete CALL_BIN_PAD(object)->info;
    G_OBJECT_CLASS(call_bin_pad_parent_class)->finalize(object);
}

static void call_bin_pad_get_property(GObject* object, guint propertyId, GValue* value, GParamSpec* pspec)
{
    auto* self = CALL_BIN_PAD(object);
    GST_OBJECT_LOCK(self);
    StreamInfo info = *self->info;
    GST_OBJECT_UNLOCK(self);
    if (!calling::detail::getStreamInfoProperty(info, PAD_PROP_FIRST_INFO, propertyId, value))
        G_OBJECT_WARN_INVALID_PROPERTY_ID(object, propertyId, pspec);
}

static void call_bin_pad_class_init(CallBinPadClass* klass)
{
    GObjectClass* objectClass = G_OBJECT_CLASS(klass);
    objectClass->finalize = call_bin_pad_finalize;
    objectClass->get_property = call_bin_pad_get_property;
    calling::detail::installStreamInfoProperties(objectClass, PAD_PROP_FIRST_INFO);
}

// ---------------------------------------------------------------------------------------------
// Helpers

namespace {

RefPtr<GstElement> makeElement(CallBin* self, const char* factory, const char* name = nullptr)
{
    auto element = RefPtr<GstElement>::adopt(gst_element_factory_make(factory, name));
    if (!element)
        GST_ELEMENT_ERROR(self, CORE, MISSING_PLUGIN, ("Missing element '%s'.", factory),
                          ("callbin needs %s; install the GStreamer plugin that provides it.", factory));
    return element;
}

// A webrtcbin promise reply's error, if any, as text.
std::string promiseError(GstPromise* promise)
{
    if (gst_promise_wait(promise) != GST_PROMISE_RESULT_REPLIED)
        return "no reply (webrtcbin closed)";
    const GstStructure* reply = gst_promise_get_reply(promise);
    if (!reply || !gst_structure_has_field(reply, "error"))
        return {};
    g_autoptr(GError) error = nullptr;
    gst_structure_get(reply, "error", G_TYPE_ERROR, &error, nullptr);
    return error ? error->message : "unknown error";
}

// The bin and its current webrtcbin for a promise's context, if the promise belongs to it.
struct Current {
    RefPtr<CallBin> bin;
    RefPtr<GstElement> webrtc;
    RefPtr<CallSignaller> signaller;
};

Current currentFor(PromiseContext* context)
{
    Current current;
    current.bin = RefPtr<CallBin>::adopt(static_cast<CallBin*>(g_weak_ref_get(&context->bin)));
    if (!current.bin)
        return {};
    CallBinState& state = *current.bin->state;
    std::lock_guard lock(state.mutex);
    if (state.generation != context->generation || !state.running || state.peerId != context->peerId)
        return {};
    current.webrtc = state.webrtc;
    current.signaller = state.signaller;
    if (!current.webrtc || !current.signaller)
        return {};
    return current;
}

GstPromise* newPromise(CallBin* self, guint64 generation, const std::string& peerId, GstPromiseChangeFunc func)
{
    auto* context = new PromiseContext{{}, generation, peerId};
    g_weak_ref_init(&context->bin, self);
    return gst_promise_new_with_change_func(func, context, freePromiseContext);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Negotiation. Promise callbacks run on webrtcbin's own thread; none of them blocks.

static bool linkSendSlots(CallBin* self);

static void setLocalAndSend(PromiseContext* context, GstPromise* promise, const char* field, const char* type)
{
    Current current = currentFor(context);
    if (!current.bin)
        return;
    if (std::string error = promiseError(promise); !error.empty()) {
        GST_ELEMENT_ERROR(current.bin.get(), STREAM, FAILED, ("Could not create the %s.", type),
                          ("webrtcbin: %s", error.c_str()));
        return;
    }
    GstWebRTCSessionDescription* description = nullptr;
    gst_structure_get(gst_promise_get_reply(promise), field, GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &description,
                      nullptr);
    if (!description) {
        GST_ELEMENT_ERROR(current.bin.get(), STREAM, FAILED, ("Could not create the %s.", type),
                          ("webrtcbin replied without one"));
        return;
    }
    g_signal_emit_by_name(current.webrtc.get(), "set-local-description", description, nullptr);
    g_autofree gchar* sdp = gst_sdp_message_as_text(description->sdp);
    gst_webrtc_session_description_free(description);
    GST_DEBUG_OBJECT(current.bin.get(), "sending %s to %s:\n%s", type, context->peerId.c_str(), sdp);
    call_signaller_send_sdp(current.signaller.get(), context->peerId.c_str(), type, sdp);
}

static void onOfferCreated(GstPromise* promise, gpointer data)
{
    setLocalAndSend(static_cast<PromiseContext*>(data), promise, "offer", "offer");
}

static void onAnswerCreated(GstPromise* promise, gpointer data)
{
    setLocalAndSend(static_cast<PromiseContext*>(data), promise, "answer", "answer");
}

static void onRemoteOfferSet(GstPromise* promise, gpointer data)
{
    auto* context = static_cast<PromiseContext*>(data);
    Current current = currentFor(context);
    if (!current.bin)
        return;
    if (std::string error = promiseError(promise); !error.empty()) {
        GST_ELEMENT_ERROR(current.bin.get(), STREAM, FAILED, ("The peer's offer was refused."),
                          ("webrtcbin: %s", error.c_str()));
        return;
    }
    // The offer may have made webrtcbin create transceivers of its own (media callbin does not
    // send). Video ones get NACK too (see nackFor); here rather than in on-new-transceiver, where
    // webrtcbin 1.22 holds its lock.
    GArray* transceivers = nullptr;
    g_signal_emit_by_name(current.webrtc.get(), "get-transceivers", &transceivers);
    if (transceivers) {
        for (guint i = 0; i < transceivers->len; ++i) {
            auto* transceiver = g_array_index(transceivers, GstWebRTCRTPTransceiver*, i);
            GstWebRTCKind kind = GST_WEBRTC_KIND_UNKNOWN;
            g_object_get(transceiver, "kind", &kind, nullptr);
            if (kind == GST_WEBRTC_KIND_VIDEO)
                g_object_set(transceiver, "do-nack", TRUE, nullptr);
        }
        g_array_unref(transceivers);
    }
    auto answered = RefPtr<GstPromise>::adopt(
        newPromise(current.bin.get(), context->generation, context->peerId, onAnswerCreated));
    g_signal_emit_by_name(current.webrtc.get(), "create-answer", nullptr, answered.get());
}

static void onRemoteAnswerSet(GstPromise* promise, gpointer data)
{
    auto* context = static_cast<PromiseContext*>(data);
    Current current = currentFor(context);
    if (!current.bin)
        return;
    if (std::string error = promiseError(promise); !error.empty())
        GST_ELEMENT_ERROR(current.bin.get(), STREAM, FAILED, ("The peer's answer was refused."),
                          ("webrtcbin: %s", error.c_str()));
}

// ---------------------------------------------------------------------------------------------
// The signaller's signals. They come from the signaller's thread, never a streaming thread.

// The session's webrtcbin for `peerId`, adopting the peer if there is no session yet.
static Current sessionFor(CallBin* self, const char* peerId, bool mayStart, guint64* generation)
{
    CallBinState& state = *self->state;
    Current current;
    bool adopted = false;
    {
        std::lock_guard lock(state.mutex);
        if (!state.running || !state.webrtc) {
            GST_DEBUG_OBJECT(self, "not running: ignoring the signaller");
            return {};
        }
        if (state.peerId.empty() && mayStart) {
            state.peerId = peerId;
            adopted = true;
        } else if (state.peerId != peerId) {
            GST_WARNING_OBJECT(self, "ignoring %s: this call is with %s", peerId,
                               state.peerId.empty() ? "nobody yet" : state.peerId.c_str());
            return {};
        }
        *generation = state.generation;
        current = Current{RefPtr<CallBin>::ref(self), state.webrtc, state.signaller};
    }
    if (adopted)
        g_object_notify(G_OBJECT(self), "peer-id");
    return current;
}

static void onSessionRequested(CallSignaller*, const gchar* peerId, const gchar* displayName, gpointer data)
{
    auto* self = CALL_BIN(data);
    CallBinState& state = *self->state;
    guint64 generation = 0;
    bool addReceivers = false;
    std::vector<VideoCodec> videoCodecs;
    {
        std::lock_guard lock(state.mutex);
        videoCodecs = state.videoCodecs;
        if (state.negotiating) {
            GST_WARNING_OBJECT(self, "ignoring a session request for %s: already negotiated with %s", peerId,
                               state.peerId.c_str());
            return;
        }
    }
    Current current = sessionFor(self, peerId, true, &generation);
    if (!current.bin)
        return;
    {
        std::lock_guard lock(state.mutex);
        state.peerDisplayName = displayName ? displayName : "";
        state.negotiating = true;
        addReceivers = state.sendSlots.empty();
    }
    GST_INFO_OBJECT(self, "offering to %s", peerId);
    if (addReceivers) {
        // Nothing to send: offer to receive audio and video anyway, as a recorder wants.
        for (Kind kind : {Kind::Audio, Kind::Video}) {
            RefPtr<GstCaps> caps = receiveCaps(kind, videoCodecs);
            GstWebRTCRTPTransceiver* transceiver = nullptr;
            g_signal_emit_by_name(current.webrtc.get(), "add-transceiver",
                                  GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY, caps.get(), &transceiver);
            if (transceiver) {
                g_object_set(transceiver, "do-nack", nackFor(kind), nullptr);
                gst_object_unref(transceiver);
            }
        }
    }
    // Video slots stay unlinked until the answer says which codec: a linked encoder's caps would be
    // all that webrtcbin offers.
    if (!linkSendSlots(self))
        return;
    auto offered = RefPtr<GstPromise>::adopt(newPromise(self, generation, peerId, onOfferCreated));
    g_signal_emit_by_name(current.webrtc.get(), "create-offer", nullptr, offered.get());
}

// The payload type an offer's m-line gives `encodingName` (its first rtpmap of that name), or -1.
static int offeredPayloadType(const GstSDPMedia* media, const char* encodingName)
{
    for (guint i = 0; i < gst_sdp_media_formats_len(media); ++i) {
        int payloadType = atoi(gst_sdp_media_get_format(media, i));
        g_autoptr(GstCaps) caps = gst_sdp_media_get_caps_from_media(media, payloadType);
        const char* name = caps ? gst_structure_get_string(gst_caps_get_structure(caps, 0), "encoding-name") : nullptr;
        if (name && g_ascii_strcasecmp(name, encodingName) == 0)
            return payloadType;
    }
    return -1;
}

// The codec a video m-line settles on: its first format (in its order: the offerer's preference,
// or the one an answer kept) that callbin may send, with that format's payload type. H.264 only
// in packetization mode 1, the only one rtph264pay makes; what callbin sends, constrained
// baseline, every H.264 profile decodes.
static std::optional<std::pair<VideoCodec, guint>> videoCodecOf(const GstSDPMedia* media,
                                                                const std::vector<VideoCodec>& allowed)
{
    for (guint i = 0; i < gst_sdp_media_formats_len(media); ++i) {
        int payloadType = atoi(gst_sdp_media_get_format(media, i));
        g_autoptr(GstCaps) caps = gst_sdp_media_get_caps_from_media(media, payloadType);
        if (!caps || gst_caps_is_empty(caps))
            continue;
        const GstStructure* format = gst_caps_get_structure(caps, 0);
        const char* name = gst_structure_get_string(format, "encoding-name");
        for (VideoCodec codec : allowed) {
            if (!name || g_ascii_strcasecmp(name, nameOf(codec).encodingName) != 0)
                continue;
            if (codec == VideoCodec::H264 && g_strcmp0(gst_structure_get_string(format, "packetization-mode"), "1") != 0)
                continue;
            return std::make_pair(codec, guint(payloadType));
        }
    }
    return std::nullopt;
}

static bool settleVideoSlot(CallBin* self, SendSlot& slot, VideoCodec codec, guint payloadType);
static void dropVideoEncoder(CallBin* self, SendSlot& slot);

// An offer that did not come from another callbin (a browser's: Opus on 111, VP8 on 96, H.264 on
// 102, among many codecs) numbers its codecs its own way. webrtcbin 1.22 neither matches a
// transceiver whose codec preferences carry another payload type (it adds a receive-only one
// instead, and nothing is sent) nor renumbers what it sends: so each send slot takes the payload
// type of its m-line (the n-th of its kind), before the offer is set.
//
// An audio slot's chain already runs: the payload type goes into the caps at the end of its
// chain, its payloader (which writes it in every packet from now on) and its transceiver's codec
// preferences, before the slot is linked to webrtcbin (see linkSendSlots). The caps the chain
// already made (kept on its unlinked end until the link) get the new payload type too: they are
// what webrtcbin sees first once linked, before the payloader's own renegotiated caps.
//
// A video slot settles here on the offer's codec (videoCodecOf), and its encoder is built for it
// with the offer's payload type and linked (settleVideoSlot): the peer preferred that codec. A
// video m-line with no codec callbin may send leaves its slot unlinked: the m-line is answered by
// a receive-only transceiver of webrtcbin's own. On the signaller's thread, once negotiating is
// set: no slot comes or goes meanwhile. Offers from callbin itself keep its numbering.
static bool adoptOffer(CallBin* self, const GstSDPMessage* offer)
{
    CallBinState& state = *self->state;
    std::lock_guard structure(state.structureMutex);
    std::vector<SendSlot*> slots;
    std::vector<VideoCodec> videoCodecs;
    {
        std::lock_guard lock(state.mutex);
        for (auto& slot : state.sendSlots)
            slots.push_back(slot.get());
        videoCodecs = state.videoCodecs;
    }
    for (Kind kind : {Kind::Audio, Kind::Video}) {
        auto slot = std::find_if(slots.begin(), slots.end(), [&](SendSlot* s) { return s->kind == kind; });
        for (guint i = 0; i < gst_sdp_message_medias_len(offer) && slot != slots.end(); ++i) {
            const GstSDPMedia* media = gst_sdp_message_get_media(offer, i);
            if (g_strcmp0(gst_sdp_media_get_media(media), kindName(kind)) != 0)
                continue;
            if (kind == Kind::Video) {
                auto chosen = videoCodecOf(media, videoCodecs);
                if (!chosen) {
                    GST_WARNING_OBJECT(self, "video m-line %u offers no codec of '%s': %s is not sent", i,
                                       videoCodecsText(videoCodecs).c_str(), GST_PAD_NAME((*slot)->ghost.get()));
                } else {
                    GST_INFO_OBJECT(self, "video m-line %u: sending %s on payload type %u", i,
                                    nameOf(chosen->first).encodingName, chosen->second);
                    if (!settleVideoSlot(self, **slot, chosen->first, chosen->second))
                        return false;
                }
                slot = std::find_if(std::next(slot), slots.end(), [&](SendSlot* s) { return s->kind == kind; });
                continue;
            }
            int payloadType = offeredPayloadType(media, "OPUS");
            if (payloadType >= 0 && guint(payloadType) != (*slot)->payloadType) {
                GST_INFO_OBJECT(self, "%s m-line %u: sending on payload type %d instead of %u", kindName(kind), i,
                                payloadType, (*slot)->payloadType);
                RefPtr<GstCaps> caps = opusRtpCaps(guint(payloadType));
                // The payloader, then the capsfilter that ends the slot's chain.
                size_t count = (*slot)->elements.size();
                g_object_set((*slot)->elements[count - 1].get(), "caps", caps.get(), nullptr);
                g_object_set((*slot)->elements[count - 2].get(), "pt", guint(payloadType), nullptr);
                g_autoptr(GstPad) end = gst_element_get_static_pad((*slot)->elements[count - 1].get(), "src");
                if (g_autoptr(GstCaps) made = gst_pad_get_current_caps(end)) {
                    GstCaps* renumbered = gst_caps_make_writable(gst_caps_ref(made));
                    gst_caps_set_simple(renumbered, "payload", G_TYPE_INT, payloadType, nullptr);
                    g_autoptr(GstEvent) event = gst_event_new_caps(renumbered);
                    gst_caps_unref(renumbered);
                    gst_pad_store_sticky_event(end, event);
                }
                g_autoptr(GstWebRTCRTPTransceiver) transceiver = nullptr;
                if ((*slot)->webrtcPad)
                    g_object_get((*slot)->webrtcPad.get(), "transceiver", &transceiver, nullptr);
                if (transceiver)
                    g_object_set(transceiver, "codec-preferences", caps.get(), nullptr);
                std::lock_guard lock(state.mutex);
                (*slot)->payloadType = guint(payloadType);
            }
            slot = std::find_if(std::next(slot), slots.end(), [&](SendSlot* s) { return s->kind == kind; });
        }
    }
    return true;
}

// The answer to callbin's own offer says which codec each video m-line uses: its first format
// callbin offered (a callbin answers with one; a browser with those it shares, in the offer's
// order). Each video slot finds its m-line by the SSRC the offer named for it, and is settled
// (settleVideoSlot) before the answer is set. On the signaller's thread.
static bool adoptAnswer(CallBin* self, GstElement* webrtc, const GstSDPMessage* answer)
{
    CallBinState& state = *self->state;
    std::lock_guard structure(state.structureMutex);
    std::vector<SendSlot*> slots;
    std::vector<VideoCodec> videoCodecs;
    {
        std::lock_guard lock(state.mutex);
        for (auto& slot : state.sendSlots)
            if (slot->kind == Kind::Video && slot->codecElements.empty())
                slots.push_back(slot.get());
        videoCodecs = state.videoCodecs;
    }
    if (slots.empty())
        return true;
    GstWebRTCSessionDescription* offer = nullptr;
    g_object_get(webrtc, "pending-local-description", &offer, nullptr);
    if (!offer)
        return true;
    for (SendSlot* slot : slots) {
        std::string prefix = std::to_string(slot->ssrc) + " ";
        std::optional<guint> mline;
        for (guint i = 0; i < gst_sdp_message_medias_len(offer->sdp) && !mline; ++i) {
            const GstSDPMedia* media = gst_sdp_message_get_media(offer->sdp, i);
            for (guint j = 0; j < gst_sdp_media_attributes_len(media) && !mline; ++j) {
                const GstSDPAttribute* attribute = gst_sdp_media_get_attribute(media, j);
                if (g_strcmp0(attribute->key, "ssrc") == 0 && g_str_has_prefix(attribute->value, prefix.c_str()))
                    mline = i;
            }
        }
        if (!mline || *mline >= gst_sdp_message_medias_len(answer))
            continue;
        auto chosen = videoCodecOf(gst_sdp_message_get_media(answer, *mline), videoCodecs);
        if (!chosen) {
            GST_WARNING_OBJECT(self, "the answer's video m-line %u has no codec of '%s': %s is not sent", *mline,
                               videoCodecsText(videoCodecs).c_str(), GST_PAD_NAME(slot->ghost.get()));
            continue;
        }
        GST_INFO_OBJECT(self, "video m-line %u: sending %s on payload type %u", *mline,
                        nameOf(chosen->first).encodingName, chosen->second);
        if (!settleVideoSlot(self, *slot, chosen->first, chosen->second)) {
            gst_webrtc_session_description_free(offer);
            return false;
        }
    }
    gst_webrtc_session_description_free(offer);
    return true;
}

static void onSessionDescription(CallSignaller*, const gchar* peerId, const gchar* type, const gchar* sdp,
                                 gpointer data)
{
    auto* self = CALL_BIN(data);
    bool isOffer = g_strcmp0(type, "offer") == 0;
    if (!isOffer && g_strcmp0(type, "answer") != 0) {
        GST_WARNING_OBJECT(self, "ignoring a session description of type '%s' from %s", type, peerId);
        return;
    }
    guint64 generation = 0;
    Current current = sessionFor(self, peerId, isOffer, &generation);
    if (!current.bin)
        return;

    GstSDPMessage* message = nullptr;
    if (gst_sdp_message_new_from_text(sdp, &message) != GST_SDP_OK || gst_sdp_message_medias_len(message) == 0) {
        if (message)
            gst_sdp_message_free(message);
        GST_ELEMENT_ERROR(self, STREAM, DECODE, ("The peer sent an unusable %s.", type),
                          ("SDP from %s does not parse or has no media", peerId));
        return;
    }
    if (isOffer) {
        {
            std::lock_guard lock(self->state->mutex);
            self->state->negotiating = true;
        }
        if (!adoptOffer(self, message) || !linkSendSlots(self)) {
            gst_sdp_message_free(message);
            return;
        }
    } else if (!adoptAnswer(self, current.webrtc.get(), message)) {
        gst_sdp_message_free(message);
        return;
    }
    GST_INFO_OBJECT(self, "%s from %s", type, peerId);
    GstWebRTCSessionDescription* description = gst_webrtc_session_description_new(
        isOffer ? GST_WEBRTC_SDP_TYPE_OFFER : GST_WEBRTC_SDP_TYPE_ANSWER, message);
    auto set = RefPtr<GstPromise>::adopt(
        newPromise(self, generation, peerId, isOffer ? onRemoteOfferSet : onRemoteAnswerSet));
    g_signal_emit_by_name(current.webrtc.get(), "set-remote-description", description, set.get());
    gst_webrtc_session_description_free(description);
}

static void onHandleIce(CallSignaller*, const gchar* peerId, guint mlineIndex, const gchar* candidate, gpointer data)
{
    auto* self = CALL_BIN(data);
    // webrtcbin 1.22 has no end-of-candidates: an empty candidate says nothing it can use.
    if (!candidate || !*candidate)
        return;
    guint64 generation = 0;
    Current current = sessionFor(self, peerId, false, &generation);
    if (!current.bin)
        return;
    // Candidates that arrive before the description are kept by webrtcbin until it comes.
    g_signal_emit_by_name(current.webrtc.get(), "add-ice-candidate", mlineIndex, candidate);
}

static void sendEos(GstElement*, gpointer data)
{
    for (RefPtr<GstPad>& pad : *static_cast<std::vector<RefPtr<GstPad>>*>(data))
        gst_pad_send_event(pad.get(), gst_event_new_eos());
}

static void onSessionEnded(CallSignaller*, const gchar* peerId, gpointer data)
{
    auto* self = CALL_BIN(data);
    CallBinState& state = *self->state;
    auto ends = std::make_unique<std::vector<RefPtr<GstPad>>>();
    {
        std::lock_guard lock(state.mutex);
        if (state.peerId != peerId || state.sessionEnded)
            return;
        state.sessionEnded = true;
        for (ReceiveChain& chain : state.receiveChains) {
            if (chain.demuxSink && chain.webrtcPad)
                ends->push_back(RefPtr<GstPad>::adopt(gst_pad_get_peer(chain.webrtcPad.get())));
        }
    }
    GST_INFO_OBJECT(self, "%s left: ending the session's streams", peerId);
    // The EOS goes through the depayloaders, whose stream locks a streaming thread may hold for a
    // while: not on the signaller's thread.
    gst_element_call_async(GST_ELEMENT(self), sendEos, ends.release(), [](gpointer data) {
        delete static_cast<std::vector<RefPtr<GstPad>>*>(data);
    });
}

static void endRemoteStreams(CallBin* self, GstEvent* eos);

// Where the call stands, for the application: a "call-state" element message.
static void onCallStateChanged(CallSignaller*, const gchar* callState, const gchar* callId, const gchar* peerId,
                               gpointer data)
{
    auto* self = CALL_BIN(data);
    GST_INFO_OBJECT(self, "call %s: %s", callId, callState);
    if (g_strcmp0(callState, "connected") == 0) {
        std::lock_guard lock(self->state->mutex);
        self->state->callConnected = true;
    }
    GstStructure* structure = gst_structure_new("call-state", "state", G_TYPE_STRING, callState, "call-id",
                                                G_TYPE_STRING, callId, "peer-id", G_TYPE_STRING, peerId, nullptr);
    gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), structure));
}

// Ends the remote streams for good and posts EOS, from GStreamer's async-call thread: the EOS goes
// through the demuxer's streaming side, not on the signaller's thread.
static void endCallWithEos(CallBin* self)
{
    gst_element_call_async(
        GST_ELEMENT(self), [](GstElement* element, gpointer) { endRemoteStreams(CALL_BIN(element), gst_event_new_eos()); },
        nullptr, nullptr);
}

static bool wasConnected(CallBin* self)
{
    std::lock_guard lock(self->state->mutex);
    return self->state->callConnected;
}

// The call is over: a "call-ended" element message, then the pipeline ends. A call that was
// connected ends with EOS whatever the reason (a hang up, the far end vanished, a token expired,
// hung up for everyone), so that recorders finalise their files; one that never connected (rejected,
// no answer, callee offline) is an error, unless it ended with code 0.
static void onCallEnded(CallSignaller*, gint code, gint subCode, const gchar* message, gpointer data)
{
    auto* self = CALL_BIN(data);
    std::string peerId;
    bool connected = false;
    {
        std::lock_guard lock(self->state->mutex);
        peerId = self->state->peerId;
        connected = self->state->callConnected;
    }
    GST_INFO_OBJECT(self, "the call ended: %d/%d %s", code, subCode, message);
    GstStructure* structure =
        gst_structure_new("call-ended", "code", G_TYPE_INT, code, "sub-code", G_TYPE_INT, subCode, "message",
                          G_TYPE_STRING, message, "peer-id", G_TYPE_STRING, peerId.c_str(), nullptr);
    gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), structure));
    if (code != 0 && !connected) {
        GST_ELEMENT_ERROR(self, RESOURCE, FAILED, ("The call ended: %s (%d/%d).", message, code, subCode),
                          ("calling-server's end reason: code %d, subCode %d", code, subCode));
        return;
    }
    endCallWithEos(self);
}

static void onSignallerError(CallSignaller*, gint code, gint subCode, const gchar* message, gpointer data)
{
    auto* self = CALL_BIN(data);
    // The message is the signaller's, which never quotes the access token.
    if (wasConnected(self)) {
        // The call was connected: whatever happened to the signalling, its recording must survive.
        GST_ELEMENT_WARNING(self, RESOURCE, OPEN_READ_WRITE, ("The call ended: %s (%d/%d).", message, code, subCode),
                            ("the signaller's error after the call was connected: code %d, subCode %d", code,
                             subCode));
        endCallWithEos(self);
        return;
    }
    if (code == 401 || code == 403)
        GST_ELEMENT_ERROR(self, RESOURCE, NOT_AUTHORIZED, ("%s (%d/%d).", message, code, subCode),
                          ("the signaller's error: code %d, subCode %d", code, subCode));
    else if (code == 400)
        GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("%s (%d/%d).", message, code, subCode),
                          ("the signaller's error: code %d, subCode %d", code, subCode));
    else
        GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ_WRITE, ("%s (%d/%d).", message, code, subCode),
                          ("the signaller's error: code %d, subCode %d", code, subCode));
}

// ---------------------------------------------------------------------------------------------
// webrtcbin's signals

static void onIceCandidate(GstElement* webrtc, guint mlineIndex, const gchar* candidate, gpointer data)
{
    auto* self = CALL_BIN(data);
    CallBinState& state = *self->state;
    RefPtr<CallSignaller> signaller;
    std::string peerId;
    {
        std::lock_guard lock(state.mutex);
        if (state.webrtc != webrtc || !state.running || state.peerId.empty())
            return;
        signaller = state.signaller;
        peerId = state.peerId;
    }
    if (signaller)
        call_signaller_send_ice(signaller.get(), peerId.c_str(), mlineIndex, candidate);
}

static GParamSpec* properties[N_PROPERTIES];

// GstVideoEncoder 1.22 ignores a request without a running time while an earlier one is pending,
// and one stays pending for good when its frame never came out as a keyframe (a frame dropped,
// the stream stopped): from then on no PLI would ever give the far end a keyframe. Requests are
// therefore stamped with the encoder's running time now, which the next frame always reaches.
static GstPadProbeReturn stampKeyframeRequest(GstPad* pad, GstPadProbeInfo* info, gpointer)
{
    GstEvent* event = GST_PAD_PROBE_INFO_EVENT(info);
    if (!gst_video_event_is_force_key_unit(event))
        return GST_PAD_PROBE_OK;
    GstClockTime runningTime = GST_CLOCK_TIME_NONE;
    gboolean allHeaders = FALSE;
    guint count = 0;
    if (!gst_video_event_parse_upstream_force_key_unit(event, &runningTime, &allHeaders, &count) ||
        GST_CLOCK_TIME_IS_VALID(runningTime))
        return GST_PAD_PROBE_OK;
    g_autoptr(GstElement) encoder = gst_pad_get_parent_element(pad);
    GstClockTime now = encoder ? gst_element_get_current_running_time(encoder) : GST_CLOCK_TIME_NONE;
    if (!GST_CLOCK_TIME_IS_VALID(now))
        return GST_PAD_PROBE_OK;
    gst_event_unref(event);
    GST_PAD_PROBE_INFO_DATA(info) = gst_video_event_new_upstream_force_key_unit(now, allHeaders, count);
    return GST_PAD_PROBE_OK;
}

// Asks each video encoder for a keyframe, as an upstream force-key-unit event on its src pad: what
// a far end's PLI or FIR becomes too (rtpbin turns them into the same event, which the payloader
// passes up).
static void forceKeyframes(GstElement* element, gpointer)
{
    auto* self = CALL_BIN(element);
    std::vector<RefPtr<GstPad>> pads;
    {
        std::lock_guard lock(self->state->mutex);
        for (auto& slot : self->state->sendSlots) {
            if (slot->kind == Kind::Video && slot->encoder)
                pads.push_back(RefPtr<GstPad>::adopt(gst_element_get_static_pad(slot->encoder.get(), "src")));
        }
    }
    for (RefPtr<GstPad>& pad : pads) {
        GST_DEBUG_OBJECT(self, "forcing a keyframe");
        gst_pad_send_event(pad.get(), gst_video_event_new_upstream_force_key_unit(GST_CLOCK_TIME_NONE, TRUE, 0));
    }
}

// webrtcbin notifies from its own thread; so does callbin's connection-state.
static void onConnectionState(GstElement* webrtc, GParamSpec*, gpointer data)
{
    auto* self = CALL_BIN(data);
    CallBinState& state = *self->state;
    GstWebRTCPeerConnectionState current;
    g_object_get(webrtc, "connection-state", &current, nullptr);
    {
        std::lock_guard lock(state.mutex);
        if (state.webrtc != webrtc || state.connectionState == current)
            return;
        state.connectionState = current;
        state.transportUp = current == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED;
    }
    GST_INFO_OBJECT(self, "peer connection state %d", int(current));
    // The frames sent before DTLS completed are lost, the first keyframe with them: the far end could
    // decode nothing until the next one. Not from webrtcbin's thread: the encoder's stream lock may be
    // held by a thread pushing into webrtcbin.
    if (current == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED)
        gst_element_call_async(GST_ELEMENT(self), forceKeyframes, nullptr, nullptr);
    g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_CONNECTION_STATE]);
}

static GstPadProbeReturn dropAfterSessionEnd(GstPad*, GstPadProbeInfo*, gpointer data)
{
    return static_cast<CallBinState*>(data)->sessionEnded ? GST_PAD_PROBE_DROP : GST_PAD_PROBE_OK;
}

// A send slot's media while the transport is not up: dropped. webrtcbin would hold it until DTLS
// completes, and the live source behind it would then catch up in a burst: seconds of audio from
// before the call connected, arriving at once, which the far end's jitterbuffer squeezes into a
// fraction of the time (a recording of a 3 s call held 1 s of sped-up audio).
static GstPadProbeReturn dropUntilTransportUp(GstPad*, GstPadProbeInfo*, gpointer data)
{
    return static_cast<CallBinState*>(data)->transportUp ? GST_PAD_PROBE_OK : GST_PAD_PROBE_DROP;
}

// A send slot's media before the call is negotiated (see linkSendSlots): dropped, not an error.
static GstPadProbeReturn dropUntilLinked(GstPad* pad, GstPadProbeInfo*, gpointer)
{
    return gst_pad_is_linked(pad) ? GST_PAD_PROBE_OK : GST_PAD_PROBE_DROP;
}

// A remote stream: from webrtcbin's streaming thread, when its first packet arrives.
static void onWebrtcPadAdded(GstElement* webrtc, GstPad* pad, gpointer data)
{
    auto* self = CALL_BIN(data);
    CallBinState& state = *self->state;
    if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC)
        return;

    StreamInfo info;
    RefPtr<GstElement> demux;
    {
        std::lock_guard lock(state.mutex);
        if (state.webrtc != webrtc)
            return;
        info.participantId = state.peerId;
        info.displayName = state.peerDisplayName;
        demux = state.demux;
    }

    const ReceiveCodec* codec = nullptr;
    g_autoptr(GstCaps) caps = gst_pad_get_current_caps(pad);
    if (caps && !gst_caps_is_empty(caps)) {
        const char* encoding = gst_structure_get_string(gst_caps_get_structure(caps, 0), "encoding-name");
        for (const ReceiveCodec& candidate : kReceiveCodecs) {
            if (encoding && g_ascii_strcasecmp(encoding, candidate.encodingName) == 0)
                codec = &candidate;
        }
    }

    g_autofree gchar* msid = nullptr;
    if (g_object_class_find_property(G_OBJECT_GET_CLASS(pad), "msid"))
        g_object_get(pad, "msid", &msid, nullptr);
    g_autoptr(GstWebRTCRTPTransceiver) transceiver = nullptr;
    g_object_get(pad, "transceiver", &transceiver, nullptr);
    g_autofree gchar* mid = nullptr;
    if (transceiver)
        g_object_get(transceiver, "mid", &mid, nullptr);
    info.streamId = msid && *msid ? msid : mid ? mid : GST_PAD_NAME(pad);

    ReceiveChain chain;
    chain.webrtcPad = RefPtr<GstPad>::ref(pad);
    // A stream that shows up after the call ended (a late packet on a new SSRC) must not open a
    // remote stream again: the remote streams already got their EOS.
    bool ended = state.sessionEnded;
    if (!codec || ended) {
        // Unlinked, webrtcbin's jitterbuffer would stop and take the whole bundle down with it.
        if (ended)
            GST_INFO_OBJECT(self, "a stream after the call ended: discarding it");
        else
            GST_WARNING_OBJECT(self, "no depayloader for %" GST_PTR_FORMAT ": discarding the stream", caps);
        chain.tail = makeElement(self, "fakesink");
        if (!chain.tail)
            return;
        g_object_set(chain.tail.get(), "async", FALSE, "sync", FALSE, nullptr);
        gst_bin_add(GST_BIN(self), chain.tail.get());
        gst_element_sync_state_with_parent(chain.tail.get());
    } else {
        info.kind = codec->kind;
        chain.tail = makeElement(self, codec->depayloader);
        if (!chain.tail)
            return;
        // Video: after a loss, nothing goes out until the next keyframe (a recorder never stores a
        // frame that cannot be decoded), and the loss asks the sender for one (a PLI).
        if (g_str_equal(codec->kind, "video"))
            g_object_set(chain.tail.get(), "request-keyframe", TRUE, "wait-for-keyframe", TRUE, nullptr);
        gst_bin_add(GST_BIN(self), chain.tail.get());
        GstElement* end = chain.tail.get();
        bool linked = true;
        for (const char* factory : {codec->parser, codec->caps ? "capsfilter" : nullptr}) {
            if (!factory)
                continue;
            RefPtr<GstElement> element = makeElement(self, factory);
            if (!element)
                return;
            if (g_str_equal(factory, "capsfilter")) {
                g_autoptr(GstCaps) pinned = gst_caps_from_string(codec->caps);
                g_object_set(element.get(), "caps", pinned, nullptr);
            }
            gst_bin_add(GST_BIN(self), element.get());
            linked = linked && gst_element_link(end, element.get());
            gst_element_sync_state_with_parent(element.get());
            end = element.get();
            chain.after.push_back(std::move(element));
        }
        gst_element_sync_state_with_parent(chain.tail.get());
        g_autoptr(GstPad) depaySrc = gst_element_get_static_pad(end, "src");
        // Stored before any data: it follows stream-start, caps and segment to the demuxer.
        gst_pad_store_sticky_event(depaySrc, calling::detail::newStreamInfoEvent(info).get());
        chain.demuxSink = RefPtr<GstPad>::adopt(gst_element_request_pad_simple(demux.get(), "sink_%u"));
        if (!linked || !chain.demuxSink || gst_pad_link(depaySrc, chain.demuxSink.get()) != GST_PAD_LINK_OK) {
            GST_ELEMENT_ERROR(self, CORE, PAD, ("Could not route a remote stream."),
                              ("linking %s to the participant demuxer failed", codec->depayloader));
            return;
        }
        GST_INFO_OBJECT(self, "remote %s stream %s of %s on %s", info.kind.c_str(), info.streamId.c_str(),
                        info.participantId.c_str(), GST_PAD_NAME(pad));
    }
    gst_pad_add_probe(pad, GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST),
                      dropAfterSessionEnd, &state, nullptr);
    g_autoptr(GstPad) tailSink = gst_element_get_static_pad(chain.tail.get(), "sink");
    if (gst_pad_link(pad, tailSink) != GST_PAD_LINK_OK) {
        GST_ELEMENT_ERROR(self, CORE, PAD, ("Could not route a remote stream."),
                          ("linking %s failed", GST_PAD_NAME(pad)));
        return;
    }
    std::lock_guard lock(state.mutex);
    state.receiveChains.push_back(std::move(chain));
}

// ---------------------------------------------------------------------------------------------
// The demuxer's signals

// A participant's stream got a pad in the demuxer: ghost it. From a streaming thread.
static void onDemuxPadAdded(GstElement*, GstPad* pad, gpointer data)
{
    auto* self = CALL_BIN(data);
    if (!GST_PAD_IS_SRC(pad))
        return;
    StreamInfo info;
    g_autofree gchar* participantId = nullptr;
    g_autofree gchar* kind = nullptr;
    g_autofree gchar* streamId = nullptr;
    g_autofree gchar* displayName = nullptr;
    g_object_get(pad, "participant-id", &participantId, "kind", &kind, "stream-id", &streamId, "display-name",
                 &displayName, nullptr);
    auto text = [](const gchar* value) { return std::string(value ? value : ""); };
    info = StreamInfo{text(participantId), text(kind), text(streamId), text(displayName)};

    GstPadTemplate* templ =
        gst_element_class_get_pad_template(GST_ELEMENT_GET_CLASS(self), info.kind == "video" ? "video_%s" : "audio_%s");
    auto ghost = RefPtr<GstPad>::adopt(GST_PAD(g_object_new(CALL_TYPE_BIN_PAD, "name", GST_PAD_NAME(pad), "direction",
                                                            GST_PAD_SRC, "template", templ, nullptr)));
    *CALL_BIN_PAD(ghost.get())->info = info;
    gst_ghost_pad_set_target(GST_GHOST_PAD(ghost.get()), pad);
    gst_pad_set_active(ghost.get(), TRUE);
    GST_INFO_OBJECT(self, "exposing %s for %s", GST_PAD_NAME(pad), info.participantId.c_str());
    gst_element_add_pad(GST_ELEMENT(self), ghost.get());
}

// The demuxer dropped its pads (going to READY): so does callbin.
static void onDemuxPadRemoved(GstElement*, GstPad* pad, gpointer data)
{
    auto* self = CALL_BIN(data);
    if (!GST_PAD_IS_SRC(pad))
        return;
    g_autoptr(GstPad) ghost = gst_element_get_static_pad(GST_ELEMENT(self), GST_PAD_NAME(pad));
    if (ghost && GST_PAD_IS_SRC(ghost)) {
        gst_pad_set_active(ghost, FALSE);
        gst_element_remove_pad(GST_ELEMENT(self), ghost);
    }
}

static void onParticipantStreamEnded(GstElement*, const gchar* participantId, const gchar* padName, gpointer data)
{
    g_signal_emit(CALL_BIN(data), binSignals[SIGNAL_PARTICIPANT_STREAM_ENDED], 0, participantId, padName);
}

// ---------------------------------------------------------------------------------------------
// webrtcbin's life: one per call

// Links a send slot to a new sendrecv transceiver of `webrtc`. Under structureMutex, before the call
// is negotiated.
static bool attachSendSlot(CallBin* self, GstElement* webrtc, SendSlot& slot)
{
    std::vector<VideoCodec> videoCodecs;
    {
        std::lock_guard lock(self->state->mutex);
        videoCodecs = self->state->videoCodecs;
    }
    // A video slot offers every codec of #CallBin:video-codecs until the call settles on one.
    RefPtr<GstCaps> caps =
        slot.kind == Kind::Audio ? slotCaps(slot) : videoOfferCaps(videoCodecs, slot.payloadType, slot.ssrc);
    GstPadTemplate* templ = gst_element_class_get_pad_template(GST_ELEMENT_GET_CLASS(webrtc), "sink_%u");
    // Requesting with caps makes webrtcbin create a transceiver of that kind for this pad alone.
    slot.webrtcPad = RefPtr<GstPad>::adopt(gst_element_request_pad(webrtc, templ, nullptr, caps.get()));
    if (!slot.webrtcPad) {
        GST_ELEMENT_ERROR(self, CORE, PAD, ("Could not add an %s stream to the call.", kindName(slot.kind)),
                          ("webrtcbin refused a sink pad"));
        return false;
    }
    g_object_set(slot.webrtcPad.get(), "msid", GST_PAD_NAME(slot.ghost.get()), nullptr);
    g_autoptr(GstWebRTCRTPTransceiver) transceiver = nullptr;
    g_object_get(slot.webrtcPad.get(), "transceiver", &transceiver, nullptr);
    // webrtcbin 1.22 leaves NACK off per transceiver (see nackFor); the codec preference makes the offer name the
    // codec with our payload type even before the first buffer has given the pad caps.
    if (transceiver)
        g_object_set(transceiver, "do-nack", nackFor(slot.kind), "codec-preferences", caps.get(), nullptr);
    // Linked when the call is negotiated (linkSendSlots, settleVideoSlot), once the payload type
    // (and codec) is settled.
    return true;
}

// Links each audio slot to its webrtcbin sink pad when the negotiation starts: before callbin's
// offer, or once a peer's offer gave the payload types (adoptOffer). Until then what the encoders
// make is dropped (dropUntilLinked), and no caps whose payload type may still change reach
// webrtcbin, which checks the answer's codec preferences against the caps its sink pad got last
// and rejects the m-line when they differ. Video slots are linked when their codec is settled
// (settleVideoSlot). On the signaller's thread.
static bool linkSendSlots(CallBin* self)
{
    CallBinState& state = *self->state;
    std::lock_guard structure(state.structureMutex);
    std::vector<SendSlot*> slots;
    {
        std::lock_guard lock(state.mutex);
        for (auto& slot : state.sendSlots)
            slots.push_back(slot.get());
    }
    for (SendSlot* slot : slots) {
        if (slot->kind != Kind::Audio)
            continue;
        g_autoptr(GstPad) src = gst_element_get_static_pad(chainEnd(*slot), "src");
        if (!slot->webrtcPad || gst_pad_is_linked(src))
            continue;
        if (gst_pad_link(src, slot->webrtcPad.get()) != GST_PAD_LINK_OK) {
            GST_ELEMENT_ERROR(self, CORE, PAD, ("Could not add an %s stream to the call.", kindName(slot->kind)),
                              ("linking the encoder to webrtcbin failed"));
            return false;
        }
    }
    return true;
}

// libnice looks for a UPnP router by default: multicast discovery, a thread per call, and port
// mappings opened on home routers behind the user's back. Browsers do without it; so does callbin.
static void disableUpnp(CallBin* self, GstElement* webrtc)
{
    g_autoptr(GObject) ice = nullptr;
    g_object_get(webrtc, "ice-agent", &ice, nullptr);
    if (!ice || !g_object_class_find_property(G_OBJECT_GET_CLASS(ice), "agent"))
        return;
    g_autoptr(GObject) agent = nullptr;
    g_object_get(ice, "agent", &agent, nullptr);
    if (agent && g_object_class_find_property(G_OBJECT_GET_CLASS(agent), "upnp"))
        g_object_set(agent, "upnp", FALSE, nullptr);
    else
        GST_DEBUG_OBJECT(self, "no libnice agent to configure");
}

// A loss is a gap in the sequence numbers. By default webrtcbin 1.22's jitterbuffers also guess
// when the next packet is due and declare it lost once the guess and the retry period have passed:
// a sender that pauses for longer (a camera starting again, a keyframe encoded on a loaded
// machine) then "loses" packets it has not sent yet. The depayloader drops that frame and asks for
// a keyframe, which comes late again; a recorder saw no frame for seconds after video came back.
static void onNewJitterbuffer(GstElement*, GstElement* jitterbuffer, guint, guint, gpointer)
{
    g_object_set(jitterbuffer, "rtx-next-seqnum", FALSE, nullptr);
}

// A new call's webrtcbin, with every send slot attached. From a state change.
static bool createWebrtc(CallBin* self)
{
    CallBinState& state = *self->state;
    std::lock_guard structure(state.structureMutex);
    RefPtr<GstElement> webrtc = makeElement(self, "webrtcbin", "webrtc");
    if (!webrtc)
        return false;
    guint latency = 0;
    std::string stunServer;
    // The slots' list only changes under structureMutex, held here.
    std::vector<SendSlot*> slots;
    {
        std::lock_guard lock(state.mutex);
        latency = state.latency;
        stunServer = state.stunServer;
        for (auto& slot : state.sendSlots)
            slots.push_back(slot.get());
    }
    // Browsers and SFUs expect one transport for everything; webrtcbin defaults to one per m-line.
    gst_util_set_object_arg(G_OBJECT(webrtc.get()), "bundle-policy", "max-bundle");
    g_object_set(webrtc.get(), "latency", latency, nullptr);
    if (!stunServer.empty())
        g_object_set(webrtc.get(), "stun-server", stunServer.c_str(), nullptr);
    disableUpnp(self, webrtc.get());
    // After webrtcbin's own handler, which turns retransmission on where NACK was negotiated.
    if (RefPtr<GstElement> rtpbin = RefPtr<GstElement>::adopt(gst_bin_get_by_name(GST_BIN(webrtc.get()), "rtpbin")))
        g_signal_connect(rtpbin.get(), "new-jitterbuffer", G_CALLBACK(onNewJitterbuffer), nullptr);
    else
        GST_WARNING_OBJECT(self, "webrtcbin has no rtpbin: its jitterbuffers keep guessing losses");
    g_signal_connect(webrtc.get(), "on-ice-candidate", G_CALLBACK(onIceCandidate), self);
    g_signal_connect(webrtc.get(), "pad-added", G_CALLBACK(onWebrtcPadAdded), self);
    g_signal_connect(webrtc.get(), "notify::connection-state", G_CALLBACK(onConnectionState), self);
    gst_bin_add(GST_BIN(self), webrtc.get());
    for (SendSlot* slot : slots) {
        if (!attachSendSlot(self, webrtc.get(), *slot))
            return false;
    }
    std::lock_guard lock(state.mutex);
    state.webrtc = std::move(webrtc);
    ++state.generation;
    state.peerId.clear();
    state.peerDisplayName.clear();
    state.negotiating = false;
    state.sessionEnded = false;
    state.connectionState = GST_WEBRTC_PEER_CONNECTION_STATE_NEW;
    state.transportUp = false;
    return true;
}

// Ends the call: its webrtcbin, the receive chains and the session go. From a state change, with
// streaming stopped (after PAUSED to READY), so never from a streaming thread: webrtcbin joins its
// threads when set to NULL.
static void destroyWebrtc(CallBin* self)
{
    CallBinState& state = *self->state;
    std::lock_guard structure(state.structureMutex);
    RefPtr<GstElement> webrtc;
    std::vector<ReceiveChain> chains;
    std::vector<SendSlot*> slots;
    RefPtr<GstElement> demux;
    {
        std::lock_guard lock(state.mutex);
        webrtc = std::move(state.webrtc);
        chains.swap(state.receiveChains);
        for (auto& slot : state.sendSlots)
            slots.push_back(slot.get());
        demux = state.demux;
        state.peerId.clear();
        state.peerDisplayName.clear();
        state.negotiating = false;
    }
    for (ReceiveChain& chain : chains) {
        chain.after.insert(chain.after.begin(), chain.tail);
        for (RefPtr<GstElement>& element : chain.after) {
            if (element) {
                gst_element_set_state(element.get(), GST_STATE_NULL);
                gst_bin_remove(GST_BIN(self), element.get());
            }
        }
        if (chain.demuxSink)
            gst_element_release_request_pad(demux.get(), chain.demuxSink.get());
    }
    g_object_notify(G_OBJECT(self), "peer-id");
    if (!webrtc)
        return;
    g_signal_handlers_disconnect_by_data(webrtc.get(), self);
    for (SendSlot* slot : slots) {
        if (GstElement* end = chainEnd(*slot); end && slot->webrtcPad) {
            g_autoptr(GstPad) src = gst_element_get_static_pad(end, "src");
            if (gst_pad_is_linked(src))
                gst_pad_unlink(src, slot->webrtcPad.get());
        }
        slot->webrtcPad.reset();
        // The next call may settle on another codec.
        dropVideoEncoder(self, *slot);
    }
    // The pitfall that leaks webrtcbin's fds is removing it while it still runs: NULL first.
    gst_element_set_state(webrtc.get(), GST_STATE_NULL);
    gst_bin_remove(GST_BIN(self), webrtc.get());
    GST_DEBUG_OBJECT(self, "call torn down");
}

// ---------------------------------------------------------------------------------------------
// The signaller's life: PAUSED to READY

static void startSignaller(CallBin* self)
{
    CallBinState& state = *self->state;
    RefPtr<CallSignaller> signaller;
    {
        std::lock_guard lock(state.mutex);
        signaller = state.signaller;
        state.running = true;
        state.callConnected = false;
        state.remoteStreamsEnded = false;
    }
    if (!signaller) {
        GST_WARNING_OBJECT(self, "no signaller: this call will never be negotiated");
        return;
    }
    std::vector<gulong> handlers = {
        g_signal_connect(signaller.get(), "session-requested", G_CALLBACK(onSessionRequested), self),
        g_signal_connect(signaller.get(), "session-description", G_CALLBACK(onSessionDescription), self),
        g_signal_connect(signaller.get(), "handle-ice", G_CALLBACK(onHandleIce), self),
        g_signal_connect(signaller.get(), "session-ended", G_CALLBACK(onSessionEnded), self),
        g_signal_connect(signaller.get(), "call-state-changed", G_CALLBACK(onCallStateChanged), self),
        g_signal_connect(signaller.get(), "call-ended", G_CALLBACK(onCallEnded), self),
        g_signal_connect(signaller.get(), "error", G_CALLBACK(onSignallerError), self),
    };
    {
        std::lock_guard lock(state.mutex);
        state.signallerHandlers = std::move(handlers);
    }
    call_signaller_start(signaller.get());
}

static void stopSignaller(CallBin* self)
{
    CallBinState& state = *self->state;
    RefPtr<CallSignaller> signaller;
    std::vector<gulong> handlers;
    {
        std::lock_guard lock(state.mutex);
        signaller = state.signaller;
        handlers.swap(state.signallerHandlers);
        state.running = false;
    }
    if (!signaller)
        return;
    for (gulong handler : handlers)
        g_signal_handler_disconnect(signaller.get(), handler);
    call_signaller_stop(signaller.get());
}

// ---------------------------------------------------------------------------------------------
// The element

// The encoding chain of an audio_%u pad: 48 kHz mono Opus for voice.
static bool buildAudioChain(CallBin* self, SendSlot& slot, bool muted)
{
    for (const char* factory : {"audioconvert", "audioresample", "capsfilter", "volume", "opusenc", "rtpopuspay"}) {
        RefPtr<GstElement> element = makeElement(self, factory);
        if (!element)
            return false;
        slot.elements.push_back(std::move(element));
    }
    GstElement* rawFilter = slot.elements[2].get();
    slot.volume = slot.elements[3];
    GstElement* encoder = slot.elements[4].get();
    GstElement* payloader = slot.elements[5].get();

    // Calls are mono; Opus codes 48 kHz natively.
    g_autoptr(GstCaps) rawCaps = gst_caps_from_string("audio/x-raw, rate=(int)48000, channels=(int)1");
    g_object_set(rawFilter, "caps", rawCaps, nullptr);
    g_object_set(slot.volume.get(), "mute", muted, nullptr);
    // Voice at 32 kb/s with in-band FEC, which recovers single lost packets. No DTX: a steady packet
    // flow keeps the far end's jitterbuffer and recorders free of long gaps.
    gst_util_set_object_arg(G_OBJECT(encoder), "audio-type", "voice");
    g_object_set(encoder, "bitrate", kOpusBitrate, "inband-fec", TRUE, "packet-loss-percentage", 10, nullptr);
    g_object_set(payloader, "pt", slot.payloadType, "ssrc", slot.ssrc, nullptr);
    return true;
}

// The start of a video_%u pad's encoding chain: raw video at the sender's size, for the encoder
// the call settles on (settleVideoSlot). Until then its frames are dropped (dropUntilLinked).
static bool buildVideoChain(CallBin* self, SendSlot& slot)
{
    for (const char* factory : {"queue", "videoconvert"}) {
        RefPtr<GstElement> element = makeElement(self, factory);
        if (!element)
            return false;
        slot.elements.push_back(std::move(element));
    }
    GstElement* queue = slot.elements[0].get();
    // The camera never waits for the encoder: when it falls behind, the oldest frame goes.
    g_object_set(queue, "max-size-buffers", 2u, "max-size-bytes", 0u, "max-size-time", guint64(0), nullptr);
    gst_util_set_object_arg(G_OBJECT(queue), "leaky", "downstream");
    g_autoptr(GstPad) rawSrc = gst_element_get_static_pad(slot.elements[1].get(), "src");
    gst_pad_add_probe(rawSrc, GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST),
                      dropUntilLinked, nullptr, nullptr);
    return true;
}

// VP8 tuned for calls: real time (deadline 1), fast (cpu-used), constant bitrate with a short
// client buffer, error resilient so a lost packet spoils less, keyframes only when needed and
// none too big; 15-bit picture ids let the far end tell which frames a loss broke.
static bool makeVp8Encoder(CallBin* self, SendSlot& slot, guint payloadType, std::vector<RefPtr<GstElement>>& chain)
{
    RefPtr<GstElement> encoder = makeElement(self, "vp8enc");
    RefPtr<GstElement> payloader = makeElement(self, "rtpvp8pay");
    if (!encoder || !payloader)
        return false;
    GObject* vp8 = G_OBJECT(encoder.get());
    gst_util_set_object_arg(vp8, "end-usage", "cbr");
    gst_util_set_object_arg(vp8, "error-resilient", "default");
    g_object_set(vp8, "deadline", gint64(1), "cpu-used", 8, "threads", 2, "target-bitrate", gint(kVideoBitrate),
                 "keyframe-max-dist", gint(kKeyframeMaxDistance), "buffer-size", 1000, "buffer-initial-size", 500,
                 "buffer-optimal-size", 600, "max-intra-bitrate", 300, "lag-in-frames", 0, nullptr);
    gst_util_set_object_arg(G_OBJECT(payloader.get()), "picture-id-mode", "15-bit");
    g_object_set(payloader.get(), "pt", payloadType, "ssrc", slot.ssrc, nullptr);
    chain = {encoder, payloader};
    return true;
}

// H.264 (openh264) tuned for calls: constrained baseline (what every WebRTC endpoint decodes), 1
// Mb/s with the bitrate rate control, low complexity for real time, no periodic keyframes (as
// VP8). rtph264pay sends SPS and PPS before every keyframe (config-interval -1), so a far end
// that joins or lost packets decodes from the next keyframe on, and sends each frame as it
// comes (zero-latency aggregation).
static bool makeH264Encoder(CallBin* self, SendSlot& slot, guint payloadType, std::vector<RefPtr<GstElement>>& chain)
{
    RefPtr<GstElement> encoder = makeElement(self, "openh264enc");
    RefPtr<GstElement> filter = makeElement(self, "capsfilter");
    RefPtr<GstElement> payloader = makeElement(self, "rtph264pay");
    if (!encoder || !filter || !payloader)
        return false;
    GObject* h264 = G_OBJECT(encoder.get());
    gst_util_set_object_arg(h264, "rate-control", "bitrate");
    gst_util_set_object_arg(h264, "complexity", "low");
    gst_util_set_object_arg(h264, "usage-type", "camera");
    g_object_set(h264, "bitrate", kVideoBitrate, "gop-size", kKeyframeMaxDistance, "multi-thread", 2u, nullptr);
    g_autoptr(GstCaps) h264Caps = gst_caps_from_string(
        "video/x-h264, profile=(string)constrained-baseline, stream-format=(string)byte-stream, alignment=(string)au");
    g_object_set(filter.get(), "caps", h264Caps, nullptr);
    gst_util_set_object_arg(G_OBJECT(payloader.get()), "aggregate-mode", "zero-latency");
    g_object_set(payloader.get(), "config-interval", -1, "pt", payloadType, "ssrc", slot.ssrc, nullptr);
    chain = {encoder, filter, payloader};
    return true;
}

// rtph264pay's caps name the SPS's profile-level-id and the parameter sets. webrtcbin 1.22 builds
// an answer from the caps its sink pad got, intersected with the offer: a profile-level-id of the
// encoder's (42c01e) that differs as a string from the offered one (42e01f) would reject the
// m-line although the stream is what was offered. Only the negotiated fields go to webrtcbin.
static GstPadProbeReturn keepNegotiatedFields(GstPad*, GstPadProbeInfo* info, gpointer)
{
    GstEvent* event = GST_PAD_PROBE_INFO_EVENT(info);
    if (GST_EVENT_TYPE(event) != GST_EVENT_CAPS)
        return GST_PAD_PROBE_OK;
    GstCaps* caps = nullptr;
    gst_event_parse_caps(event, &caps);
    GstCaps* kept = gst_caps_copy(caps);
    for (guint i = 0; i < gst_caps_get_size(kept); ++i)
        gst_structure_remove_fields(gst_caps_get_structure(kept, i), "profile-level-id", "sprop-parameter-sets",
                                    "profile", nullptr);
    GST_PAD_PROBE_INFO_DATA(info) = gst_event_new_caps(kept);
    gst_caps_unref(kept);
    gst_event_unref(event);
    return GST_PAD_PROBE_OK;
}

// Settles a video slot on the call's codec: its encoder, payloader (on `payloadType`) and RTP
// capsfilter join the chain, and the transceiver's codec preferences become that codec alone,
// without format parameters (see videoRtpCaps). Linked from the end: webrtcbin's pad first, the
// raw video last, once everything downstream plays, so that no frame meets an element not yet
// running. Under structureMutex, on the signaller's thread, with the slot attached to webrtcbin.
static bool settleVideoSlot(CallBin* self, SendSlot& slot, VideoCodec codec, guint payloadType)
{
    if (!slot.webrtcPad || !slot.codecElements.empty())
        return true;
    std::vector<RefPtr<GstElement>> chain;
    if (!(codec == VideoCodec::Vp8 ? makeVp8Encoder(self, slot, payloadType, chain)
                                   : makeH264Encoder(self, slot, payloadType, chain)))
        return false;
    RefPtr<GstElement> rtpFilter = makeElement(self, "capsfilter");
    if (!rtpFilter)
        return false;
    RefPtr<GstCaps> caps = slotCaps(slot, codec, payloadType);
    g_object_set(rtpFilter.get(), "caps", caps.get(), nullptr);
    chain.push_back(rtpFilter);

    for (auto& element : chain)
        gst_bin_add(GST_BIN(self), element.get());
    bool linked = true;
    for (size_t i = 0; i + 1 < chain.size(); ++i)
        linked = linked && gst_element_link(chain[i].get(), chain[i + 1].get());
    g_autoptr(GstPad) encoderSrc = gst_element_get_static_pad(chain.front().get(), "src");
    gst_pad_add_probe(encoderSrc, GST_PAD_PROBE_TYPE_EVENT_UPSTREAM, stampKeyframeRequest, nullptr, nullptr);
    g_autoptr(GstPad) rtpSrc = gst_element_get_static_pad(rtpFilter.get(), "src");
    gst_pad_add_probe(rtpSrc, GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST),
                      dropAfterSessionEnd, self->state, nullptr);
    gst_pad_add_probe(rtpSrc, GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST),
                      dropUntilTransportUp, self->state, nullptr);
    if (codec == VideoCodec::H264)
        gst_pad_add_probe(rtpSrc, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, keepNegotiatedFields, nullptr, nullptr);

    g_autoptr(GstWebRTCRTPTransceiver) transceiver = nullptr;
    g_object_get(slot.webrtcPad.get(), "transceiver", &transceiver, nullptr);
    if (transceiver)
        g_object_set(transceiver, "codec-preferences", caps.get(), nullptr);
    linked = linked && gst_pad_link(rtpSrc, slot.webrtcPad.get()) == GST_PAD_LINK_OK;
    {
        std::lock_guard lock(self->state->mutex);
        slot.codecElements = chain;
        slot.encoder = chain.front();
    }
    for (auto it = chain.rbegin(); it != chain.rend(); ++it)
        gst_element_sync_state_with_parent(it->get());
    g_autoptr(GstPad) rawSrc = gst_element_get_static_pad(slot.elements.back().get(), "src");
    g_autoptr(GstPad) encoderSink = gst_element_get_static_pad(chain.front().get(), "sink");
    linked = linked && gst_pad_link(rawSrc, encoderSink) == GST_PAD_LINK_OK;
    if (!linked) {
        GST_ELEMENT_ERROR(self, CORE, PAD, ("Could not add a video stream to the call."),
                          ("linking the %s encoder to webrtcbin failed", nameOf(codec).name));
        return false;
    }
    return true;
}

// Takes a video slot's encoder out again, when its call is over. Under structureMutex, with
// streaming stopped (see destroyWebrtc) or the slot's pad going.
static void dropVideoEncoder(CallBin* self, SendSlot& slot)
{
    std::vector<RefPtr<GstElement>> chain;
    {
        std::lock_guard lock(self->state->mutex);
        chain.swap(slot.codecElements);
        slot.encoder.reset();
    }
    if (chain.empty())
        return;
    g_autoptr(GstPad) rawSrc = gst_element_get_static_pad(slot.elements.back().get(), "src");
    g_autoptr(GstPad) encoderSink = gst_element_get_static_pad(chain.front().get(), "sink");
    gst_pad_unlink(rawSrc, encoderSink);
    for (auto& element : chain) {
        gst_element_set_state(element.get(), GST_STATE_NULL);
        gst_bin_remove(GST_BIN(self), element.get());
    }
}

static GstPad* call_bin_request_new_pad(GstElement* element, GstPadTemplate* templ, const gchar* requestedName,
                                        const GstCaps*)
{
    auto* self = CALL_BIN(element);
    CallBinState& state = *self->state;
    Kind kind;
    if (g_strcmp0(templ->name_template, "audio_%u") == 0)
        kind = Kind::Audio;
    else if (g_strcmp0(templ->name_template, "video_%u") == 0)
        kind = Kind::Video;
    else
        return nullptr;
    const char* prefix = kindName(kind);
    const size_t maxPads = kind == Kind::Audio ? kMaxAudioPads : kMaxVideoPads;
    const guint firstPayloadType = kind == Kind::Audio ? kFirstAudioPayloadType : kFirstVideoPayloadType;

    // Serialises with state changes, which attach the slots to a new webrtcbin.
    std::unique_lock structure(state.structureMutex);
    guint index = 0;
    guint payloadType = 0;
    bool muted = false;
    RefPtr<GstElement> webrtc;
    {
        std::lock_guard lock(state.mutex);
        if (state.negotiating) {
            GST_WARNING_OBJECT(self, "%s pads must be requested before the call is negotiated", prefix);
            return nullptr;
        }
        size_t ofKind = std::count_if(state.sendSlots.begin(), state.sendSlots.end(),
                                      [&](const std::unique_ptr<SendSlot>& slot) { return slot->kind == kind; });
        if (ofKind >= maxPads) {
            GST_WARNING_OBJECT(self, "no more than %zu %s pads", maxPads, prefix);
            return nullptr;
        }
        guint& nextIndex = kind == Kind::Audio ? state.nextAudioIndex : state.nextVideoIndex;
        index = nextIndex;
        std::string format = std::string(prefix) + "_%u";
        if (requestedName && sscanf(requestedName, format.c_str(), &index) != 1)
            index = nextIndex;
        std::string wanted = std::string(prefix) + "_" + std::to_string(index);
        for (auto& slot : state.sendSlots) {
            if (GST_PAD_NAME(slot->ghost.get()) == wanted) {
                GST_WARNING_OBJECT(self, "%s is already in use", wanted.c_str());
                return nullptr;
            }
        }
        nextIndex = std::max(nextIndex, index + 1);
        payloadType = firstPayloadType + guint(ofKind);
        auto usedBySlot = [&](guint candidate) {
            return std::any_of(state.sendSlots.begin(), state.sendSlots.end(),
                               [&](const std::unique_ptr<SendSlot>& slot) { return slot->payloadType == candidate; });
        };
        while (usedBySlot(payloadType))
            ++payloadType;
        muted = state.muted;
        webrtc = state.webrtc;
    }

    auto slot = std::make_unique<SendSlot>();
    slot->kind = kind;
    slot->payloadType = payloadType;
    slot->ssrc = g_random_int();
    if (!(kind == Kind::Audio ? buildAudioChain(self, *slot, muted) : buildVideoChain(self, *slot)))
        return nullptr;
    if (kind == Kind::Audio) {
        slot->elements.push_back(makeElement(self, "capsfilter"));
        if (!slot->elements.back())
            return nullptr;
        GstElement* rtpFilter = slot->elements.back().get();
        RefPtr<GstCaps> caps = slotCaps(*slot);
        g_object_set(rtpFilter, "caps", caps.get(), nullptr);
        g_autoptr(GstPad) rtpSrc = gst_element_get_static_pad(rtpFilter, "src");
        gst_pad_add_probe(rtpSrc, GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST),
                          dropAfterSessionEnd, &state, nullptr);
        gst_pad_add_probe(rtpSrc, GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST),
                          dropUntilLinked, nullptr, nullptr);
        gst_pad_add_probe(rtpSrc, GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST),
                          dropUntilTransportUp, &state, nullptr);
    }

    for (auto& element : slot->elements)
        gst_bin_add(GST_BIN(self), element.get());
    for (size_t i = 0; i + 1 < slot->elements.size(); ++i)
        gst_element_link(slot->elements[i].get(), slot->elements[i + 1].get());

    std::string name = std::string(prefix) + "_" + std::to_string(index);
    g_autoptr(GstPad) target = gst_element_get_static_pad(slot->elements.front().get(), "sink");
    slot->ghost = RefPtr<GstPad>::adopt(gst_ghost_pad_new_from_template(name.c_str(), target, templ));

    bool attached = !webrtc || attachSendSlot(self, webrtc.get(), *slot);
    for (auto& element : slot->elements)
        gst_element_sync_state_with_parent(element.get());
    if (!attached) {
        for (auto& element : slot->elements) {
            gst_element_set_state(element.get(), GST_STATE_NULL);
            gst_bin_remove(GST_BIN(self), element.get());
        }
        return nullptr;
    }

    GstPad* ghost = slot->ghost.get();
    {
        std::lock_guard lock(state.mutex);
        state.sendSlots.push_back(std::move(slot));
    }
    structure.unlock();
    // Activated by gst_element_add_pad when callbin is already running.
    gst_element_add_pad(element, ghost);
    return ghost;
}

static void call_bin_release_pad(GstElement* element, GstPad* pad)
{
    auto* self = CALL_BIN(element);
    CallBinState& state = *self->state;
    std::lock_guard structure(state.structureMutex);
    std::unique_ptr<SendSlot> slot;
    RefPtr<GstElement> webrtc;
    {
        std::lock_guard lock(state.mutex);
        auto found = std::find_if(state.sendSlots.begin(), state.sendSlots.end(),
                                  [&](const std::unique_ptr<SendSlot>& slot) { return slot->ghost == pad; });
        if (found != state.sendSlots.end()) {
            slot = std::move(*found);
            state.sendSlots.erase(found);
        }
        webrtc = state.webrtc;
    }
    if (slot) {
        gst_pad_set_active(pad, FALSE);
        gst_element_remove_pad(element, pad);
        for (auto* chain : {&slot->elements, &slot->codecElements}) {
            for (auto& chainElement : *chain) {
                gst_element_set_state(chainElement.get(), GST_STATE_NULL);
                gst_bin_remove(GST_BIN(self), chainElement.get());
            }
        }
        // The transceiver stays (webrtcbin 1.22 cannot remove one); it sends nothing any more.
        if (webrtc && slot->webrtcPad)
            gst_element_release_request_pad(webrtc.get(), slot->webrtcPad.get());
    }
}

// Gives each kind of remote stream that never came (an audio-only caller's video; or everything,
// when the call ends before media flowed) a src pad now, just before the remote streams end, so
// that what waits for such a pad (gst-launch-1.0's `call. ! video/x-vp8 ! …`, a muxer's track)
// gets its EOS too and the pipeline can end: a stream-start, a segment and the participant's
// stream info go into a demuxer sink pad of its own, and the EOS that follows ends it.
static void exposeMissingStreams(CallBin* self, GstElement* demux)
{
    CallBinState& state = *self->state;
    StreamInfo info;
    {
        std::lock_guard lock(state.mutex);
        info.participantId = state.peerId;
        info.displayName = state.peerDisplayName;
    }
    bool have[2] = {false, false};
    GstIterator* pads = gst_element_iterate_src_pads(GST_ELEMENT(self));
    GValue item = G_VALUE_INIT;
    while (gst_iterator_next(pads, &item) == GST_ITERATOR_OK) {
        auto* pad = CALL_BIN_PAD(g_value_get_object(&item));
        GST_OBJECT_LOCK(pad);
        std::string kind = pad->info->kind;
        GST_OBJECT_UNLOCK(pad);
        have[0] = have[0] || kind == "audio";
        have[1] = have[1] || kind == "video";
        g_value_reset(&item);
    }
    g_value_unset(&item);
    gst_iterator_free(pads);

    for (Kind kind : {Kind::Audio, Kind::Video}) {
        if (have[kind == Kind::Audio ? 0 : 1])
            continue;
        info.kind = kindName(kind);
        info.streamId = std::string("none-") + info.kind;
        GST_INFO_OBJECT(self, "no %s stream came from %s: exposing an empty one to end", info.kind.c_str(),
                        info.participantId.c_str());
        ReceiveChain chain;
        chain.demuxSink = RefPtr<GstPad>::adopt(gst_element_request_pad_simple(demux, "sink_%u"));
        if (!chain.demuxSink)
            continue;
        std::string streamId = std::string(GST_ELEMENT_NAME(self)) + "/" + info.streamId;
        gst_pad_send_event(chain.demuxSink.get(), gst_event_new_stream_start(streamId.c_str()));
        GstSegment segment;
        gst_segment_init(&segment, GST_FORMAT_TIME);
        gst_pad_send_event(chain.demuxSink.get(), gst_event_new_segment(&segment));
        gst_pad_send_event(chain.demuxSink.get(), calling::detail::newStreamInfoEvent(info).release());
        std::lock_guard lock(state.mutex);
        state.receiveChains.push_back(std::move(chain));
    }
}

// EOS for callbin means: end the remote streams for real, so recorders can finalize. The sent
// media ends when the application's sources send their own EOS.
static void endRemoteStreams(CallBin* self, GstEvent* eos)
{
    RefPtr<GstElement> demux;
    bool again = false;
    {
        std::lock_guard lock(self->state->mutex);
        demux = self->state->demux;
        again = std::exchange(self->state->remoteStreamsEnded, true);
    }
    // Once per call: a call that ends while gst-launch-1.0 -e already ended it posts no second EOS.
    if (!demux || again) {
        gst_event_unref(eos);
        return;
    }
    guint32 seqnum = gst_event_get_seqnum(eos);
    exposeMissingStreams(self, demux.get());
    // Not gst_element_send_event(), which would hold the demuxer's state lock while the EOS may be
    // stuck in a branch downstream, and so block the state change that would unblock it.
    call_participant_demux_end(CALL_PARTICIPANT_DEMUX(demux.get()), eos);
    // webrtcbin's network sinks never see an EOS of their own, and a pipeline ends only when
    // every sink in it did: callbin answers for them, so that `gst-launch-1.0 -e` and
    // applications that wait for EOS get it once the recorders downstream finished.
    GstMessage* message = gst_message_new_eos(GST_OBJECT(self));
    gst_message_set_seqnum(message, seqnum);
    gst_element_post_message(GST_ELEMENT(self), message);
}

// An EOS event ends the remote streams from GStreamer's async-call thread, never from the thread
// that sends it (gst-launch-1.0 -e sends it from its main loop): pushing EOS blocks while a branch
// downstream is full and stuck (a muxer waiting for a stream that never came), and the sender must
// stay free to give up, as gst-launch-1.0 does on a second Ctrl-C.
static gboolean call_bin_send_event(GstElement* element, GstEvent* event)
{
    if (GST_EVENT_TYPE(event) == GST_EVENT_EOS) {
        gst_element_call_async(
            element,
            [](GstElement* self, gpointer eos) { endRemoteStreams(CALL_BIN(self), static_cast<GstEvent*>(eos)); },
            event, nullptr);
        return TRUE;
    }
    return GST_ELEMENT_CLASS(call_bin_parent_class)->send_event(element, event);
}

// With server-url or access-token set and no signaller given, callbin makes its own: a
// CallServerSignaller named "signaller", announced as a child so that gst-launch-1.0's
// `signaller::property=value` settings reach it. From NULL to READY.
static void makeOwnSignaller(CallBin* self)
{
    CallBinState& state = *self->state;
    RefPtr<CallSignaller> signaller;
    {
        std::lock_guard lock(state.mutex);
        if (state.signaller || (state.serverUrl.empty() && state.accessToken.empty()))
            return;
        GObject* made = G_OBJECT(g_object_new(CALL_TYPE_SERVER_SIGNALLER, "name", "signaller", "server-url",
                                              state.serverUrl.c_str(), "access-token", state.accessToken.c_str(),
                                              "target", state.target.c_str(), "display-name",
                                              state.displayName.c_str(), nullptr));
        state.signaller = RefPtr<CallSignaller>::adopt(CALL_SIGNALLER(made));
        state.ownSignaller = true;
        signaller = state.signaller;
    }
    GST_INFO_OBJECT(self, "made a signaller of its own for %s", state.serverUrl.c_str());
    g_object_notify(G_OBJECT(self), "signaller");
    gst_child_proxy_child_added(GST_CHILD_PROXY(self), G_OBJECT(signaller.get()), "signaller");
}

static GstStateChangeReturn call_bin_change_state(GstElement* element, GstStateChange transition)
{
    auto* self = CALL_BIN(element);

    if (transition == GST_STATE_CHANGE_NULL_TO_READY)
        makeOwnSignaller(self);

    switch (transition) {
    case GST_STATE_CHANGE_NULL_TO_READY:
    case GST_STATE_CHANGE_READY_TO_PAUSED: {
        bool haveWebrtc = false;
        bool haveDemux = false;
        {
            std::lock_guard lock(self->state->mutex);
            haveWebrtc = bool(self->state->webrtc);
            haveDemux = bool(self->state->demux);
        }
        if (!haveDemux) {
            GST_ELEMENT_ERROR(self, CORE, MISSING_PLUGIN, ("Missing element 'callparticipantdemux'."),
                              ("the calling plugin is incompletely registered"));
            return GST_STATE_CHANGE_FAILURE;
        }
        if (!haveWebrtc) {
            bool badCodecs = false;
            std::string codecs;
            {
                std::lock_guard lock(self->state->mutex);
                badCodecs = self->state->videoCodecs.empty();
                codecs = self->state->videoCodecsSetting;
            }
            if (badCodecs) {
                GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("Unusable video-codecs '%s'.", codecs.c_str()),
                                  ("video-codecs takes vp8 and h264, comma-separated, each at most once"));
                return GST_STATE_CHANGE_FAILURE;
            }
            if (!createWebrtc(self))
                return GST_STATE_CHANGE_FAILURE;
            // In the middle of READY to PAUSED the new webrtcbin must catch up with READY first.
            if (transition == GST_STATE_CHANGE_READY_TO_PAUSED) {
                RefPtr<GstElement> webrtc;
                {
                    std::lock_guard lock(self->state->mutex);
                    webrtc = self->state->webrtc;
                }
                if (gst_element_set_state(webrtc.get(), GST_STATE_READY) == GST_STATE_CHANGE_FAILURE)
                    return GST_STATE_CHANGE_FAILURE;
            }
        }
        break;
    }
    case GST_STATE_CHANGE_PAUSED_TO_READY:
        stopSignaller(self);
        break;
    default:
        break;
    }

    GstStateChangeReturn ret = GST_ELEMENT_CLASS(call_bin_parent_class)->change_state(element, transition);
    if (ret == GST_STATE_CHANGE_FAILURE)
        return ret;

    switch (transition) {
    case GST_STATE_CHANGE_READY_TO_PAUSED:
        startSignaller(self);
        break;
    case GST_STATE_CHANGE_PAUSED_TO_READY:
        destroyWebrtc(self);
        break;
    default:
        break;
    }
    // callbin is a live source of the remote streams: nothing comes before the call is connected,
    // and a pipeline must not wait for it to preroll (webrtcbin's own live sources appear only once
    // the call is negotiated).
    if (ret == GST_STATE_CHANGE_SUCCESS &&
        (transition == GST_STATE_CHANGE_READY_TO_PAUSED || transition == GST_STATE_CHANGE_PLAYING_TO_PAUSED))
        ret = GST_STATE_CHANGE_NO_PREROLL;
    return ret;
}

static void call_bin_set_property(GObject* object, guint propertyId, const GValue* value, GParamSpec* pspec)
{
    auto* self = CALL_BIN(object);
    CallBinState& state = *self->state;
    switch (propertyId) {
    case PROP_SIGNALLER: {
        GstState current = GST_STATE(self);
        if (current > GST_STATE_READY) {
            GST_WARNING_OBJECT(self, "the signaller can only be changed in NULL or READY");
            break;
        }
        std::lock_guard lock(state.mutex);
        state.signaller = RefPtr<CallSignaller>::ref(CALL_SIGNALLER(g_value_get_object(value)));
        state.ownSignaller = false;
        break;
    }
    case PROP_SERVER_URL:
    case PROP_ACCESS_TOKEN:
    case PROP_TARGET:
    case PROP_DISPLAY_NAME: {
        const gchar* text = g_value_get_string(value);
        RefPtr<CallSignaller> own;
        {
            std::lock_guard lock(state.mutex);
            std::string* setting = propertyId == PROP_SERVER_URL     ? &state.serverUrl
                                   : propertyId == PROP_ACCESS_TOKEN ? &state.accessToken
                                   : propertyId == PROP_TARGET       ? &state.target
                                                                     : &state.displayName;
            *setting = text ? text : "";
            if (state.ownSignaller)
                own = state.signaller;
        }
        // A signaller callbin made itself follows; one the application gave is its own business.
        if (own)
            g_object_set_property(G_OBJECT(own.get()), pspec->name, value);
        break;
    }
    case PROP_LATENCY: {
        RefPtr<GstElement> webrtc;
        guint latency = g_value_get_uint(value);
        {
            std::lock_guard lock(state.mutex);
            state.latency = latency;
            webrtc = state.webrtc;
        }
        if (webrtc)
            g_object_set(webrtc.get(), "latency", latency, nullptr);
        break;
    }
    case PROP_STUN_SERVER: {
        std::lock_guard lock(state.mutex);
        const char* server = g_value_get_string(value);
        state.stunServer = server ? server : "";
        break;
    }
    case PROP_VIDEO_CODECS: {
        const char* text = g_value_get_string(value);
        std::lock_guard lock(state.mutex);
        state.videoCodecsSetting = text ? text : kDefaultVideoCodecs;
        state.videoCodecs = parseVideoCodecs(state.videoCodecsSetting.c_str());
        if (!state.videoCodecs.empty())
            state.videoCodecsSetting = videoCodecsText(state.videoCodecs);
        break;
    }
    case PROP_MUTED: {
        std::vector<RefPtr<GstElement>> volumes;
        bool muted = g_value_get_boolean(value);
        {
            std::lock_guard lock(state.mutex);
            state.muted = muted;
            for (auto& slot : state.sendSlots)
                if (slot->volume)  // audio slots only
                    volumes.push_back(slot->volume);
        }
        GST_INFO_OBJECT(self, "%s", muted ? "muted" : "unmuted");
        for (auto& volume : volumes)
            g_object_set(volume.get(), "mute", muted, nullptr);
        break;
    }
    default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID(object, propertyId, pspec);
    }
}

static void call_bin_get_property(GObject* object, guint propertyId, GValue* value, GParamSpec* pspec)
{
    CallBinState& state = *CALL_BIN(object)->state;
    std::lock_guard lock(state.mutex);
    switch (propertyId) {
    case PROP_SIGNALLER:
        g_value_set_object(value, state.signaller.get());
        break;
    case PROP_LATENCY:
        g_value_set_uint(value, state.latency);
        break;
    case PROP_STUN_SERVER:
        g_value_set_string(value, state.stunServer.empty() ? nullptr : state.stunServer.c_str());
        break;
    case PROP_MUTED:
        g_value_set_boolean(value, state.muted);
        break;
    case PROP_PEER_ID:
        g_value_set_string(value, state.peerId.empty() ? nullptr : state.peerId.c_str());
        break;
    case PROP_CONNECTION_STATE:
        g_value_set_enum(value, state.connectionState);
        break;
    case PROP_SERVER_URL:
        g_value_set_string(value, state.serverUrl.empty() ? nullptr : state.serverUrl.c_str());
        break;
    case PROP_TARGET:
        g_value_set_string(value, state.target.empty() ? nullptr : state.target.c_str());
        break;
    case PROP_DISPLAY_NAME:
        g_value_set_string(value, state.displayName.empty() ? nullptr : state.displayName.c_str());
        break;
    case PROP_VIDEO_CODECS:
        g_value_set_string(value, state.videoCodecsSetting.c_str());
        break;
    default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID(object, propertyId, pspec);
    }
}

static void call_bin_init(CallBin* self)
{
    self->state = new CallBinState;
    CallBinState& state = *self->state;
    state.demux = RefPtr<GstElement>::adopt(gst_element_factory_make("callparticipantdemux", "demux"));
    if (!state.demux) {
        // Only possible when the plugin is half-registered; change_state reports it.
        GST_WARNING_OBJECT(self, "callparticipantdemux is not available");
        return;
    }
    // callbin links its src pads only when the application asks: unlinked pads must not stall webrtcbin.
    g_object_set(state.demux.get(), "allow-not-linked", TRUE, nullptr);
    g_signal_connect(state.demux.get(), "pad-added", G_CALLBACK(onDemuxPadAdded), self);
    g_signal_connect(state.demux.get(), "pad-removed", G_CALLBACK(onDemuxPadRemoved), self);
    g_signal_connect(state.demux.get(), "participant-stream-ended", G_CALLBACK(onParticipantStreamEnded), self);
    gst_bin_add(GST_BIN(self), state.demux.get());
}

static void call_bin_dispose(GObject* object)
{
    auto* self = CALL_BIN(object);
    CallBinState& state = *self->state;
    RefPtr<GstElement> demux;
    {
        std::lock_guard lock(state.mutex);
        state.signaller.reset();
        state.sendSlots.clear();
        state.receiveChains.clear();
        demux = std::move(state.demux);
        state.webrtc.reset();
    }
    if (demux)
        g_signal_handlers_disconnect_by_data(demux.get(), self);
    G_OBJECT_CLASS(call_bin_parent_class)->dispose(object);
}

static void call_bin_finalize(GObject* object)
{
    delete CALL_BIN(object)->state;
    G_OBJECT_CLASS(call_bin_parent_class)->finalize(object);
}

// The "get-stats" action signal: webrtcbin's statistics of the current call. Never blocks: the
// promise is answered by webrtcbin from its own thread, or here at once when there is no call.
static void call_bin_get_stats(CallBin* self, GstPromise* promise)
{
    RefPtr<GstElement> webrtc;
    {
        std::lock_guard lock(self->state->mutex);
        webrtc = self->state->webrtc;
    }
    if (!webrtc) {
        gst_promise_reply(promise, gst_structure_new_empty("application/x-webrtc-stats"));
        return;
    }
    g_signal_emit_by_name(webrtc.get(), "get-stats", nullptr, promise);
}

static void call_bin_class_init(CallBinClass* klass)
{
    GObjectClass* objectClass = G_OBJECT_CLASS(klass);
    GstElementClass* elementClass = GST_ELEMENT_CLASS(klass);

    objectClass->dispose = call_bin_dispose;
    objectClass->finalize = call_bin_finalize;
    objectClass->set_property = call_bin_set_property;
    objectClass->get_property = call_bin_get_property;

    g_object_class_install_property(
        objectClass, PROP_SIGNALLER,
        g_param_spec_object("signaller", "Signaller",
                            "The CallSignaller that carries this call's descriptions and candidates.",
                            CALL_TYPE_SIGNALLER,
                            GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY)));
    g_object_class_install_property(
        objectClass, PROP_LATENCY,
        g_param_spec_uint("latency", "Latency", "How long the jitterbuffers hold received packets, in milliseconds.",
                          0, G_MAXUINT, kDefaultLatency,
                          GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING)));
    g_object_class_install_property(
        objectClass, PROP_STUN_SERVER,
        g_param_spec_string("stun-server", "STUN Server",
                            "The STUN server for the next call, as stun://host:port; none by default.", nullptr,
                            GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY)));
    g_object_class_install_property(
        objectClass, PROP_MUTED,
        g_param_spec_boolean("muted", "Muted", "Whether the sent audio is replaced by silence.", kDefaultMuted,
                             GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING)));
    g_object_class_install_property(
        objectClass, PROP_PEER_ID,
        g_param_spec_string("peer-id", "Peer Id", "The raw id of the peer this call is negotiated with, if any.",
                            nullptr, GParamFlags(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));
    properties[PROP_CONNECTION_STATE] = g_param_spec_enum(
        "connection-state", "Connection State",
        "The call's peer connection state (webrtcbin's), notified from webrtcbin's thread.",
        GST_TYPE_WEBRTC_PEER_CONNECTION_STATE, GST_WEBRTC_PEER_CONNECTION_STATE_NEW,
        GParamFlags(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
    g_object_class_install_property(objectClass, PROP_CONNECTION_STATE, properties[PROP_CONNECTION_STATE]);
    g_object_class_install_property(
        objectClass, PROP_SERVER_URL,
        g_param_spec_string("server-url", "Server URL",
                            "calling-server's endpoint, http(s)://host:port/. With it (and access-token) and no "
                            "signaller, callbin connects by itself on NULL to READY.",
                            nullptr, GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY)));
    // Write-only and never notified: neither gst-inspect-1.0 nor gst-launch-1.0 -v shows it.
    g_object_class_install_property(
        objectClass, PROP_ACCESS_TOKEN,
        g_param_spec_string("access-token", "Access Token",
                            "The identity's access token (voip scope) for callbin's own connection. Write-only.",
                            nullptr,
                            GParamFlags(G_PARAM_WRITABLE | G_PARAM_STATIC_STRINGS |
                                        GST_PARAM_MUTABLE_READY)));
    g_object_class_install_property(
        objectClass, PROP_TARGET,
        g_param_spec_string("target", "Target",
                            "For callbin's own connection: the raw id to call (8:acs:…); none: answer the first "
                            "incoming call.",
                            nullptr, GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY)));
    g_object_class_install_property(
        objectClass, PROP_DISPLAY_NAME,
        g_param_spec_string("display-name", "Display Name",
                            "For callbin's own connection: the name the other side sees.", nullptr,
                            GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY)));
    g_object_class_install_property(
        objectClass, PROP_VIDEO_CODECS,
        g_param_spec_string("video-codecs", "Video Codecs",
                            "The video codecs callbin may send, comma-separated, in order of preference: vp8, h264. "
                            "An offer lists them in this order; an answer takes the offer's first one of them. "
                            "Read when the next call starts; a value naming anything else fails it.",
                            kDefaultVideoCodecs,
                            GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY)));

    /**
     * CallBin::participant-stream-ended:
     * @callbin: the element
     * @participant_id: the participant's raw id
     * @pad_name: the src pad whose stream ended; the pad stays
     *
     * A remote participant's stream ended (the peer left, or its transceiver went inactive). Its
     * pad stays, and carries on if the stream comes back. Emitted from a streaming thread or
     * GStreamer's async-call thread: handlers must not block.
     */
    binSignals[SIGNAL_PARTICIPANT_STREAM_ENDED] =
        g_signal_new("participant-stream-ended", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, nullptr, nullptr,
                     nullptr, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);

    /**
     * CallBin::get-stats:
     * @callbin: the element
     * @promise: a #GstPromise for the result
     *
     * Asks for the statistics of the current call: the reply is webrtcbin's (its "get-stats" for
     * the whole peer connection), a structure of W3C RTCStats structures by id (outbound-rtp,
     * inbound-rtp, remote-inbound-rtp, remote-outbound-rtp, codec, transport, ...). Without a
     * call in progress the reply is an empty "application/x-webrtc-stats" structure. The promise
     * is answered from webrtcbin's thread (or at once, without a call); an action signal, safe to
     * emit from any thread, and it never blocks.
     */
    binSignals[SIGNAL_GET_STATS] = g_signal_new_class_handler(
        "get-stats", G_TYPE_FROM_CLASS(klass), GSignalFlags(G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION),
        G_CALLBACK(call_bin_get_stats), nullptr, nullptr, nullptr, G_TYPE_NONE, 1, GST_TYPE_PROMISE);

    elementClass->request_new_pad = call_bin_request_new_pad;
    elementClass->release_pad = call_bin_release_pad;
    elementClass->send_event = call_bin_send_event;
    elementClass->change_state = call_bin_change_state;

    gst_element_class_add_static_pad_template(elementClass, &audioSinkTemplate);
    gst_element_class_add_static_pad_template(elementClass, &videoSinkTemplate);
    gst_element_class_add_static_pad_template_with_gtype(elementClass, &audioSrcTemplate, CALL_TYPE_BIN_PAD);
    gst_element_class_add_static_pad_template_with_gtype(elementClass, &videoSrcTemplate, CALL_TYPE_BIN_PAD);
    gst_element_class_set_static_metadata(elementClass, "Call", "Generic/Bin/Network/RTP",
                                          "One call's media over webrtcbin, negotiated through a CallSignaller. "
                                          "Example (answer a call and record it): gst-launch-1.0 -e callbin name=call "
                                          "server-url=http://127.0.0.1:8080/ access-token=$TOKEN "
                                          "call. ! audio/x-opus ! queue ! mux.audio_%u call. ! video/x-vp8 ! queue ! "
                                          "mux.video_%u matroskamux name=mux offset-to-zero=true ! filesink location=call.mkv",
                                          "gst-calling");

    gst_type_mark_as_plugin_api(CALL_TYPE_BIN_PAD, GstPluginAPIFlags(0));
    gst_type_mark_as_plugin_api(CALL_TYPE_SIGNALLER, GstPluginAPIFlags(0));
    gst_type_mark_as_plugin_api(CALL_TYPE_SERVER_SIGNALLER, GstPluginAPIFlags(0));
}

// ---------------------------------------------------------------------------------------------
// GstChildProxy: the bin's elements, and the signaller as the child "signaller"

static GstChildProxyInterface* binChildProxy;

static RefPtr<CallSignaller> signallerOf(GstChildProxy* proxy)
{
    CallBinState& state = *CALL_BIN(proxy)->state;
    std::lock_guard lock(state.mutex);
    return state.signaller;
}

static GObject* call_bin_get_child_by_name(GstChildProxy* proxy, const gchar* name)
{
    if (g_strcmp0(name, "signaller") == 0) {
        if (RefPtr<CallSignaller> signaller = signallerOf(proxy))
            return G_OBJECT(signaller.release());
    }
    return binChildProxy->get_child_by_name(proxy, name);
}

static guint call_bin_get_children_count(GstChildProxy* proxy)
{
    return binChildProxy->get_children_count(proxy) + (signallerOf(proxy) ? 1 : 0);
}

// The elements first, then the signaller.
static GObject* call_bin_get_child_by_index(GstChildProxy* proxy, guint index)
{
    guint elements = binChildProxy->get_children_count(proxy);
    if (index < elements)
        return binChildProxy->get_child_by_index(proxy, index);
    RefPtr<CallSignaller> signaller = signallerOf(proxy);
    return index == elements && signaller ? G_OBJECT(signaller.release()) : nullptr;
}

static void call_bin_child_proxy_init(GstChildProxyInterface* iface)
{
    binChildProxy = static_cast<GstChildProxyInterface*>(g_type_interface_peek_parent(iface));
    iface->get_child_by_name = call_bin_get_child_by_name;
    iface->get_child_by_index = call_bin_get_child_by_index;
    iface->get_children_count = call_bin_get_children_count;
}
