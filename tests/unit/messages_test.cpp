#include "protocol/messages.h"

#include <gtest/gtest.h>

#include <string>

using namespace calling::protocol;

namespace {

const std::string kCallId = "0b9e6f2a-6c1d-4f3e-9a51-2d7c8e4b1a00";
const std::string kEndpointId = "6f1c2d3e-4b5a-4c6d-8e7f-0123456789ab";
const std::string kAlice = "8:acs:resource_5f2b8c1e-0000-4000-8000-000000000001";
const std::string kBob = "8:acs:resource_5f2b8c1e-0000-4000-8000-000000000002";

std::string repeat(std::string_view piece, size_t count)
{
    std::string text;
    for (size_t i = 0; i < count; ++i)
        text += piece;
    return text;
}

template <typename Message>
void expectClientRoundTrip(const Message& message)
{
    std::string json = serialize(ClientMessage(message));
    auto parsed = parseClientMessage(json);
    ASSERT_TRUE(parsed) << json << ": " << parsed.error().message;
    ASSERT_TRUE(std::holds_alternative<Message>(parsed.value())) << json;
    EXPECT_EQ(std::get<Message>(parsed.value()), message) << json;
}

template <typename Message>
void expectServerRoundTrip(const Message& message)
{
    std::string json = serialize(ServerMessage(message));
    auto parsed = parseServerMessage(json);
    ASSERT_TRUE(parsed) << json << ": " << parsed.error().message;
    ASSERT_TRUE(std::holds_alternative<Message>(parsed.value())) << json;
    EXPECT_EQ(std::get<Message>(parsed.value()), message) << json;
}

struct Refusal {
    int code;
    int subCode;
    std::string requestId;
    std::string callId;
};

void expectRefused(const std::string& json, const Refusal& expected)
{
    auto parsed = parseClientMessage(json);
    ASSERT_FALSE(parsed) << json;
    EXPECT_EQ(parsed.error().code, expected.code) << json << ": " << parsed.error().message;
    EXPECT_EQ(parsed.error().subCode, expected.subCode) << json << ": " << parsed.error().message;
    EXPECT_EQ(parsed.error().requestId, expected.requestId) << json;
    EXPECT_EQ(parsed.error().callId, expected.callId) << json;
    EXPECT_FALSE(parsed.error().message.empty()) << json;
}

void expectBadField(const std::string& json)
{
    expectRefused(json, {400, 40002, "", ""});
}

std::string sdpJson(const std::string& description)
{
    return R"({"type":"sdp","callId":")" + kCallId + R"(","to":")" + kBob + R"(","description":)" + description + "}";
}

std::string iceJson(const std::string& candidate)
{
    return R"({"type":"ice","callId":")" + kCallId + R"(","to":")" + kBob + R"(","candidate":)" + candidate + "}";
}

}  // namespace

