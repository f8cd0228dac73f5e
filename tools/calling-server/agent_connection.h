// One agent's WebSocket on the server, from the upgrade to the close: it frames and unframes, and
// times the in-band authentication. What the messages mean is SignallingServer's and CallControl's
// business. Runs on the server's main context.
#pragma once

#include "token_bucket.h"

#include "protocol/glib_ptr.h"
#include "protocol/messages.h"

#include <libsoup/soup.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace calling::server {

class AgentConnection {
public:
    class Listener {
    public:
        virtual ~Listener() = default;
        virtual void onMessage(AgentConnection& connection, bool text, std::string_view data) = 0;
        // May destroy the connection.
        virtual void onClosed(AgentConnection& connection) = 0;
        virtual void onAuthTimeout(AgentConnection& connection) = 0;
    };

    // `messageRate` limits what the agent may send (SignallingServer's business to enforce).
    AgentConnection(SoupWebsocketConnection* connection, Listener& listener, uint64_t serial, TokenBucket messageRate);
    ~AgentConnection();
    AgentConnection(const AgentConnection&) = delete;
    AgentConnection& operator=(const AgentConnection&) = delete;

    uint64_t serial() const { return serial_; }  // for logs
    bool isOpen() const;

    // The endpoint this connection speaks for, once authenticated; empty before and after unbind().
    const std::string& endpointId() const { return endpointId_; }
    void bind(std::string endpointId) { endpointId_ = std::move(endpointId); }
    void unbind() { endpointId_.clear(); }

    // Sends nothing once the connection is closing.
    void send(const protocol::ServerMessage& message);
    void close(int closeCode, const std::string& reason);

    // Whether one more message from the agent is within its rate at `nowMs` (monotonic).
    bool admitMessage(int64_t nowMs) { return messageRate_.take(nowMs); }
    // Whether the last message was over the rate, for logging when that changes.
    bool overRate() const { return overRate_; }
    void setOverRate(bool overRate) { overRate_ = overRate; }

    void startAuthTimer(int64_t timeoutMs);
    void stopAuthTimer() { authTimer_.reset(); }

private:
    static void onSocketMessage(SoupWebsocketConnection*, gint type, GBytes* bytes, gpointer self);
    static void onSocketClosed(SoupWebsocketConnection*, gpointer self);
    static gboolean onAuthTimer(gpointer self);

    protocol::GObjectPtr<SoupWebsocketConnection> connection_;
    Listener& listener_;
    uint64_t serial_;
    std::string endpointId_;
    TokenBucket messageRate_;
    bool overRate_ = false;
    protocol::SourcePtr authTimer_;
};

}  // namespace calling::server
