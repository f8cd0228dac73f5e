#include "call_control.h"

#include <calling/identifiers.h>

#include <glib.h>

#include <algorithm>

namespace calling::server {

using namespace calling::protocol;

namespace {

// The end reasons of docs/protocol.md, with ACS's wording where it has one.
EndReason endReason(int code, int subCode)
{
    const char* message = "Call ended";
    if (code == 0 && subCode == 4097)
        message = "Call ended for everyone";
    else if (code == 603)
        message = "Call declined";
    else if (code == 487 && subCode == 0)
        message = "Call cancelled by the caller";
    else if (code == 487 && subCode == 10003)
        message = "Call accepted on another endpoint";
    else if (code == 487 && subCode == 10004)
        message = "Call not answered in time";
    else if (code == 480)
        message = "Callee is not connected";
    else if (code == 410)
        message = "Participant's connection was lost";
    else if (code == 495)
        message = "Access token expired";
    return EndReason{code, subCode, message};
}

bool contains(const std::vector<std::string>& values, const std::string& value)
{
    return std::find(values.begin(), values.end(), value) != values.end();
}

}  // namespace

CallControl::CallControl(CallControlOutput& output, const TokenVerifier& verifier, Clock& clock,
                         CallControlConfig config)
    : output_(output), verifier_(verifier), clock_(clock), config_(config)
{
}

CallControl::~CallControl()
{
    for (auto& [id, endpoint] : endpoints_) {
        clock_.cancelTimer(endpoint.expiryTimer);
        clock_.cancelTimer(endpoint.graceTimer);
    }
    for (auto& [id, call] : calls_)
        clock_.cancelTimer(call.ringTimer);
}

WelcomeMessage CallControl::attach(const TokenGrant& grant, std::string_view resumeEndpointId,
                                   const std::string& requestId)
{
    WelcomeMessage welcome{requestId, kProtocolVersion, grant.identity, "", grant.expiresAt,
                           static_cast<double>(config_.graceMs) / 1000.0};
    if (!resumeEndpointId.empty()) {
        auto found = endpoints_.find(std::string(resumeEndpointId));
        // Someone else's endpoint id is as good as an unknown one: a new endpoint, nothing learnt.
        if (found != endpoints_.end() && found->second.identity == grant.identity) {
            Endpoint& endpoint = found->second;
            if (endpoint.connected)
                output_.close(endpoint.id, kCloseTakenOver, "taken over by a new connection");
            clock_.cancelTimer(endpoint.graceTimer);
            endpoint.graceTimer = 0;
            endpoint.connected = true;
            endpoint.tokenExpiresOn = grant.expiresAt;
            startExpiryTimer(endpoint);
            g_info("endpoint %s of %s resumed", endpoint.id.c_str(), endpoint.identity.c_str());
            welcome.endpointId = endpoint.id;
            return welcome;
        }
    }
    g_autofree char* id = g_uuid_string_random();
    Endpoint& endpoint = endpoints_[id];
    endpoint.id = id;
    endpoint.identity = grant.identity;
    endpoint.tokenExpiresOn = grant.expiresAt;
    endpointsByIdentity_[endpoint.identity].insert(endpoint.id);
    startExpiryTimer(endpoint);
    g_info("endpoint %s of %s connected", endpoint.id.c_str(), endpoint.identity.c_str());
    welcome.endpointId = endpoint.id;
    return welcome;
}

void CallControl::ready(const std::string& endpointId)
{
    auto found = endpoints_.find(endpointId);
    if (found == endpoints_.end() || !found->second.connected)
        return;
    std::deque<ServerMessage> queued = std::move(found->second.queued);
    found->second.queued.clear();
    for (const auto& message : queued)
        output_.send(endpointId, message);
    ringLateEndpoint(found->second);
}

void CallControl::ringLateEndpoint(Endpoint& endpoint)
{
    for (auto& [callId, call] : calls_) {
        for (auto& participant : call.participants) {
            if (participant.identity != endpoint.identity || participant.state != ParticipantState::Ringing ||
                contains(participant.ringing, endpoint.id))
                continue;
            participant.ringing.push_back(endpoint.id);
            g_info("call %s: rings %s on endpoint %s too", callId.c_str(), participant.identity.c_str(),
                   endpoint.id.c_str());
            send(endpoint.id, IncomingCallMessage{callId, call.caller, call.media});
        }
    }
}

void CallControl::detach(const std::string& endpointId)
{
    auto found = endpoints_.find(endpointId);
    if (found == endpoints_.end() || !found->second.connected)
        return;
    Endpoint& endpoint = found->second;
    endpoint.connected = false;
    endpoint.graceTimer = clock_.startTimer(config_.graceMs, [this, endpointId] { onGraceExpired(endpointId); });
    g_info("endpoint %s of %s lost its connection; grace window %.1f s", endpointId.c_str(),
           endpoint.identity.c_str(), static_cast<double>(config_.graceMs) / 1000.0);
}

void CallControl::handle(const std::string& endpointId, const ClientMessage& message)
{
    auto found = endpoints_.find(endpointId);
    if (found == endpoints_.end() || !found->second.connected)
        return;
    Endpoint& endpoint = found->second;
    std::visit(
        [&](const auto& m) {
            using T = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<T, AuthMessage>)
                onAuth(endpoint, m);
            else if constexpr (std::is_same_v<T, InviteMessage>)
                onInvite(endpoint, m);
            else if constexpr (std::is_same_v<T, AcceptMessage>)
                onAccept(endpoint, m);
            else if constexpr (std::is_same_v<T, RejectMessage>)
                onReject(endpoint, m);
            else if constexpr (std::is_same_v<T, HangUpMessage>)
                onHangUp(endpoint, m);
            else if constexpr (std::is_same_v<T, HoldMessage>)
                onHold(endpoint, m);
            else if constexpr (std::is_same_v<T, ResumeMessage>)
                onResume(endpoint, m);
            else if constexpr (std::is_same_v<T, MuteStateMessage>)
                onMuteState(endpoint, m);
            else if constexpr (std::is_same_v<T, StreamsMessage>)
                onStreams(endpoint, m);
            else if constexpr (std::is_same_v<T, SdpMessage>)
                onSdp(endpoint, m);
            else if constexpr (std::is_same_v<T, IceMessage>)
                onIce(endpoint, m);
        },
        message);
}

