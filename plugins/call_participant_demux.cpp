/**
 * SECTION:element-callparticipantdemux
 * @title: callparticipantdemux
 *
 * callparticipantdemux gives each remote participant's stream a src pad of its own, named after
 * the participant: `audio_<participant>` or `video_<participant>`, where `<participant>` is the
 * participant's raw id with everything outside [A-Za-z0-9_-] turned into '_' (the raw id
 * "8:acs:r_u" gives the pad `audio_8_acs_r_u`). A participant's second stream of one kind gets a
 * `_2` suffix, and so on.
 *
 * Each request sink pad `sink_%u` carries one stream, described by a sticky "call-stream-info"
 * event (fields participant-id, kind, stream-id, display-name; callbin sends it after each
 * depayloader). The src pad appears when that event arrives and carries the same event and the
 * same fields as its properties, so an application knows whose pad it is in `pad-added`. A
 * stream that arrives without the event is exposed as `<kind>_unknown`, its kind taken from the
 * caps.
 *
 * The element is made for recorders and mixers that must outlive a participant's stream:
 *
 * - EOS on a sink pad (webrtcbin sends one when a transceiver goes inactive) is swallowed: the src
 *   pad stays, its downstream sees a gap instead of EOS, and #CallParticipantDemux::participant-stream-ended
 *   is emitted along with an element message of the same name. A later stream with the same
 *   participant, kind and stream id (on the same or another sink pad) continues on the same src
 *   pad, its first buffer marked DISCONT.
 * - A real EOS leaves the src pads only when the element is told to end (an EOS event sent to the
 *   element) or when its last sink pad is released.
 * - With #CallParticipantDemux:allow-not-linked (the default), a src pad nobody linked drops its
 *   data and never returns not-linked upstream, so participants nobody listens to cost nothing and
 *   stall nothing, and a pad linked late starts flowing. Without it, flows are combined: upstream
 *   sees not-linked only once every src pad is unlinked.
 *
 * Src pads go away when the element goes back to READY.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 -m audiotestsrc is-live=true ! opusenc ! callparticipantdemux name=demux \
 *     demux. ! queue ! opusdec ! audioconvert ! autoaudiosink
 * ]| An untagged Opus stream comes out as `audio_unknown`. In a call, callbin tags each remote
 * stream with its participant before this element, and the pads come out as `audio_8_acs_…`.
 */
#include "call_participant_demux.h"

#include <gst/base/gstflowcombiner.h>

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "call_stream_info.h"
#include "gstreamer/ref_ptr.h"

GST_DEBUG_CATEGORY_STATIC(call_participant_demux_debug);
#define GST_CAT_DEFAULT call_participant_demux_debug

using calling::detail::RefPtr;
using calling::detail::StreamInfo;

namespace {

constexpr gboolean kDefaultAllowNotLinked = TRUE;

enum {
    PROP_0,
    PROP_ALLOW_NOT_LINKED,
};

enum {
    SIGNAL_PARTICIPANT_STREAM_ENDED,
    SIGNAL_COUNT,
};

guint demuxSignals[SIGNAL_COUNT];

GstStaticPadTemplate sinkTemplate =
    GST_STATIC_PAD_TEMPLATE("sink_%u", GST_PAD_SINK, GST_PAD_REQUEST, GST_STATIC_CAPS_ANY);
GstStaticPadTemplate audioSrcTemplate =
    GST_STATIC_PAD_TEMPLATE("audio_%s", GST_PAD_SRC, GST_PAD_SOMETIMES, GST_STATIC_CAPS_ANY);
GstStaticPadTemplate videoSrcTemplate =
    GST_STATIC_PAD_TEMPLATE("video_%s", GST_PAD_SRC, GST_PAD_SOMETIMES, GST_STATIC_CAPS_ANY);

struct FlowCombinerFree {
    void operator()(GstFlowCombiner* combiner) const { gst_flow_combiner_free(combiner); }
};

// One exposed src pad: one (participant, kind, stream id).
struct SrcStream {
    RefPtr<GstPad> pad;
    StreamInfo info;
    // The sink pad whose data goes out here now; a later stream with the same keys takes over.
    // Not owning: the element owns its pads, and a released sink pad is cleared from here first.
    GstPad* feeder = nullptr;
    // Added to the element (pad-added emitted); data is dropped until then.
    bool exposed = false;
    bool flowed = false;
};

// One request sink pad.
struct SinkStream {
    SrcStream* src = nullptr;  // owned by DemuxState::srcs
    bool ended = false;
    bool needDiscont = false;
};

}  // namespace

