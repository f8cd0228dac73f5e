// A separate agent process for tests that need to kill one side of a call: it signs in with the
// given token, answers every incoming call, and prints one line per event on stdout:
//   ready <raw id>
//   connected <call id>
//   ended <call id> <code>/<subCode>
// It runs until it is killed.
#include <calling/call_client.h>

#include <glib.h>
#include <gst/gst.h>

#include <cstdio>
#include <map>
#include <memory>

using namespace calling;

int main(int argc, char** argv)
{
    if (argc != 3) {
        g_printerr("usage: %s ENDPOINT TOKEN\n", argv[0]);
        return 2;
    }
    gst_init(&argc, &argv);
    GMainContext* context = g_main_context_default();
    CallClient client({.endpoint = argv[1], .callbackContext = context});
    std::shared_ptr<CallAgent> agent;
    std::vector<Subscription> subscriptions;
    std::map<std::string, std::shared_ptr<Call>> calls;
    client.createCallAgent(CommunicationTokenCredential(argv[2]), {.displayName = "Test agent"},
                           [&](Result<std::shared_ptr<CallAgent>> created) {
        if (!created) {
            g_printerr("cannot sign in: %d/%d %s\n", created.error().code, created.error().subCode,
                       created.error().message.c_str());
            exit(1);
        }
        agent = created.value();
        subscriptions.push_back(agent->onIncomingCall([&](std::shared_ptr<IncomingCall> incoming) {
            incoming->accept({}, [&](Result<std::shared_ptr<Call>> accepted) {
                if (!accepted)
                    return;
                auto call = accepted.value();
                calls[call->id()] = call;
                subscriptions.push_back(call->onStateChanged([call] {
                    if (call->state() == CallState::Connected)
                        g_print("connected %s\n", call->id().c_str());
                    if (call->state() == CallState::Disconnected)
                        g_print("ended %s %d/%d\n", call->id().c_str(), call->callEndReason().code,
                                call->callEndReason().subCode);
                }));
            });
        }));
        g_print("ready %s\n", rawIdOf(agent->identifier()).c_str());
    });
    GMainLoop* loop = g_main_loop_new(context, FALSE);
    g_main_loop_run(loop);
    return 0;
}
