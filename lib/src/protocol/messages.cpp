#include "protocol/messages.h"

#include <glib.h>
#include <json-glib/json-glib.h>

#include <algorithm>
#include <array>
#include <utility>

namespace calling::protocol {
namespace {

constexpr int kMalformed = 40000;
constexpr int kUnknownType = 40001;
constexpr int kBadField = 40002;
constexpr int kTooLarge = 40003;
// The server's own messages are bounded by the WebSocket payload limit, not by kMaxMessageBytes.
constexpr std::size_t kMaxServerMessageBytes = 1024 * 1024;
constexpr gint64 kMaxMLineIndex = 65535;

template <typename T>
constexpr std::string_view kType = "";
template <> constexpr std::string_view kType<AuthMessage> = "auth";
template <> constexpr std::string_view kType<InviteMessage> = "invite";
template <> constexpr std::string_view kType<AcceptMessage> = "accept";
template <> constexpr std::string_view kType<RejectMessage> = "reject";
template <> constexpr std::string_view kType<HangUpMessage> = "hangUp";
template <> constexpr std::string_view kType<HoldMessage> = "hold";
template <> constexpr std::string_view kType<ResumeMessage> = "resume";
template <> constexpr std::string_view kType<MuteStateMessage> = "muteState";
template <> constexpr std::string_view kType<StreamsMessage> = "streams";
template <> constexpr std::string_view kType<SdpMessage> = "sdp";
template <> constexpr std::string_view kType<IceMessage> = "ice";
template <> constexpr std::string_view kType<WelcomeMessage> = "welcome";
template <> constexpr std::string_view kType<AuthRefreshedMessage> = "authRefreshed";
template <> constexpr std::string_view kType<AckMessage> = "ack";
template <> constexpr std::string_view kType<ErrorMessage> = "error";
template <> constexpr std::string_view kType<IncomingCallMessage> = "incomingCall";
template <> constexpr std::string_view kType<ParticipantUpdatedMessage> = "participantUpdated";
template <> constexpr std::string_view kType<RemoteSdpMessage> = "sdp";
template <> constexpr std::string_view kType<RemoteIceMessage> = "ice";
template <> constexpr std::string_view kType<CallEndedMessage> = "callEnded";

constexpr std::array<std::pair<ParticipantState, std::string_view>, 4> kStates = {{
    {ParticipantState::Ringing, "Ringing"},
    {ParticipantState::Connected, "Connected"},
    {ParticipantState::Hold, "Hold"},
    {ParticipantState::Disconnected, "Disconnected"},
}};

constexpr std::array<std::pair<StreamType, std::string_view>, 2> kStreamTypes = {{
    {StreamType::Video, "Video"},
    {StreamType::ScreenSharing, "ScreenSharing"},
}};

std::size_t characters(std::string_view text)
{
    // Callers validated the whole message as UTF-8.
    return static_cast<std::size_t>(g_utf8_strlen(text.data(), static_cast<gssize>(text.size())));
}

// json-glib's parser recurses once per level and has no limit of its own; a 64 KiB message of
// brackets would take the stack down with it. Counting outside strings is enough to refuse that.
bool nestingWithin(std::string_view json, int maxDepth)
{
    int depth = 0;
    bool inString = false;
    bool escaped = false;
    for (char c : json) {
        if (inString) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                inString = false;
        } else if (c == '"') {
            inString = true;
        } else if (c == '{' || c == '[') {
            if (++depth > maxDepth)
                return false;
        } else if (c == '}' || c == ']') {
            --depth;
        }
    }
    return true;
}

enum class Need { Required, Optional };

// Reads the members of one JSON object; the first problem found is kept for the error message.
// JSON null counts as absent.
class Reader {
public:
    Reader(JsonObject* object, std::string prefix, std::string* problem)
        : object_(object), prefix_(std::move(prefix)), problem_(problem)
    {
    }

    bool failed() const { return !problem_->empty(); }

    bool has(const char* name)
    {
        JsonNode* node = json_object_get_member(object_, name);
        return node && !JSON_NODE_HOLDS_NULL(node);
    }

    void fail(std::string_view name, std::string_view what)
    {
        if (problem_->empty())
            *problem_ = prefix_ + std::string(name) + " " + std::string(what);
    }

