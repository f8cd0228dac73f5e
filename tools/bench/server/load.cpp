#include "load.h"

#include "sdp.h"

#include "protocol/crypto.h"
#include "protocol/request_signing.h"

#include <json-glib/json-glib.h>

#include <algorithm>
#include <variant>

namespace bench {

using namespace calling::protocol;

namespace {

constexpr const char* kCreateIdentityPath = "/identities?api-version=2023-10-01";
// The longest a token may live (docs/identity.md): a full-size run must not outlive its tokens.
constexpr const char* kCreateIdentityBody = R"({"createTokenWithScopes":["voip"],"expiresInMinutes":1440})";

// A string member at a dotted path of a JSON object ("identity.id"); empty when absent.
std::string member(JsonNode* root, const char* dottedPath)
{
    JsonNode* node = root;
    g_auto(GStrv) parts = g_strsplit(dottedPath, ".", -1);
    for (char** part = parts; node && *part; ++part) {
        if (!JSON_NODE_HOLDS_OBJECT(node))
            return {};
        node = json_object_get_member(json_node_get_object(node), *part);
    }
    if (!node || !JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING)
        return {};
    return json_node_get_string(node);
}

std::string describe(const EndReason& reason)
{
    return std::to_string(reason.code) + "/" + std::to_string(reason.subCode) + " (" + reason.message + ")";
}

}  // namespace

Load::Load(ConnectionString connection)
    : connection_(std::move(connection)), key_(base64Decode(connection_.accessKey).value_or(""))
{
    g_autoptr(GUri) uri = g_uri_parse(connection_.endpoint.c_str(), G_URI_FLAGS_NONE, nullptr);
    host_ = std::string(g_uri_get_host(uri)) + ":" + std::to_string(g_uri_get_port(uri));
    // The session's pool bounds how many requests and handshakes are on the wire at once; the
    // windows below are the real bounds, so the pools must not be narrower.
    http_ = adopt(soup_session_new_with_options("max-conns", 64, "max-conns-per-host", 64, nullptr));
    // No I/O timeout on agents' sockets: they sit idle for minutes between the server's pings, and
    // every phase has its own deadline.
    sockets_ = adopt(
        soup_session_new_with_options("max-conns", 1024, "max-conns-per-host", 1024, "timeout", 0, nullptr));
}

Load::~Load()
{
    stopping_ = true;
    for (auto& agent : agents_) {
        if (agent->socket)
            g_signal_handlers_disconnect_by_data(agent->socket.get(), agent.get());
    }
}

void Load::fail(std::string why)
{
    std::lock_guard lock(failureLock_);
    if (failure_.empty())
        failure_ = std::move(why);
    failed_ = true;
}

std::string Load::failure() const
{
    std::lock_guard lock(failureLock_);
    return failure_;
}

std::string Load::nextRequestId()
{
    return std::to_string(++requestCounter_);
}

void Load::createIdentities(int count, int window)
{
    identitiesWanted_ = count;
    identityWindow_ = window;
    agents_.reserve(count);
    while (identitiesPending_ < identityWindow_ && identitiesRequested_ < identitiesWanted_)
        requestIdentity();
}

void Load::requestIdentity()
{
    ++identitiesRequested_;
    ++identitiesPending_;
    std::string url = connection_.endpoint.substr(0, connection_.endpoint.size() - 1) + kCreateIdentityPath;
    SoupMessage* message = soup_message_new("POST", url.c_str());
    std::string_view body = kCreateIdentityBody;
    auto signedHeaders =
        signRequest("POST", kCreateIdentityPath, host_, body, key_, g_get_real_time() / G_USEC_PER_SEC);
    SoupMessageHeaders* headers = soup_message_get_request_headers(message);
    soup_message_headers_replace(headers, "x-ms-date", signedHeaders.date.c_str());
    soup_message_headers_replace(headers, "x-ms-content-sha256", signedHeaders.contentHash.c_str());
    soup_message_headers_replace(headers, "Authorization", signedHeaders.authorization.c_str());
    g_autoptr(GBytes) bytes = g_bytes_new_static(body.data(), body.size());
    soup_message_set_request_body_from_bytes(message, "application/json", bytes);
    soup_session_send_and_read_async(http_.get(), message, G_PRIORITY_DEFAULT, nullptr, onIdentity, this);
    g_object_unref(message);
}

void Load::onIdentity(GObject* source, GAsyncResult* result, gpointer data)
{
    auto* self = static_cast<Load*>(data);
    --self->identitiesPending_;
    g_autoptr(GError) error = nullptr;
    g_autoptr(GBytes) reply = soup_session_send_and_read_finish(SOUP_SESSION(source), result, &error);
    SoupMessage* message = soup_session_get_async_result_message(SOUP_SESSION(source), result);
    if (!reply) {
        self->fail(std::string("identity API request failed: ") + error->message);
        return;
    }
    gsize size = 0;
    auto* text = static_cast<const char*>(g_bytes_get_data(reply, &size));
    guint status = soup_message_get_status(message);
    if (status != SOUP_STATUS_CREATED) {
        self->fail("the identity API answered " + std::to_string(status) + ": " + std::string(text ? text : "", size));
        return;
    }
    g_autoptr(JsonParser) parser = json_parser_new();
    JsonNode* root = nullptr;
    if (text && json_parser_load_from_data(parser, text, gssize(size), nullptr))
        root = json_parser_get_root(parser);
    auto agent = std::make_unique<Agent>();
    agent->load = self;
    agent->index = static_cast<int>(self->agents_.size());
    agent->identity = root ? member(root, "identity.id") : "";
    agent->token = root ? member(root, "accessToken.token") : "";
    if (agent->identity.empty() || agent->token.empty()) {
        self->fail("the identity API's answer has no identity or token: " + std::string(text ? text : "", size));
        return;
    }
    self->agents_.push_back(std::move(agent));
    ++self->identitiesCreated_;
    if (!self->failed() && self->identitiesRequested_ < self->identitiesWanted_)
        self->requestIdentity();
}

void Load::connectAgents(int window)
{
    connectWindow_ = window;
    connecting_ = true;
    for (int i = 0; i < window; ++i)
        connectNext();
}

// Keeps `connectWindow_` agents between the upgrade request and their welcome.
void Load::connectNext()
{
    if (failed() || connectNext_ >= static_cast<int>(agents_.size()) ||
        connectNext_ - welcomed_ >= connectWindow_)
        return;
    Agent& agent = *agents_[connectNext_++];
    std::string url = "ws://" + host_ + "/signalling/v1";
    SoupMessage* message = soup_message_new("GET", url.c_str());
    std::string authorization = "Bearer " + agent.token;
    soup_message_headers_replace(soup_message_get_request_headers(message), "Authorization", authorization.c_str());
    soup_session_websocket_connect_async(sockets_.get(), message, nullptr, nullptr, G_PRIORITY_DEFAULT, nullptr,
                                         onConnected, &agent);
    g_object_unref(message);
}

void Load::onConnected(GObject* source, GAsyncResult* result, gpointer data)
{
    auto* agent = static_cast<Agent*>(data);
    Load* self = agent->load;
    g_autoptr(GError) error = nullptr;
    SoupWebsocketConnection* socket = soup_session_websocket_connect_finish(SOUP_SESSION(source), result, &error);
    if (!socket) {
        SoupMessage* message = soup_session_get_async_result_message(SOUP_SESSION(source), result);
        self->fail("agent " + std::to_string(agent->index) + ": the upgrade failed (HTTP " +
                   std::to_string(message ? soup_message_get_status(message) : 0) + "): " + error->message);
        return;
    }
    agent->socket = adopt(socket);
    // The server never sends more than a relayed SDP in one message.
    soup_websocket_connection_set_max_incoming_payload_size(socket, 1024 * 1024);
    g_signal_connect(socket, "message", G_CALLBACK(onSocketMessage), agent);
    g_signal_connect(socket, "closed", G_CALLBACK(onSocketClosed), agent);
}

void Load::onSocketMessage(SoupWebsocketConnection*, gint type, GBytes* bytes, gpointer data)
{
    auto* agent = static_cast<Agent*>(data);
    gsize size = 0;
    auto* text = static_cast<const char*>(g_bytes_get_data(bytes, &size));
    if (type != SOUP_WEBSOCKET_DATA_TEXT) {
        agent->load->fail("agent " + std::to_string(agent->index) + ": the server sent a binary frame");
        return;
    }
    agent->load->received(*agent, std::string_view(text ? text : "", size));
}

void Load::onSocketClosed(SoupWebsocketConnection* socket, gpointer data)
{
    auto* agent = static_cast<Agent*>(data);
    if (agent->load->stopping_)
        return;
    const char* why = soup_websocket_connection_get_close_data(socket);
    agent->load->fail("agent " + std::to_string(agent->index) + ": the server closed the connection (" +
                      std::to_string(soup_websocket_connection_get_close_code(socket)) + " " + (why ? why : "") +
                      ")");
}

void Load::received(Agent& agent, std::string_view text)
{
    auto parsed = parseServerMessage(text);
    if (!parsed) {
        fail("agent " + std::to_string(agent.index) + ": unparsable message from the server: " +
             parsed.error().message);
        return;
    }
    handle(agent, parsed.value());
}

void Load::send(Agent& agent, const ClientMessage& message)
{
    if (soup_websocket_connection_get_state(agent.socket.get()) != SOUP_WEBSOCKET_STATE_OPEN) {
        fail("agent " + std::to_string(agent.index) + ": its connection is not open to send " +
             std::string(messageType(message)));
        return;
    }
    soup_websocket_connection_send_text(agent.socket.get(), serialize(message).c_str());
}

void Load::handle(Agent& agent, const ServerMessage& message)
{
    std::string who = "agent " + std::to_string(agent.index);
    if (const auto* welcome = std::get_if<WelcomeMessage>(&message)) {
        if (!agent.endpointId.empty()) {
            fail(who + ": a second welcome");
            return;
        }
        agent.endpointId = welcome->endpointId;
        ++welcomed_;
        connectNext();
        return;
    }
    if (const auto* error = std::get_if<ErrorMessage>(&message)) {
        fail(who + ": the server answered error " + std::to_string(error->code) + "/" +
             std::to_string(error->subCode) + " (" + error->message + ")" +
             (error->callId.empty() ? "" : " in call " + error->callId));
        return;
    }
    if (std::holds_alternative<AckMessage>(message))
        return;

    // Everything else belongs to a call.
    std::string callId;
    std::visit(
        [&](const auto& m) {
            if constexpr (requires { m.callId; })
                callId = m.callId;
        },
        message);
    auto found = calls_.find(callId);
    if (found == calls_.end()) {
        fail(who + ": " + std::string(messageType(message)) + " about an unknown call " + callId);
        return;
    }
    Call& call = found->second;
    bool isCaller = &agent == call.caller;

    if (const auto* incoming = std::get_if<IncomingCallMessage>(&message)) {
        if (isCaller || incoming->caller.rawId != call.caller->identity) {
            fail(who + ": an incomingCall it should not get");
            return;
        }
        send(agent, AcceptMessage{nextRequestId(), callId, "Bench callee",
                                  {StreamInfo{1, StreamType::Video, true, ""}}});
    } else if (const auto* update = std::get_if<ParticipantUpdatedMessage>(&message)) {
        // The caller offers once the callee is Connected (docs/protocol.md: only the caller offers).
        if (isCaller && update->participant.state == ParticipantState::Connected && !call.answered)
            send(agent, SdpMessage{"", callId, call.callee->identity, {"offer", offerSdp(call.session)}});
    } else if (const auto* sdp = std::get_if<RemoteSdpMessage>(&message)) {
        if (!isCaller && sdp->description.type == "offer") {
            send(agent, SdpMessage{"", callId, call.caller->identity, {"answer", answerSdp(call.session)}});
        } else if (isCaller && sdp->description.type == "answer") {
            call.answered = true;
            setupMs_.push_back(double(g_get_monotonic_time() - call.invitedUs) / 1000.0);
            send(agent, HangUpMessage{nextRequestId(), callId, false});
        } else {
            fail(who + ": an unexpected " + sdp->description.type);
        }
    } else if (const auto* ended = std::get_if<CallEndedMessage>(&message)) {
        if (ended->reason.code != 0 || ended->reason.subCode != 0 || !call.answered) {
            fail(who + ": call " + callId + " ended with " + describe(ended->reason) +
                 (call.answered ? "" : " before the answer"));
            return;
        }
        (isCaller ? call.callerEnded : call.calleeEnded) = true;
        if (call.callerEnded && call.calleeEnded) {
            freePairs_.push_back(call.pair);
            calls_.erase(found);
            ++setupsDone_;
            startCall();
        }
    }
}

void Load::runSetups(int count, int concurrency)
{
    setupsWanted_ = count;
    setupMs_.reserve(count);
    // Calls go round all the pairs, so that every agent's connection carries calls, not only the
    // first few.
    int pairs = static_cast<int>(agents_.size()) / 2;
    for (int pair = 0; pair < pairs; ++pair)
        freePairs_.push_back(pair);
    for (int i = 0; i < std::min(concurrency, pairs); ++i)
        startCall();
}

void Load::startCall()
{
    if (failed() || setupsStarted_ >= setupsWanted_ || freePairs_.empty())
        return;
    ++setupsStarted_;
    int pair = freePairs_.front();
    freePairs_.pop_front();
    g_autofree char* callId = g_uuid_string_random();
    Call call;
    call.caller = agents_[2 * pair].get();
    call.callee = agents_[2 * pair + 1].get();
    call.pair = pair;
    call.session = g_random_int() * 1000000ULL + static_cast<unsigned long long>(setupsStarted_);
    call.invitedUs = g_get_monotonic_time();
    Agent& caller = *call.caller;
    std::string callee = call.callee->identity;
    calls_.emplace(callId, call);
    send(caller, InviteMessage{nextRequestId(), callId, {callee}, "Bench caller", MediaFlags{true, true},
                               {StreamInfo{1, StreamType::Video, true, ""}}});
}

}  // namespace bench