void CallControl::onAuth(Endpoint& endpoint, const AuthMessage& message)
{
    auto verified = verifier_.verify(message.token);
    if (!verified) {
        fail(endpoint, message.requestId, "", 401, 4507, verified.error().message);
        return;
    }
    if (verified->identity != endpoint.identity) {
        fail(endpoint, message.requestId, "", 403, 40300, "the token is for another identity");
        return;
    }
    endpoint.tokenExpiresOn = verified->expiresAt;
    startExpiryTimer(endpoint);
    g_info("endpoint %s of %s refreshed its token", endpoint.id.c_str(), endpoint.identity.c_str());
    send(endpoint.id, AuthRefreshedMessage{message.requestId, endpoint.tokenExpiresOn});
}

void CallControl::onInvite(Endpoint& endpoint, const InviteMessage& message)
{
    if (calls_.contains(message.callId)) {
        fail(endpoint, message.requestId, message.callId, 409, 40900, "the callId is already in use");
        return;
    }
    if (message.targets.size() != 1) {
        fail(endpoint, message.requestId, message.callId, 400, 40005, "invite exactly one target in this version");
        return;
    }
    const std::string& target = message.targets.front();
    if (!std::holds_alternative<CommunicationUserIdentifier>(identifierFromRawId(target))) {
        fail(endpoint, message.requestId, message.callId, 400, 40005,
             "only communication users (8:...) can be called in this version");
        return;
    }
    if (target == endpoint.identity) {
        fail(endpoint, message.requestId, message.callId, 400, 40005, "an identity cannot call itself");
        return;
    }
    if (atCallLimit(endpoint, message.requestId, message.callId))
        return;

    Call& call = calls_[message.callId];
    call.id = message.callId;
    call.caller = CallerInfo{endpoint.identity, message.displayName};
    call.media = message.media;
    call.participants.push_back(Participant{endpoint.identity, message.displayName, ParticipantState::Connected,
                                            false, message.streams, endpoint.id, {}});
    Participant callee{target, "", ParticipantState::Ringing, false, {}, "", {}};
    if (auto sameIdentity = endpointsByIdentity_.find(target); sameIdentity != endpointsByIdentity_.end()) {
        for (const auto& id : sameIdentity->second) {
            if (endpoints_.at(id).connected)
                callee.ringing.push_back(id);
        }
    }
    std::vector<std::string> ringing = callee.ringing;
    call.participants.push_back(std::move(callee));
    g_info("call %s: %s invites %s, ringing on %zu endpoint(s)", call.id.c_str(), endpoint.identity.c_str(),
           target.c_str(), ringing.size());

    if (ringing.empty()) {
        removeParticipant(call, 1, endReason(480, 10037), std::nullopt);
        ack(endpoint, message.requestId);
        return;
    }
    for (const auto& id : ringing)
        send(id, IncomingCallMessage{call.id, call.caller, call.media});
    send(endpoint.id, ParticipantUpdatedMessage{call.id, info(call.participants[1])});
    ack(endpoint, message.requestId);
    std::string callId = call.id;
    call.ringTimer = clock_.startTimer(config_.ringTimeoutMs, [this, callId] { onRingTimeout(callId); });
}