    std::optional<std::string> string(const char* name, Need need, std::size_t maxCharacters, bool nonEmpty = false)
    {
        JsonNode* node = present(name, need);
        if (!node)
            return std::nullopt;
        if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING) {
            fail(name, "must be a string");
            return std::nullopt;
        }
        std::string value = json_node_get_string(node);
        if (nonEmpty && value.empty()) {
            fail(name, "must not be empty");
            return std::nullopt;
        }
        if (characters(value) > maxCharacters) {
            fail(name, "must be at most " + std::to_string(maxCharacters) + " characters");
            return std::nullopt;
        }
        return value;
    }

    std::string requestId() { return string("requestId", Need::Optional, kMaxRequestIdLength, true).value_or(""); }

    std::string uuid(const char* name, Need need)
    {
        auto value = string(name, need, 36, need == Need::Required);
        if (value && !value->empty() && !g_uuid_string_is_valid(value->c_str())) {
            fail(name, "must be a UUID");
            return {};
        }
        return value.value_or("");
    }

    std::string rawId(const char* name, Need need)
    {
        auto value = string(name, need, kMaxRawIdLength);
        if (value && !isValidRawId(*value)) {
            fail(name, "must be a raw id");
            return {};
        }
        return value.value_or("");
    }

    std::optional<bool> boolean(const char* name, Need need)
    {
        JsonNode* node = present(name, need);
        if (!node)
            return std::nullopt;
        if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_BOOLEAN) {
            fail(name, "must be true or false");
            return std::nullopt;
        }
        return json_node_get_boolean(node);
    }

    std::optional<gint64> integer(const char* name, Need need, gint64 min, gint64 max)
    {
        JsonNode* node = present(name, need);
        if (!node)
            return std::nullopt;
        if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_INT64) {
            fail(name, "must be an integer");
            return std::nullopt;
        }
        gint64 value = json_node_get_int(node);
        if (value < min || value > max) {
            fail(name, "must be between " + std::to_string(min) + " and " + std::to_string(max));
            return std::nullopt;
        }
        return value;
    }

    std::optional<double> number(const char* name, Need need, double min, double max)
    {
        JsonNode* node = present(name, need);
        if (!node)
            return std::nullopt;
        GType type = JSON_NODE_HOLDS_VALUE(node) ? json_node_get_value_type(node) : G_TYPE_INVALID;
        if (type != G_TYPE_INT64 && type != G_TYPE_DOUBLE) {
            fail(name, "must be a number");
            return std::nullopt;
        }
        double value = type == G_TYPE_INT64 ? static_cast<double>(json_node_get_int(node)) : json_node_get_double(node);
        if (!(value >= min && value <= max)) {
            fail(name, "is out of range");
            return std::nullopt;
        }
        return value;
    }

    // A nested object's reader; nullopt (and a problem when required) when absent or not an object.
    std::optional<Reader> object(const char* name, Need need)
    {
        JsonNode* node = present(name, need);
        if (!node)
            return std::nullopt;
        if (!JSON_NODE_HOLDS_OBJECT(node)) {
            fail(name, "must be an object");
            return std::nullopt;
        }
        return Reader(json_node_get_object(node), prefix_ + name + ".", problem_);
    }

    JsonArray* array(const char* name, Need need)
    {
        JsonNode* node = present(name, need);
        if (!node)
            return nullptr;
        if (!JSON_NODE_HOLDS_ARRAY(node)) {
            fail(name, "must be an array");
            return nullptr;
        }
        return json_node_get_array(node);
    }

    // A reader for each object of an array of at most `maxCount` objects; nullopt when absent (a
    // problem when required) or when it is something else (a problem).
    std::optional<std::vector<Reader>> objects(const char* name, Need need, std::size_t maxCount)
    {
        JsonArray* elements = array(name, need);
        if (!elements)
            return std::nullopt;
        guint count = json_array_get_length(elements);
        if (count > maxCount) {
            fail(name, "must hold at most " + std::to_string(maxCount) + " entries");
            return std::nullopt;
        }
        std::vector<Reader> readers;
        for (guint i = 0; i < count; ++i) {
            JsonNode* node = json_array_get_element(elements, i);
            std::string element = std::string(name) + "[" + std::to_string(i) + "]";
            if (!JSON_NODE_HOLDS_OBJECT(node)) {
                fail(element, "must be an object");
                return std::nullopt;
            }
            readers.emplace_back(json_node_get_object(node), prefix_ + element + ".", problem_);
        }
        return readers;
    }