// The element's C++ state, new-ed in init and deleted in finalize.
struct CallParticipantDemuxState {
    // Protects everything below. Never held while pushing, adding or removing pads, or emitting.
    // Lock order: this mutex, then a pad's object lock (taken by GStreamer calls made under it).
    std::mutex mutex;
    std::map<GstPad*, SinkStream> sinks;  // keys are the element's own sink pads
    std::vector<std::unique_ptr<SrcStream>> srcs;
    std::unique_ptr<GstFlowCombiner, FlowCombinerFree> combiner{gst_flow_combiner_new()};
    bool allowNotLinked = kDefaultAllowNotLinked;
    bool ended = false;  // the element itself was told to end
    guint nextSinkIndex = 0;
};

struct _CallParticipantDemux {
    GstElement parent;
    CallParticipantDemuxState* state;
};

struct _CallParticipantDemuxPad {
    GstPad parent;
    // Written by the element, read by property getters on any thread: under the pad's object lock.
    StreamInfo* info;
};

G_DEFINE_TYPE(CallParticipantDemuxPad, call_participant_demux_pad, GST_TYPE_PAD)

G_DEFINE_TYPE_WITH_CODE(CallParticipantDemux, call_participant_demux, GST_TYPE_ELEMENT,
                        GST_DEBUG_CATEGORY_INIT(call_participant_demux_debug, "callparticipantdemux", 0,
                                                "Per-participant demuxer"))

GST_ELEMENT_REGISTER_DEFINE(callparticipantdemux, "callparticipantdemux", GST_RANK_NONE,
                            CALL_TYPE_PARTICIPANT_DEMUX)

// ---------------------------------------------------------------------------------------------
// The src pad type

enum {
    PAD_PROP_0,
    PAD_PROP_FIRST_INFO,
};

static void call_participant_demux_pad_init(CallParticipantDemuxPad* self)
{
    self->info = new StreamInfo;
}

static void call_participant_demux_pad_finalize(GObject* object)
{
    delete CALL_PARTICIPANT_DEMUX_PAD(object)->info;
    G_OBJECT_CLASS(call_participant_demux_pad_parent_class)->finalize(object);
}

static void call_participant_demux_pad_get_property(GObject* object, guint propertyId, GValue* value,
                                                    GParamSpec* pspec)
{
    auto* self = CALL_PARTICIPANT_DEMUX_PAD(object);
    GST_OBJECT_LOCK(self);
    StreamInfo info = *self->info;
    GST_OBJECT_UNLOCK(self);
    if (!calling::detail::getStreamInfoProperty(info, PAD_PROP_FIRST_INFO, propertyId, value))
        G_OBJECT_WARN_INVALID_PROPERTY_ID(object, propertyId, pspec);
}

static void call_participant_demux_pad_class_init(CallParticipantDemuxPadClass* klass)
{
    GObjectClass* objectClass = G_OBJECT_CLASS(klass);
    objectClass->finalize = call_participant_demux_pad_finalize;
    objectClass->get_property = call_participant_demux_pad_get_property;
    calling::detail::installStreamInfoProperties(objectClass, PAD_PROP_FIRST_INFO);
}

static void setPadInfo(GstPad* pad, const StreamInfo& info)
{
    auto* self = CALL_PARTICIPANT_DEMUX_PAD(pad);
    GST_OBJECT_LOCK(self);
    StreamInfo before = std::exchange(*self->info, info);
    GST_OBJECT_UNLOCK(self);
    calling::detail::notifyStreamInfoChanges(G_OBJECT(pad), before, info);
}

