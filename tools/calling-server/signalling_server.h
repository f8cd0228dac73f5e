// The signalling endpoint, GET /signalling/v1 upgraded to a WebSocket (docs/protocol.md): checks
// the access token (before the upgrade when it comes as `Authorization: Bearer`, as the first
// message otherwise), keeps the registry of agent connections by endpoint, parses what agents send
// and hands it to CallControl, whose answers it delivers. Runs on the thread-default GMainContext
// of the thread that constructs it, the same as HttpServer's.
#pragma once

#include "agent_connection.h"
#include "call_control.h"
#include "clock.h"
#include "token_verifier.h"

#include "protocol/glib_ptr.h"

#include <libsoup/soup.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace calling::server {

struct SignallingOptions {
    double ringTimeoutSeconds = 30;
    double gracePeriodSeconds = 10;
    double authTimeoutSeconds = 10;  // for the first `auth` message
};

class SignallingServer final : private CallControlOutput, private AgentConnection::Listener {
public:
    static constexpr const char* kPath = "/signalling/v1";
    static constexpr int kCloseUnauthorized = 4401;
    // Above the protocol's 64 KiB so that a larger message is answered with 413/40003 rather
    // than dropping the connection; libsoup closes with 1009 beyond it.
    static constexpr uint64_t kMaxIncomingPayloadBytes = 1024 * 1024;
    // Connections without an Authorization header, from the upgrade request until their `auth`
    // succeeded or they closed; beyond this, upgrade requests without one get HTTP 503 (503/50300).
    static constexpr std::size_t kMaxUnauthenticatedConnections = 256;
    // What each connection may send: a token bucket; a message beyond it gets 429/40029 and is dropped.
    static constexpr double kMessagesPerSecond = 200;
    static constexpr double kMessageBurst = 400;

    SignallingServer(const TokenVerifier& verifier, Clock& clock, const SignallingOptions& options);
    ~SignallingServer() override;
    SignallingServer(const SignallingServer&) = delete;
    SignallingServer& operator=(const SignallingServer&) = delete;

    // Adds the signalling route to `server`, before it listens. `earlyHandler` is the one every
    // other route has (it bounds request bodies).
    void install(SoupServer* server, SoupServerCallback earlyHandler, gpointer earlyData);

private:
    // One of the kMaxUnauthenticatedConnections places, held from the upgrade request (on the
    // message) until the connection authenticated or closed; the count outlives the server.
    class Slot {
    public:
        explicit Slot(std::shared_ptr<std::size_t> count) : count_(std::move(count)) { ++*count_; }
        ~Slot() { --*count_; }
        Slot(const Slot&) = delete;
        Slot& operator=(const Slot&) = delete;

    private:
        std::shared_ptr<std::size_t> count_;
    };

    static void onRequest(SoupServer*, SoupServerMessage* message, const char* path, GHashTable*, gpointer self);
    static void onUpgraded(SoupServer*, SoupServerMessage* message, const char* path,
                           SoupWebsocketConnection* connection, gpointer self);
    static gboolean onDetachIdle(gpointer self);

    void upgraded(SoupServerMessage* message, SoupWebsocketConnection* connection);
    void authenticated(AgentConnection& connection, const protocol::TokenGrant& grant,
                       const std::string& resumeEndpointId, const std::string& requestId);
    // The 401/4507 error, then close code 4401.
    void refuse(AgentConnection& connection, const std::string& requestId, const std::string& why);
    // Whether the message is within the connection's rate; otherwise answers it with 429/40029.
    bool withinRate(AgentConnection& connection, bool text, std::string_view data);

    // CallControlOutput
    void send(const std::string& endpointId, const protocol::ServerMessage& message) override;
    void close(const std::string& endpointId, int closeCode, const std::string& reason) override;
    // AgentConnection::Listener
    void onMessage(AgentConnection& connection, bool text, std::string_view data) override;
    void onClosed(AgentConnection& connection) override;
    void onAuthTimeout(AgentConnection& connection) override;

    const TokenVerifier& verifier_;
    SignallingOptions options_;
    CallControl control_;
    std::map<AgentConnection*, std::unique_ptr<AgentConnection>> connections_;
    std::map<std::string, AgentConnection*> byEndpoint_;
    std::shared_ptr<std::size_t> unauthenticated_ = std::make_shared<std::size_t>(0);
    std::map<AgentConnection*, std::unique_ptr<Slot>> slots_;
    // Connections lost, told to call control from the main loop rather than from inside libsoup.
    std::vector<std::string> lostEndpoints_;
    protocol::SourcePtr detachIdle_;
    uint64_t lastSerial_ = 0;
};

}  // namespace calling::server