TEST(Messages, EveryClientMessageRoundTrips)
{
    expectClientRoundTrip(AuthMessage{"", "eyJ.token.sig", ""});
    expectClientRoundTrip(AuthMessage{"r1", "eyJ.token.sig", kEndpointId});
    expectClientRoundTrip(InviteMessage{"1", kCallId, {kBob}, "Alice", {true, false}});
    expectClientRoundTrip(InviteMessage{"", kCallId, {kBob, "4:14255550123"}, "", {false, true}});
    expectClientRoundTrip(AcceptMessage{"7", kCallId, "Bob"});
    expectClientRoundTrip(RejectMessage{"8", kCallId});
    expectClientRoundTrip(HangUpMessage{"2", kCallId, true});
    expectClientRoundTrip(HangUpMessage{"", kCallId, false});
    expectClientRoundTrip(HoldMessage{"3", kCallId});
    expectClientRoundTrip(ResumeMessage{"4", kCallId});
    expectClientRoundTrip(MuteStateMessage{"5", kCallId, true});
    expectClientRoundTrip(InviteMessage{"1", kCallId, {kBob}, "Alice", {true, true}, {{0, StreamType::Video, true}}});
    expectClientRoundTrip(AcceptMessage{"7", kCallId, "Bob", {{3, StreamType::Video, false}}});
    expectClientRoundTrip(StreamsMessage{"6", kCallId, {}});
    expectClientRoundTrip(StreamsMessage{
        "", kCallId, {{kMaxStreamId, StreamType::ScreenSharing, true}, {0, StreamType::Video, false}}});
    expectClientRoundTrip(SdpMessage{"", kCallId, kBob, {"offer", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n"}});
    expectClientRoundTrip(SdpMessage{"9", kCallId, kAlice, {"answer", "v=0\r\n"}});
    expectClientRoundTrip(IceMessage{"", kCallId, kBob, {1, "candidate:1 1 UDP 2122252543 10.0.0.1 50000 typ host"}});
    expectClientRoundTrip(IceMessage{"", kCallId, kBob, {0, ""}});
}

TEST(Messages, EveryServerMessageRoundTrips)
{
    expectServerRoundTrip(WelcomeMessage{"", 1, kAlice, kEndpointId, 1764100000, 10});
    expectServerRoundTrip(WelcomeMessage{"r1", 1, kAlice, kEndpointId, 1764100000, 0.5});
    expectServerRoundTrip(AuthRefreshedMessage{"r2", 1764103600});
    expectServerRoundTrip(AckMessage{"1"});
    expectServerRoundTrip(ErrorMessage{"1", kCallId, 404, 40400, "no such call"});
    expectServerRoundTrip(ErrorMessage{"", "", 400, 40000, "message is not JSON"});
    expectServerRoundTrip(IncomingCallMessage{kCallId, {kAlice, "Alice"}, {true, true}});
    expectServerRoundTrip(
        ParticipantUpdatedMessage{kCallId, {kBob, "", ParticipantState::Ringing, false, std::nullopt}});
    expectServerRoundTrip(ParticipantUpdatedMessage{kCallId, {kBob, "Bob", ParticipantState::Hold, true, std::nullopt}});
    expectServerRoundTrip(ParticipantUpdatedMessage{
        kCallId, {kAlice, "Alice", ParticipantState::Disconnected, false, EndReason{410, 301005, "Connection lost"}}});
    expectServerRoundTrip(ParticipantUpdatedMessage{
        kCallId,
        {kBob, "Bob", ParticipantState::Connected, false, std::nullopt,
         {{1, StreamType::Video, true}, {2, StreamType::ScreenSharing, false}}}});
    expectServerRoundTrip(RemoteSdpMessage{kCallId, kAlice, {"offer", "v=0\r\n"}});
    expectServerRoundTrip(RemoteIceMessage{kCallId, kAlice, {2, "candidate:2 1 UDP 1 10.0.0.2 50001 typ host"}});
    expectServerRoundTrip(CallEndedMessage{kCallId, {487, 10004, "Call timed out"}});
}

TEST(Messages, TheDocumentedExampleParses)
{
    auto invite = parseClientMessage(R"({"type":"invite","requestId":"1","callId":")" + kCallId + R"(","targets":[")" +
                                     kBob + R"("],"displayName":"Alice","media":{"audio":true,"video":false}})");
    ASSERT_TRUE(invite) << invite.error().message;
    EXPECT_EQ(std::get<InviteMessage>(invite.value()), (InviteMessage{"1", kCallId, {kBob}, "Alice", {true, false}}));

    auto updated = parseServerMessage(
        R"({"type":"participantUpdated","callId":")" + kCallId + R"(","participant":{"rawId":")" + kAlice +
        R"(","displayName":"Alice","state":"Disconnected","isMuted":false,"endReason":{"code":0,"subCode":0,"message":"Call ended"}}})");
    ASSERT_TRUE(updated) << updated.error().message;
    const auto& participant = std::get<ParticipantUpdatedMessage>(updated.value()).participant;
    EXPECT_EQ(participant.state, ParticipantState::Disconnected);
    ASSERT_TRUE(participant.endReason);
    EXPECT_EQ(participant.endReason->message, "Call ended");
}