// ---------------------------------------------------------------------------------------------
// Helpers

namespace {

CallParticipantDemuxState& stateOf(GstObject* parent)
{
    return *CALL_PARTICIPANT_DEMUX(parent)->state;
}

// The kind of an untagged stream, from its caps: raw or encoded media types, or RTP's "media".
std::optional<std::string> kindFromCaps(GstPad* pad)
{
    g_autoptr(GstCaps) caps = gst_pad_get_current_caps(pad);
    if (!caps || gst_caps_is_empty(caps))
        return std::nullopt;
    const GstStructure* structure = gst_caps_get_structure(caps, 0);
    std::string_view name = gst_structure_get_name(structure);
    if (name.starts_with("audio/"))
        return "audio";
    if (name.starts_with("video/") || name.starts_with("image/"))
        return "video";
    if (const char* media = gst_structure_get_string(structure, "media")) {
        if (std::string_view(media) == "audio" || std::string_view(media) == "video")
            return std::string(media);
    }
    return std::nullopt;
}

// Under the state's mutex.
std::string uniquePadName(const CallParticipantDemuxState& state, const StreamInfo& info)
{
    std::string base = info.kind + "_" + calling::detail::sanitizeForPadName(info.participantId);
    auto taken = [&](const std::string& name) {
        return std::any_of(state.srcs.begin(), state.srcs.end(), [&](const std::unique_ptr<SrcStream>& src) {
            return GST_PAD_NAME(src->pad.get()) == name;
        });
    };
    if (!taken(base))
        return base;
    for (unsigned n = 2;; ++n) {
        std::string candidate = base + "_" + std::to_string(n);
        if (!taken(candidate))
            return candidate;
    }
}

// Collects the sink pad's sticky events that the src pad should carry. They are pushed after the
// walk, because the walk holds the sink pad's object lock and a push may come back upstream.
struct StickyToForward {
    bool continuation;  // the src pad already carried this stream: keep its stream-start and caps
    std::vector<RefPtr<GstEvent>> events;
};

gboolean collectStickyEvent(GstPad*, GstEvent** event, gpointer userData)
{
    auto* forward = static_cast<StickyToForward*>(userData);
    GstEvent* sticky = *event;
    switch (GST_EVENT_TYPE(sticky)) {
    case GST_EVENT_EOS:
        return TRUE;
    case GST_EVENT_CUSTOM_DOWNSTREAM_STICKY:
        // The stream's own info goes out separately, from the event that (re)attached it.
        if (calling::detail::parseStreamInfoEvent(sticky))
            return TRUE;
        break;
    case GST_EVENT_STREAM_START:
        if (forward->continuation)
            return TRUE;
        break;
    default:
        break;
    }
    forward->events.push_back(RefPtr<GstEvent>::ref(sticky));
    return TRUE;
}

// Sticky events are stored on the src pad even while it is unlinked, and go out with the first
// buffer once it is.
void forwardStickyEvents(GstPad* sinkpad, GstPad* src, bool continuation)
{
    StickyToForward forward{continuation, {}};
    gst_pad_sticky_events_foreach(sinkpad, collectStickyEvent, &forward);
    for (RefPtr<GstEvent>& event : forward.events) {
        if (continuation && GST_EVENT_TYPE(event.get()) == GST_EVENT_CAPS) {
            GstCaps* caps = nullptr;
            gst_event_parse_caps(event.get(), &caps);
            g_autoptr(GstCaps) current = gst_pad_get_current_caps(src);
            if (current && gst_caps_is_equal(current, caps))
                continue;
        }
        gst_pad_push_event(src, event.release());
    }
}

void announceEnd(CallParticipantDemux* self, const std::string& participantId, const std::string& padName)
{
    GST_INFO_OBJECT(self, "stream of %s on %s ended", participantId.c_str(), padName.c_str());
    gst_element_post_message(
        GST_ELEMENT(self),
        gst_message_new_element(GST_OBJECT(self),
                                gst_structure_new("participant-stream-ended", "participant-id", G_TYPE_STRING,
                                                  participantId.c_str(), "pad-name", G_TYPE_STRING,
                                                  padName.c_str(), nullptr)));
    g_signal_emit(self, demuxSignals[SIGNAL_PARTICIPANT_STREAM_ENDED], 0, participantId.c_str(), padName.c_str());
}

}  // namespace

