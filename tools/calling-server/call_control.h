// Call control: the state of every endpoint and call, as a state machine that knows nothing of
// sockets. It takes parsed agent messages with the endpoint that sent them, and answers through
// CallControlOutput with (endpointId, ServerMessage) pairs; ring timeouts, grace windows and token
// expiry run on a Clock. docs/protocol.md is the contract it implements.
//
// Model: an endpoint is one authenticated agent connection (an identity may have several); a call
// has participants, one per identity, each either Ringing (on every connected endpoint of the
// identity) or joined on exactly one endpoint (Connected or Hold). Version 1 invites one target, but
// nothing here assumes two participants: a call ends when fewer than two participants are left.
//
// Threads: one, the one the Clock fires on. Output calls are made synchronously from inside
// attach/ready/handle/detach and timer callbacks; the output must not call back into CallControl
// from inside them.
#pragma once

#include "clock.h"
#include "token_verifier.h"

#include "protocol/messages.h"

#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace calling::server {

class CallControlOutput {
public:
    virtual ~CallControlOutput() = default;
    // Delivers to the endpoint's connection.
    virtual void send(const std::string& endpointId, const protocol::ServerMessage& message) = 0;
    // Closes the endpoint's connection with `closeCode` and unbinds it: no detach() follows.
    virtual void close(const std::string& endpointId, int closeCode, const std::string& reason) = 0;
};

struct CallControlConfig {
    int64_t ringTimeoutMs = 30'000;
    int64_t graceMs = 10'000;
    // Calls an endpoint placed or accepted and that have not ended for it; `invite` and `accept`
    // beyond it get 429/40030. Ringing does not count.
    std::size_t maxCallsPerEndpoint = 16;
};

class CallControl {
public:
    static constexpr int kCloseTokenExpired = 4401;
    static constexpr int kCloseTakenOver = 4409;
    // Messages for an endpoint in its grace window wait for it, up to this many.
    static constexpr std::size_t kMaxQueuedMessages = 512;

    CallControl(CallControlOutput& output, const TokenVerifier& verifier, Clock& clock, CallControlConfig config);
    ~CallControl();
    CallControl(const CallControl&) = delete;
    CallControl& operator=(const CallControl&) = delete;

    // A connection authenticated with `grant` (already verified). With the id of an endpoint of the
    // same identity that was lost less than the grace window ago, the connection takes that
    // endpoint and its calls over (an endpoint still connected has its old connection closed with
    // kCloseTakenOver); otherwise it is a new endpoint. Returns the welcome to send; once it went
    // out, call ready().
    protocol::WelcomeMessage attach(const protocol::TokenGrant& grant, std::string_view resumeEndpointId,
                                    const std::string& requestId);
    // Delivers what was kept for a resumed endpoint while it was away, then rings the endpoint
    // for every call still ringing its identity that does not ring it yet (`incomingCall`).
    void ready(const std::string& endpointId);
    // A parsed message from an attached endpoint.
    void handle(const std::string& endpointId, const protocol::ClientMessage& message);
    // The endpoint's connection is gone: its calls go on for the grace window.
    void detach(const std::string& endpointId);

    std::size_t callCount() const { return calls_.size(); }
    std::size_t endpointCount() const { return endpoints_.size(); }

private:
    struct Endpoint {
        std::string id;
        std::string identity;
        int64_t tokenExpiresOn = 0;  // Unix seconds
        bool connected = true;
        Clock::TimerId expiryTimer = 0;
        Clock::TimerId graceTimer = 0;
        std::deque<protocol::ServerMessage> queued;  // while not connected
    };

    struct Participant {
        std::string identity;
        std::string displayName;
        protocol::ParticipantState state = protocol::ParticipantState::Ringing;
        bool muted = false;
        std::vector<protocol::StreamInfo> streams;  // what it publishes: the whole set last sent
        std::string endpointId;                     // the endpoint in the call, once joined
        std::vector<std::string> ringing;           // endpoints ringing, while Ringing
        bool joined() const { return !endpointId.empty(); }
    };

    struct Call {
        std::string id;
        protocol::CallerInfo caller;
        protocol::MediaFlags media;
        Clock::TimerId ringTimer = 0;
        std::vector<Participant> participants;
    };