private:
    JsonNode* present(const char* name, Need need)
    {
        JsonNode* node = json_object_get_member(object_, name);
        if (node && JSON_NODE_HOLDS_NULL(node))
            node = nullptr;
        if (!node && need == Need::Required)
            fail(name, "is missing");
        return node;
    }

    JsonObject* object_;
    std::string prefix_;
    std::string* problem_;
};

MediaFlags readMedia(Reader& reader, Need need)
{
    MediaFlags media;
    if (auto object = reader.object("media", need)) {
        media.audio = object->boolean("audio", Need::Optional).value_or(true);
        media.video = object->boolean("video", Need::Optional).value_or(false);
    }
    return media;
}

// `streams`: at most kMaxStreams objects {id, type, available, msid?}, no id twice. Empty when absent.
std::vector<StreamInfo> readStreams(Reader& reader, Need need)
{
    std::vector<StreamInfo> streams;
    auto elements = reader.objects("streams", need, kMaxStreams);
    if (!elements)
        return streams;
    for (Reader& element : *elements) {
        StreamInfo stream;
        stream.id = static_cast<int>(element.integer("id", Need::Required, 0, kMaxStreamId).value_or(0));
        std::string type = element.string("type", Need::Required, 16).value_or("");
        auto known = std::find_if(kStreamTypes.begin(), kStreamTypes.end(),
                                  [&](const auto& entry) { return entry.second == type; });
        if (known != kStreamTypes.end())
            stream.type = known->first;
        else if (!element.failed())
            element.fail("type", "must be Video or ScreenSharing");
        stream.available = element.boolean("available", Need::Required).value_or(false);
        stream.msid = element.string("msid", Need::Optional, 64, true).value_or("");
        // RFC 8830's msid-id: 1 to 64 token characters.
        if (!element.failed() && stream.msid.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                               "0123456789!#$%&'*+-.^_`{|}~") != std::string::npos)
            element.fail("msid", "must be 1 to 64 token characters (RFC 8830)");
        if (element.failed())
            return {};
        if (std::any_of(streams.begin(), streams.end(), [&](const StreamInfo& s) { return s.id == stream.id; })) {
            reader.fail("streams", "must not hold the same id twice");
            return {};
        }
        streams.push_back(stream);
    }
    return streams;
}

SessionDescription readDescription(Reader& reader)
{
    SessionDescription description;
    if (auto object = reader.object("description", Need::Required)) {
        description.type = object->string("type", Need::Required, 6).value_or("");
        if (!object->failed() && description.type != "offer" && description.type != "answer")
            object->fail("type", "must be \"offer\" or \"answer\"");
        description.sdp = object->string("sdp", Need::Required, kMaxSdpLength, true).value_or("");
    }
    return description;
}

IceCandidate readCandidate(Reader& reader)
{
    IceCandidate candidate;
    if (auto object = reader.object("candidate", Need::Required)) {
        candidate.sdpMLineIndex =
            static_cast<unsigned>(object->integer("sdpMLineIndex", Need::Required, 0, kMaxMLineIndex).value_or(0));
        candidate.candidate = object->string("candidate", Need::Required, kMaxSdpLength).value_or("");
    }
    return candidate;
}

EndReason readEndReason(Reader& reader, const char* name, Need need)
{
    EndReason reason;
    if (auto object = reader.object(name, need)) {
        reason.code = static_cast<int>(object->integer("code", Need::Required, 0, G_MAXINT).value_or(0));
        reason.subCode = static_cast<int>(object->integer("subCode", Need::Required, 0, G_MAXINT).value_or(0));
        reason.message = object->string("message", Need::Optional, kMaxMessageBytes).value_or("");
    }
    return reason;
}

// Agent to server.

ClientMessage readAuth(Reader& r)
{
    AuthMessage m{r.requestId()};
    m.token = r.string("token", Need::Required, kMaxMessageBytes, true).value_or("");
    m.endpointId = r.uuid("endpointId", Need::Optional);
    return m;
}

