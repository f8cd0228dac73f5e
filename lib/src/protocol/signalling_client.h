// SignallingClient: an agent's one WebSocket connection to calling-server's signalling
// (docs/protocol.md), used by the library's CallAgent and by callbin on its own.
//
// connect() turns the identity API endpoint ("http(s)://host:port/") into
// "ws(s)://host:port/signalling/v1", authenticates with the access token (in the upgrade request
// by default, or as a first `auth` message) and completes with the server's `welcome`. After that,
// send() and request() carry agent messages, the message callback receives every server message
// that is not the answer to a request(), and the closed callback says when and why the connection
// ended.
//
// Threads: everything runs on the GMainContext given at construction. Call the methods from the
// thread that iterates that context, and iterate it as that thread's thread-default context
// (g_main_context_push_thread_default): libsoup attaches its I/O to the thread-default context.
// Every callback fires from that context, never from inside a method call.
//
// Ownership: the caller owns the client and may destroy it at any time, also from inside any of
// its callbacks; no callback fires after the destructor started. Destroying an open client drops
// the connection without waiting for the close handshake, which the server treats as a lost
// connection (grace window); close() first for a clean 1000.
#pragma once

#include "protocol/glib_ptr.h"
#include "protocol/messages.h"

#include <calling/result.h>

#include <gio/gio.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

typedef struct _SoupSession SoupSession;
typedef struct _SoupMessage SoupMessage;
typedef struct _SoupWebsocketConnection SoupWebsocketConnection;

namespace calling::protocol {

struct SignallingOptions {
    enum class Auth {
        Header,   // Authorization: Bearer in the upgrade request; a refused token is an HTTP 401
        Message,  // a first `auth` message, as browsers do
    };

    std::string endpoint;  // the identity API endpoint, "http://host:port/" or "https://host:port/"
    std::string token;     // never logged
    Auth auth = Auth::Header;
    std::string resumeEndpointId;  // the endpointId of a lost connection whose calls this one takes over
    std::string tlsCaFile;         // PEM certificates to trust for wss:// instead of the system's
    GTlsDatabase* tlsDatabase = nullptr;  // or a database to trust (the client takes a reference); wins
    int64_t connectTimeoutMs = 15000;     // until the welcome
};

struct CloseReason {
    int closeCode = 0;  // WebSocket close code: 1000 normal, 4401 token refused or expired, 1006 lost
    std::string text;
};

class SignallingClient {
public:
    // Network failures and timeouts complete with 408/40104 ("CallAgent connection failed"), a refused
    // token with 401/4507, a bad endpoint with 400/0.
    using ConnectCallback = std::function<void(Result<WelcomeMessage>)>;
    using MessageCallback = std::function<void(const ServerMessage&)>;
    using ClosedCallback = std::function<void(const CloseReason&)>;
    // The server's `ack` (ok) or `error` (its code, subCode and message); 408/40104 when the
    // connection ended first.
    using RequestCallback = std::function<void(Result<Done>)>;
    using RefreshCallback = std::function<void(Result<AuthRefreshedMessage>)>;

    static constexpr uint64_t kMaxIncomingPayloadBytes = 1024 * 1024;

    // `context`: null means the thread-default context of the calling thread.
    explicit SignallingClient(GMainContext* context = nullptr);
    ~SignallingClient();
    SignallingClient(const SignallingClient&) = delete;
    SignallingClient& operator=(const SignallingClient&) = delete;

    // "http(s)://host:port/" -> "ws(s)://host:port/signalling/v1".
    static Result<std::string> signallingUrl(std::string_view endpoint);

    void setMessageCallback(MessageCallback callback) { onMessage_ = std::move(callback); }
    // Only after a successful connect(); a failed connect() reports through its own callback.
    void setClosedCallback(ClosedCallback callback) { onClosed_ = std::move(callback); }

    // Once per client.
    void connect(SignallingOptions options, ConnectCallback done);
    bool isConnected() const { return state_ == State::Open; }
    // What the server said on connecting; valid once connect() succeeded.
    const WelcomeMessage& welcome() const { return welcome_; }

    // Sends as is; an error when not connected.
    Result<Done> send(const ClientMessage& message);
    // Sends with a requestId (a fresh one when the message has none) and completes on its answer.
    void request(ClientMessage message, RequestCallback done);
    // Presents a new token for the same identity on the live connection.
    void refreshToken(std::string token, RefreshCallback done);
    // Closes with 1000; the closed callback follows.
    void close();

private:
    enum class State { Idle, Connecting, Authenticating, Open, Closing, Closed };
    struct Pending {
        RequestCallback request;
        RefreshCallback refresh;
    };
    struct WeakSelf;

    static void onConnected(GObject* source, GAsyncResult* result, gpointer data);
    static void onRefusalRead(GObject* source, GAsyncResult* result, gpointer data);
    static void onSocketMessage(SoupWebsocketConnection*, gint type, GBytes* bytes, gpointer self);
    static void onSocketClosed(SoupWebsocketConnection*, gpointer self);
    static gboolean onConnectTimeout(gpointer self);

    void connected(SoupWebsocketConnection* connection, const GError* error);
    // Asks again without the upgrade to read the refusal's body, which libsoup 3.2 keeps to itself.
    void readRefusal();
    void received(const ServerMessage& message);
    void closed();
    void finishConnect(Result<WelcomeMessage> result);
    void failPending(const Error& error);
    // Runs `call` from the context, unless the client is gone by then.
    void later(std::function<void()> call);
    std::string nextRequestId();

    MainContextPtr context_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    State state_ = State::Idle;
    SignallingOptions options_;
    ConnectCallback onConnect_;
    MessageCallback onMessage_;
    ClosedCallback onClosed_;
    WelcomeMessage welcome_;
    std::map<std::string, Pending> pending_;
    uint64_t requestCounter_ = 0;

    GObjectPtr<SoupSession> session_;
    GObjectPtr<SoupMessage> upgrade_;
    GObjectPtr<GCancellable> cancellable_;
    SourcePtr connectTimeout_;
    GObjectPtr<SoupWebsocketConnection> connection_;
};

}  // namespace calling::protocol