    // Handlers, one per message type.
    void onAuth(Endpoint& endpoint, const protocol::AuthMessage& message);
    void onInvite(Endpoint& endpoint, const protocol::InviteMessage& message);
    void onAccept(Endpoint& endpoint, const protocol::AcceptMessage& message);
    void onReject(Endpoint& endpoint, const protocol::RejectMessage& message);
    void onHangUp(Endpoint& endpoint, const protocol::HangUpMessage& message);
    void onHold(Endpoint& endpoint, const protocol::HoldMessage& message);
    void onResume(Endpoint& endpoint, const protocol::ResumeMessage& message);
    void onMuteState(Endpoint& endpoint, const protocol::MuteStateMessage& message);
    void onStreams(Endpoint& endpoint, const protocol::StreamsMessage& message);
    void onSdp(Endpoint& endpoint, const protocol::SdpMessage& message);
    void onIce(Endpoint& endpoint, const protocol::IceMessage& message);

    // Timers.
    void onRingTimeout(const std::string& callId);
    void onGraceExpired(const std::string& endpointId);
    void onTokenExpired(const std::string& endpointId);

    // The call `callId` as seen from `endpoint`: null (and a 404/40400 sent) when it does not exist
    // or the endpoint is neither joined to it nor ringing for it.
    Call* callOf(const Endpoint& endpoint, const std::string& callId, const std::string& requestId);
    // The participant joined to `call` on `endpoint`: null (and a 409/40901 sent) when the endpoint
    // is not joined (it only rings).
    Participant* joinedHere(Call& call, const Endpoint& endpoint, const std::string& requestId);
    void setParticipantState(Endpoint& endpoint, const std::string& requestId, const std::string& callId,
                             protocol::ParticipantState state);
    void relay(Endpoint& endpoint, const std::string& requestId, const std::string& callId, const std::string& to,
               const protocol::ServerMessage& relayed);

    // Removes participants[index]: its joined endpoint gets callEnded `ownReason` (when given), its
    // ringing endpoints and the other joined participants' `participantUpdated` get `reason`; a
    // call left with fewer than two participants ends with `reason`. Returns whether the call ended
    // (then `call` is gone).
    bool removeParticipant(Call& call, std::size_t index, const protocol::EndReason& reason,
                           const std::optional<protocol::EndReason>& ownReason);
    void endCall(Call& call, const protocol::EndReason& reason);
    // Takes the endpoint out of every call it is in, as `reason` says; `tellEndpoint` sends it the
    // callEnded messages too.
    void leaveAllCalls(const std::string& endpointId, const protocol::EndReason& reason, bool tellEndpoint);
    void removeEndpoint(const std::string& endpointId);
    void startExpiryTimer(Endpoint& endpoint);
    // Rings `endpoint` for the calls that ring its identity on other endpoints only.
    void ringLateEndpoint(Endpoint& endpoint);

    void send(const std::string& endpointId, protocol::ServerMessage message);
    void sendToJoined(const Call& call, const protocol::ServerMessage& message, const std::string& exceptEndpoint);
    void fail(const Endpoint& endpoint, const std::string& requestId, const std::string& callId, int code,
              int subCode, std::string message);
    void ack(const Endpoint& endpoint, const std::string& requestId);

    // Whether the endpoint is at its maxCallsPerEndpoint (then a 429/40030 was sent).
    bool atCallLimit(const Endpoint& endpoint, const std::string& requestId, const std::string& callId);

    static protocol::ParticipantInfo info(const Participant& participant);
    static std::vector<std::string> endpointsOf(const Call& call);

    CallControlOutput& output_;
    const TokenVerifier& verifier_;
    Clock& clock_;
    CallControlConfig config_;
    std::map<std::string, Endpoint> endpoints_;
    // The ids of each identity's endpoints (in endpoints_' order), so that an invite finds the
    // callee's endpoints without visiting every endpoint: at 10,000 connected agents that scan
    // was most of the server's time per call set-up.
    std::map<std::string, std::set<std::string>> endpointsByIdentity_;
    std::map<std::string, Call> calls_;
};

}  // namespace calling::server
