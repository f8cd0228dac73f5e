// Call control as a pure state machine: fake clock, fake token verifier, recorded output.
#include "call_control.h"

#include <glib.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

using namespace calling;
using namespace calling::protocol;
using calling::server::CallControl;
using calling::server::CallControlOutput;
using calling::server::Clock;
using calling::server::TokenVerifier;

namespace {

constexpr int64_t kStartMs = 1'800'000'000'000;
constexpr int64_t kRingMs = 30'000;
constexpr int64_t kGraceMs = 10'000;

const std::string kAlice = "8:acs:res_00000000-0000-4000-8000-00000000000a";
const std::string kBob = "8:acs:res_00000000-0000-4000-8000-00000000000b";
const std::string kCarol = "8:acs:res_00000000-0000-4000-8000-00000000000c";
const std::string kCall = "0b9e6f2a-6c1d-4f3e-9a51-2d7c8e4b1a00";
const std::string kOtherCall = "1c8d5e3b-7d2e-4a4f-8b62-3e8d9f5c2b11";

class FakeClock final : public Clock {
public:
    int64_t nowUnixMs() const override { return now_; }
    TimerId startTimer(int64_t delayMs, std::function<void()> fire) override
    {
        timers_[++last_] = Timer{now_ + std::max<int64_t>(delayMs, 0), std::move(fire)};
        return last_;
    }
    void cancelTimer(TimerId id) override { timers_.erase(id); }

    // Fires every timer due within `ms`, in order, moving the time along.
    void advance(int64_t ms)
    {
        int64_t target = now_ + ms;
        for (;;) {
            auto next = std::min_element(timers_.begin(), timers_.end(),
                                         [](const auto& a, const auto& b) { return a.second.due < b.second.due; });
            if (next == timers_.end() || next->second.due > target)
                break;
            now_ = next->second.due;
            std::function<void()> fire = std::move(next->second.fire);
            timers_.erase(next);
            fire();
        }
        now_ = target;
    }
    std::size_t pending() const { return timers_.size(); }

private:
    struct Timer {
        int64_t due;
        std::function<void()> fire;
    };
    int64_t now_ = kStartMs;
    std::map<TimerId, Timer> timers_;
    TimerId last_ = 0;
};

// Tokens are "token:<identity>:<expiresAt>"; anything else is refused.
class FakeVerifier final : public TokenVerifier {
public:
    Result<TokenGrant, TokenError> verify(std::string_view token) const override
    {
        std::string text(token);
        if (!text.starts_with("token:"))
            return TokenError{TokenFault::Malformed, "not a token"};
        size_t last = text.rfind(':');
        return TokenGrant{text.substr(6, last - 6), {"voip"}, 0, std::stoll(text.substr(last + 1)), 0};
    }
};

std::string tokenFor(const std::string& identity, int64_t expiresAt)
{
    return "token:" + identity + ":" + std::to_string(expiresAt);
}

class Recorder final : public CallControlOutput {
public:
    void send(const std::string& endpointId, const ServerMessage& message) override
    {
        sent[endpointId].push_back(message);
    }
    void close(const std::string& endpointId, int closeCode, const std::string&) override
    {
        closed.emplace_back(endpointId, closeCode);
    }

    std::map<std::string, std::vector<ServerMessage>> sent;
    std::vector<std::pair<std::string, int>> closed;
};

std::string types(const std::vector<ServerMessage>& messages)
{
    std::string text;
    for (const auto& message : messages)
        text += (text.empty() ? "" : " ") + std::string(messageType(message));
    return text;
}

class CallControlTest : public ::testing::Test {
protected:
    int64_t nowSeconds() const { return clock_.nowUnixMs() / 1000; }

    // A new endpoint of `identity`, its welcome already taken.
    std::string connect(const std::string& identity, int64_t tokenLifetimeSeconds = 3600)
    {
        TokenGrant grant{identity, {"voip"}, nowSeconds(), nowSeconds() + tokenLifetimeSeconds, 0};
        WelcomeMessage welcome = control_.attach(grant, "", "");
        control_.ready(welcome.endpointId);
        return welcome.endpointId;
    }

    void send(const std::string& endpointId, const ClientMessage& message) { control_.handle(endpointId, message); }

    // What `endpointId` received since the last take().
    std::vector<ServerMessage> take(const std::string& endpointId)
    {
        std::vector<ServerMessage> messages = std::move(out_.sent[endpointId]);
        out_.sent.erase(endpointId);
        return messages;
    }

    void expectNothingFor(std::initializer_list<std::string> endpoints)
    {
        for (const auto& endpoint : endpoints)
            EXPECT_EQ(types(take(endpoint)), "") << "for " << endpoint;
    }

    static void expectEnded(const ServerMessage& message, int code, int subCode)
    {
        ASSERT_TRUE(std::holds_alternative<CallEndedMessage>(message)) << messageType(message);
        EXPECT_EQ(std::get<CallEndedMessage>(message).reason.code, code);
        EXPECT_EQ(std::get<CallEndedMessage>(message).reason.subCode, subCode);
        EXPECT_FALSE(std::get<CallEndedMessage>(message).reason.message.empty());
    }

    static const ParticipantInfo& participantIn(const ServerMessage& message)
    {
        static const ParticipantInfo none;
        EXPECT_TRUE(std::holds_alternative<ParticipantUpdatedMessage>(message)) << messageType(message);
        if (!std::holds_alternative<ParticipantUpdatedMessage>(message))
            return none;
        return std::get<ParticipantUpdatedMessage>(message).participant;
    }

    static void expectDisconnected(const ServerMessage& message, const std::string& who, int code, int subCode)
    {
        const ParticipantInfo& participant = participantIn(message);
        EXPECT_EQ(participant.rawId, who);
        EXPECT_EQ(participant.state, ParticipantState::Disconnected);
        ASSERT_TRUE(participant.endReason);
        EXPECT_EQ(participant.endReason->code, code);
        EXPECT_EQ(participant.endReason->subCode, subCode);
    }