TEST(Messages, TheDocumentedStreamsExampleParses)
{
    auto streams = parseClientMessage(
        R"({"type":"streams","requestId":"3","callId":")" + kCallId +
        R"(","streams":[{"id":1,"type":"Video","available":true},{"id":2,"type":"ScreenSharing","available":true}]})");
    ASSERT_TRUE(streams) << streams.error().message;
    EXPECT_EQ(std::get<StreamsMessage>(streams.value()),
              (StreamsMessage{"3", kCallId, {{1, StreamType::Video, true}, {2, StreamType::ScreenSharing, true}}}));

    auto updated = parseServerMessage(
        R"({"type":"participantUpdated","callId":")" + kCallId + R"(","participant":{"rawId":")" + kAlice +
        R"(","displayName":"Alice","state":"Connected","isMuted":false,)"
        R"("streams":[{"id":1,"type":"Video","available":false}]}})");
    ASSERT_TRUE(updated) << updated.error().message;
    EXPECT_EQ(std::get<ParticipantUpdatedMessage>(updated.value()).participant.streams,
              (std::vector<StreamInfo>{{1, StreamType::Video, false}}));
}

TEST(Messages, AStreamNamesTheMsidOfItsMLine)
{
    auto streams = parseClientMessage(R"({"type":"streams","requestId":"3","callId":")" + kCallId +
                                      R"(","streams":[{"id":2,"type":"ScreenSharing","available":true,)"
                                      R"("msid":"{6f1c0f2e-4b1d-4c7e-9a32-7f1b0b4f5b61}"}]})");
    ASSERT_TRUE(streams) << streams.error().message;
    const auto& parsed = std::get<StreamsMessage>(streams.value()).streams;
    ASSERT_EQ(parsed.size(), 1u);
    EXPECT_EQ(parsed[0].msid, "{6f1c0f2e-4b1d-4c7e-9a32-7f1b0b4f5b61}");
    EXPECT_EQ(serialize(ClientMessage(StreamsMessage{"", kCallId, {{1, StreamType::Video, true, "cam"}}})),
              R"({"type":"streams","callId":")" + kCallId +
                  R"(","streams":[{"id":1,"type":"Video","available":true,"msid":"cam"}]})");
}

TEST(Messages, StreamsAreLeftOutWhenThereAreNone)
{
    std::string updated =
        serialize(ServerMessage(ParticipantUpdatedMessage{kCallId, {kBob, "Bob", ParticipantState::Connected}}));
    EXPECT_EQ(updated.find("streams"), std::string::npos) << updated;
    std::string accept = serialize(ClientMessage(AcceptMessage{"1", kCallId, "Bob"}));
    EXPECT_EQ(accept.find("streams"), std::string::npos) << accept;
    // The streams message itself always carries its (possibly empty) set.
    EXPECT_EQ(serialize(ClientMessage(StreamsMessage{"", kCallId, {}})),
              R"({"type":"streams","callId":")" + kCallId + R"(","streams":[]})");
    EXPECT_EQ(serialize(ClientMessage(StreamsMessage{"", kCallId, {{7, StreamType::ScreenSharing, true}}})),
              R"({"type":"streams","callId":")" + kCallId +
                  R"(","streams":[{"id":7,"type":"ScreenSharing","available":true}]})");
}