ClientMessage readInvite(Reader& r)
{
    InviteMessage m{r.requestId(), r.uuid("callId", Need::Required)};
    if (JsonArray* targets = r.array("targets", Need::Required)) {
        guint count = json_array_get_length(targets);
        if (count == 0 || count > kMaxTargets)
            r.fail("targets", "must hold 1 to " + std::to_string(kMaxTargets) + " raw ids");
        for (guint i = 0; i < count && !r.failed(); ++i) {
            JsonNode* target = json_array_get_element(targets, i);
            if (!JSON_NODE_HOLDS_VALUE(target) || json_node_get_value_type(target) != G_TYPE_STRING ||
                !isValidRawId(json_node_get_string(target)))
                r.fail("targets", "must hold raw ids");
            else
                m.targets.emplace_back(json_node_get_string(target));
        }
    }
    m.displayName = r.string("displayName", Need::Optional, kMaxDisplayNameLength).value_or("");
    m.media = readMedia(r, Need::Optional);
    m.streams = readStreams(r, Need::Optional);
    return m;
}

ClientMessage readAccept(Reader& r)
{
    AcceptMessage m{r.requestId(), r.uuid("callId", Need::Required)};
    m.displayName = r.string("displayName", Need::Optional, kMaxDisplayNameLength).value_or("");
    m.streams = readStreams(r, Need::Optional);
    return m;
}

ClientMessage readReject(Reader& r)
{
    return RejectMessage{r.requestId(), r.uuid("callId", Need::Required)};
}

ClientMessage readHangUp(Reader& r)
{
    HangUpMessage m{r.requestId(), r.uuid("callId", Need::Required)};
    m.forEveryone = r.boolean("forEveryone", Need::Optional).value_or(false);
    return m;
}

ClientMessage readHold(Reader& r)
{
    return HoldMessage{r.requestId(), r.uuid("callId", Need::Required)};
}

ClientMessage readResume(Reader& r)
{
    return ResumeMessage{r.requestId(), r.uuid("callId", Need::Required)};
}

ClientMessage readMuteState(Reader& r)
{
    MuteStateMessage m{r.requestId(), r.uuid("callId", Need::Required)};
    m.muted = r.boolean("muted", Need::Required).value_or(false);
    return m;
}

ClientMessage readStreamsMessage(Reader& r)
{
    StreamsMessage m{r.requestId(), r.uuid("callId", Need::Required)};
    m.streams = readStreams(r, Need::Required);
    return m;
}

ClientMessage readSdp(Reader& r)
{
    SdpMessage m{r.requestId(), r.uuid("callId", Need::Required), r.rawId("to", Need::Required)};
    m.description = readDescription(r);
    return m;
}

ClientMessage readIce(Reader& r)
{
    IceMessage m{r.requestId(), r.uuid("callId", Need::Required), r.rawId("to", Need::Required)};
    m.candidate = readCandidate(r);
    return m;
}

// Server to agent.

ServerMessage readWelcome(Reader& r)
{
    WelcomeMessage m{r.requestId()};
    m.protocolVersion = static_cast<int>(r.integer("protocolVersion", Need::Required, 1, G_MAXINT).value_or(0));
    m.identity = r.rawId("identity", Need::Required);
    m.endpointId = r.uuid("endpointId", Need::Required);
    m.tokenExpiresOn = r.integer("tokenExpiresOn", Need::Required, 0, G_MAXINT64).value_or(0);
    m.graceSeconds = r.number("graceSeconds", Need::Required, 0, 1e9).value_or(0);
    return m;
}

ServerMessage readAuthRefreshed(Reader& r)
{
    AuthRefreshedMessage m{r.requestId()};
    m.tokenExpiresOn = r.integer("tokenExpiresOn", Need::Required, 0, G_MAXINT64).value_or(0);
    return m;
}

ServerMessage readAck(Reader& r)
{
    return AckMessage{r.string("requestId", Need::Required, kMaxRequestIdLength, true).value_or("")};
}

