#include "protocol/signalling_client.h"

#include <libsoup/soup.h>

#include <utility>
#include <vector>

namespace calling::protocol {
namespace {

constexpr int kCloseTokenRefused = 4401;

Error connectionFailed(const std::string& why)
{
    return Error{408, 40104, "CallAgent connection failed: " + why};
}

Error notConnected()
{
    return connectionFailed("not connected to calling-server");
}

// libsoup attaches a connection's I/O to the thread-default context of the moment; every call
// into it happens with ours pushed.
class ThreadDefault {
public:
    explicit ThreadDefault(GMainContext* context) : context_(context) { g_main_context_push_thread_default(context_); }
    ~ThreadDefault() { g_main_context_pop_thread_default(context_); }
    ThreadDefault(const ThreadDefault&) = delete;
    ThreadDefault& operator=(const ThreadDefault&) = delete;

private:
    GMainContext* context_;
};

}  // namespace

// What an asynchronous libsoup or GLib callback gets instead of `this`: the client may be gone.
struct SignallingClient::WeakSelf {
    std::weak_ptr<bool> alive;
    SignallingClient* self;

    SignallingClient* get() const { return alive.expired() ? nullptr : self; }
};

SignallingClient::SignallingClient(GMainContext* context)
    : context_(context ? g_main_context_ref(context) : g_main_context_ref_thread_default())
{
}

SignallingClient::~SignallingClient()
{
    alive_.reset();
    ThreadDefault scope(context_.get());
    if (cancellable_)
        g_cancellable_cancel(cancellable_.get());
    connectTimeout_.reset();
    if (connection_) {
        g_signal_handlers_disconnect_by_data(connection_.get(), this);
        if (soup_websocket_connection_get_state(connection_.get()) == SOUP_WEBSOCKET_STATE_OPEN)
            soup_websocket_connection_close(connection_.get(), SOUP_WEBSOCKET_CLOSE_GOING_AWAY, nullptr);
    }
    connection_.reset();
    upgrade_.reset();
    session_.reset();
}

Result<std::string> SignallingClient::signallingUrl(std::string_view endpoint)
{
    std::string text(endpoint);
    g_autoptr(GUri) uri = g_uri_parse(text.c_str(), G_URI_FLAGS_NONE, nullptr);
    const char* scheme = uri ? g_uri_get_scheme(uri) : nullptr;
    const char* host = uri ? g_uri_get_host(uri) : nullptr;
    if (!scheme || !host || !*host || (g_strcmp0(scheme, "http") != 0 && g_strcmp0(scheme, "https") != 0))
        return Error{400, 0, "the endpoint must be an http:// or https:// URL"};
    std::string path = g_uri_get_path(uri);
    if (!path.ends_with('/'))
        path += '/';
    g_autoptr(GUri) signalling =
        g_uri_build(G_URI_FLAGS_NONE, g_strcmp0(scheme, "https") == 0 ? "wss" : "ws", nullptr, host,
                    g_uri_get_port(uri), (path + "signalling/v1").c_str(), nullptr, nullptr);
    g_autofree char* url = g_uri_to_string(signalling);
    return std::string(url);
}

void SignallingClient::later(std::function<void()> call)
{
    struct Later {
        WeakSelf weak;
        std::function<void()> call;
    };
    GSource* source = g_idle_source_new();
    g_source_set_callback(
        source,
        [](gpointer data) {
            auto* pending = static_cast<Later*>(data);
            if (pending->weak.get())
                pending->call();
            return G_SOURCE_REMOVE;
        },
        new Later{{alive_, this}, std::move(call)}, [](gpointer data) { delete static_cast<Later*>(data); });
    g_source_attach(source, context_.get());
    g_source_unref(source);
}

void SignallingClient::connect(SignallingOptions options, ConnectCallback done)
{
    if (state_ != State::Idle) {
        later([done = std::move(done)] { done(Error{400, 0, "connect() is called once per SignallingClient"}); });
        return;
    }
    auto url = signallingUrl(options.endpoint);
    if (!url) {
        later([done = std::move(done), error = url.error()] { done(error); });
        return;
    }
    std::string target = url.value();
    if (options.auth == SignallingOptions::Auth::Header && !options.resumeEndpointId.empty()) {
        g_autofree char* escaped = g_uri_escape_string(options.resumeEndpointId.c_str(), nullptr, FALSE);
        target += std::string("?endpointId=") + escaped;
    }

    ThreadDefault scope(context_.get());
    GObjectPtr<GTlsDatabase> database = retain(options.tlsDatabase);
    if (!database && !options.tlsCaFile.empty()) {
        g_autoptr(GError) error = nullptr;
        database = adopt(g_tls_file_database_new(options.tlsCaFile.c_str(), &error));
        if (!database) {
            later([done = std::move(done), why = std::string(error->message)] {
                done(Error{400, 0, "cannot read the TLS CA file: " + why});
            });
            return;
        }
    }
    session_ = adopt(database ? soup_session_new_with_options("tls-database", database.get(), nullptr)
                              : soup_session_new());
    // No permessage-deflate: messages are small, and inflating is where size limits get dodged.
    soup_session_remove_feature_by_type(session_.get(), SOUP_TYPE_WEBSOCKET_EXTENSION_MANAGER);
    upgrade_ = adopt(soup_message_new(SOUP_METHOD_GET, target.c_str()));
    if (!upgrade_) {
        later([done = std::move(done)] { done(Error{400, 0, "the endpoint is not a valid URL"}); });
        return;
    }
    if (options.auth == SignallingOptions::Auth::Header) {
        std::string authorization = "Bearer " + options.token;
        soup_message_headers_replace(soup_message_get_request_headers(upgrade_.get()), "Authorization",
                                     authorization.c_str());
    }

    options_ = std::move(options);
    onConnect_ = std::move(done);
    state_ = State::Connecting;
    cancellable_ = adopt(g_cancellable_new());
    connectTimeout_ = SourcePtr(g_timeout_source_new(static_cast<guint>(options_.connectTimeoutMs)));
    g_source_set_callback(connectTimeout_.get(), onConnectTimeout, new WeakSelf{alive_, this},
                          [](gpointer data) { delete static_cast<WeakSelf*>(data); });
    g_source_attach(connectTimeout_.get(), context_.get());
    soup_session_websocket_connect_async(session_.get(), upgrade_.get(), nullptr, nullptr, G_PRIORITY_DEFAULT,
                                         cancellable_.get(), onConnected, new WeakSelf{alive_, this});
}

gboolean SignallingClient::onConnectTimeout(gpointer data)
{
    SignallingClient* self = static_cast<WeakSelf*>(data)->get();
    if (!self)
        return G_SOURCE_REMOVE;
    self->connectTimeout_.reset();  // destroys this source; its WeakSelf lives until we return
    self->finishConnect(connectionFailed("no welcome from calling-server in time"));
    return G_SOURCE_REMOVE;
}

void SignallingClient::onConnected(GObject* source, GAsyncResult* result, gpointer data)
{
    std::unique_ptr<WeakSelf> weak(static_cast<WeakSelf*>(data));
    g_autoptr(GError) error = nullptr;
    g_autoptr(SoupWebsocketConnection) connection =
        soup_session_websocket_connect_finish(SOUP_SESSION(source), result, &error);
    if (SignallingClient* self = weak->get())
        self->connected(connection, error);
}

void SignallingClient::connected(SoupWebsocketConnection* connection, const GError* error)
{
    if (state_ != State::Connecting)
        return;  // timed out or closed meanwhile
    if (!connection) {
        guint status = soup_message_get_status(upgrade_.get());
        if (status == SOUP_STATUS_UNAUTHORIZED)
            readRefusal();
        else if (status == SOUP_STATUS_BAD_REQUEST)
            finishConnect(Error{400, 40002, "calling-server refused the connection request"});
        else
            finishConnect(connectionFailed(error ? error->message : "unknown error"));
        return;
    }
    ThreadDefault scope(context_.get());
    connection_ = retain(connection);
    soup_websocket_connection_set_max_incoming_payload_size(connection, kMaxIncomingPayloadBytes);
    g_signal_connect(connection, "message", G_CALLBACK(onSocketMessage), this);
    g_signal_connect(connection, "closed", G_CALLBACK(onSocketClosed), this);
    state_ = State::Authenticating;
    if (options_.auth == SignallingOptions::Auth::Message)
        soup_websocket_connection_send_text(
            connection, serialize(ClientMessage(AuthMessage{"", options_.token, options_.resumeEndpointId})).c_str());
    // Either way the server speaks first now: `welcome`, or an `error` before it closes.
}

void SignallingClient::readRefusal()
{
    ThreadDefault scope(context_.get());
    GUri* uri = soup_message_get_uri(upgrade_.get());
    GObjectPtr<SoupMessage> again = adopt(soup_message_new_from_uri(SOUP_METHOD_GET, uri));
    const char* authorization =
        soup_message_headers_get_one(soup_message_get_request_headers(upgrade_.get()), "Authorization");
    if (authorization)
        soup_message_headers_replace(soup_message_get_request_headers(again.get()), "Authorization", authorization);
    soup_session_send_and_read_async(session_.get(), again.get(), G_PRIORITY_DEFAULT, cancellable_.get(),
                                     onRefusalRead, new WeakSelf{alive_, this});
}

void SignallingClient::onRefusalRead(GObject* source, GAsyncResult* result, gpointer data)
{
    std::unique_ptr<WeakSelf> weak(static_cast<WeakSelf*>(data));
    g_autoptr(GBytes) body = soup_session_send_and_read_finish(SOUP_SESSION(source), result, nullptr);
    SignallingClient* self = weak->get();
    if (!self || self->state_ != State::Connecting)
        return;
    Error refused{401, 4507, "calling-server refused the access token"};
    gsize size = 0;
    auto* text = body ? static_cast<const char*>(g_bytes_get_data(body, &size)) : nullptr;
    auto parsed = parseServerMessage(std::string_view(text ? text : "", size));
    if (parsed) {
        if (const auto* error = std::get_if<ErrorMessage>(&parsed.value()); error && error->code == 401)
            refused = Error{error->code, error->subCode, error->message};
    }
    self->finishConnect(refused);
}

void SignallingClient::finishConnect(Result<WelcomeMessage> result)
{
    connectTimeout_.reset();
    ConnectCallback done = std::move(onConnect_);
    onConnect_ = nullptr;
    if (result) {
        state_ = State::Open;
        welcome_ = result.value();
    } else {
        state_ = State::Closed;
        if (cancellable_)
            g_cancellable_cancel(cancellable_.get());
        if (connection_) {
            g_signal_handlers_disconnect_by_data(connection_.get(), this);
            ThreadDefault scope(context_.get());
            if (soup_websocket_connection_get_state(connection_.get()) == SOUP_WEBSOCKET_STATE_OPEN)
                soup_websocket_connection_close(connection_.get(), SOUP_WEBSOCKET_CLOSE_NORMAL, nullptr);
        }
    }
    if (done)
        done(std::move(result));
}

void SignallingClient::onSocketMessage(SoupWebsocketConnection*, gint type, GBytes* bytes, gpointer data)
{
    auto* self = static_cast<SignallingClient*>(data);
    if (type != SOUP_WEBSOCKET_DATA_TEXT) {
        g_debug("signalling: ignoring a binary message");
        return;
    }
    gsize size = 0;
    auto* text = static_cast<const char*>(g_bytes_get_data(bytes, &size));
    auto parsed = parseServerMessage(std::string_view(text ? text : "", size));
    if (!parsed) {
        // A newer server may send types this one does not know; nothing to do but skip them.
        g_debug("signalling: ignoring a server message: %s", parsed.error().message.c_str());
        return;
    }
    self->received(parsed.value());
}

void SignallingClient::received(const ServerMessage& message)
{
    if (state_ == State::Authenticating) {
        if (const auto* welcome = std::get_if<WelcomeMessage>(&message))
            finishConnect(*welcome);
        else if (const auto* error = std::get_if<ErrorMessage>(&message))
            finishConnect(Error{error->code, error->subCode, error->message});
        return;
    }
    if (state_ != State::Open && state_ != State::Closing)
        return;

    // Answers to request() and refreshToken() go to their callbacks.
    const std::string* requestId = nullptr;
    if (const auto* ack = std::get_if<AckMessage>(&message))
        requestId = &ack->requestId;
    else if (const auto* error = std::get_if<ErrorMessage>(&message))
        requestId = &error->requestId;
    else if (const auto* refreshed = std::get_if<AuthRefreshedMessage>(&message))
        requestId = &refreshed->requestId;
    if (requestId && !requestId->empty()) {
        if (auto found = pending_.find(*requestId); found != pending_.end()) {
            Pending pending = std::move(found->second);
            pending_.erase(found);
            const auto* error = std::get_if<ErrorMessage>(&message);
            Error failure = error ? Error{error->code, error->subCode, error->message} : Error{};
            if (pending.refresh) {
                const auto* refreshed = std::get_if<AuthRefreshedMessage>(&message);
                if (refreshed)
                    pending.refresh(*refreshed);
                else
                    pending.refresh(error ? failure : Error{500, 0, "unexpected answer to a token refresh"});
            } else if (pending.request) {
                if (error)
                    pending.request(failure);
                else
                    pending.request(Done{});
            }
            return;
        }
    }
    MessageCallback callback = onMessage_;  // a copy: the callback may destroy the client
    if (callback)
        callback(message);
}

void SignallingClient::onSocketClosed(SoupWebsocketConnection* connection, gpointer data)
{
    auto* self = static_cast<SignallingClient*>(data);
    g_signal_handlers_disconnect_by_data(connection, self);
    self->closed();
}

void SignallingClient::closed()
{
    CloseReason reason;
    reason.closeCode = soup_websocket_connection_get_close_code(connection_.get());
    if (const char* text = soup_websocket_connection_get_close_data(connection_.get()))
        reason.text = text;
    if (reason.closeCode == 0)
        reason.closeCode = SOUP_WEBSOCKET_CLOSE_ABNORMAL;
    connection_.reset();

    if (state_ == State::Authenticating) {
        finishConnect(reason.closeCode == kCloseTokenRefused
                          ? Error{401, 4507, "calling-server refused the access token"}
                          : connectionFailed("the connection closed before the welcome (" +
                                             std::to_string(reason.closeCode) + ")"));
        return;
    }
    state_ = State::Closed;
    std::weak_ptr<bool> alive = alive_;
    failPending(connectionFailed("the connection closed before an answer"));
    if (alive.expired())
        return;
    ClosedCallback callback = onClosed_;
    if (callback)
        callback(reason);
}

void SignallingClient::failPending(const Error& error)
{
    std::weak_ptr<bool> alive = alive_;
    std::map<std::string, Pending> pending = std::move(pending_);
    pending_.clear();
    for (auto& [id, entry] : pending) {
        if (entry.refresh)
            entry.refresh(error);
        else if (entry.request)
            entry.request(error);
        if (alive.expired())
            return;
    }
}

Result<Done> SignallingClient::send(const ClientMessage& message)
{
    if (state_ != State::Open || !connection_ ||
        soup_websocket_connection_get_state(connection_.get()) != SOUP_WEBSOCKET_STATE_OPEN)
        return notConnected();
    ThreadDefault scope(context_.get());
    soup_websocket_connection_send_text(connection_.get(), serialize(message).c_str());
    return Done{};
}

std::string SignallingClient::nextRequestId()
{
    return "c" + std::to_string(++requestCounter_);
}

void SignallingClient::request(ClientMessage message, RequestCallback done)
{
    std::string requestId = requestIdOf(message);
    if (requestId.empty()) {
        requestId = nextRequestId();
        std::visit([&](auto& m) { m.requestId = requestId; }, message);
    }
    auto sent = send(message);
    if (!sent) {
        later([done = std::move(done), error = sent.error()] { done(error); });
        return;
    }
    pending_[requestId] = Pending{std::move(done), nullptr};
}

void SignallingClient::refreshToken(std::string token, RefreshCallback done)
{
    std::string requestId = nextRequestId();
    auto sent = send(AuthMessage{requestId, std::move(token), ""});
    if (!sent) {
        later([done = std::move(done), error = sent.error()] { done(error); });
        return;
    }
    pending_[requestId] = Pending{nullptr, std::move(done)};
}

void SignallingClient::close()
{
    if (state_ == State::Connecting || state_ == State::Authenticating) {
        // Tidy up now, but report from the context: never call back from inside a method.
        ConnectCallback done = std::move(onConnect_);
        onConnect_ = nullptr;
        finishConnect(connectionFailed("closed before the welcome"));
        if (done)
            later([done = std::move(done)] { done(connectionFailed("closed before the welcome")); });
        return;
    }
    if (state_ != State::Open || !connection_)
        return;
    state_ = State::Closing;
    ThreadDefault scope(context_.get());
    if (soup_websocket_connection_get_state(connection_.get()) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close(connection_.get(), SOUP_WEBSOCKET_CLOSE_NORMAL, nullptr);
}

}  // namespace calling::protocol