TEST(Messages, StreamsFieldsAreValidated)
{
    std::string head = R"({"type":"streams","requestId":"1","callId":")" + kCallId + R"(")";
    auto refused = [&](const std::string& rest) { expectRefused(head + rest + "}", {400, 40002, "1", kCallId}); };
    auto stream = [](const std::string& id) { return R"({"id":)" + id + R"(,"type":"Video","available":true})"; };
    refused("");
    refused(R"(,"streams":null)");
    refused(R"(,"streams":{})");
    refused(R"(,"streams":[1])");
    refused(R"(,"streams":[null])");
    refused(R"(,"streams":[[]])");
    refused(R"(,"streams":[{"type":"Video","available":true}])");
    refused(R"(,"streams":[{"id":1,"available":true}])");
    refused(R"(,"streams":[{"id":1,"type":"Video"}])");
    refused(R"(,"streams":[{"id":-1,"type":"Video","available":true}])");
    refused(R"(,"streams":[{"id":65536,"type":"Video","available":true}])");
    refused(R"(,"streams":[{"id":1.5,"type":"Video","available":true}])");
    refused(R"(,"streams":[{"id":"1","type":"Video","available":true}])");
    refused(R"(,"streams":[{"id":1,"type":"video","available":true}])");
    refused(R"(,"streams":[{"id":1,"type":"Audio","available":true}])");
    refused(R"(,"streams":[{"id":1,"type":7,"available":true}])");
    refused(R"(,"streams":[{"id":1,"type":"Video","available":"yes"}])");
    refused(R"(,"streams":[)" + stream("1") + "," + stream("1") + "]");
    refused(R"(,"streams":[{"id":1,"type":"Video","available":true,"msid":""}])");
    refused(R"(,"streams":[{"id":1,"type":"Video","available":true,"msid":"a b"}])");
    refused(R"(,"streams":[{"id":1,"type":"Video","available":true,"msid":7}])");
    refused(R"(,"streams":[{"id":1,"type":"Video","available":true,"msid":")" + std::string(65, 'a') + R"("}])");
    std::string most;
    for (std::size_t i = 0; i < kMaxStreams; ++i)
        most += (i ? "," : "") + stream(std::to_string(i));
    refused(R"(,"streams":[)" + most + "," + stream("99") + "]");
    auto parsed = parseClientMessage(head + R"(,"streams":[)" + most + "]}");
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ(std::get<StreamsMessage>(parsed.value()).streams.size(), kMaxStreams);
    // The problem names the entry.
    auto named = parseClientMessage(head + R"(,"streams":[)" + stream("1") +
                                    R"(,{"id":2,"type":"Audio","available":true}]})");
    ASSERT_FALSE(named);
    EXPECT_EQ(named.error().message, "streams[1].type must be Video or ScreenSharing");

    // invite and accept take the same optional field, checked the same way.
    std::string invite =
        R"({"type":"invite","requestId":"1","callId":")" + kCallId + R"(","targets":[")" + kBob + R"("])";
    expectRefused(invite + R"(,"streams":[)" + stream("70000") + "]}", {400, 40002, "1", kCallId});
    expectRefused(invite + R"(,"streams":"Video"})", {400, 40002, "1", kCallId});
    EXPECT_TRUE(parseClientMessage(invite + R"(,"streams":null})"));
    std::string accept = R"({"type":"accept","requestId":"1","callId":")" + kCallId + R"(")";
    expectRefused(accept + R"(,"streams":[)" + stream("2") + "," + stream("2") + "]}", {400, 40002, "1", kCallId});
    auto accepted = parseClientMessage(accept + R"(,"streams":[)" + stream("2") + "]}");
    ASSERT_TRUE(accepted) << accepted.error().message;
    EXPECT_EQ(std::get<AcceptMessage>(accepted.value()).streams,
              (std::vector<StreamInfo>{{2, StreamType::Video, true}}));

    // What the server sends is held to the same shape.
    EXPECT_FALSE(
        parseServerMessage(R"({"type":"participantUpdated","callId":")" + kCallId +
                           R"(","participant":{"rawId":"8:acs:x","state":"Connected","streams":[{"id":1}]}})"));
}

TEST(Messages, OptionalFieldsTakeTheirDefaultsAndUnknownFieldsAreIgnored)
{
    auto parsed = parseClientMessage(R"({"type":"invite","callId":")" + kCallId + R"(","targets":[")" + kBob +
                                     R"("],"future":{"x":[1,2]},"displayName":null})");
    ASSERT_TRUE(parsed) << parsed.error().message;
    const auto& invite = std::get<InviteMessage>(parsed.value());
    EXPECT_EQ(invite.requestId, "");
    EXPECT_EQ(invite.displayName, "");
    EXPECT_EQ(invite.media, (MediaFlags{true, false}));
    EXPECT_TRUE(invite.streams.empty());

    auto hangUp = parseClientMessage(R"({"type":"hangUp","callId":")" + kCallId + R"("})");
    ASSERT_TRUE(hangUp);
    EXPECT_FALSE(std::get<HangUpMessage>(hangUp.value()).forEveryone);
}