static GstIterator* iterateInternalLinks(GstPad* pad, GstObject* parent);

// Routes the stream of `sinkpad` to the src pad for `info`, creating and exposing that pad when
// it is the first of its kind. Called from the sink pad's streaming thread. Returns the src pad,
// or nothing when the element has ended or the sink pad is gone.
static RefPtr<GstPad> attachStream(CallParticipantDemux* self, GstPad* sinkpad, const StreamInfo& info)
{
    CallParticipantDemuxState& state = *self->state;
    RefPtr<GstPad> src;
    bool created = false;
    bool continuation = false;
    bool updateOnly = false;
    std::string endedParticipant;
    std::string endedPad;
    {
        std::lock_guard lock(state.mutex);
        auto sink = state.sinks.find(sinkpad);
        if (sink == state.sinks.end() || state.ended)
            return {};
        SinkStream& stream = sink->second;
        if (stream.src && stream.src->info.sameStream(info)) {
            // The same stream again, e.g. with a display name now known.
            stream.src->info = info;
            src = stream.src->pad;
            updateOnly = true;
        } else {
            if (stream.src && stream.src->feeder == sinkpad) {
                // The sink pad now carries another stream: the one it carried ended.
                stream.src->feeder = nullptr;
                if (!stream.ended) {
                    endedParticipant = stream.src->info.participantId;
                    endedPad = GST_PAD_NAME(stream.src->pad.get());
                }
            }
            auto existing = std::find_if(state.srcs.begin(), state.srcs.end(),
                                         [&](const std::unique_ptr<SrcStream>& src) {
                                             return src->info.sameStream(info);
                                         });
            SrcStream* target = nullptr;
            if (existing != state.srcs.end()) {
                target = existing->get();
                target->info = info;
                continuation = target->flowed;
            } else {
                auto fresh = std::make_unique<SrcStream>();
                fresh->info = info;
                GstPadTemplate* templ = gst_element_class_get_pad_template(
                    GST_ELEMENT_GET_CLASS(self), info.kind == "video" ? "video_%s" : "audio_%s");
                std::string name = uniquePadName(state, info);
                fresh->pad = RefPtr<GstPad>::adopt(GST_PAD(g_object_new(CALL_TYPE_PARTICIPANT_DEMUX_PAD, "name",
                                                                         name.c_str(), "direction", GST_PAD_SRC,
                                                                         "template", templ, nullptr)));
                gst_pad_set_iterate_internal_links_function(fresh->pad.get(), iterateInternalLinks);
                gst_pad_use_fixed_caps(fresh->pad.get());
                gst_pad_set_active(fresh->pad.get(), TRUE);
                gst_flow_combiner_add_pad(state.combiner.get(), fresh->pad.get());
                target = fresh.get();
                state.srcs.push_back(std::move(fresh));
                created = true;
            }
            target->feeder = sinkpad;
            stream.src = target;
            stream.ended = false;
            stream.needDiscont = continuation;
            src = target->pad;
        }
    }

    if (!endedPad.empty())
        announceEnd(self, endedParticipant, endedPad);

    setPadInfo(src.get(), info);
    if (!updateOnly)
        forwardStickyEvents(sinkpad, src.get(), continuation);
    gst_pad_push_event(src.get(), calling::detail::newStreamInfoEvent(info).release());

    if (created) {
        GST_INFO_OBJECT(self, "exposing %s for %s (%s, stream %s)", GST_PAD_NAME(src.get()),
                        info.participantId.c_str(), info.kind.c_str(), info.streamId.c_str());
        gst_element_add_pad(GST_ELEMENT(self), src.get());
        std::lock_guard lock(state.mutex);
        for (auto& stream : state.srcs) {
            if (stream->pad == src)
                stream->exposed = true;
        }
    } else if (!updateOnly) {
        GST_INFO_OBJECT(self, "%s continues on %s", info.participantId.c_str(), GST_PAD_NAME(src.get()));
    }
    return src;
}