    static void expectError(const std::vector<ServerMessage>& messages, int code, int subCode,
                            const std::string& requestId)
    {
        ASSERT_EQ(types(messages), "error");
        const auto& error = std::get<ErrorMessage>(messages.front());
        EXPECT_EQ(error.code, code);
        EXPECT_EQ(error.subCode, subCode);
        EXPECT_EQ(error.requestId, requestId);
    }

    // Alice (a) calls Bob (b), ringing; every message so far taken.
    void ring(const std::string& a, const std::string& callId = kCall)
    {
        send(a, InviteMessage{"i", callId, {kBob}, "Alice", {true, false}});
        take(a);
        for (const auto& b : bobs_)
            take(b);
    }

    // ... and Bob accepts on b.
    void connectCall(const std::string& a, const std::string& b)
    {
        ring(a);
        send(b, AcceptMessage{"acc", kCall, "Bob"});
        take(a);
        for (const auto& endpoint : bobs_)
            take(endpoint);
    }

    FakeClock clock_;
    FakeVerifier verifier_;
    Recorder out_;
    CallControl control_{out_, verifier_, clock_, {kRingMs, kGraceMs}};
    std::vector<std::string> bobs_;
};

}  // namespace

TEST_F(CallControlTest, AttachWelcomesANewEndpoint)
{
    TokenGrant grant{kAlice, {"voip"}, nowSeconds(), nowSeconds() + 600, 0};
    WelcomeMessage welcome = control_.attach(grant, "", "r1");
    EXPECT_EQ(welcome.requestId, "r1");
    EXPECT_EQ(welcome.protocolVersion, 1);
    EXPECT_EQ(welcome.identity, kAlice);
    EXPECT_TRUE(g_uuid_string_is_valid(welcome.endpointId.c_str())) << welcome.endpointId;
    EXPECT_EQ(welcome.tokenExpiresOn, nowSeconds() + 600);
    EXPECT_DOUBLE_EQ(welcome.graceSeconds, 10.0);
    EXPECT_NE(control_.attach(grant, "", "").endpointId, welcome.endpointId);
    EXPECT_EQ(control_.endpointCount(), 2u);
}

TEST_F(CallControlTest, InviteRingsEveryEndpointOfTheCalleeAndAcceptEndsTheOthers)
{
    std::string a = connect(kAlice);
    std::string b1 = connect(kBob);
    std::string b2 = connect(kBob);
    send(a, InviteMessage{"1", kCall, {kBob}, "Alice", {true, true}});

    for (const auto& b : {b1, b2}) {
        auto messages = take(b);
        ASSERT_EQ(types(messages), "incomingCall");
        const auto& incoming = std::get<IncomingCallMessage>(messages[0]);
        EXPECT_EQ(incoming.callId, kCall);
        EXPECT_EQ(incoming.caller, (CallerInfo{kAlice, "Alice"}));
        EXPECT_EQ(incoming.media, (MediaFlags{true, true}));
    }
    auto toAlice = take(a);
    ASSERT_EQ(types(toAlice), "participantUpdated ack");
    EXPECT_EQ(participantIn(toAlice[0]), (ParticipantInfo{kBob, "", ParticipantState::Ringing, false, std::nullopt}));
    EXPECT_EQ(std::get<AckMessage>(toAlice[1]).requestId, "1");

    send(b2, AcceptMessage{"7", kCall, "Bob"});
    auto toB1 = take(b1);
    ASSERT_EQ(types(toB1), "callEnded");
    expectEnded(toB1[0], 487, 10003);
    auto toB2 = take(b2);
    ASSERT_EQ(types(toB2), "participantUpdated ack");
    EXPECT_EQ(participantIn(toB2[0]), (ParticipantInfo{kAlice, "Alice", ParticipantState::Connected, false, {}}));
    toAlice = take(a);
    ASSERT_EQ(types(toAlice), "participantUpdated");
    EXPECT_EQ(participantIn(toAlice[0]), (ParticipantInfo{kBob, "Bob", ParticipantState::Connected, false, {}}));

    // The ring timer is gone with the ringing.
    clock_.advance(kRingMs * 2);
    expectNothingFor({a, b1, b2});
    EXPECT_EQ(control_.callCount(), 1u);
}

TEST_F(CallControlTest, AnEndpointConnectingWhileTheCallRingsRingsToo)
{
    std::string a = connect(kAlice);
    bobs_ = {connect(kBob)};
    ring(a);
    std::string late = connect(kBob);
    auto toLate = take(late);
    ASSERT_EQ(types(toLate), "incomingCall");
    EXPECT_EQ(std::get<IncomingCallMessage>(toLate[0]),
              (IncomingCallMessage{kCall, CallerInfo{kAlice, "Alice"}, MediaFlags{true, false}}));
    expectNothingFor({a, bobs_[0]});
    std::string carol = connect(kCarol);
    EXPECT_EQ(types(take(carol)), "") << "only the callee's endpoints ring";

    // Accepting on the late endpoint ends the ringing on the first with 487/10003.
    send(late, AcceptMessage{"acc", kCall, "Bob"});
    EXPECT_EQ(types(take(late)), "participantUpdated ack");
    auto toFirst = take(bobs_[0]);
    ASSERT_EQ(types(toFirst), "callEnded");
    expectEnded(toFirst[0], 487, 10003);
    EXPECT_EQ(types(take(a)), "participantUpdated");

    // Once answered, the call rings nowhere new.
    std::string later = connect(kBob);
    EXPECT_EQ(types(take(later)), "");
}

