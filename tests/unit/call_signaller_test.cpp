// The CallSignaller interface: methods reach the implementation, emit helpers reach handlers.
#include "protocol/call_signaller.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

// What the implementation below was asked to do, in order.
std::vector<std::string> calls;

}  // namespace

G_DECLARE_FINAL_TYPE(RecordingSignaller, recording_signaller, RECORDING, SIGNALLER, GObject)

struct _RecordingSignaller {
    GObject parent;
};

static void recording_signaller_iface_init(CallSignallerInterface* iface)
{
    iface->start = [](CallSignaller*) { calls.push_back("start"); };
    // stop left out: a no-op.
    iface->send_sdp = [](CallSignaller*, const gchar* peer, const gchar* type, const gchar* sdp) {
        calls.push_back(std::string("sdp ") + peer + " " + type + " " + sdp);
    };
    iface->send_ice = [](CallSignaller*, const gchar* peer, guint mline, const gchar* candidate) {
        calls.push_back(std::string("ice ") + peer + " " + std::to_string(mline) + " " + candidate);
    };
}

G_DEFINE_TYPE_WITH_CODE(RecordingSignaller, recording_signaller, G_TYPE_OBJECT,
                        G_IMPLEMENT_INTERFACE(CALL_TYPE_SIGNALLER, recording_signaller_iface_init))

static void recording_signaller_init(RecordingSignaller*) {}
static void recording_signaller_class_init(RecordingSignallerClass*) {}

namespace {

TEST(CallSignaller, MethodsReachTheImplementation)
{
    calls.clear();
    g_autoptr(GObject) object = G_OBJECT(g_object_new(recording_signaller_get_type(), nullptr));
    ASSERT_TRUE(CALL_IS_SIGNALLER(object));
    auto* signaller = CALL_SIGNALLER(object);
    call_signaller_start(signaller);
    call_signaller_stop(signaller);
    call_signaller_send_sdp(signaller, "8:acs:r_b", "offer", "v=0");
    call_signaller_send_ice(signaller, "8:acs:r_b", 0, "candidate:1 1 UDP 1 127.0.0.1 9 typ host");
    EXPECT_EQ(calls, (std::vector<std::string>{"start", "sdp 8:acs:r_b offer v=0",
                                               "ice 8:acs:r_b 0 candidate:1 1 UDP 1 127.0.0.1 9 typ host"}));
}

TEST(CallSignaller, EmitHelpersReachHandlers)
{
    g_autoptr(GObject) object = G_OBJECT(g_object_new(recording_signaller_get_type(), nullptr));
    auto* signaller = CALL_SIGNALLER(object);
    std::vector<std::string> heard;
    g_signal_connect(object, "session-requested",
                     G_CALLBACK(+[](CallSignaller*, const gchar* peer, const gchar* name, gpointer data) {
                         static_cast<std::vector<std::string>*>(data)->push_back(std::string("requested ") + peer +
                                                                                 " '" + name + "'");
                     }),
                     &heard);
    g_signal_connect(object, "session-description",
                     G_CALLBACK(+[](CallSignaller*, const gchar* peer, const gchar* type, const gchar*, gpointer data) {
                         static_cast<std::vector<std::string>*>(data)->push_back(std::string("description ") + peer +
                                                                                 " " + type);
                     }),
                     &heard);
    g_signal_connect(object, "handle-ice",
                     G_CALLBACK(+[](CallSignaller*, const gchar* peer, guint mline, const gchar*, gpointer data) {
                         static_cast<std::vector<std::string>*>(data)->push_back(std::string("ice ") + peer + " " +
                                                                                 std::to_string(mline));
                     }),
                     &heard);
    g_signal_connect(object, "session-ended", G_CALLBACK(+[](CallSignaller*, const gchar* peer, gpointer data) {
                         static_cast<std::vector<std::string>*>(data)->push_back(std::string("ended ") + peer);
                     }),
                     &heard);

    g_signal_connect(object, "call-state-changed",
                     G_CALLBACK(+[](CallSignaller*, const gchar* state, const gchar* call, const gchar* peer,
                                    gpointer data) {
                         static_cast<std::vector<std::string>*>(data)->push_back(std::string("state ") + state +
                                                                                 " '" + call + "' '" + peer + "'");
                     }),
                     &heard);
    g_signal_connect(object, "call-ended",
                     G_CALLBACK(+[](CallSignaller*, gint code, gint subCode, const gchar* message, gpointer data) {
                         static_cast<std::vector<std::string>*>(data)->push_back(
                             "call ended " + std::to_string(code) + "/" + std::to_string(subCode) + " " + message);
                     }),
                     &heard);
    g_signal_connect(object, "error",
                     G_CALLBACK(+[](CallSignaller*, gint code, gint subCode, const gchar* message, gpointer data) {
                         static_cast<std::vector<std::string>*>(data)->push_back(
                             "error " + std::to_string(code) + "/" + std::to_string(subCode) + " " + message);
                     }),
                     &heard);

    call_signaller_emit_call_state_changed(signaller, "ringing", "0b9e", nullptr);
    call_signaller_emit_session_requested(signaller, "8:acs:r_b", nullptr);
    call_signaller_emit_session_description(signaller, "8:acs:r_b", "answer", "v=0");
    call_signaller_emit_handle_ice(signaller, "8:acs:r_b", 1, "candidate:…");
    call_signaller_emit_session_ended(signaller, "8:acs:r_b");
    call_signaller_emit_call_ended(signaller, 0, 0, "Call ended");
    call_signaller_emit_error(signaller, 401, 4507, nullptr);
    EXPECT_EQ(heard, (std::vector<std::string>{"state ringing '0b9e' ''", "requested 8:acs:r_b ''",
                                               "description 8:acs:r_b answer", "ice 8:acs:r_b 1", "ended 8:acs:r_b",
                                               "call ended 0/0 Call ended", "error 401/4507 "}));
}

TEST(CallSignaller, IsOneTypeWhoeverRegistersIt)
{
    // The plugin and the library each carry the registration code; both must name one type.
    GType type = call_signaller_get_type();
    EXPECT_EQ(g_type_from_name("CallSignaller"), type);
    EXPECT_TRUE(G_TYPE_IS_INTERFACE(type));
    EXPECT_TRUE(g_type_is_a(type, G_TYPE_OBJECT));
}

}  // namespace