static GstFlowReturn sinkChain(GstPad* pad, GstObject* parent, GstBuffer* buffer)
{
    auto* self = CALL_PARTICIPANT_DEMUX(parent);
    CallParticipantDemuxState& state = *self->state;
    auto owned = RefPtr<GstBuffer>::adopt(buffer);

    RefPtr<GstPad> src;
    bool discont = false;
    bool untagged = false;
    {
        std::lock_guard lock(state.mutex);
        if (state.ended)
            return GST_FLOW_EOS;
        auto sink = state.sinks.find(pad);
        if (sink == state.sinks.end())
            return GST_FLOW_FLUSHING;
        SinkStream& stream = sink->second;
        if (!stream.src) {
            untagged = true;
        } else if (stream.src->feeder == pad && stream.src->exposed) {
            src = stream.src->pad;
            discont = std::exchange(stream.needDiscont, false);
            stream.src->flowed = true;
        }
    }

    if (untagged) {
        std::optional<std::string> kind = kindFromCaps(pad);
        if (!kind) {
            GST_WARNING_OBJECT(pad, "untagged stream of unknown kind: dropped");
            return GST_FLOW_OK;
        }
        src = attachStream(self, pad, StreamInfo{"", *kind, GST_PAD_NAME(pad), ""});
        if (!src)
            return GST_FLOW_OK;
        std::lock_guard lock(state.mutex);
        for (auto& stream : state.srcs) {
            if (stream->pad == src)
                stream->flowed = true;
        }
    }

    // A stream another sink pad took over, or one whose pad is not exposed yet.
    if (!src)
        return GST_FLOW_OK;

    if (discont) {
        GstBuffer* writable = gst_buffer_make_writable(owned.release());
        GST_BUFFER_FLAG_SET(writable, GST_BUFFER_FLAG_DISCONT);
        owned = RefPtr<GstBuffer>::adopt(writable);
    }

    GstFlowReturn ret = gst_pad_push(src.get(), owned.release());

    std::lock_guard lock(state.mutex);
    if (ret == GST_FLOW_NOT_LINKED && state.allowNotLinked)
        ret = GST_FLOW_OK;
    return gst_flow_combiner_update_pad_flow(state.combiner.get(), src.get(), ret);
}