TEST_F(CallControlTest, ALateEndpointEndsWithTheOthersWhenTheCallerCancels)
{
    std::string a = connect(kAlice);
    bobs_ = {connect(kBob)};
    ring(a);
    bobs_.push_back(connect(kBob));
    EXPECT_EQ(types(take(bobs_[1])), "incomingCall");
    send(a, HangUpMessage{"h", kCall, false});
    EXPECT_EQ(types(take(a)), "callEnded ack");
    for (const auto& b : bobs_) {
        auto toBob = take(b);
        ASSERT_EQ(types(toBob), "callEnded");
        expectEnded(toBob[0], 487, 0);
    }
}

TEST_F(CallControlTest, ALateEndpointRingsUntilTheCallsOwnRingTimeout)
{
    std::string a = connect(kAlice);
    bobs_ = {connect(kBob)};
    ring(a);
    clock_.advance(kRingMs / 2);
    bobs_.push_back(connect(kBob));
    EXPECT_EQ(types(take(bobs_[1])), "incomingCall");
    clock_.advance(kRingMs / 2);
    auto toAlice = take(a);
    ASSERT_EQ(types(toAlice), "participantUpdated callEnded");
    expectEnded(toAlice[1], 487, 10004);
    for (const auto& b : bobs_) {
        auto toBob = take(b);
        ASSERT_EQ(types(toBob), "callEnded");
        expectEnded(toBob[0], 487, 10004);
    }
}

TEST_F(CallControlTest, ALateEndpointCanReject)
{
    std::string a = connect(kAlice);
    bobs_ = {connect(kBob)};
    ring(a);
    bobs_.push_back(connect(kBob));
    take(bobs_[1]);
    send(bobs_[1], RejectMessage{"r", kCall});
    EXPECT_EQ(types(take(bobs_[1])), "callEnded ack");
    auto toFirst = take(bobs_[0]);
    ASSERT_EQ(types(toFirst), "callEnded");
    expectEnded(toFirst[0], 603, 0);
    auto toAlice = take(a);
    ASSERT_EQ(types(toAlice), "participantUpdated callEnded");
    expectEnded(toAlice[1], 603, 0);
}

TEST_F(CallControlTest, AResumedEndpointRingsForACallThatStartedWhileItWasAwayButNotTwice)
{
    std::string a = connect(kAlice);
    std::string away = connect(kBob);
    bobs_ = {connect(kBob), connect(kBob)};
    control_.detach(away);
    ring(a);  // rings bobs_ only
    TokenGrant grant{kBob, {"voip"}, nowSeconds(), nowSeconds() + 3600, 0};
    ASSERT_EQ(control_.attach(grant, away, "").endpointId, away);
    control_.ready(away);
    auto toAway = take(away);
    ASSERT_EQ(types(toAway), "incomingCall");
    EXPECT_EQ(std::get<IncomingCallMessage>(toAway[0]).callId, kCall);

    // An endpoint lost while ringing still rings when it comes back: no second incomingCall.
    control_.detach(bobs_[1]);
    ASSERT_EQ(control_.attach(grant, bobs_[1], "").endpointId, bobs_[1]);
    control_.ready(bobs_[1]);
    EXPECT_EQ(types(take(bobs_[1])), "");
    send(bobs_[1], AcceptMessage{"acc", kCall, "Bob"});
    EXPECT_EQ(types(take(bobs_[1])), "participantUpdated ack");
    for (const auto& other : {away, bobs_[0]}) {
        auto ended = take(other);
        ASSERT_EQ(types(ended), "callEnded");
        expectEnded(ended[0], 487, 10003);
    }
}

TEST_F(CallControlTest, RejectEndsTheCallForEveryoneWith603)
{
    std::string a = connect(kAlice);
    bobs_ = {connect(kBob), connect(kBob)};
    ring(a);
    send(bobs_[0], RejectMessage{"r", kCall});
    auto toAlice = take(a);
    ASSERT_EQ(types(toAlice), "participantUpdated callEnded");
    expectDisconnected(toAlice[0], kBob, 603, 0);
    expectEnded(toAlice[1], 603, 0);
    auto toRejecter = take(bobs_[0]);
    ASSERT_EQ(types(toRejecter), "callEnded ack");
    expectEnded(toRejecter[0], 603, 0);
    auto toOther = take(bobs_[1]);
    ASSERT_EQ(types(toOther), "callEnded");
    expectEnded(toOther[0], 603, 0);
    EXPECT_EQ(control_.callCount(), 0u);
    EXPECT_EQ(clock_.pending(), 3u) << "only the three token expiry timers are left";
}

TEST_F(CallControlTest, CallerHangingUpWhileRingingCancels)
{
    std::string a = connect(kAlice);
    bobs_ = {connect(kBob), connect(kBob)};
    ring(a);
    send(a, HangUpMessage{"h", kCall, false});
    auto toAlice = take(a);
    ASSERT_EQ(types(toAlice), "callEnded ack");
    expectEnded(toAlice[0], 0, 0);
    for (const auto& b : bobs_) {
        auto toBob = take(b);
        ASSERT_EQ(types(toBob), "callEnded");
        expectEnded(toBob[0], 487, 0);
    }
    EXPECT_EQ(control_.callCount(), 0u);
}

TEST_F(CallControlTest, CalleeHangingUpWhileRingingDeclines)
{
    std::string a = connect(kAlice);
    bobs_ = {connect(kBob)};
    ring(a);
    send(bobs_[0], HangUpMessage{"h", kCall, false});
    auto toAlice = take(a);
    ASSERT_EQ(types(toAlice), "participantUpdated callEnded");
    expectEnded(toAlice[1], 603, 0);
    EXPECT_EQ(types(take(bobs_[0])), "callEnded ack");
}

