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

// Ends every src pad for real (EOS), as an EOS event sent to the element does, but without the
// element's state lock that gst_element_send_event() holds: pushing EOS may block for as long as
// a branch downstream is stuck, and a state change of the element must still be possible
// meanwhile (it is what unblocks the branch). Takes `eos` (an EOS event).
void call_participant_demux_end(CallParticipantDemux* self, GstEvent* eos);

G_END_DECLS
