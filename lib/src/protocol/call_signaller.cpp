#include "protocol/call_signaller.h"

namespace {

constexpr const char* kTypeName = "CallSignaller";

void defaultInit(gpointer iface, gpointer)
{
    // RUN_LAST with no class handler: the interface only relays; callbin's handlers do the work.
    GType type = G_TYPE_FROM_INTERFACE(iface);
    g_signal_new("session-requested", type, G_SIGNAL_RUN_LAST, 0, nullptr, nullptr, nullptr, G_TYPE_NONE, 2,
                 G_TYPE_STRING, G_TYPE_STRING);
    g_signal_new("session-description", type, G_SIGNAL_RUN_LAST, 0, nullptr, nullptr, nullptr, G_TYPE_NONE, 3,
                 G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING);
    g_signal_new("handle-ice", type, G_SIGNAL_RUN_LAST, 0, nullptr, nullptr, nullptr, G_TYPE_NONE, 3, G_TYPE_STRING,
                 G_TYPE_UINT, G_TYPE_STRING);
    g_signal_new("session-ended", type, G_SIGNAL_RUN_LAST, 0, nullptr, nullptr, nullptr, G_TYPE_NONE, 1,
                 G_TYPE_STRING);
    g_signal_new("call-state-changed", type, G_SIGNAL_RUN_LAST, 0, nullptr, nullptr, nullptr, G_TYPE_NONE, 3,
                 G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING);
    g_signal_new("call-ended", type, G_SIGNAL_RUN_LAST, 0, nullptr, nullptr, nullptr, G_TYPE_NONE, 3, G_TYPE_INT,
                 G_TYPE_INT, G_TYPE_STRING);
    g_signal_new("error", type, G_SIGNAL_RUN_LAST, 0, nullptr, nullptr, nullptr, G_TYPE_NONE, 3, G_TYPE_INT,
                 G_TYPE_INT, G_TYPE_STRING);
}

}  // namespace

// Not G_DEFINE_INTERFACE: the protocol layer is a static library, so the plugin, the library and
// a test program each carry a copy of this function in one process. The first copy called
// registers the interface; the others adopt it by name, so that a signaller made on one side of
// the plugin boundary is a CallSignaller on the other. For the same reason the emit helpers below
// find the signals by name rather than through ids saved by whichever copy registered them.
GType call_signaller_get_type(void)
{
    static gsize type = 0;
    if (g_once_init_enter(&type)) {
        GType found = g_type_from_name(kTypeName);
        if (!found) {
            found = g_type_register_static_simple(G_TYPE_INTERFACE, kTypeName, sizeof(CallSignallerInterface),
                                                  defaultInit, 0, nullptr,
                                                  GTypeFlags(0));
            g_type_interface_add_prerequisite(found, G_TYPE_OBJECT);
        }
        g_once_init_leave(&type, found);
    }
    return type;
}

// A method an implementation leaves out is a no-op: a shared signaller, for one, has nothing to
// start.
void call_signaller_start(CallSignaller* self)
{
    g_return_if_fail(CALL_IS_SIGNALLER(self));
    CallSignallerInterface* iface = CALL_SIGNALLER_GET_IFACE(self);
    if (iface->start)
        iface->start(self);
}

void call_signaller_stop(CallSignaller* self)
{
    g_return_if_fail(CALL_IS_SIGNALLER(self));
    CallSignallerInterface* iface = CALL_SIGNALLER_GET_IFACE(self);
    if (iface->stop)
        iface->stop(self);
}

void call_signaller_send_sdp(CallSignaller* self, const gchar* peer_id, const gchar* type, const gchar* sdp)
{
    g_return_if_fail(CALL_IS_SIGNALLER(self));
    g_return_if_fail(peer_id && type && sdp);
    CallSignallerInterface* iface = CALL_SIGNALLER_GET_IFACE(self);
    if (iface->send_sdp)
        iface->send_sdp(self, peer_id, type, sdp);
}

void call_signaller_send_ice(CallSignaller* self, const gchar* peer_id, guint mline_index, const gchar* candidate)
{
    g_return_if_fail(CALL_IS_SIGNALLER(self));
    g_return_if_fail(peer_id && candidate);
    CallSignallerInterface* iface = CALL_SIGNALLER_GET_IFACE(self);
    if (iface->send_ice)
        iface->send_ice(self, peer_id, mline_index, candidate);
}

void call_signaller_emit_session_requested(CallSignaller* self, const gchar* peer_id, const gchar* display_name)
{
    g_return_if_fail(CALL_IS_SIGNALLER(self));
    g_return_if_fail(peer_id);
    g_signal_emit_by_name(self, "session-requested", peer_id, display_name ? display_name : "");
}

void call_signaller_emit_session_description(CallSignaller* self, const gchar* peer_id, const gchar* type,
                                             const gchar* sdp)
{
    g_return_if_fail(CALL_IS_SIGNALLER(self));
    g_return_if_fail(peer_id && type && sdp);
    g_signal_emit_by_name(self, "session-description", peer_id, type, sdp);
}

void call_signaller_emit_handle_ice(CallSignaller* self, const gchar* peer_id, guint mline_index,
                                    const gchar* candidate)
{
    g_return_if_fail(CALL_IS_SIGNALLER(self));
    g_return_if_fail(peer_id && candidate);
    g_signal_emit_by_name(self, "handle-ice", peer_id, mline_index, candidate);
}

void call_signaller_emit_session_ended(CallSignaller* self, const gchar* peer_id)
{
    g_return_if_fail(CALL_IS_SIGNALLER(self));
    g_return_if_fail(peer_id);
    g_signal_emit_by_name(self, "session-ended", peer_id);
}

void call_signaller_emit_call_state_changed(CallSignaller* self, const gchar* state, const gchar* call_id,
                                            const gchar* peer_id)
{
    g_return_if_fail(CALL_IS_SIGNALLER(self));
    g_return_if_fail(state);
    g_signal_emit_by_name(self, "call-state-changed", state, call_id ? call_id : "", peer_id ? peer_id : "");
}

void call_signaller_emit_call_ended(CallSignaller* self, gint code, gint sub_code, const gchar* message)
{
    g_return_if_fail(CALL_IS_SIGNALLER(self));
    g_signal_emit_by_name(self, "call-ended", code, sub_code, message ? message : "");
}

void call_signaller_emit_error(CallSignaller* self, gint code, gint sub_code, const gchar* message)
{
    g_return_if_fail(CALL_IS_SIGNALLER(self));
    g_signal_emit_by_name(self, "error", code, sub_code, message ? message : "");
}