TEST_F(CallControlTest, NobodyAnsweringEndsTheCallAfterTheRingTimeout)
{
    std::string a = connect(kAlice);
    bobs_ = {connect(kBob), connect(kBob)};
    ring(a);
    clock_.advance(kRingMs - 1);
    expectNothingFor({a, bobs_[0], bobs_[1]});
    clock_.advance(1);
    auto toAlice = take(a);
    ASSERT_EQ(types(toAlice), "participantUpdated callEnded");
    expectDisconnected(toAlice[0], kBob, 487, 10004);
    expectEnded(toAlice[1], 487, 10004);
    for (const auto& b : bobs_) {
        auto toBob = take(b);
        ASSERT_EQ(types(toBob), "callEnded");
        expectEnded(toBob[0], 487, 10004);
    }
    EXPECT_EQ(control_.callCount(), 0u);
}

TEST_F(CallControlTest, CallingSomeoneWithoutAConnectedEndpointEndsWith480)
{
    std::string a = connect(kAlice);
    send(a, InviteMessage{"1", kCall, {kBob}, "Alice", {}});
    auto toAlice = take(a);
    ASSERT_EQ(types(toAlice), "participantUpdated callEnded ack");
    expectDisconnected(toAlice[0], kBob, 480, 10037);
    expectEnded(toAlice[1], 480, 10037);
    EXPECT_EQ(control_.callCount(), 0u);
    // A lost endpoint in its grace window does not ring either.
    std::string b = connect(kBob);
    control_.detach(b);
    send(a, InviteMessage{"2", kCall, {kBob}, "Alice", {}});
    toAlice = take(a);
    ASSERT_EQ(types(toAlice), "participantUpdated callEnded ack");
    expectEnded(toAlice[1], 480, 10037);
}

TEST_F(CallControlTest, HangingUpEndsAOneToOneCallForTheOtherSideAfterShowingTheLeaver)
{
    std::string a = connect(kAlice);
    bobs_ = {connect(kBob)};
    connectCall(a, bobs_[0]);
    send(a, HangUpMessage{"2", kCall, false});
    auto toAlice = take(a);
    ASSERT_EQ(types(toAlice), "callEnded ack");
    expectEnded(toAlice[0], 0, 0);
    auto toBob = take(bobs_[0]);
    ASSERT_EQ(types(toBob), "participantUpdated callEnded");
    expectDisconnected(toBob[0], kAlice, 0, 0);
    expectEnded(toBob[1], 0, 0);
    EXPECT_EQ(control_.callCount(), 0u);
}

TEST_F(CallControlTest, HangingUpForEveryoneEndsTheOthersWith4097)
{
    std::string a = connect(kAlice);
    bobs_ = {connect(kBob)};
    connectCall(a, bobs_[0]);
    send(bobs_[0], HangUpMessage{"2", kCall, true});
    auto toBob = take(bobs_[0]);
    ASSERT_EQ(types(toBob), "callEnded ack");
    expectEnded(toBob[0], 0, 0);
    auto toAlice = take(a);
    ASSERT_EQ(types(toAlice), "participantUpdated callEnded");
    expectDisconnected(toAlice[0], kBob, 0, 4097);
    expectEnded(toAlice[1], 0, 4097);
}

TEST_F(CallControlTest, HoldResumeAndMuteAreSeenByTheOthers)
{
    std::string a = connect(kAlice);
    bobs_ = {connect(kBob)};
    connectCall(a, bobs_[0]);
    std::string b = bobs_[0];

    send(a, HoldMessage{"h", kCall});
    EXPECT_EQ(types(take(a)), "ack");
    auto toBob = take(b);
    ASSERT_EQ(types(toBob), "participantUpdated");
    EXPECT_EQ(participantIn(toBob[0]).state, ParticipantState::Hold);

    send(b, MuteStateMessage{"m", kCall, true});
    EXPECT_EQ(types(take(b)), "ack");
    auto toAlice = take(a);
    ASSERT_EQ(types(toAlice), "participantUpdated");
    EXPECT_EQ(participantIn(toAlice[0]), (ParticipantInfo{kBob, "Bob", ParticipantState::Connected, true, {}}));

    send(a, ResumeMessage{"", kCall});
    EXPECT_EQ(types(take(a)), "") << "no requestId, no ack";
    toBob = take(b);
    ASSERT_EQ(types(toBob), "participantUpdated");
    EXPECT_EQ(participantIn(toBob[0]).state, ParticipantState::Connected);
}

TEST_F(CallControlTest, HoldNeedsAConnectedCall)
{
    std::string a = connect(kAlice);
    bobs_ = {connect(kBob)};
    ring(a);
    send(a, HoldMessage{"h", kCall});
    expectError(take(a), 409, 40901, "h");
    send(bobs_[0], HoldMessage{"h2", kCall});
    expectError(take(bobs_[0]), 409, 40901, "h2");
    send(bobs_[0], MuteStateMessage{"m", kCall, true});
    expectError(take(bobs_[0]), 409, 40901, "m");
    // The caller's own mute state is kept for when the call connects.
    send(a, MuteStateMessage{"m2", kCall, true});
    EXPECT_EQ(types(take(a)), "ack");
    send(bobs_[0], AcceptMessage{"a", kCall, ""});
    auto toBob = take(bobs_[0]);
    ASSERT_EQ(types(toBob), "participantUpdated ack");
    EXPECT_TRUE(participantIn(toBob[0]).isMuted);
}