void CallControl::onAccept(Endpoint& endpoint, const AcceptMessage& message)
{
    Call* call = callOf(endpoint, message.callId, message.requestId);
    if (!call)
        return;
    auto ringingHere = std::find_if(call->participants.begin(), call->participants.end(),
                                    [&](const Participant& p) { return contains(p.ringing, endpoint.id); });
    if (ringingHere == call->participants.end()) {
        fail(endpoint, message.requestId, message.callId, 400, 41006, "the call is not ringing on this endpoint");
        return;
    }
    // The call keeps ringing, here too.
    if (atCallLimit(endpoint, message.requestId, message.callId))
        return;
    Participant& participant = *ringingHere;
    std::vector<std::string> others;
    for (const auto& id : participant.ringing) {
        if (id != endpoint.id)
            others.push_back(id);
    }
    participant.ringing.clear();
    participant.state = ParticipantState::Connected;
    participant.endpointId = endpoint.id;
    participant.displayName = message.displayName;
    participant.streams = message.streams;
    g_info("call %s: %s accepted on endpoint %s", call->id.c_str(), participant.identity.c_str(), endpoint.id.c_str());

    for (const auto& id : others)
        send(id, CallEndedMessage{call->id, endReason(487, 10003)});
    if (std::none_of(call->participants.begin(), call->participants.end(),
                     [](const Participant& p) { return p.state == ParticipantState::Ringing; })) {
        clock_.cancelTimer(call->ringTimer);
        call->ringTimer = 0;
    }
    sendToJoined(*call, ParticipantUpdatedMessage{call->id, info(participant)}, endpoint.id);
    for (const auto& other : call->participants) {
        if (&other != &participant)
            send(endpoint.id, ParticipantUpdatedMessage{call->id, info(other)});
    }
    ack(endpoint, message.requestId);
}

void CallControl::onReject(Endpoint& endpoint, const RejectMessage& message)
{
    Call* call = callOf(endpoint, message.callId, message.requestId);
    if (!call)
        return;
    for (std::size_t i = 0; i < call->participants.size(); ++i) {
        if (contains(call->participants[i].ringing, endpoint.id)) {
            g_info("call %s: %s rejected", call->id.c_str(), endpoint.identity.c_str());
            removeParticipant(*call, i, endReason(603, 0), std::nullopt);
            ack(endpoint, message.requestId);
            return;
        }
    }
    fail(endpoint, message.requestId, message.callId, 400, 41007, "the call is not ringing on this endpoint");
}

void CallControl::onHangUp(Endpoint& endpoint, const HangUpMessage& message)
{
    Call* call = callOf(endpoint, message.callId, message.requestId);
    if (!call)
        return;
    for (std::size_t i = 0; i < call->participants.size(); ++i) {
        const Participant& participant = call->participants[i];
        if (participant.endpointId == endpoint.id) {
            bool othersJoined = std::any_of(call->participants.begin(), call->participants.end(),
                                            [&](const Participant& p) { return p.joined() && &p != &participant; });
            g_info("call %s: %s hangs up%s", call->id.c_str(), participant.identity.c_str(),
                   message.forEveryone ? " for everyone" : "");
            if (!othersJoined) {
                // Nobody answered yet: the caller cancels.
                removeParticipant(*call, i, endReason(487, 0), endReason(0, 0));
            } else if (message.forEveryone) {
                if (!removeParticipant(*call, i, endReason(0, 4097), endReason(0, 0)))
                    endCall(*call, endReason(0, 4097));
            } else {
                removeParticipant(*call, i, endReason(0, 0), endReason(0, 0));
            }
            ack(endpoint, message.requestId);
            return;
        }
        if (contains(participant.ringing, endpoint.id)) {
            // A callee hanging up a ringing call declines it.
            g_info("call %s: %s declines by hanging up", call->id.c_str(), participant.identity.c_str());
            removeParticipant(*call, i, endReason(603, 0), std::nullopt);
            ack(endpoint, message.requestId);
            return;
        }
    }
}

