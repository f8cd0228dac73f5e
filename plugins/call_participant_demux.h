// callparticipantdemux: one src pad per remote participant's stream. See the element's
// documentation in call_participant_demux.cpp.
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define CALL_TYPE_PARTICIPANT_DEMUX (call_participant_demux_get_type())
G_DECLARE_FINAL_TYPE(CallParticipantDemux, call_participant_demux, CALL, PARTICIPANT_DEMUX, GstElement)

// The src pads: a GstPad with the read-only properties participant-id, kind, stream-id and
// display-name (see call_stream_info.h).
#define CALL_TYPE_PARTICIPANT_DEMUX_PAD (call_participant_demux_pad_get_type())
G_DECLARE_FINAL_TYPE(CallParticipantDemuxPad, call_participant_demux_pad, CALL, PARTICIPANT_DEMUX_PAD, GstPad)

GST_ELEMENT_REGISTER_DECLARE(callparticipantdemux);

G_END_DECLS