TEST_F(CallControlTest, StreamsReachTheOthersAsTheWholeSetEachTime)
{
    std::string a = connect(kAlice);
    bobs_ = {connect(kBob)};
    connectCall(a, bobs_[0]);
    std::string b = bobs_[0];
    const std::vector<StreamInfo> camera = {{1, StreamType::Video, true}};
    const std::vector<StreamInfo> cameraOff = {{1, StreamType::Video, false}};
    const std::vector<StreamInfo> sharing = {{1, StreamType::Video, false}, {2, StreamType::ScreenSharing, true}};

    send(a, StreamsMessage{"s1", kCall, camera});
    auto toAlice = take(a);
    ASSERT_EQ(types(toAlice), "ack");
    EXPECT_EQ(std::get<AckMessage>(toAlice[0]).requestId, "s1");
    auto toBob = take(b);
    ASSERT_EQ(types(toBob), "participantUpdated");
    EXPECT_EQ(std::get<ParticipantUpdatedMessage>(toBob[0]).callId, kCall);
    EXPECT_EQ(participantIn(toBob[0]),
              (ParticipantInfo{kAlice, "Alice", ParticipantState::Connected, false, std::nullopt, camera}));

    send(a, StreamsMessage{"s2", kCall, cameraOff});
    EXPECT_EQ(types(take(a)), "ack");
    toBob = take(b);
    ASSERT_EQ(types(toBob), "participantUpdated");
    EXPECT_EQ(participantIn(toBob[0]).streams, cameraOff);

    send(a, StreamsMessage{"", kCall, sharing});
    EXPECT_EQ(types(take(a)), "") << "no requestId, no ack";
    toBob = take(b);
    ASSERT_EQ(types(toBob), "participantUpdated");
    EXPECT_EQ(participantIn(toBob[0]).streams, sharing);

    // Every later update of the participant carries the set as it stands, hold and mute alike.
    send(a, HoldMessage{"h", kCall});
    take(a);
    toBob = take(b);
    ASSERT_EQ(types(toBob), "participantUpdated");
    EXPECT_EQ(participantIn(toBob[0]).state, ParticipantState::Hold);
    EXPECT_EQ(participantIn(toBob[0]).streams, sharing);
    // ... and a participant on hold may still change it.
    send(a, StreamsMessage{"s3", kCall, cameraOff});
    EXPECT_EQ(types(take(a)), "ack");
    toBob = take(b);
    ASSERT_EQ(types(toBob), "participantUpdated");
    EXPECT_EQ(participantIn(toBob[0]).streams, cameraOff);

    // Bob publishes nothing: Alice sees his updates without streams.
    send(b, MuteStateMessage{"m", kCall, true});
    take(b);
    toAlice = take(a);
    ASSERT_EQ(types(toAlice), "participantUpdated");
    EXPECT_TRUE(participantIn(toAlice[0]).streams.empty());

    send(a, StreamsMessage{"s4", kCall, {}});
    EXPECT_EQ(types(take(a)), "ack");
    toBob = take(b);
    ASSERT_EQ(types(toBob), "participantUpdated");
    EXPECT_TRUE(participantIn(toBob[0]).streams.empty());
}

TEST_F(CallControlTest, StreamsAnnouncedWithInviteAndAcceptAreSeenAtOnce)
{
    std::string a = connect(kAlice);
    std::string b = connect(kBob);
    const std::vector<StreamInfo> aliceCamera = {{0, StreamType::Video, true}};
    const std::vector<StreamInfo> bobCamera = {{5, StreamType::Video, true}};
    send(a, InviteMessage{"i", kCall, {kBob}, "Alice", {true, true}, aliceCamera});
    EXPECT_EQ(types(take(a)), "participantUpdated ack");
    EXPECT_EQ(types(take(b)), "incomingCall");

    send(b, AcceptMessage{"acc", kCall, "Bob", bobCamera});
    auto toBob = take(b);
    ASSERT_EQ(types(toBob), "participantUpdated ack");
    EXPECT_EQ(participantIn(toBob[0]),
              (ParticipantInfo{kAlice, "Alice", ParticipantState::Connected, false, std::nullopt, aliceCamera}));
    auto toAlice = take(a);
    ASSERT_EQ(types(toAlice), "participantUpdated");
    EXPECT_EQ(participantIn(toAlice[0]),
              (ParticipantInfo{kBob, "Bob", ParticipantState::Connected, false, std::nullopt, bobCamera}));

    // A participant that leaves is Disconnected with no streams left.
    send(a, HangUpMessage{"h", kCall});
    take(a);
    toBob = take(b);
    ASSERT_EQ(types(toBob), "participantUpdated callEnded");
    expectDisconnected(toBob[0], kAlice, 0, 0);
    EXPECT_TRUE(participantIn(toBob[0]).streams.empty());
}

TEST_F(CallControlTest, TheCallerPublishesStreamsWhileRingingButARingingCalleeCannot)
{
    std::string a = connect(kAlice);
    bobs_ = {connect(kBob), connect(kBob)};
    ring(a);
    const std::vector<StreamInfo> sharing = {{3, StreamType::ScreenSharing, true}};

    send(bobs_[0], StreamsMessage{"s", kCall, sharing});
    expectError(take(bobs_[0]), 409, 40901, "s");
    // The caller's set is kept for when the call connects; nobody else is joined yet.
    send(a, StreamsMessage{"s2", kCall, sharing});
    EXPECT_EQ(types(take(a)), "ack");
    expectNothingFor({bobs_[0], bobs_[1]});

    send(bobs_[1], AcceptMessage{"acc", kCall, "Bob"});
    auto toBob = take(bobs_[1]);
    ASSERT_EQ(types(toBob), "participantUpdated ack");
    EXPECT_EQ(participantIn(toBob[0]).streams, sharing);
    // The endpoint that no longer rings is an outsider now.
    take(bobs_[0]);
    send(bobs_[0], StreamsMessage{"s3", kCall, sharing});
    expectError(take(bobs_[0]), 404, 40400, "s3");
}