TEST(Messages, TypeRequestIdAndCallIdAreReadable)
{
    ClientMessage message = HoldMessage{"42", kCallId};
    EXPECT_EQ(messageType(message), "hold");
    EXPECT_EQ(requestIdOf(message), "42");
    EXPECT_EQ(callIdOf(message), kCallId);
    ClientMessage auth = AuthMessage{"7", "t", ""};
    EXPECT_EQ(messageType(auth), "auth");
    EXPECT_EQ(callIdOf(auth), "");
    EXPECT_EQ(messageType(ServerMessage(CallEndedMessage{})), "callEnded");
    EXPECT_EQ(messageType(ServerMessage(RemoteSdpMessage{})), "sdp");
}

TEST(Messages, GarbageIsNotAMessage)
{
    for (const std::string& garbage :
         {std::string(""), std::string("null"), std::string("[]"), std::string("42"), std::string("\"invite\""),
          std::string("{"), std::string("{\"type\":\"hold\""), std::string("{}x"), std::string("\xff\xfe{}"),
          std::string("{\"type\":\"auth\",\"token\":\"\xc3\x28\"}"), std::string("{\"a\":1,}"),
          std::string(R"({"type":42})"), std::string(R"({"type":null})"), std::string(R"({"type":["invite"]})"),
          std::string(R"({"requestId":"1"})"), std::string("{\"type\":\"hold\"}\0{}", 18)})
        expectRefused(garbage, {400, 40000, garbage == R"({"requestId":"1"})" ? "1" : "", ""});
}

TEST(Messages, DeepNestingIsRefusedWithoutRecursingIntoIt)
{
    std::string deep = R"({"type":"hold","x":)" + repeat("[", 30000) + repeat("]", 30000) + "}";
    expectRefused(deep, {400, 40000, "", ""});
    EXPECT_NE(parseClientMessage(deep).error().message.find("nested"), std::string::npos);
    // Brackets inside strings do not count.
    auto parsed = parseClientMessage(R"({"type":"accept","callId":")" + kCallId + R"(","displayName":")" +
                                     repeat("[{", 100) + R"("})");
    EXPECT_TRUE(parsed);
    // Nesting up to the limit is fine.
    std::string nested = R"({"type":"hold","callId":")" + kCallId + R"(","x":)" + repeat("[", kMaxJsonDepth - 1) +
                         repeat("]", kMaxJsonDepth - 1) + "}";
    EXPECT_TRUE(parseClientMessage(nested));
}

TEST(Messages, UnknownTypesAreRefusedWithWhatCouldBeRead)
{
    expectRefused(R"({"type":"dance","requestId":"9","callId":")" + kCallId + R"("})", {400, 40001, "9", kCallId});
    expectRefused(R"({"type":"welcome","protocolVersion":1})", {400, 40001, "", ""});
    expectRefused(R"({"type":"Invite"})", {400, 40001, "", ""});
    expectRefused(R"({"type":""})", {400, 40001, "", ""});
}

TEST(Messages, MessagesOver64KiBAreTooLarge)
{
    std::string padding(kMaxMessageBytes, ' ');
    std::string json = R"({"type":"hold","callId":")" + kCallId + R"("})" + padding;
    expectRefused(json, {413, 40003, "", ""});
    std::string fits = R"({"type":"hold","callId":")" + kCallId + R"("})";
    fits += std::string(kMaxMessageBytes - fits.size(), ' ');
    EXPECT_TRUE(parseClientMessage(fits));
}

TEST(Messages, RequestIdsAreNonEmptyStringsOfAtMost64Characters)
{
    std::string hold = R"(","callId":")" + kCallId + R"("})";
    std::string longest = repeat("é", 64);
    auto parsed = parseClientMessage(R"({"type":"hold","requestId":")" + longest + hold);
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ(requestIdOf(parsed.value()), longest);
    // A requestId that is itself the problem cannot be echoed; the callId still is.
    expectRefused(R"({"type":"hold","requestId":")" + repeat("x", 65) + hold, {400, 40002, "", kCallId});
    expectRefused(R"({"type":"hold","requestId":"" )" + hold.substr(1), {400, 40002, "", kCallId});
    expectRefused(R"({"type":"hold","requestId":7,"callId":")" + kCallId + R"("})", {400, 40002, "", kCallId});
}