static gboolean sinkEvent(GstPad* pad, GstObject* parent, GstEvent* event)
{
    auto* self = CALL_PARTICIPANT_DEMUX(parent);
    CallParticipantDemuxState& state = *self->state;

    if (std::optional<StreamInfo> info = calling::detail::parseStreamInfoEvent(event)) {
        attachStream(self, pad, *info);
        // Kept on the sink pad as a sticky event (returning TRUE) so that pad queries show it.
        gst_event_unref(event);
        return TRUE;
    }

    RefPtr<GstPad> src;
    bool feeding = false;
    std::string endedParticipant;
    std::string endedPad;
    {
        std::lock_guard lock(state.mutex);
        auto sink = state.sinks.find(pad);
        if (sink != state.sinks.end() && sink->second.src && sink->second.src->feeder == pad) {
            SinkStream& stream = sink->second;
            feeding = true;
            src = stream.src->pad;
            if (GST_EVENT_TYPE(event) == GST_EVENT_EOS && !stream.ended) {
                stream.ended = true;
                endedParticipant = stream.src->info.participantId;
                endedPad = GST_PAD_NAME(src.get());
            } else if (GST_EVENT_TYPE(event) == GST_EVENT_STREAM_START && stream.ended) {
                // The same stream resumes after an EOS: downstream sees a gap.
                stream.ended = false;
                stream.needDiscont = true;
            }
        }
    }

    switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_EOS:
        // Swallowed: downstream recorders must see a gap, not an end. The sink pad itself turns EOS
        // (the core stores the event), so upstream learns that this stream is over.
        if (!endedPad.empty())
            announceEnd(self, endedParticipant, endedPad);
        gst_event_unref(event);
        return TRUE;
    case GST_EVENT_STREAM_START:
        // The src pad keeps the stream-start it was exposed with; a continuation is the same stream.
        if (feeding) {
            gst_event_unref(event);
            return TRUE;
        }
        break;
    case GST_EVENT_CAPS:
        if (feeding) {
            GstCaps* caps = nullptr;
            gst_event_parse_caps(event, &caps);
            g_autoptr(GstCaps) current = gst_pad_get_current_caps(src.get());
            if (current && gst_caps_is_equal(current, caps)) {
                gst_event_unref(event);
                return TRUE;
            }
        }
        break;
    default:
        break;
    }

    if (feeding)
        return gst_pad_push_event(src.get(), event);

    // Not routed yet: sticky events stay on the sink pad and go out when the stream is attached.
    gboolean sticky = (gst_event_type_get_flags(GST_EVENT_TYPE(event)) & GST_EVENT_TYPE_STICKY) != 0;
    gst_event_unref(event);
    return sticky;
}

static GstIterator* iterateInternalLinks(GstPad* pad, GstObject* parent)
{
    CallParticipantDemuxState& state = stateOf(parent);
    RefPtr<GstPad> linked;
    {
        std::lock_guard lock(state.mutex);
        if (GST_PAD_IS_SINK(pad)) {
            auto sink = state.sinks.find(pad);
            if (sink != state.sinks.end() && sink->second.src && sink->second.src->feeder == pad)
                linked = sink->second.src->pad;
        } else {
            for (auto& src : state.srcs) {
                if (src->pad == pad && src->feeder)
                    linked = RefPtr<GstPad>::ref(src->feeder);
            }
        }
    }
    if (!linked)
        return gst_iterator_new_single(GST_TYPE_PAD, nullptr);
    GValue value = G_VALUE_INIT;
    g_value_init(&value, GST_TYPE_PAD);
    g_value_set_object(&value, linked.get());
    GstIterator* iterator = gst_iterator_new_single(GST_TYPE_PAD, &value);
    g_value_unset(&value);
    return iterator;
}

// Pushes `event` on every src pad, outside the lock: pushing may reach downstream elements.
//
// The pads whose stream never flowed go first: a muxer downstream may be waiting for them before it
// takes anything from the others, whose queues are then full, so that a push on those would block
// until the muxer had its EOS from these.
static void pushOnAllSrcPads(CallParticipantDemux* self, GstEvent* event)
{
    std::vector<RefPtr<GstPad>> pads;
    {
        std::lock_guard lock(self->state->mutex);
        for (bool flowed : {false, true}) {
            for (auto& src : self->state->srcs) {
                if (src->flowed == flowed)
                    pads.push_back(src->pad);
            }
        }
    }
    for (auto& pad : pads)
        gst_pad_push_event(pad.get(), gst_event_ref(event));
    gst_event_unref(event);
}

// ---------------------------------------------------------------------------------------------
// The element