ServerMessage readError(Reader& r)
{
    ErrorMessage m{r.requestId()};
    // An error may be about a message whose callId was malformed; keep whatever string came back.
    m.callId = r.string("callId", Need::Optional, 36).value_or("");
    m.code = static_cast<int>(r.integer("code", Need::Required, 0, G_MAXINT).value_or(0));
    m.subCode = static_cast<int>(r.integer("subCode", Need::Required, 0, G_MAXINT).value_or(0));
    m.message = r.string("message", Need::Optional, kMaxMessageBytes).value_or("");
    return m;
}

ServerMessage readIncomingCall(Reader& r)
{
    IncomingCallMessage m{r.uuid("callId", Need::Required)};
    if (auto caller = r.object("caller", Need::Required)) {
        m.caller.rawId = caller->rawId("rawId", Need::Required);
        m.caller.displayName = caller->string("displayName", Need::Optional, kMaxDisplayNameLength).value_or("");
    }
    m.media = readMedia(r, Need::Required);
    return m;
}

ServerMessage readParticipantUpdated(Reader& r)
{
    ParticipantUpdatedMessage m{r.uuid("callId", Need::Required)};
    if (auto participant = r.object("participant", Need::Required)) {
        ParticipantInfo& p = m.participant;
        p.rawId = participant->rawId("rawId", Need::Required);
        p.displayName = participant->string("displayName", Need::Optional, kMaxDisplayNameLength).value_or("");
        std::string state = participant->string("state", Need::Required, 16).value_or("");
        bool known = false;
        for (const auto& [value, name] : kStates) {
            if (state == name) {
                p.state = value;
                known = true;
            }
        }
        if (!known && !participant->failed())
            participant->fail("state", "must be Ringing, Connected, Hold or Disconnected");
        p.isMuted = participant->boolean("isMuted", Need::Optional).value_or(false);
        p.streams = readStreams(*participant, Need::Optional);
        // Only a Disconnected participant says why it left.
        if (p.state == ParticipantState::Disconnected || participant->has("endReason"))
            p.endReason = readEndReason(*participant, "endReason", Need::Required);
    }
    return m;
}

ServerMessage readRemoteSdp(Reader& r)
{
    RemoteSdpMessage m{r.uuid("callId", Need::Required), r.rawId("from", Need::Required)};
    m.description = readDescription(r);
    return m;
}

ServerMessage readRemoteIce(Reader& r)
{
    RemoteIceMessage m{r.uuid("callId", Need::Required), r.rawId("from", Need::Required)};
    m.candidate = readCandidate(r);
    return m;
}

ServerMessage readCallEnded(Reader& r)
{
    CallEndedMessage m{r.uuid("callId", Need::Required)};
    m.reason = readEndReason(r, "reason", Need::Required);
    return m;
}

template <typename Message>
using ReadFunction = Message (*)(Reader&);

constexpr std::pair<std::string_view, ReadFunction<ClientMessage>> kClientReaders[] = {
    {kType<AuthMessage>, readAuth},
    {kType<InviteMessage>, readInvite},
    {kType<AcceptMessage>, readAccept},
    {kType<RejectMessage>, readReject},
    {kType<HangUpMessage>, readHangUp},
    {kType<HoldMessage>, readHold},
    {kType<ResumeMessage>, readResume},
    {kType<MuteStateMessage>, readMuteState},
    {kType<StreamsMessage>, readStreamsMessage},
    {kType<SdpMessage>, readSdp},
    {kType<IceMessage>, readIce},
};

constexpr std::pair<std::string_view, ReadFunction<ServerMessage>> kServerReaders[] = {
    {kType<WelcomeMessage>, readWelcome},
    {kType<AuthRefreshedMessage>, readAuthRefreshed},
    {kType<AckMessage>, readAck},
    {kType<ErrorMessage>, readError},
    {kType<IncomingCallMessage>, readIncomingCall},
    {kType<ParticipantUpdatedMessage>, readParticipantUpdated},
    {kType<RemoteSdpMessage>, readRemoteSdp},
    {kType<RemoteIceMessage>, readRemoteIce},
    {kType<CallEndedMessage>, readCallEnded},
};