TEST(Messages, CallIdsAreUuids)
{
    for (const std::string& callId : {std::string("42"), std::string(""), std::string("not-a-uuid"),
                                      kCallId + "0", std::string("0b9e6f2a6c1d4f3e9a512d7c8e4b1a00")})
        expectRefused(R"({"type":"reject","requestId":"1","callId":")" + callId + R"("})", {400, 40002, "1", ""});
    expectRefused(R"({"type":"reject","requestId":"1"})", {400, 40002, "1", ""});
    expectRefused(R"({"type":"reject","requestId":"1","callId":1})", {400, 40002, "1", ""});
    expectRefused(R"({"type":"reject","requestId":"1","callId":{}})", {400, 40002, "1", ""});
}

TEST(Messages, AuthNeedsATokenAndTakesAnEndpointIdThatIsAUuid)
{
    expectBadField(R"({"type":"auth"})");
    expectBadField(R"({"type":"auth","token":""})");
    expectBadField(R"({"type":"auth","token":42})");
    expectBadField(R"({"type":"auth","token":"t","endpointId":"x"})");
    expectBadField(R"({"type":"auth","token":"t","endpointId":5})");
    EXPECT_TRUE(parseClientMessage(R"({"type":"auth","token":"t","endpointId":")" + kEndpointId + R"("})"));
}

TEST(Messages, InviteFieldsAreValidated)
{
    std::string head = R"({"type":"invite","requestId":"1","callId":")" + kCallId + R"(")";
    auto refused = [&](const std::string& rest) { expectRefused(head + rest + "}", {400, 40002, "1", kCallId}); };
    refused("");
    refused(R"(,"targets":"8:acs:x")");
    refused(R"(,"targets":[])");
    refused(R"(,"targets":[42])");
    refused(R"(,"targets":[""])");
    refused(R"(,"targets":["8:acs:a b"])");
    refused(R"(,"targets":["8:acs:a\nb"])");
    refused(R"(,"targets":[")" + repeat("x", kMaxRawIdLength + 1) + R"("])");
    refused(R"(,"targets":[)" + repeat(R"("8:acs:x",)", kMaxTargets) + R"("8:acs:x"])");
    std::string target = R"(,"targets":[")" + kBob + R"("])";
    refused(target + R"(,"displayName":7)");
    refused(target + R"(,"displayName":")" + repeat("é", kMaxDisplayNameLength + 1) + R"(")");
    refused(target + R"(,"media":true)");
    refused(target + R"(,"media":{"audio":"yes"})");
    refused(target + R"(,"media":{"video":1})");
    EXPECT_TRUE(parseClientMessage(head + target + R"(,"displayName":")" + repeat("é", kMaxDisplayNameLength) +
                                   R"(","media":{"video":true}})"));
    // Raw ids of every kind parse; which ones can be called is the call control's business.
    EXPECT_TRUE(parseClientMessage(head + R"(,"targets":["4:+14255550123","28:app","anything:else"]})"));
}

TEST(Messages, AcceptRejectHoldResumeAndMuteStateFieldsAreValidated)
{
    std::string callId = R"(,"callId":")" + kCallId + R"(")";
    expectRefused(R"({"type":"accept","requestId":"1")" + callId + R"(,"displayName":["Bob"]})",
                  {400, 40002, "1", kCallId});
    expectRefused(R"({"type":"muteState","requestId":"1")" + callId + "}", {400, 40002, "1", kCallId});
    expectRefused(R"({"type":"muteState","requestId":"1")" + callId + R"(,"muted":"true"})", {400, 40002, "1", kCallId});
    expectRefused(R"({"type":"muteState","requestId":"1")" + callId + R"(,"muted":1})", {400, 40002, "1", kCallId});
    expectRefused(R"({"type":"hangUp","requestId":"1")" + callId + R"(,"forEveryone":"no"})", {400, 40002, "1", kCallId});
    expectRefused(R"({"type":"hold"})", {400, 40002, "", ""});
    expectRefused(R"({"type":"resume","callId":null})", {400, 40002, "", ""});
}