static GstPad* call_participant_demux_request_new_pad(GstElement* element, GstPadTemplate* templ, const gchar* name,
                                                      const GstCaps*)
{
    auto* self = CALL_PARTICIPANT_DEMUX(element);
    CallParticipantDemuxState& state = *self->state;
    std::string padName;
    {
        std::lock_guard lock(state.mutex);
        guint index = state.nextSinkIndex;
        if (name && g_str_has_prefix(name, "sink_") && g_ascii_isdigit(name[5]))
            index = guint(g_ascii_strtoull(name + 5, nullptr, 10));
        padName = "sink_" + std::to_string(index);
        for (auto& [pad, stream] : state.sinks) {
            if (GST_PAD_NAME(pad) == padName) {
                GST_WARNING_OBJECT(self, "%s is already in use", padName.c_str());
                return nullptr;
            }
        }
        state.nextSinkIndex = std::max(state.nextSinkIndex, index + 1);
    }

    GstPad* pad = gst_pad_new_from_template(templ, padName.c_str());
    gst_pad_set_chain_function(pad, sinkChain);
    gst_pad_set_event_function(pad, sinkEvent);
    gst_pad_set_iterate_internal_links_function(pad, iterateInternalLinks);
    {
        std::lock_guard lock(state.mutex);
        state.sinks.emplace(pad, SinkStream{});
    }
    // Activated by gst_element_add_pad when the element is already running.
    gst_element_add_pad(element, pad);
    return pad;
}

static void call_participant_demux_release_pad(GstElement* element, GstPad* pad)
{
    auto* self = CALL_PARTICIPANT_DEMUX(element);
    CallParticipantDemuxState& state = *self->state;

    // Waits until the pad's streaming thread is out of the chain function.
    gst_pad_set_active(pad, FALSE);

    std::string endedParticipant;
    std::string endedPad;
    bool last = false;
    {
        std::lock_guard lock(state.mutex);
        auto sink = state.sinks.find(pad);
        if (sink == state.sinks.end())
            return;
        SinkStream& stream = sink->second;
        if (stream.src && stream.src->feeder == pad) {
            stream.src->feeder = nullptr;
            if (!stream.ended) {
                endedParticipant = stream.src->info.participantId;
                endedPad = GST_PAD_NAME(stream.src->pad.get());
            }
        }
        state.sinks.erase(sink);
        last = state.sinks.empty() && !state.srcs.empty() && !state.ended;
    }
    gst_element_remove_pad(element, pad);

    if (!endedPad.empty())
        announceEnd(self, endedParticipant, endedPad);
    // Nothing can feed the src pads any more: their downstream may finish now.
    if (last)
        pushOnAllSrcPads(self, gst_event_new_eos());
}

// The application ends the element: every src pad ends for real, and stays ended until READY.
void call_participant_demux_end(CallParticipantDemux* self, GstEvent* eos)
{
    GST_INFO_OBJECT(self, "ending all streams");
    {
        std::lock_guard lock(self->state->mutex);
        self->state->ended = true;
    }
    pushOnAllSrcPads(self, eos);
}

static gboolean call_participant_demux_send_event(GstElement* element, GstEvent* event)
{
    if (GST_EVENT_TYPE(event) == GST_EVENT_EOS) {
        call_participant_demux_end(CALL_PARTICIPANT_DEMUX(element), event);
        return TRUE;
    }
    return GST_ELEMENT_CLASS(call_participant_demux_parent_class)->send_event(element, event);
}

static GstStateChangeReturn call_participant_demux_change_state(GstElement* element, GstStateChange transition)
{
    auto* self = CALL_PARTICIPANT_DEMUX(element);
    CallParticipantDemuxState& state = *self->state;

    if (transition == GST_STATE_CHANGE_READY_TO_PAUSED) {
        std::lock_guard lock(state.mutex);
        state.ended = false;
        gst_flow_combiner_reset(state.combiner.get());
    }

    GstStateChangeReturn ret =
        GST_ELEMENT_CLASS(call_participant_demux_parent_class)->change_state(element, transition);
    if (ret == GST_STATE_CHANGE_FAILURE)
        return ret;

    if (transition == GST_STATE_CHANGE_PAUSED_TO_READY) {
        // Streaming has stopped: the src pads go, and a new PAUSED starts afresh.
        std::vector<std::unique_ptr<SrcStream>> gone;
        {
            std::lock_guard lock(state.mutex);
            gone.swap(state.srcs);
            for (auto& [pad, stream] : state.sinks)
                stream = SinkStream{};
            gst_flow_combiner_clear(state.combiner.get());
        }
        for (auto& src : gone) {
            gst_pad_set_active(src->pad.get(), FALSE);
            if (src->exposed)
                gst_element_remove_pad(element, src->pad.get());
        }
    }
    return ret;
}