template <typename Message, std::size_t N>
Result<Message, ProtocolError> parse(std::string_view json, std::size_t maxBytes,
                                     const std::pair<std::string_view, ReadFunction<Message>> (&readers)[N])
{
    if (json.size() > maxBytes)
        return ProtocolError{413, kTooLarge, "message is larger than " + std::to_string(maxBytes / 1024) + " KiB"};
    if (!g_utf8_validate(json.data(), static_cast<gssize>(json.size()), nullptr))
        return ProtocolError{400, kMalformed, "message is not UTF-8"};
    if (!nestingWithin(json, kMaxJsonDepth))
        return ProtocolError{400, kMalformed,
                             "message is nested deeper than " + std::to_string(kMaxJsonDepth) + " levels"};
    g_autoptr(JsonParser) parser = json_parser_new_immutable();
    // json-glib's own message quotes the input, which may hold a token: it stays out of errors.
    if (!json_parser_load_from_data(parser, json.data(), static_cast<gssize>(json.size()), nullptr))
        return ProtocolError{400, kMalformed, "message is not JSON"};
    JsonNode* root = json_parser_get_root(parser);
    if (!root || !JSON_NODE_HOLDS_OBJECT(root))
        return ProtocolError{400, kMalformed, "message must be a JSON object"};
    JsonObject* object = json_node_get_object(root);

    // What the error can carry back, read leniently before anything else is checked.
    std::string scratch;
    Reader lenient(object, "", &scratch);
    ProtocolError failure;
    failure.requestId = lenient.requestId();
    scratch.clear();
    std::string callId = lenient.uuid("callId", Need::Optional);
    failure.callId = scratch.empty() ? callId : "";

    JsonNode* typeNode = json_object_get_member(object, "type");
    if (!typeNode || !JSON_NODE_HOLDS_VALUE(typeNode) || json_node_get_value_type(typeNode) != G_TYPE_STRING) {
        failure.code = 400;
        failure.subCode = kMalformed;
        failure.message = "message has no \"type\" string";
        return failure;
    }
    std::string_view type = json_node_get_string(typeNode);
    for (const auto& [name, read] : readers) {
        if (name != type)
            continue;
        std::string problem;
        Reader reader(object, "", &problem);
        Message message = read(reader);
        if (problem.empty())
            return message;
        failure.code = 400;
        failure.subCode = kBadField;
        failure.message = std::move(problem);
        return failure;
    }
    failure.code = 400;
    failure.subCode = kUnknownType;
    failure.message = "unknown message type \"" + std::string(type.substr(0, 64)) + "\"";
    return failure;
}

// Writes one message object with json-glib.
class Writer {
public:
    explicit Writer(std::string_view type) : builder_(json_builder_new())
    {
        json_builder_begin_object(builder_);
        string("type", type);
    }
    ~Writer() { g_object_unref(builder_); }
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;

    void string(const char* name, std::string_view value)
    {
        json_builder_set_member_name(builder_, name);
        json_builder_add_string_value(builder_, std::string(value).c_str());
    }
    void optionalString(const char* name, const std::string& value)
    {
        if (!value.empty())
            string(name, value);
    }
    void integer(const char* name, gint64 value)
    {
        json_builder_set_member_name(builder_, name);
        json_builder_add_int_value(builder_, value);
    }
    void number(const char* name, double value)
    {
        json_builder_set_member_name(builder_, name);
        json_builder_add_double_value(builder_, value);
    }
    void boolean(const char* name, bool value)
    {
        json_builder_set_member_name(builder_, name);
        json_builder_add_boolean_value(builder_, value);
    }
    void beginObject(const char* name)
    {
        json_builder_set_member_name(builder_, name);
        json_builder_begin_object(builder_);
    }
    void endObject() { json_builder_end_object(builder_); }
    void stringArray(const char* name, const std::vector<std::string>& values)
    {
        json_builder_set_member_name(builder_, name);
        json_builder_begin_array(builder_);
        for (const auto& value : values)
            json_builder_add_string_value(builder_, value.c_str());
        json_builder_end_array(builder_);
    }
    void streams(const std::vector<StreamInfo>& values)
    {
        json_builder_set_member_name(builder_, "streams");
        json_builder_begin_array(builder_);
        for (const auto& stream : values) {
            json_builder_begin_object(builder_);
            integer("id", stream.id);
            string("type", toString(stream.type));
            boolean("available", stream.available);
            if (!stream.msid.empty())
                string("msid", stream.msid);
            json_builder_end_object(builder_);
        }
        json_builder_end_array(builder_);
    }
    void optionalStreams(const std::vector<StreamInfo>& values)
    {
        if (!values.empty())
            streams(values);
    }