TEST_F(CallControlTest, StreamsUpdatesWaitForAnEndpointInItsGraceWindow)
{
    std::string a = connect(kAlice);
    bobs_ = {connect(kBob)};
    connectCall(a, bobs_[0]);
    std::string b = bobs_[0];
    control_.detach(b);
    const std::vector<StreamInfo> camera = {{1, StreamType::Video, true}};
    send(a, StreamsMessage{"s", kCall, camera});
    EXPECT_EQ(types(take(a)), "ack");

    TokenGrant grant{kBob, {"voip"}, nowSeconds(), nowSeconds() + 3600, 0};
    EXPECT_EQ(control_.attach(grant, b, "").endpointId, b);
    control_.ready(b);
    auto toBob = take(b);
    ASSERT_EQ(types(toBob), "participantUpdated");
    EXPECT_EQ(participantIn(toBob[0]).streams, camera);
}

TEST_F(CallControlTest, SdpAndIceAreRelayedBetweenConnectedParticipantsWithFrom)
{
    std::string a = connect(kAlice);
    bobs_ = {connect(kBob)};
    ring(a);
    std::string b = bobs_[0];
    send(a, SdpMessage{"s", kCall, kBob, {"offer", "v=0\r\n"}});
    expectError(take(a), 409, 40901, "s");
    EXPECT_EQ(types(take(b)), "");

    send(b, AcceptMessage{"", kCall, "Bob"});
    take(a);
    take(b);
    send(a, SdpMessage{"", kCall, kBob, {"offer", "v=0\r\n"}});
    auto toBob = take(b);
    ASSERT_EQ(types(toBob), "sdp");
    EXPECT_EQ(std::get<RemoteSdpMessage>(toBob[0]), (RemoteSdpMessage{kCall, kAlice, {"offer", "v=0\r\n"}}));
    EXPECT_EQ(types(take(a)), "") << "sdp is not acknowledged";
    send(b, IceMessage{"", kCall, kAlice, {1, "candidate:1"}});
    auto toAlice = take(a);
    ASSERT_EQ(types(toAlice), "ice");
    EXPECT_EQ(std::get<RemoteIceMessage>(toAlice[0]), (RemoteIceMessage{kCall, kBob, {1, "candidate:1"}}));

    send(a, IceMessage{"x", kCall, kAlice, {0, "c"}});
    expectError(take(a), 409, 40901, "x");
    send(a, IceMessage{"y", kCall, kCarol, {0, "c"}});
    expectError(take(a), 409, 40901, "y");
}

TEST_F(CallControlTest, OutsidersAndUnknownCallsGetTheSame404AndTheCallGoesOn)
{
    std::string a = connect(kAlice);
    bobs_ = {connect(kBob)};
    connectCall(a, bobs_[0]);
    std::string c = connect(kCarol);
    std::vector<ClientMessage> intrusions = {
        SdpMessage{"1", kCall, kBob, {"offer", "v=0"}}, IceMessage{"2", kCall, kAlice, {0, "c"}},
        HangUpMessage{"3", kCall, true},                HoldMessage{"4", kCall},
        ResumeMessage{"5", kCall},                      AcceptMessage{"6", kCall, ""},
        RejectMessage{"7", kCall},                      MuteStateMessage{"8", kCall, true},
        StreamsMessage{"9", kCall, {{1, StreamType::Video, true}}},
    };
    for (const auto& message : intrusions) {
        send(c, message);
        auto toCarol = take(c);
        expectError(toCarol, 404, 40400, requestIdOf(message));
        ClientMessage elsewhere = message;
        std::visit(
            [](auto& m) {
                if constexpr (requires { m.callId; })
                    m.callId = kOtherCall;
            },
            elsewhere);
        send(c, elsewhere);
        auto unknown = take(c);
        ASSERT_EQ(types(unknown), "error");
        EXPECT_EQ(std::get<ErrorMessage>(unknown[0]).message, std::get<ErrorMessage>(toCarol[0]).message)
            << "outsiders learn nothing";
        EXPECT_EQ(std::get<ErrorMessage>(unknown[0]).callId, kOtherCall);
    }
    expectNothingFor({a, bobs_[0]});
    send(a, SdpMessage{"", kCall, kBob, {"offer", "v=0"}});
    EXPECT_EQ(types(take(bobs_[0])), "sdp");
}

TEST_F(CallControlTest, AcceptAndRejectOnlyWhileRingingHere)
{
    std::string a = connect(kAlice);
    bobs_ = {connect(kBob)};
    ring(a);
    send(a, AcceptMessage{"1", kCall, ""});
    expectError(take(a), 400, 41006, "1");
    send(a, RejectMessage{"2", kCall});
    expectError(take(a), 400, 41007, "2");
    send(bobs_[0], AcceptMessage{"3", kCall, ""});
    take(a);
    take(bobs_[0]);
    send(bobs_[0], AcceptMessage{"4", kCall, ""});
    expectError(take(bobs_[0]), 400, 41006, "4");
    send(bobs_[0], RejectMessage{"5", kCall});
    expectError(take(bobs_[0]), 400, 41007, "5");
    EXPECT_EQ(control_.callCount(), 1u);
}

TEST_F(CallControlTest, InviteRefusesWhatVersionOneCannotDo)
{
    std::string a = connect(kAlice);
    bobs_ = {connect(kBob)};
    ring(a);
    send(a, InviteMessage{"1", kCall, {kBob}, "", {}});
    expectError(take(a), 409, 40900, "1");
    send(a, InviteMessage{"2", kOtherCall, {kBob, kCarol}, "", {}});
    expectError(take(a), 400, 40005, "2");
    send(a, InviteMessage{"3", kOtherCall, {"4:14255550123"}, "", {}});
    expectError(take(a), 400, 40005, "3");
    send(a, InviteMessage{"4", kOtherCall, {"28:app"}, "", {}});
    expectError(take(a), 400, 40005, "4");
    send(a, InviteMessage{"5", kOtherCall, {kAlice}, "", {}});
    expectError(take(a), 400, 40005, "5");
    EXPECT_EQ(control_.callCount(), 1u);
    EXPECT_EQ(types(take(bobs_[0])), "");
}

