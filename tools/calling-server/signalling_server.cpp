#include "signalling_server.h"

#include "identity_api.h"
#include "keep_alive.h"

#include <glib.h>

#include <cmath>

namespace calling::server {

using namespace calling::protocol;

namespace {

// What the pre-upgrade handler leaves on the message for the upgrade callback.
constexpr const char* kGrantKey = "calling-token-grant";
constexpr const char* kResumeKey = "calling-resume-endpoint";
constexpr const char* kSlotKey = "calling-unauthenticated-slot";
constexpr int kKeepaliveSeconds = 30;

int64_t milliseconds(double seconds)
{
    return static_cast<int64_t>(std::llround(seconds * 1000.0));
}

void respondJson(SoupServerMessage* message, int status, const std::string& body)
{
    closeAfterResponse(message);
    soup_server_message_set_status(message, static_cast<guint>(status), nullptr);
    soup_server_message_set_response(message, "application/json", SOUP_MEMORY_COPY, body.data(), body.size());
}

}  // namespace

SignallingServer::SignallingServer(const TokenVerifier& verifier, Clock& clock, const SignallingOptions& options)
    : verifier_(verifier), options_(options),
      control_(*this, verifier, clock,
               CallControlConfig{milliseconds(options.ringTimeoutSeconds), milliseconds(options.gracePeriodSeconds)})
{
}

SignallingServer::~SignallingServer() = default;

void SignallingServer::install(SoupServer* server, SoupServerCallback earlyHandler, gpointer earlyData)
{
    // Agents' messages are small JSON; compression would only give a way around the size limits.
    soup_server_remove_websocket_extension(server, SOUP_TYPE_WEBSOCKET_EXTENSION_DEFLATE);
    soup_server_add_early_handler(server, kPath, earlyHandler, earlyData, nullptr);
    soup_server_add_handler(server, kPath, onRequest, this, nullptr);
    soup_server_add_websocket_handler(server, kPath, nullptr, nullptr, onUpgraded, this, nullptr);
}

// Runs before libsoup checks the handshake: a status set here refuses the upgrade.
void SignallingServer::onRequest(SoupServer*, SoupServerMessage* message, const char* path, GHashTable* query,
                                 gpointer data)
{
    auto* self = static_cast<SignallingServer*>(data);
    const char* method = soup_server_message_get_method(message);
    if (std::string_view(path) != kPath) {
        ApiResponse notFound = errorResponse(404, "NotFound", "no such route");
        respondJson(message, notFound.status, notFound.body);
        g_info("%s %s -> 404", method, path);
        return;
    }
    auto refuse = [&](int status, int subCode, const std::string& why) {
        if (status == 401)
            soup_message_headers_replace(soup_server_message_get_response_headers(message), "WWW-Authenticate",
                                         "Bearer");
        if (status == 503)
            soup_message_headers_replace(soup_server_message_get_response_headers(message), "Retry-After", "1");
        respondJson(message, status, serialize(ServerMessage(ErrorMessage{"", "", status, subCode, why})));
        g_info("%s %s -> %d (%s)", method, path, status, why.c_str());
    };

    auto* resume = query ? static_cast<const char*>(g_hash_table_lookup(query, "endpointId")) : nullptr;
    if (resume && !g_uuid_string_is_valid(resume)) {
        refuse(400, 40002, "endpointId must be a UUID");
        return;
    }
    if (const char* authorization =
            soup_message_headers_get_one(soup_server_message_get_request_headers(message), "Authorization")) {
        if (g_ascii_strncasecmp(authorization, "Bearer ", 7) != 0) {
            refuse(401, 4507, "the Authorization header must be \"Bearer <access token>\"");
            return;
        }
        g_autofree char* token = g_strstrip(g_strdup(authorization + 7));
        auto verified = self->verifier_.verify(token);
        if (!verified) {
            refuse(401, 4507, verified.error().message);
            return;
        }
        g_object_set_data_full(G_OBJECT(message), kGrantKey, new TokenGrant(verified.value()),
                               [](gpointer grant) { delete static_cast<TokenGrant*>(grant); });
    } else {
        if (*self->unauthenticated_ >= kMaxUnauthenticatedConnections) {
            refuse(503, 50300, "too many connections waiting to authenticate; try again later");
            return;
        }
        // Released with the message unless the upgrade takes it over.
        g_object_set_data_full(G_OBJECT(message), kSlotKey, new Slot(self->unauthenticated_),
                               [](gpointer slot) { delete static_cast<Slot*>(slot); });
    }
    if (resume)
        g_object_set_data_full(G_OBJECT(message), kResumeKey, g_strdup(resume), g_free);
}

void SignallingServer::onUpgraded(SoupServer*, SoupServerMessage* message, const char*,
                                  SoupWebsocketConnection* connection, gpointer self)
{
    static_cast<SignallingServer*>(self)->upgraded(message, connection);
}

void SignallingServer::upgraded(SoupServerMessage* message, SoupWebsocketConnection* connection)
{
    soup_websocket_connection_set_max_incoming_payload_size(connection, kMaxIncomingPayloadBytes);
    soup_websocket_connection_set_keepalive_interval(connection, kKeepaliveSeconds);
    AgentConnection::Listener& listener = *this;
    auto owned = std::make_unique<AgentConnection>(
        connection, listener, ++lastSerial_,
        TokenBucket(kMessagesPerSecond, kMessageBurst, g_get_monotonic_time() / 1000));
    AgentConnection& agent = *owned;
    connections_[&agent] = std::move(owned);
    if (auto* slot = static_cast<Slot*>(g_object_steal_data(G_OBJECT(message), kSlotKey)))
        slots_[&agent].reset(slot);

    auto* grant = static_cast<const TokenGrant*>(g_object_get_data(G_OBJECT(message), kGrantKey));
    auto* resume = static_cast<const char*>(g_object_get_data(G_OBJECT(message), kResumeKey));
    g_info("GET %s -> 101 (connection %" G_GUINT64_FORMAT ")", kPath, agent.serial());
    if (grant)
        authenticated(agent, *grant, resume ? resume : "", "");
    else
        agent.startAuthTimer(milliseconds(options_.authTimeoutSeconds));
}

void SignallingServer::authenticated(AgentConnection& connection, const TokenGrant& grant,
                                     const std::string& resumeEndpointId, const std::string& requestId)
{
    connection.stopAuthTimer();
    slots_.erase(&connection);
    // May close the connection that had the endpoint so far, which unbinds it here.
    WelcomeMessage welcome = control_.attach(grant, resumeEndpointId, requestId);
    connection.bind(welcome.endpointId);
    byEndpoint_[welcome.endpointId] = &connection;
    connection.send(welcome);
    control_.ready(welcome.endpointId);
}

void SignallingServer::refuse(AgentConnection& connection, const std::string& requestId, const std::string& why)
{
    g_info("connection %" G_GUINT64_FORMAT ": refused (%s)", connection.serial(), why.c_str());
    connection.send(ErrorMessage{requestId, "", 401, 4507, why});
    connection.close(kCloseUnauthorized, "unauthorized");
}

bool SignallingServer::withinRate(AgentConnection& connection, bool text, std::string_view data)
{
    bool within = connection.admitMessage(g_get_monotonic_time() / 1000);
    if (within != !connection.overRate()) {
        connection.setOverRate(!within);
        if (within)
            g_info("connection %" G_GUINT64_FORMAT ": back within the message rate", connection.serial());
        else
            g_info("connection %" G_GUINT64_FORMAT ": over the message rate, dropping messages", connection.serial());
    }
    if (within)
        return true;
    // Answered with what can be read of it, so that a request does not wait for nothing.
    ErrorMessage error{"", "", 429, 40029, "too many messages; this one was dropped"};
    if (text) {
        auto parsed = parseClientMessage(data);
        error.requestId = parsed ? requestIdOf(parsed.value()) : parsed.error().requestId;
        error.callId = parsed ? callIdOf(parsed.value()) : parsed.error().callId;
    }
    connection.send(error);
    return false;
}

void SignallingServer::onMessage(AgentConnection& connection, bool text, std::string_view data)
{
    if (!connection.isOpen())
        return;  // refused or closing: whatever was still in flight is moot
    if (!withinRate(connection, text, data))
        return;
    if (connection.endpointId().empty()) {
        // Nothing but `auth` before authentication.
        if (!text) {
            refuse(connection, "", "the first message must be auth");
            return;
        }
        auto parsed = parseClientMessage(data);
        if (!parsed) {
            refuse(connection, parsed.error().requestId, "the first message must be a valid auth: " + parsed.error().message);
            return;
        }
        const auto* auth = std::get_if<AuthMessage>(&parsed.value());
        if (!auth) {
            refuse(connection, requestIdOf(parsed.value()), "the first message must be auth");
            return;
        }
        auto verified = verifier_.verify(auth->token);
        if (!verified) {
            refuse(connection, auth->requestId, verified.error().message);
            return;
        }
        authenticated(connection, verified.value(), auth->endpointId, auth->requestId);
        return;
    }
    if (!text) {
        connection.send(ErrorMessage{"", "", 400, 40000, "messages are JSON text, not binary"});
        return;
    }
    auto parsed = parseClientMessage(data);
    if (!parsed) {
        // Codes only: the message may quote what the agent sent.
        g_debug("connection %" G_GUINT64_FORMAT ": refused a message, %d/%d", connection.serial(),
                parsed.error().code, parsed.error().subCode);
        connection.send(parsed.error().toMessage());
        return;
    }
    std::string endpointId = connection.endpointId();
    control_.handle(endpointId, parsed.value());
}

void SignallingServer::onAuthTimeout(AgentConnection& connection)
{
    refuse(connection, "", "no auth message in time");
}

void SignallingServer::onClosed(AgentConnection& connection)
{
    std::string endpointId = connection.endpointId();
    g_info("connection %" G_GUINT64_FORMAT " closed", connection.serial());
    if (!endpointId.empty()) {
        auto bound = byEndpoint_.find(endpointId);
        if (bound != byEndpoint_.end() && bound->second == &connection)
            byEndpoint_.erase(bound);
        lostEndpoints_.push_back(endpointId);
        if (!detachIdle_) {
            detachIdle_ = SourcePtr(g_idle_source_new());
            g_source_set_callback(detachIdle_.get(), onDetachIdle, this, nullptr);
            g_source_attach(detachIdle_.get(), g_main_context_get_thread_default());
        }
    }
    slots_.erase(&connection);
    connections_.erase(&connection);
}

gboolean SignallingServer::onDetachIdle(gpointer data)
{
    auto* self = static_cast<SignallingServer*>(data);
    std::vector<std::string> lost = std::move(self->lostEndpoints_);
    self->lostEndpoints_.clear();
    self->detachIdle_.reset();
    for (const auto& endpointId : lost) {
        // An endpoint taken over by a new connection meanwhile is not lost.
        if (!self->byEndpoint_.contains(endpointId))
            self->control_.detach(endpointId);
    }
    return G_SOURCE_REMOVE;
}

void SignallingServer::send(const std::string& endpointId, const ServerMessage& message)
{
    if (auto found = byEndpoint_.find(endpointId); found != byEndpoint_.end())
        found->second->send(message);
}

void SignallingServer::close(const std::string& endpointId, int closeCode, const std::string& reason)
{
    auto found = byEndpoint_.find(endpointId);
    if (found == byEndpoint_.end())
        return;
    AgentConnection* connection = found->second;
    byEndpoint_.erase(found);
    connection->unbind();
    connection->close(closeCode, reason);
}

}  // namespace calling::server