    std::string finish()
    {
        json_builder_end_object(builder_);
        g_autoptr(JsonNode) root = json_builder_get_root(builder_);
        g_autofree char* text = json_to_string(root, FALSE);
        return text;
    }

private:
    JsonBuilder* builder_;
};

void writeMedia(Writer& w, const MediaFlags& media)
{
    w.beginObject("media");
    w.boolean("audio", media.audio);
    w.boolean("video", media.video);
    w.endObject();
}

void writeEndReason(Writer& w, const char* name, const EndReason& reason)
{
    w.beginObject(name);
    w.integer("code", reason.code);
    w.integer("subCode", reason.subCode);
    w.string("message", reason.message);
    w.endObject();
}

void writeDescription(Writer& w, const SessionDescription& description)
{
    w.beginObject("description");
    w.string("type", description.type);
    w.string("sdp", description.sdp);
    w.endObject();
}

void writeCandidate(Writer& w, const IceCandidate& candidate)
{
    w.beginObject("candidate");
    w.integer("sdpMLineIndex", candidate.sdpMLineIndex);
    w.string("candidate", candidate.candidate);
    w.endObject();
}

void writeFields(Writer& w, const AuthMessage& m)
{
    w.optionalString("requestId", m.requestId);
    w.string("token", m.token);
    w.optionalString("endpointId", m.endpointId);
}

void writeFields(Writer& w, const InviteMessage& m)
{
    w.optionalString("requestId", m.requestId);
    w.string("callId", m.callId);
    w.stringArray("targets", m.targets);
    w.string("displayName", m.displayName);
    writeMedia(w, m.media);
    w.optionalStreams(m.streams);
}

void writeFields(Writer& w, const AcceptMessage& m)
{
    w.optionalString("requestId", m.requestId);
    w.string("callId", m.callId);
    w.string("displayName", m.displayName);
    w.optionalStreams(m.streams);
}

void writeRequest(Writer& w, const std::string& requestId, const std::string& callId)
{
    w.optionalString("requestId", requestId);
    w.string("callId", callId);
}

void writeFields(Writer& w, const RejectMessage& m) { writeRequest(w, m.requestId, m.callId); }
void writeFields(Writer& w, const HoldMessage& m) { writeRequest(w, m.requestId, m.callId); }
void writeFields(Writer& w, const ResumeMessage& m) { writeRequest(w, m.requestId, m.callId); }

void writeFields(Writer& w, const HangUpMessage& m)
{
    writeRequest(w, m.requestId, m.callId);
    w.boolean("forEveryone", m.forEveryone);
}

void writeFields(Writer& w, const MuteStateMessage& m)
{
    writeRequest(w, m.requestId, m.callId);
    w.boolean("muted", m.muted);
}

void writeFields(Writer& w, const StreamsMessage& m)
{
    writeRequest(w, m.requestId, m.callId);
    w.streams(m.streams);
}

void writeFields(Writer& w, const SdpMessage& m)
{
    writeRequest(w, m.requestId, m.callId);
    w.string("to", m.to);
    writeDescription(w, m.description);
}

void writeFields(Writer& w, const IceMessage& m)
{
    writeRequest(w, m.requestId, m.callId);
    w.string("to", m.to);
    writeCandidate(w, m.candidate);
}

void writeFields(Writer& w, const WelcomeMessage& m)
{
    w.optionalString("requestId", m.requestId);
    w.integer("protocolVersion", m.protocolVersion);
    w.string("identity", m.identity);
    w.string("endpointId", m.endpointId);
    w.integer("tokenExpiresOn", m.tokenExpiresOn);
    // Whole seconds as an integer, as the documentation shows them; fractions (tests) as they are.
    if (m.graceSeconds == static_cast<double>(static_cast<gint64>(m.graceSeconds)))
        w.integer("graceSeconds", static_cast<gint64>(m.graceSeconds));
    else
        w.number("graceSeconds", m.graceSeconds);
}