void CallControl::onHold(Endpoint& endpoint, const HoldMessage& message)
{
    setParticipantState(endpoint, message.requestId, message.callId, ParticipantState::Hold);
}

void CallControl::onResume(Endpoint& endpoint, const ResumeMessage& message)
{
    setParticipantState(endpoint, message.requestId, message.callId, ParticipantState::Connected);
}

void CallControl::setParticipantState(Endpoint& endpoint, const std::string& requestId, const std::string& callId,
                                      ParticipantState state)
{
    Call* call = callOf(endpoint, callId, requestId);
    if (!call)
        return;
    auto self = std::find_if(call->participants.begin(), call->participants.end(),
                             [&](const Participant& p) { return p.endpointId == endpoint.id; });
    bool connected = self != call->participants.end() &&
                     std::any_of(call->participants.begin(), call->participants.end(),
                                 [&](const Participant& p) { return p.joined() && &p != &*self; });
    if (!connected) {
        fail(endpoint, requestId, callId, 409, 40901, "the call is not connected");
        return;
    }
    self->state = state;
    g_info("call %s: %s is %s", call->id.c_str(), self->identity.c_str(), std::string(toString(state)).c_str());
    sendToJoined(*call, ParticipantUpdatedMessage{call->id, info(*self)}, endpoint.id);
    ack(endpoint, requestId);
}

CallControl::Participant* CallControl::joinedHere(Call& call, const Endpoint& endpoint, const std::string& requestId)
{
    auto self = std::find_if(call.participants.begin(), call.participants.end(),
                             [&](const Participant& p) { return p.endpointId == endpoint.id; });
    if (self == call.participants.end()) {
        fail(endpoint, requestId, call.id, 409, 40901, "the call has not been accepted here");
        return nullptr;
    }
    return &*self;
}

void CallControl::onMuteState(Endpoint& endpoint, const MuteStateMessage& message)
{
    Call* call = callOf(endpoint, message.callId, message.requestId);
    if (!call)
        return;
    Participant* self = joinedHere(*call, endpoint, message.requestId);
    if (!self)
        return;
    self->muted = message.muted;
    sendToJoined(*call, ParticipantUpdatedMessage{call->id, info(*self)}, endpoint.id);
    ack(endpoint, message.requestId);
}

void CallControl::onStreams(Endpoint& endpoint, const StreamsMessage& message)
{
    Call* call = callOf(endpoint, message.callId, message.requestId);
    if (!call)
        return;
    Participant* self = joinedHere(*call, endpoint, message.requestId);
    if (!self)
        return;
    self->streams = message.streams;
    g_info("call %s: %s publishes %zu stream(s)", call->id.c_str(), self->identity.c_str(), message.streams.size());
    sendToJoined(*call, ParticipantUpdatedMessage{call->id, info(*self)}, endpoint.id);
    ack(endpoint, message.requestId);
}

void CallControl::onSdp(Endpoint& endpoint, const SdpMessage& message)
{
    relay(endpoint, message.requestId, message.callId, message.to,
          RemoteSdpMessage{message.callId, endpoint.identity, message.description});
}

void CallControl::onIce(Endpoint& endpoint, const IceMessage& message)
{
    relay(endpoint, message.requestId, message.callId, message.to,
          RemoteIceMessage{message.callId, endpoint.identity, message.candidate});
}

void CallControl::relay(Endpoint& endpoint, const std::string& requestId, const std::string& callId,
                        const std::string& to, const ServerMessage& relayed)
{
    Call* call = callOf(endpoint, callId, requestId);
    if (!call)
        return;
    bool joined = std::any_of(call->participants.begin(), call->participants.end(),
                              [&](const Participant& p) { return p.endpointId == endpoint.id; });
    auto target = std::find_if(call->participants.begin(), call->participants.end(), [&](const Participant& p) {
        return p.identity == to && p.joined() && p.endpointId != endpoint.id;
    });
    if (!joined || target == call->participants.end()) {
        fail(endpoint, requestId, callId, 409, 40901, "both sides must be connected participants of the call");
        return;
    }
    send(target->endpointId, relayed);
}

