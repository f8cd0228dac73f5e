// CallSignaller: the GObject interface through which `callbin` does its signalling.
//
// callbin never talks to the network itself. It is handed a CallSignaller (its `signaller`
// property) and drives webrtcbin from the signaller's signals; it hands its own SDP and ICE
// candidates back through the interface's methods. Inside the library, each call's signaller is
// bound to the agent's one shared connection to calling-server; a callbin used alone in
// gst-launch-1.0 gets a signaller that opens its own authenticated connection; element tests wire
// two callbins with a loopback signaller.
//
// A "session" is one webrtcbin negotiation with one remote peer, identified by `peer_id` (the
// remote participant's raw id for a peer-to-peer call, the media server's id for a group call).
//
// Threads: a signaller may emit its signals from any thread that is not a streaming thread; callbin
// must not block in its handlers. callbin calls the methods from webrtcbin's signalling thread or
// from the thread that changed its state; implementations must not block in them.
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define CALL_TYPE_SIGNALLER (call_signaller_get_type())
G_DECLARE_INTERFACE(CallSignaller, call_signaller, CALL, SIGNALLER, GObject)

struct _CallSignallerInterface {
    GTypeInterface parent_iface;

    // callbin went to PAUSED (start) or back to READY (stop). A standalone signaller connects and
    // authenticates on start and disconnects on stop; a shared one only (un)binds.
    void (*start)(CallSignaller* self);
    void (*stop)(CallSignaller* self);

    // Outgoing: callbin's local description ("offer" or "answer") and its ICE candidates.
    void (*send_sdp)(CallSignaller* self, const gchar* peer_id, const gchar* type, const gchar* sdp);
    void (*send_ice)(CallSignaller* self, const gchar* peer_id, guint mline_index, const gchar* candidate);
};

void call_signaller_start(CallSignaller* self);
void call_signaller_stop(CallSignaller* self);
void call_signaller_send_sdp(CallSignaller* self, const gchar* peer_id, const gchar* type, const gchar* sdp);
void call_signaller_send_ice(CallSignaller* self, const gchar* peer_id, guint mline_index, const gchar* candidate);

// Signals, emitted by implementations with the helpers below; callbin connects to them.
//
// "session-requested" (const gchar* peer_id, const gchar* display_name)
//     callbin is the offerer for peer_id: create an offer and send it with send_sdp.
// "session-description" (const gchar* peer_id, const gchar* type, const gchar* sdp)
//     the peer's description; an "offer" makes callbin answer it with send_sdp.
// "handle-ice" (const gchar* peer_id, guint mline_index, const gchar* candidate)
//     a remote ICE candidate.
// "session-ended" (const gchar* peer_id)
//     the peer left: callbin stops that session's media and ends its remote streams.
void call_signaller_emit_session_requested(CallSignaller* self, const gchar* peer_id, const gchar* display_name);
void call_signaller_emit_session_description(CallSignaller* self, const gchar* peer_id, const gchar* type,
                                             const gchar* sdp);
void call_signaller_emit_handle_ice(CallSignaller* self, const gchar* peer_id, guint mline_index,
                                    const gchar* candidate);
void call_signaller_emit_session_ended(CallSignaller* self, const gchar* peer_id);

G_END_DECLS
