// CallSignaller: the GObject interface through which `callbin` does its signalling.
//
// callbin never talks to the network itself. It is handed a CallSignaller (its `signaller`
// property) and drives webrtcbin from the signaller's signals; it hands its own SDP and ICE
// candidates back through the interface's methods. Inside the library, each call's signaller is
// bound to the agent's one shared connection to calling-server; a callbin used alone in
// gst-launch-1.0 makes one that opens its own authenticated connection (CallServerSignaller, in
// plugins/call_server_signaller.h); element tests wire two callbins with a loopback signaller.
//
// A "session" is one webrtcbin negotiation with one remote peer, identified by `peer_id` (the
// remote participant's raw id for a peer-to-peer call, the media server's id for a group call).
//
// Threads: a signaller may emit its signals from any thread that is not a streaming thread; callbin
// must not block in its handlers. callbin calls the methods from webrtcbin's signalling thread or
// from the thread that changed its state; implementations must not block in them, with one
// exception: stop() of a signaller that owns its connection may wait, for a bounded time, until it
// has hung up and closed, so that the far end hears of the hang up before the process goes on (or
// exits, as gst-launch-1.0 does right after going to NULL).
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
//
// Added for signallers that run a call by themselves (callbin alone in gst-launch-1.0); a
// signaller bound to an application's call, such as the library's, emits none of these, and
// nothing above changed for it:
//
// "call-state-changed" (const gchar* state, const gchar* call_id, const gchar* peer_id)
//     where the call stands, for the application: "connecting" (to the server), "waiting" (for an
//     incoming call), "calling" (invited), "ringing", "connected" (both sides joined; media is
//     negotiated from here), then "ended". call_id and peer_id are "" until known. callbin posts
//     each as a "call-state" element message.
// "call-ended" (gint code, gint sub_code, const gchar* message)
//     the call is over, with the server's end reason (docs/protocol.md): 0/0 for a hang up. After
//     a "session-ended" for the peer, if there was a session. callbin posts a "call-ended" element
//     message, then ends the pipeline: EOS when the call had been "connected" or the code is 0,
//     an error otherwise.
// "error" (gint code, gint sub_code, const gchar* message)
//     the signaller cannot go on (no connection, a refused token, a bad setting, a lost
//     connection), as code/subCode and a message that never quotes the access token. callbin
//     posts an element error; after "connected", a warning and EOS.
void call_signaller_emit_session_requested(CallSignaller* self, const gchar* peer_id, const gchar* display_name);
void call_signaller_emit_session_description(CallSignaller* self, const gchar* peer_id, const gchar* type,
                                             const gchar* sdp);
void call_signaller_emit_handle_ice(CallSignaller* self, const gchar* peer_id, guint mline_index,
                                    const gchar* candidate);
void call_signaller_emit_session_ended(CallSignaller* self, const gchar* peer_id);
void call_signaller_emit_call_state_changed(CallSignaller* self, const gchar* state, const gchar* call_id,
                                            const gchar* peer_id);
void call_signaller_emit_call_ended(CallSignaller* self, gint code, gint sub_code, const gchar* message);
void call_signaller_emit_error(CallSignaller* self, gint code, gint sub_code, const gchar* message);

G_END_DECLS
