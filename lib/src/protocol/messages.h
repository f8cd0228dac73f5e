// The messages of the signalling protocol, version 1 (docs/protocol.md), as typed values, and their
// JSON form on the wire.
//
// The server parses what agents send with parseClientMessage, which validates everything (types,
// lengths, raw ids, UUIDs) and maps each failure to the documented error, so that the call control
// only ever sees well-formed requests; it writes its answers with serialize(ServerMessage). Agents
// do the mirror image with serialize(ClientMessage) and parseServerMessage.
//
// Plain values: copy them freely, from any thread. An empty `requestId` means "none".
#pragma once

#include <calling/result.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace calling::protocol {

inline constexpr int kProtocolVersion = 1;
inline constexpr std::size_t kMaxMessageBytes = 64 * 1024;  // larger ones get 413/40003
inline constexpr std::size_t kMaxRequestIdLength = 64;      // characters
inline constexpr std::size_t kMaxDisplayNameLength = 256;   // characters
inline constexpr std::size_t kMaxSdpLength = 60000;         // characters
inline constexpr std::size_t kMaxRawIdLength = 256;         // characters
inline constexpr std::size_t kMaxTargets = 16;              // call control accepts one in version 1
inline constexpr std::size_t kMaxStreams = 8;               // published by one participant in one call
inline constexpr int kMaxStreamId = 65535;
inline constexpr int kMaxJsonDepth = 16;                    // nesting of objects and arrays

struct MediaFlags {
    bool audio = true;
    bool video = false;
    bool operator==(const MediaFlags&) const = default;
};

struct EndReason {
    int code = 0;
    int subCode = 0;
    std::string message;
    bool operator==(const EndReason&) const = default;
};

struct SessionDescription {
    std::string type;  // "offer" or "answer"
    std::string sdp;
    bool operator==(const SessionDescription&) const = default;
};

struct IceCandidate {
    unsigned sdpMLineIndex = 0;
    std::string candidate;  // empty: end of candidates
    bool operator==(const IceCandidate&) const = default;
};

enum class ParticipantState { Ringing, Connected, Hold, Disconnected };
std::string_view toString(ParticipantState state);

// ACS's MediaStreamType of a RemoteVideoStream.
enum class StreamType { Video, ScreenSharing };
std::string_view toString(StreamType type);

// One video stream a participant publishes (ACS RemoteVideoStream {id, mediaStreamType,
// isAvailable}). Ids are the publisher's choice, 0 to kMaxStreamId, unique within its set.
struct StreamInfo {
    int id = 0;
    StreamType type = StreamType::Video;
    bool available = false;
    // The msid of the m-line that carries it (RFC 8830); empty: "video_<id>", as native agents send.
    std::string msid;
    bool operator==(const StreamInfo&) const = default;
};

struct ParticipantInfo {
    std::string rawId;
    std::string displayName;
    ParticipantState state = ParticipantState::Ringing;
    bool isMuted = false;
    std::optional<EndReason> endReason;  // set when Disconnected
    std::vector<StreamInfo> streams;     // the whole set it publishes; empty when none (or Disconnected)
    bool operator==(const ParticipantInfo&) const = default;
};

struct CallerInfo {
    std::string rawId;
    std::string displayName;
    bool operator==(const CallerInfo&) const = default;
};

// Agent to server.

struct AuthMessage {
    std::string requestId;
    std::string token;
    std::string endpointId;  // optional: resume this lost endpoint
    bool operator==(const AuthMessage&) const = default;
};

struct InviteMessage {
    std::string requestId;
    std::string callId;
    std::vector<std::string> targets;
    std::string displayName;
    MediaFlags media;
    std::vector<StreamInfo> streams;  // optional: what the caller publishes from the start
    bool operator==(const InviteMessage&) const = default;
};

struct AcceptMessage {
    std::string requestId;
    std::string callId;
    std::string displayName;
    std::vector<StreamInfo> streams;  // optional: what the callee publishes from the start
    bool operator==(const AcceptMessage&) const = default;
};

struct RejectMessage {
    std::string requestId;
    std::string callId;
    bool operator==(const RejectMessage&) const = default;
};

struct HangUpMessage {
    std::string requestId;
    std::string callId;
    bool forEveryone = false;
    bool operator==(const HangUpMessage&) const = default;
};

struct HoldMessage {
    std::string requestId;
    std::string callId;
    bool operator==(const HoldMessage&) const = default;
};

struct ResumeMessage {
    std::string requestId;
    std::string callId;
    bool operator==(const ResumeMessage&) const = default;
};