TEST_F(CallControlTest, ALostConnectionEndsItsCallsAfterTheGraceWindow)
{
    std::string a = connect(kAlice);
    bobs_ = {connect(kBob)};
    connectCall(a, bobs_[0]);
    control_.detach(a);
    clock_.advance(kGraceMs - 1);
    expectNothingFor({a, bobs_[0]});
    clock_.advance(1);
    auto toBob = take(bobs_[0]);
    ASSERT_EQ(types(toBob), "participantUpdated callEnded");
    expectDisconnected(toBob[0], kAlice, 410, 301005);
    expectEnded(toBob[1], 410, 301005);
    EXPECT_EQ(types(take(a)), "");
    EXPECT_EQ(control_.endpointCount(), 1u);
    EXPECT_EQ(control_.callCount(), 0u);
}

TEST_F(CallControlTest, AnEndpointResumedInsideTheWindowKeepsItsCallsAndGetsWhatItMissed)
{
    std::string a = connect(kAlice);
    bobs_ = {connect(kBob)};
    connectCall(a, bobs_[0]);
    control_.detach(a);
    clock_.advance(kGraceMs / 2);
    send(bobs_[0], HoldMessage{"h", kCall});
    EXPECT_EQ(types(take(bobs_[0])), "ack");

    TokenGrant grant{kAlice, {"voip"}, nowSeconds(), nowSeconds() + 3600, 0};
    WelcomeMessage welcome = control_.attach(grant, a, "r");
    EXPECT_EQ(welcome.endpointId, a);
    EXPECT_EQ(types(take(a)), "") << "nothing before the welcome went out";
    control_.ready(a);
    auto toAlice = take(a);
    ASSERT_EQ(types(toAlice), "participantUpdated");
    EXPECT_EQ(participantIn(toAlice[0]).state, ParticipantState::Hold);

    clock_.advance(kGraceMs * 3);
    expectNothingFor({a, bobs_[0]});
    send(a, SdpMessage{"", kCall, kBob, {"offer", "v=0"}});
    EXPECT_EQ(types(take(bobs_[0])), "sdp");
}

TEST_F(CallControlTest, OnlyTheSameIdentityCanResumeAnEndpoint)
{
    std::string a = connect(kAlice);
    bobs_ = {connect(kBob)};
    connectCall(a, bobs_[0]);
    control_.detach(a);
    TokenGrant carol{kCarol, {"voip"}, nowSeconds(), nowSeconds() + 3600, 0};
    EXPECT_NE(control_.attach(carol, a, "").endpointId, a);
    clock_.advance(kGraceMs);
    auto toBob = take(bobs_[0]);
    ASSERT_EQ(types(toBob), "participantUpdated callEnded");
    expectEnded(toBob[1], 410, 301005);
}

TEST_F(CallControlTest, TakingOverAConnectedEndpointClosesItsOldConnection)
{
    std::string a = connect(kAlice);
    TokenGrant grant{kAlice, {"voip"}, nowSeconds(), nowSeconds() + 3600, 0};
    EXPECT_EQ(control_.attach(grant, a, "").endpointId, a);
    ASSERT_EQ(out_.closed.size(), 1u);
    EXPECT_EQ(out_.closed[0], std::make_pair(a, int(CallControl::kCloseTakenOver)));
}

TEST_F(CallControlTest, ARingingEndpointLostForGoodStopsRingingThere)
{
    std::string a = connect(kAlice);
    bobs_ = {connect(kBob), connect(kBob)};
    ring(a);
    control_.detach(bobs_[0]);
    clock_.advance(kGraceMs);
    expectNothingFor({a, bobs_[0], bobs_[1]});
    control_.detach(bobs_[1]);
    clock_.advance(kGraceMs);
    auto toAlice = take(a);
    ASSERT_EQ(types(toAlice), "participantUpdated callEnded");
    expectEnded(toAlice[1], 410, 301005);
}

TEST_F(CallControlTest, TokenRefreshKeepsTheEndpointForTheSameIdentityOnly)
{
    std::string a = connect(kAlice, 60);
    bobs_ = {connect(kBob)};
    connectCall(a, bobs_[0]);
    int64_t later = nowSeconds() + 7200;
    send(a, AuthMessage{"r1", tokenFor(kAlice, later), ""});
    auto toAlice = take(a);
    ASSERT_EQ(types(toAlice), "authRefreshed");
    EXPECT_EQ(std::get<AuthRefreshedMessage>(toAlice[0]), (AuthRefreshedMessage{"r1", later}));

    send(a, AuthMessage{"r2", tokenFor(kBob, later), ""});
    expectError(take(a), 403, 40300, "r2");
    send(a, AuthMessage{"r3", "garbage", ""});
    expectError(take(a), 401, 4507, "r3");

    clock_.advance(1800 * 1000);  // well past the first token, before Bob's
    expectNothingFor({a, bobs_[0]});
    EXPECT_TRUE(out_.closed.empty());
    EXPECT_EQ(control_.callCount(), 1u);
}