void writeFields(Writer& w, const AuthRefreshedMessage& m)
{
    w.optionalString("requestId", m.requestId);
    w.integer("tokenExpiresOn", m.tokenExpiresOn);
}

void writeFields(Writer& w, const AckMessage& m) { w.string("requestId", m.requestId); }

void writeFields(Writer& w, const ErrorMessage& m)
{
    w.optionalString("requestId", m.requestId);
    w.optionalString("callId", m.callId);
    w.integer("code", m.code);
    w.integer("subCode", m.subCode);
    w.string("message", m.message);
}

void writeFields(Writer& w, const IncomingCallMessage& m)
{
    w.string("callId", m.callId);
    w.beginObject("caller");
    w.string("rawId", m.caller.rawId);
    w.string("displayName", m.caller.displayName);
    w.endObject();
    writeMedia(w, m.media);
}

void writeFields(Writer& w, const ParticipantUpdatedMessage& m)
{
    w.string("callId", m.callId);
    w.beginObject("participant");
    w.string("rawId", m.participant.rawId);
    w.string("displayName", m.participant.displayName);
    w.string("state", toString(m.participant.state));
    w.boolean("isMuted", m.participant.isMuted);
    w.optionalStreams(m.participant.streams);
    if (m.participant.endReason)
        writeEndReason(w, "endReason", *m.participant.endReason);
    w.endObject();
}

void writeFields(Writer& w, const RemoteSdpMessage& m)
{
    w.string("callId", m.callId);
    w.string("from", m.from);
    writeDescription(w, m.description);
}

void writeFields(Writer& w, const RemoteIceMessage& m)
{
    w.string("callId", m.callId);
    w.string("from", m.from);
    writeCandidate(w, m.candidate);
}

void writeFields(Writer& w, const CallEndedMessage& m)
{
    w.string("callId", m.callId);
    writeEndReason(w, "reason", m.reason);
}

template <typename Variant>
std::string write(const Variant& message)
{
    return std::visit(
        [](const auto& m) {
            Writer writer(kType<std::decay_t<decltype(m)>>);
            writeFields(writer, m);
            return writer.finish();
        },
        message);
}

}  // namespace

std::string_view toString(ParticipantState state)
{
    for (const auto& [value, name] : kStates) {
        if (value == state)
            return name;
    }
    return "Disconnected";
}

std::string_view toString(StreamType type)
{
    for (const auto& [value, name] : kStreamTypes) {
        if (value == type)
            return name;
    }
    return "Video";
}

bool isValidRawId(std::string_view rawId)
{
    if (rawId.empty() || !g_utf8_validate(rawId.data(), static_cast<gssize>(rawId.size()), nullptr) ||
        characters(rawId) > kMaxRawIdLength)
        return false;
    for (const char* p = rawId.data(); p < rawId.data() + rawId.size(); p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);
        if (g_unichar_isspace(c) || g_unichar_iscntrl(c))
            return false;
    }
    return true;
}

Result<ClientMessage, ProtocolError> parseClientMessage(std::string_view json)
{
    return parse<ClientMessage>(json, kMaxMessageBytes, kClientReaders);
}

Result<ServerMessage, ProtocolError> parseServerMessage(std::string_view json)
{
    return parse<ServerMessage>(json, kMaxServerMessageBytes, kServerReaders);
}

std::string serialize(const ClientMessage& message)
{
    return write(message);
}

std::string serialize(const ServerMessage& message)
{
    return write(message);
}

std::string_view messageType(const ClientMessage& message)
{
    return std::visit([](const auto& m) { return kType<std::decay_t<decltype(m)>>; }, message);
}

std::string_view messageType(const ServerMessage& message)
{
    return std::visit([](const auto& m) { return kType<std::decay_t<decltype(m)>>; }, message);
}

const std::string& requestIdOf(const ClientMessage& message)
{
    return std::visit([](const auto& m) -> const std::string& { return m.requestId; }, message);
}

const std::string& callIdOf(const ClientMessage& message)
{
    static const std::string kNone;
    return std::visit(
        [](const auto& m) -> const std::string& {
            if constexpr (requires { m.callId; })
                return m.callId;
            else
                return kNone;
        },
        message);
}

}  // namespace calling::protocol