static void call_participant_demux_set_property(GObject* object, guint propertyId, const GValue* value,
                                                GParamSpec* pspec)
{
    CallParticipantDemuxState& state = *CALL_PARTICIPANT_DEMUX(object)->state;
    switch (propertyId) {
    case PROP_ALLOW_NOT_LINKED: {
        std::lock_guard lock(state.mutex);
        state.allowNotLinked = g_value_get_boolean(value);
        break;
    }
    default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID(object, propertyId, pspec);
    }
}

static void call_participant_demux_get_property(GObject* object, guint propertyId, GValue* value, GParamSpec* pspec)
{
    CallParticipantDemuxState& state = *CALL_PARTICIPANT_DEMUX(object)->state;
    switch (propertyId) {
    case PROP_ALLOW_NOT_LINKED: {
        std::lock_guard lock(state.mutex);
        g_value_set_boolean(value, state.allowNotLinked);
        break;
    }
    default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID(object, propertyId, pspec);
    }
}

static void call_participant_demux_init(CallParticipantDemux* self)
{
    self->state = new CallParticipantDemuxState;
}

static void call_participant_demux_finalize(GObject* object)
{
    delete CALL_PARTICIPANT_DEMUX(object)->state;
    G_OBJECT_CLASS(call_participant_demux_parent_class)->finalize(object);
}

static void call_participant_demux_class_init(CallParticipantDemuxClass* klass)
{
    GObjectClass* objectClass = G_OBJECT_CLASS(klass);
    GstElementClass* elementClass = GST_ELEMENT_CLASS(klass);

    objectClass->finalize = call_participant_demux_finalize;
    objectClass->set_property = call_participant_demux_set_property;
    objectClass->get_property = call_participant_demux_get_property;

    g_object_class_install_property(
        objectClass, PROP_ALLOW_NOT_LINKED,
        g_param_spec_boolean("allow-not-linked", "Allow Not Linked",
                             "Drop the data of unlinked src pads instead of returning not-linked upstream.",
                             kDefaultAllowNotLinked,
                             GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING)));

    /**
     * CallParticipantDemux::participant-stream-ended:
     * @demux: the element
     * @participant_id: the participant's raw id
     * @pad_name: the src pad whose stream ended; the pad stays
     *
     * A participant's stream ended (EOS on its sink pad, or the sink pad was released). Emitted
     * from the thread that carried the end, usually a streaming thread: handlers must not block.
     */
    demuxSignals[SIGNAL_PARTICIPANT_STREAM_ENDED] =
        g_signal_new("participant-stream-ended", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, nullptr, nullptr,
                     nullptr, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);

    elementClass->request_new_pad = call_participant_demux_request_new_pad;
    elementClass->release_pad = call_participant_demux_release_pad;
    elementClass->send_event = call_participant_demux_send_event;
    elementClass->change_state = call_participant_demux_change_state;

    gst_element_class_add_static_pad_template(elementClass, &sinkTemplate);
    gst_element_class_add_static_pad_template_with_gtype(elementClass, &audioSrcTemplate,
                                                         CALL_TYPE_PARTICIPANT_DEMUX_PAD);
    gst_element_class_add_static_pad_template_with_gtype(elementClass, &videoSrcTemplate,
                                                         CALL_TYPE_PARTICIPANT_DEMUX_PAD);
    gst_element_class_set_static_metadata(
        elementClass, "Call participant demuxer", "Demuxer/Network",
        "Gives each remote participant's stream a src pad of its own, and turns a stream's end into a gap. "
        "callbin puts its remote streams through it, so its src pads are callbin's: "
        "gst-launch-1.0 callbin server-url=URL access-token=TOKEN ! queue ! opusdec ! autoaudiosink",
        "gst-calling");

    gst_type_mark_as_plugin_api(CALL_TYPE_PARTICIPANT_DEMUX_PAD, GstPluginAPIFlags(0));
}