void CallControl::onRingTimeout(const std::string& callId)
{
    auto found = calls_.find(callId);
    if (found == calls_.end())
        return;
    Call& call = found->second;
    call.ringTimer = 0;
    g_info("call %s: nobody answered in time", callId.c_str());
    for (;;) {
        auto ringing = std::find_if(call.participants.begin(), call.participants.end(),
                                    [](const Participant& p) { return p.state == ParticipantState::Ringing; });
        if (ringing == call.participants.end())
            return;
        std::size_t index = static_cast<std::size_t>(ringing - call.participants.begin());
        if (removeParticipant(call, index, endReason(487, 10004), std::nullopt))
            return;
    }
}

void CallControl::onGraceExpired(const std::string& endpointId)
{
    auto found = endpoints_.find(endpointId);
    if (found == endpoints_.end() || found->second.connected)
        return;
    found->second.graceTimer = 0;
    g_info("endpoint %s of %s did not come back", endpointId.c_str(), found->second.identity.c_str());
    leaveAllCalls(endpointId, endReason(410, 301005), false);
    removeEndpoint(endpointId);
}

void CallControl::onTokenExpired(const std::string& endpointId)
{
    auto found = endpoints_.find(endpointId);
    if (found == endpoints_.end())
        return;
    found->second.expiryTimer = 0;
    bool connected = found->second.connected;
    g_info("endpoint %s of %s: access token expired", endpointId.c_str(), found->second.identity.c_str());
    if (connected)
        send(endpointId, ErrorMessage{"", "", 401, 4507, "the access token expired"});
    leaveAllCalls(endpointId, endReason(495, 4507), connected);
    removeEndpoint(endpointId);
    if (connected)
        output_.close(endpointId, kCloseTokenExpired, "access token expired");
}

CallControl::Call* CallControl::callOf(const Endpoint& endpoint, const std::string& callId,
                                       const std::string& requestId)
{
    auto found = calls_.find(callId);
    if (found != calls_.end()) {
        for (const auto& participant : found->second.participants) {
            if (participant.endpointId == endpoint.id || contains(participant.ringing, endpoint.id))
                return &found->second;
        }
    }
    fail(endpoint, requestId, callId, 404, 40400, "no such call");
    return nullptr;
}

bool CallControl::removeParticipant(Call& call, std::size_t index, const EndReason& reason,
                                    const std::optional<EndReason>& ownReason)
{
    Participant leaver = std::move(call.participants[index]);
    call.participants.erase(call.participants.begin() + static_cast<std::ptrdiff_t>(index));
    if (leaver.joined() && ownReason)
        send(leaver.endpointId, CallEndedMessage{call.id, *ownReason});
    for (const auto& id : leaver.ringing)
        send(id, CallEndedMessage{call.id, reason});
    ParticipantInfo gone = info(leaver);
    gone.state = ParticipantState::Disconnected;
    gone.endReason = reason;
    gone.streams.clear();
    sendToJoined(call, ParticipantUpdatedMessage{call.id, gone}, "");
    if (call.participants.size() < 2) {
        endCall(call, reason);
        return true;
    }
    if (std::none_of(call.participants.begin(), call.participants.end(),
                     [](const Participant& p) { return p.state == ParticipantState::Ringing; })) {
        clock_.cancelTimer(call.ringTimer);
        call.ringTimer = 0;
    }
    return false;
}

void CallControl::endCall(Call& call, const EndReason& reason)
{
    std::string callId = call.id;
    clock_.cancelTimer(call.ringTimer);
    g_info("call %s ended: %d/%d", callId.c_str(), reason.code, reason.subCode);
    for (const auto& id : endpointsOf(call))
        send(id, CallEndedMessage{callId, reason});
    calls_.erase(callId);
}

