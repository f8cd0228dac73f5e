// The CallSignaller the library hands each call's callbin: bound to one call on the agent's one
// shared connection to calling-server. callbin's SDP and candidates go to `outbox`; the call
// feeds what the server relays back in through the call_signaller_emit_* helpers.
#pragma once

#include "protocol/call_signaller.h"

#include <functional>
#include <memory>
#include <string>

G_BEGIN_DECLS
#define CALL_TYPE_CONNECTION_SIGNALLER (call_connection_signaller_get_type())
G_DECLARE_FINAL_TYPE(CallConnectionSignaller, call_connection_signaller, CALL, CONNECTION_SIGNALLER, GObject)
G_END_DECLS

namespace calling::detail {

// What the signaller sends. Called on webrtcbin's threads: implementations only queue.
struct SignallerOutbox {
    std::function<void(const std::string& peerId, const std::string& type, const std::string& sdp)> sdp;
    std::function<void(const std::string& peerId, unsigned mlineIndex, const std::string& candidate)> ice;
};

// A new signaller (full reference) that forwards to `outbox` until detached.
CallConnectionSignaller* newConnectionSignaller(std::shared_ptr<SignallerOutbox> outbox);
// Stops forwarding; what callbin sends afterwards is dropped.
void detachConnectionSignaller(CallConnectionSignaller* signaller);

}  // namespace calling::detail