struct MuteStateMessage {
    std::string requestId;
    std::string callId;
    bool muted = false;
    bool operator==(const MuteStateMessage&) const = default;
};

// The whole set of streams the sender publishes in the call now (empty: none).
struct StreamsMessage {
    std::string requestId;
    std::string callId;
    std::vector<StreamInfo> streams;
    bool operator==(const StreamsMessage&) const = default;
};

struct SdpMessage {
    std::string requestId;  // never acknowledged; only an error carries it back
    std::string callId;
    std::string to;
    SessionDescription description;
    bool operator==(const SdpMessage&) const = default;
};

struct IceMessage {
    std::string requestId;  // never acknowledged; only an error carries it back
    std::string callId;
    std::string to;
    IceCandidate candidate;
    bool operator==(const IceMessage&) const = default;
};

using ClientMessage = std::variant<AuthMessage, InviteMessage, AcceptMessage, RejectMessage, HangUpMessage,
                                   HoldMessage, ResumeMessage, MuteStateMessage, StreamsMessage, SdpMessage,
                                   IceMessage>;

// Server to agent.

struct WelcomeMessage {
    std::string requestId;  // the auth's, when it had one
    int protocolVersion = kProtocolVersion;
    std::string identity;
    std::string endpointId;
    int64_t tokenExpiresOn = 0;  // Unix seconds
    double graceSeconds = 0;
    bool operator==(const WelcomeMessage&) const = default;
};

struct AuthRefreshedMessage {
    std::string requestId;  // the auth's, when it had one
    int64_t tokenExpiresOn = 0;
    bool operator==(const AuthRefreshedMessage&) const = default;
};

struct AckMessage {
    std::string requestId;
    bool operator==(const AckMessage&) const = default;
};

struct ErrorMessage {
    std::string requestId;
    std::string callId;
    int code = 0;
    int subCode = 0;
    std::string message;
    bool operator==(const ErrorMessage&) const = default;
};

struct IncomingCallMessage {
    std::string callId;
    CallerInfo caller;
    MediaFlags media;
    bool operator==(const IncomingCallMessage&) const = default;
};

struct ParticipantUpdatedMessage {
    std::string callId;
    ParticipantInfo participant;
    bool operator==(const ParticipantUpdatedMessage&) const = default;
};

struct RemoteSdpMessage {
    std::string callId;
    std::string from;
    SessionDescription description;
    bool operator==(const RemoteSdpMessage&) const = default;
};

struct RemoteIceMessage {
    std::string callId;
    std::string from;
    IceCandidate candidate;
    bool operator==(const RemoteIceMessage&) const = default;
};

struct CallEndedMessage {
    std::string callId;
    EndReason reason;
    bool operator==(const CallEndedMessage&) const = default;
};

using ServerMessage = std::variant<WelcomeMessage, AuthRefreshedMessage, AckMessage, ErrorMessage, IncomingCallMessage,
                                   ParticipantUpdatedMessage, RemoteSdpMessage, RemoteIceMessage, CallEndedMessage>;

// A message that could not be parsed or carried out, as the `error` the server answers with.
// `requestId` and `callId` are those of the offending message when they could be read.
struct ProtocolError {
    int code = 0;
    int subCode = 0;
    std::string message;
    std::string requestId;
    std::string callId;

    ErrorMessage toMessage() const { return ErrorMessage{requestId, callId, code, subCode, message}; }
};

// 400/40000 not a JSON object or no `type` string, 400/40001 unknown type, 400/40002 a bad field,
// 413/40003 larger than kMaxMessageBytes.
Result<ClientMessage, ProtocolError> parseClientMessage(std::string_view json);
// The same checks on what the server sends (without the 64 KiB bound: relayed SDP grows a little).
Result<ServerMessage, ProtocolError> parseServerMessage(std::string_view json);

std::string serialize(const ClientMessage& message);
std::string serialize(const ServerMessage& message);

// The `type` on the wire, e.g. "invite".
std::string_view messageType(const ClientMessage& message);
std::string_view messageType(const ServerMessage& message);
const std::string& requestIdOf(const ClientMessage& message);
// Empty for `auth`.
const std::string& callIdOf(const ClientMessage& message);

// What the protocol accepts as a raw id: 1 to kMaxRawIdLength characters, no whitespace or control
// characters. Whether the id names a supported kind of participant is for the call control to say.
bool isValidRawId(std::string_view rawId);

}  // namespace calling::protocol
