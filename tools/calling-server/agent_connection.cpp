#include "agent_connection.h"

namespace calling::server {

AgentConnection::AgentConnection(SoupWebsocketConnection* connection, Listener& listener, uint64_t serial,
                                 TokenBucket messageRate)
    : connection_(protocol::retain(connection)), listener_(listener), serial_(serial), messageRate_(messageRate)
{
    g_signal_connect(connection, "message", G_CALLBACK(onSocketMessage), this);
    g_signal_connect(connection, "closed", G_CALLBACK(onSocketClosed), this);
}

AgentConnection::~AgentConnection()
{
    g_signal_handlers_disconnect_by_data(connection_.get(), this);
    if (isOpen())
        soup_websocket_connection_close(connection_.get(), SOUP_WEBSOCKET_CLOSE_GOING_AWAY, nullptr);
}

bool AgentConnection::isOpen() const
{
    return soup_websocket_connection_get_state(connection_.get()) == SOUP_WEBSOCKET_STATE_OPEN;
}

void AgentConnection::send(const protocol::ServerMessage& message)
{
    // libsoup refuses (with a critical) to send on a connection that is closing.
    if (isOpen())
        soup_websocket_connection_send_text(connection_.get(), protocol::serialize(message).c_str());
}

void AgentConnection::close(int closeCode, const std::string& reason)
{
    authTimer_.reset();
    if (isOpen())
        soup_websocket_connection_close(connection_.get(), static_cast<gushort>(closeCode), reason.c_str());
}

void AgentConnection::startAuthTimer(int64_t timeoutMs)
{
    authTimer_ = protocol::SourcePtr(g_timeout_source_new(static_cast<guint>(timeoutMs)));
    g_source_set_callback(authTimer_.get(), onAuthTimer, this, nullptr);
    g_source_attach(authTimer_.get(), g_main_context_get_thread_default());
}

gboolean AgentConnection::onAuthTimer(gpointer data)
{
    auto* self = static_cast<AgentConnection*>(data);
    self->authTimer_.reset();
    self->listener_.onAuthTimeout(*self);
    return G_SOURCE_REMOVE;
}

void AgentConnection::onSocketMessage(SoupWebsocketConnection*, gint type, GBytes* bytes, gpointer data)
{
    auto* self = static_cast<AgentConnection*>(data);
    gsize size = 0;
    auto* text = static_cast<const char*>(g_bytes_get_data(bytes, &size));
    self->listener_.onMessage(*self, type == SOUP_WEBSOCKET_DATA_TEXT, std::string_view(text ? text : "", size));
}

void AgentConnection::onSocketClosed(SoupWebsocketConnection*, gpointer data)
{
    auto* self = static_cast<AgentConnection*>(data);
    self->authTimer_.reset();
    self->listener_.onClosed(*self);  // may delete self: nothing after this
}

}  // namespace calling::server