TEST_F(CallControlTest, AnExpiredTokenEndsTheCallsWith495AndClosesWith4401)
{
    std::string a = connect(kAlice, 60);
    bobs_ = {connect(kBob)};
    connectCall(a, bobs_[0]);
    clock_.advance(59'999);
    expectNothingFor({a, bobs_[0]});
    clock_.advance(1);
    auto toAlice = take(a);
    ASSERT_EQ(types(toAlice), "error callEnded");
    EXPECT_EQ(std::get<ErrorMessage>(toAlice[0]).code, 401);
    EXPECT_EQ(std::get<ErrorMessage>(toAlice[0]).subCode, 4507);
    expectEnded(toAlice[1], 495, 4507);
    auto toBob = take(bobs_[0]);
    ASSERT_EQ(types(toBob), "participantUpdated callEnded");
    expectDisconnected(toBob[0], kAlice, 495, 4507);
    expectEnded(toBob[1], 495, 4507);
    ASSERT_EQ(out_.closed.size(), 1u);
    EXPECT_EQ(out_.closed[0], std::make_pair(a, 4401));
    EXPECT_EQ(control_.endpointCount(), 1u);
}

std::string randomCallId()
{
    g_autofree char* id = g_uuid_string_random();
    return id;
}

TEST_F(CallControlTest, AnEndpointPlacesAtMostSixteenCalls)
{
    std::string a = connect(kAlice);
    std::string b = connect(kBob);
    std::vector<std::string> callIds;
    for (int i = 0; i < 16; ++i) {
        callIds.push_back(randomCallId());
        send(a, InviteMessage{"i", callIds.back(), {kBob}, "", {}});
        ASSERT_EQ(types(take(a)), "participantUpdated ack") << i;
    }
    take(b);
    std::string oneTooMany = randomCallId();
    send(a, InviteMessage{"x", oneTooMany, {kBob}, "", {}});
    auto refused = take(a);
    expectError(refused, 429, 40030, "x");
    EXPECT_EQ(std::get<ErrorMessage>(refused[0]).callId, oneTooMany);
    EXPECT_EQ(types(take(b)), "");
    EXPECT_EQ(control_.callCount(), 16u);
    // Another endpoint of the same identity has its own sixteen.
    std::string a2 = connect(kAlice);
    send(a2, InviteMessage{"y", oneTooMany, {kBob}, "", {}});
    EXPECT_EQ(types(take(a2)), "participantUpdated ack");
    // A call that ended makes room.
    send(a, HangUpMessage{"h", callIds.front(), false});
    EXPECT_EQ(types(take(a)), "callEnded ack");
    send(a, InviteMessage{"z", randomCallId(), {kBob}, "", {}});
    EXPECT_EQ(types(take(a)), "participantUpdated ack");
}

TEST_F(CallControlTest, AnEndpointAcceptsAtMostSixteenCallsAndMayStillRing)
{
    std::string a = connect(kAlice);
    std::string b = connect(kBob);
    std::vector<std::string> callIds;
    for (int i = 0; i < 16; ++i) {
        callIds.push_back(randomCallId());
        send(a, InviteMessage{"", callIds.back(), {kBob}, "", {}});
        send(b, AcceptMessage{"", callIds.back(), ""});
    }
    take(a);
    take(b);
    std::string c = connect(kCarol);
    send(c, InviteMessage{"", kCall, {kBob}, "Carol", {}});
    EXPECT_EQ(types(take(b)), "incomingCall") << "ringing does not count";
    take(c);
    send(b, AcceptMessage{"acc", kCall, ""});
    expectError(take(b), 429, 40030, "acc");
    EXPECT_EQ(types(take(c)), "") << "the call still rings";

    send(b, HangUpMessage{"", callIds.front(), false});
    take(b);
    take(a);
    send(b, AcceptMessage{"acc2", kCall, ""});
    EXPECT_EQ(types(take(b)), "participantUpdated ack");
    EXPECT_EQ(types(take(c)), "participantUpdated");
}

TEST_F(CallControlTest, ATokenExpiringInTheGraceWindowEndsTheCallsWith495AtOnce)
{
    std::string a = connect(kAlice, 5);
    bobs_ = {connect(kBob)};
    connectCall(a, bobs_[0]);
    control_.detach(a);
    clock_.advance(5000);
    auto toBob = take(bobs_[0]);
    ASSERT_EQ(types(toBob), "participantUpdated callEnded");
    expectDisconnected(toBob[0], kAlice, 495, 4507);
    expectEnded(toBob[1], 495, 4507);
    EXPECT_TRUE(out_.closed.empty()) << "nothing to close";
    EXPECT_EQ(control_.endpointCount(), 1u);
    clock_.advance(kGraceMs);
    expectNothingFor({a, bobs_[0]});
}

TEST_F(CallControlTest, TheLastRingingEndpointsTokenExpiringEndsTheCallForTheCallerWith495)
{
    std::string a = connect(kAlice);
    bobs_ = {connect(kBob, 5)};
    ring(a);
    clock_.advance(5000);
    auto toBob = take(bobs_[0]);
    ASSERT_EQ(types(toBob), "error callEnded");
    expectEnded(toBob[1], 495, 4507);
    auto toAlice = take(a);
    ASSERT_EQ(types(toAlice), "participantUpdated callEnded");
    expectDisconnected(toAlice[0], kBob, 495, 4507);
    expectEnded(toAlice[1], 495, 4507);
    EXPECT_EQ(control_.callCount(), 0u);
}

TEST_F(CallControlTest, CallsAreIndependent)
{
    std::string a = connect(kAlice);
    bobs_ = {connect(kBob)};
    std::string c = connect(kCarol);
    connectCall(a, bobs_[0]);
    send(c, InviteMessage{"1", kOtherCall, {kAlice}, "Carol", {}});
    EXPECT_EQ(types(take(a)), "incomingCall");
    take(c);
    send(c, HangUpMessage{"2", kOtherCall, false});
    EXPECT_EQ(types(take(c)), "callEnded ack");
    auto toAlice = take(a);
    ASSERT_EQ(types(toAlice), "callEnded");
    expectEnded(toAlice[0], 487, 0);
    EXPECT_EQ(types(take(bobs_[0])), "");
    EXPECT_EQ(control_.callCount(), 1u);
}

TEST_F(CallControlTest, MessagesFromUnknownOrLostEndpointsAreIgnored)
{
    send("nobody", InviteMessage{"1", kCall, {kBob}, "", {}});
    std::string a = connect(kAlice);
    control_.detach(a);
    send(a, InviteMessage{"1", kCall, {kBob}, "", {}});
    EXPECT_EQ(control_.callCount(), 0u);
    EXPECT_TRUE(out_.sent.empty());
}