void CallControl::leaveAllCalls(const std::string& endpointId, const EndReason& reason, bool tellEndpoint)
{
    std::vector<std::string> callIds;
    for (const auto& [id, call] : calls_) {
        if (contains(endpointsOf(call), endpointId))
            callIds.push_back(id);
    }
    for (const auto& callId : callIds) {
        auto found = calls_.find(callId);
        if (found == calls_.end())
            continue;
        Call& call = found->second;
        for (std::size_t i = 0; i < call.participants.size(); ++i) {
            Participant& participant = call.participants[i];
            if (participant.endpointId == endpointId) {
                removeParticipant(call, i, reason, tellEndpoint ? std::optional(reason) : std::nullopt);
                break;
            }
            if (contains(participant.ringing, endpointId)) {
                if (tellEndpoint)
                    send(endpointId, CallEndedMessage{callId, reason});
                std::erase(participant.ringing, endpointId);
                // The identity can no longer answer anywhere.
                if (participant.ringing.empty())
                    removeParticipant(call, i, reason, std::nullopt);
                break;
            }
        }
    }
}

void CallControl::removeEndpoint(const std::string& endpointId)
{
    auto found = endpoints_.find(endpointId);
    if (found == endpoints_.end())
        return;
    clock_.cancelTimer(found->second.expiryTimer);
    clock_.cancelTimer(found->second.graceTimer);
    auto sameIdentity = endpointsByIdentity_.find(found->second.identity);
    if (sameIdentity != endpointsByIdentity_.end()) {
        sameIdentity->second.erase(endpointId);
        if (sameIdentity->second.empty())
            endpointsByIdentity_.erase(sameIdentity);
    }
    endpoints_.erase(found);
}

void CallControl::startExpiryTimer(Endpoint& endpoint)
{
    clock_.cancelTimer(endpoint.expiryTimer);
    int64_t delayMs = endpoint.tokenExpiresOn * 1000 - clock_.nowUnixMs();
    std::string id = endpoint.id;
    endpoint.expiryTimer = clock_.startTimer(delayMs, [this, id] { onTokenExpired(id); });
}

void CallControl::send(const std::string& endpointId, ServerMessage message)
{
    auto found = endpoints_.find(endpointId);
    if (found == endpoints_.end())
        return;
    Endpoint& endpoint = found->second;
    if (endpoint.connected) {
        output_.send(endpointId, message);
        return;
    }
    // Kept for the endpoint's return; a flood while it is away drops the oldest first.
    endpoint.queued.push_back(std::move(message));
    if (endpoint.queued.size() > kMaxQueuedMessages)
        endpoint.queued.pop_front();
}

void CallControl::sendToJoined(const Call& call, const ServerMessage& message, const std::string& exceptEndpoint)
{
    for (const auto& participant : call.participants) {
        if (participant.joined() && participant.endpointId != exceptEndpoint)
            send(participant.endpointId, message);
    }
}

void CallControl::fail(const Endpoint& endpoint, const std::string& requestId, const std::string& callId, int code,
                       int subCode, std::string message)
{
    send(endpoint.id, ErrorMessage{requestId, callId, code, subCode, std::move(message)});
}

void CallControl::ack(const Endpoint& endpoint, const std::string& requestId)
{
    if (!requestId.empty())
        send(endpoint.id, AckMessage{requestId});
}

bool CallControl::atCallLimit(const Endpoint& endpoint, const std::string& requestId, const std::string& callId)
{
    std::size_t calls = 0;
    for (const auto& [id, call] : calls_) {
        calls += static_cast<std::size_t>(std::count_if(call.participants.begin(), call.participants.end(),
                                                        [&](const Participant& p) { return p.endpointId == endpoint.id; }));
    }
    if (calls < config_.maxCallsPerEndpoint)
        return false;
    g_info("endpoint %s of %s: at its limit of %zu calls", endpoint.id.c_str(), endpoint.identity.c_str(),
           config_.maxCallsPerEndpoint);
    fail(endpoint, requestId, callId, 429, 40030,
         "this endpoint is in " + std::to_string(config_.maxCallsPerEndpoint) + " calls already");
    return true;
}

ParticipantInfo CallControl::info(const Participant& participant)
{
    return ParticipantInfo{participant.identity, participant.displayName, participant.state, participant.muted,
                           std::nullopt, participant.streams};
}

std::vector<std::string> CallControl::endpointsOf(const Call& call)
{
    std::vector<std::string> ids;
    for (const auto& participant : call.participants) {
        if (participant.joined())
            ids.push_back(participant.endpointId);
        ids.insert(ids.end(), participant.ringing.begin(), participant.ringing.end());
    }
    return ids;
}

}  // namespace calling::server