TEST(Messages, SdpIsBoundedAndTyped)
{
    EXPECT_TRUE(parseClientMessage(sdpJson(R"({"type":"offer","sdp":")" + repeat("a", kMaxSdpLength) + R"("})")));
    expectRefused(sdpJson(R"({"type":"offer","sdp":")" + repeat("a", kMaxSdpLength + 1) + R"("})"),
                  {400, 40002, "", kCallId});
    for (const std::string& description :
         {std::string(R"("v=0")"), std::string(R"({"type":"pranswer","sdp":"v=0"})"),
          std::string(R"({"type":"rollback","sdp":"v=0"})"), std::string(R"({"sdp":"v=0"})"),
          std::string(R"({"type":"offer"})"), std::string(R"({"type":"offer","sdp":""})"),
          std::string(R"({"type":"offer","sdp":42})"), std::string("null")})
        expectRefused(sdpJson(description), {400, 40002, "", kCallId});
    expectRefused(R"({"type":"sdp","callId":")" + kCallId + R"(","description":{"type":"offer","sdp":"v=0"}})",
                  {400, 40002, "", kCallId});
    expectRefused(R"({"type":"sdp","callId":")" + kCallId +
                      R"(","to":"","description":{"type":"offer","sdp":"v=0"}})",
                  {400, 40002, "", kCallId});
}

TEST(Messages, IceCandidatesAreTyped)
{
    EXPECT_TRUE(parseClientMessage(iceJson(R"({"sdpMLineIndex":65535,"candidate":"candidate:1"})")));
    for (const std::string& candidate :
         {std::string(R"({"sdpMLineIndex":-1,"candidate":"c"})"), std::string(R"({"sdpMLineIndex":65536,"candidate":"c"})"),
          std::string(R"({"sdpMLineIndex":1.5,"candidate":"c"})"), std::string(R"({"sdpMLineIndex":"0","candidate":"c"})"),
          std::string(R"({"candidate":"c"})"), std::string(R"({"sdpMLineIndex":0})"),
          std::string(R"({"sdpMLineIndex":0,"candidate":7})"), std::string(R"(["c"])")})
        expectRefused(iceJson(candidate), {400, 40002, "", kCallId});
}

TEST(Messages, ServerMessagesAreValidatedToo)
{
    EXPECT_FALSE(parseServerMessage(R"({"type":"ack"})"));
    EXPECT_FALSE(parseServerMessage(R"({"type":"welcome","protocolVersion":1,"identity":"","endpointId":")" +
                                    kEndpointId + R"(","tokenExpiresOn":1,"graceSeconds":10})"));
    EXPECT_FALSE(parseServerMessage(R"({"type":"callEnded","callId":")" + kCallId + R"("})"));
    EXPECT_FALSE(parseServerMessage(R"({"type":"participantUpdated","callId":")" + kCallId +
                                    R"(","participant":{"rawId":"8:acs:x","state":"Gone","isMuted":false}})"));
    // A Disconnected participant must say why.
    EXPECT_FALSE(parseServerMessage(R"({"type":"participantUpdated","callId":")" + kCallId +
                                    R"(","participant":{"rawId":"8:acs:x","state":"Disconnected"}})"));
    auto unknown = parseServerMessage(R"({"type":"invite"})");
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error().subCode, 40001);
    EXPECT_FALSE(parseServerMessage("[]"));
}

TEST(Messages, ProtocolErrorsBecomeErrorMessages)
{
    ProtocolError error{404, 40400, "no such call", "3", kCallId};
    EXPECT_EQ(error.toMessage(), (ErrorMessage{"3", kCallId, 404, 40400, "no such call"}));
    EXPECT_EQ(serialize(ServerMessage(error.toMessage())),
              R"({"type":"error","requestId":"3","callId":")" + kCallId +
                  R"(","code":404,"subCode":40400,"message":"no such call"})");
}

TEST(Messages, RawIds)
{
    EXPECT_TRUE(isValidRawId(kAlice));
    EXPECT_TRUE(isValidRawId("4:+14255550123"));
    EXPECT_FALSE(isValidRawId(""));
    EXPECT_FALSE(isValidRawId("8:acs:a b"));
    EXPECT_FALSE(isValidRawId("8:acs:\x01"));
    EXPECT_FALSE(isValidRawId("\xff"));
    EXPECT_FALSE(isValidRawId(repeat("x", kMaxRawIdLength + 1)));
}
