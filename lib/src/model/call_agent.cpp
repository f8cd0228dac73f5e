#include "model/model.h"

#include <gst/gst.h>

#include <type_traits>

GST_DEBUG_CATEGORY_STATIC(agent_debug);
#define GST_CAT_DEFAULT agent_debug

namespace calling {

namespace detail {

namespace {

// A failed proactive refresh is retried this often until the token expires.
constexpr int64_t kRefreshRetrySeconds = 5;

}  // namespace

AgentCore::AgentCore(Shared shared, std::shared_ptr<TokenCache> token, CallAgentOptions options)
    : shared(std::move(shared)), token(std::move(token)), options(std::move(options))
{
    static gsize once = 0;
    if (g_once_init_enter(&once)) {
        GST_DEBUG_CATEGORY_INIT(agent_debug, "callagent", 0, "gst-calling: call agents and their connection");
        g_once_init_leave(&once, 1);
    }
}

void AgentCore::attach(std::unique_ptr<protocol::SignallingClient> client)
{
    connection = std::move(client);
    identity = CommunicationUserIdentifier{connection->welcome().identity};
    std::weak_ptr<AgentCore> weak = shared_from_this();
    connection->setMessageCallback([weak](const protocol::ServerMessage& message) {
        if (auto self = weak.lock())
            self->onMessage(message);
    });
    connection->setClosedCallback([weak](const protocol::CloseReason& reason) {
        if (auto self = weak.lock())
            self->onClosed(reason);
    });
    if (token->refreshesProactively())
        if (auto due = token->refreshDueAt())
            scheduleRefresh(*due - TokenCache::nowUnix());
}

void AgentCore::send(protocol::ClientMessage message)
{
    if (connection && !disposed)
        (void)connection->send(message);
}

void AgentCore::request(protocol::ClientMessage message, std::function<void(Result<Done>)> done)
{
    if (!connection || disposed) {
        done(Error{408, 40104, "the agent is not connected"});
        return;
    }
    connection->request(std::move(message), std::move(done));
}

void AgentCore::addCall(const std::shared_ptr<Call::Impl>& call, const std::shared_ptr<Call>& handle)
{
    calls[call->id] = call;
    auto self = shared_from_this();
    shared.fire([self, handle] {
        {
            std::lock_guard lock(self->mutex);
            self->callHandles.push_back(handle);
        }
        self->callsUpdated.emit(CollectionUpdate<std::shared_ptr<Call>>{{handle}, {}});
    });
}

void AgentCore::removeCall(const std::string& callId)
{
    auto found = calls.find(callId);
    if (found == calls.end())
        return;
    auto handle = found->second->handle.lock();
    calls.erase(found);
    if (!handle)
        return;
    auto self = shared_from_this();
    shared.fire([self, handle] {
        {
            std::lock_guard lock(self->mutex);
            std::erase(self->callHandles, handle);
        }
        self->callsUpdated.emit(CollectionUpdate<std::shared_ptr<Call>>{{}, {handle}});
    });
}

void AgentCore::onMessage(const protocol::ServerMessage& message)
{
    if (disposed)
        return;
    if (auto* error = std::get_if<protocol::ErrorMessage>(&message)) {
        GST_WARNING("server error %d/%d for call '%s': %s", error->code, error->subCode, error->callId.c_str(),
                    error->message.c_str());
        return;
    }
    if (auto* incomingCall = std::get_if<protocol::IncomingCallMessage>(&message)) {
        if (calls.contains(incomingCall->callId) || incoming.contains(incomingCall->callId))
            return;
        auto impl = std::make_shared<IncomingCall::Impl>(
            shared.child(), incomingCall->callId,
            CallerInfo{identifierFromRawId(incomingCall->caller.rawId), incomingCall->caller.displayName});
        impl->self = impl;
        impl->agent = weak_from_this();
        incoming[impl->id] = impl;
        auto handle = IncomingCall::Impl::makeHandle(impl);
        auto self = shared_from_this();
        shared.fire([self, handle] { self->incomingCall.emit(handle); });
        return;
    }
    std::string callId = std::visit([](const auto& m) -> std::string {
        if constexpr (requires { m.callId; })
            return m.callId;
        else
            return {};
    }, message);
    if (auto ringing = incoming.find(callId); ringing != incoming.end()) {
        if (auto* ended = std::get_if<protocol::CallEndedMessage>(&message)) {
            auto impl = ringing->second;
            incoming.erase(ringing);
            impl->end(CallEndReason{ended->reason.code, ended->reason.subCode, ended->reason.message});
        }
        return;
    }
    if (auto found = calls.find(callId); found != calls.end()) {
        auto call = found->second;  // the call may remove itself
        call->onServerMessage(message);
    }
}

void AgentCore::onClosed(const protocol::CloseReason& reason)
{
    GST_WARNING("connection to calling-server closed: %d %s", reason.closeCode, reason.text.c_str());
    // An expired token closes the connection with 4401 after the server ended the calls
    // (495/4507); anything else drops them here.
    CallEndReason dropped = reason.closeCode == 4401
                                ? CallEndReason{495, 4507, "Call ended: the access token expired"}
                                : CallEndReason{410, 3101, "Call dropped: the connection to calling-server was lost"};
    auto current = calls;
    for (auto& [id, call] : current)
        call->finish(dropped);
    auto ringing = std::exchange(incoming, {});
    for (auto& [id, impl] : ringing)
        impl->end(dropped);
}

void AgentCore::scheduleRefresh(int64_t delaySeconds)
{
    refreshTimer_.reset(g_timeout_source_new(guint(std::max<int64_t>(delaySeconds, 0) * 1000)));
    std::weak_ptr<AgentCore> weak = shared_from_this();
    g_source_set_callback(refreshTimer_.get(), [](gpointer data) -> gboolean {
        if (auto self = static_cast<std::weak_ptr<AgentCore>*>(data)->lock())
            self->refreshNow();
        return G_SOURCE_REMOVE;
    }, new std::weak_ptr<AgentCore>(weak), [](gpointer data) { delete static_cast<std::weak_ptr<AgentCore>*>(data); });
    g_source_attach(refreshTimer_.get(), shared.library()->context());
}

void AgentCore::refreshNow()
{
    if (disposed)
        return;
    std::weak_ptr<AgentCore> weak = shared_from_this();
    auto retry = [weak] {
        auto self = weak.lock();
        if (!self || self->disposed)
            return;
        auto expires = self->token->expiresAt();
        if (!expires || TokenCache::nowUnix() < *expires)
            self->scheduleRefresh(kRefreshRetrySeconds);
    };
    // The refresher may answer on any thread.
    token->refresh([weak, retry, library = shared.library()](Result<std::string> fresh) {
        library->post([weak, retry, fresh = std::move(fresh)] {
            auto self = weak.lock();
            if (!self || self->disposed || !self->connection)
                return;
            if (!fresh) {
                GST_WARNING("token refresh failed: %s", fresh.error().message.c_str());
                return retry();
            }
            self->connection->refreshToken(fresh.value(), [weak, retry](Result<protocol::AuthRefreshedMessage> refreshed) {
                auto self = weak.lock();
                if (!self || self->disposed)
                    return;
                if (!refreshed) {
                    GST_WARNING("calling-server refused the refreshed token: %s", refreshed.error().message.c_str());
                    return retry();
                }
                GST_INFO("token refreshed on the live connection");
                if (auto due = self->token->refreshDueAt())
                    self->scheduleRefresh(*due - TokenCache::nowUnix());
            });
        });
    });
}

void AgentCore::dispose(std::function<void()> done)
{
    if (disposed) {
        if (done)
            shared.complete(std::move(done));
        return;
    }
    // Calls end first (the far sides see 0/0), while the connection still carries the hang ups.
    auto current = calls;
    for (auto& [id, call] : current) {
        send(protocol::HangUpMessage{.callId = id});
        call->finish(CallEndReason{0, 0, "Call ended"});
    }
    for (auto& [id, impl] : std::exchange(incoming, {}))
        impl->ringing = false;
    disposed = true;
    disposedForCallers = true;
    refreshTimer_.reset();
    if (connection)
        connection->close();
    connection.reset();
    if (onDisposed)
        std::exchange(onDisposed, nullptr)();
    auto self = shared_from_this();
    shared.fire([self, done = std::move(done)] {
        self->callsUpdated.clear();
        self->incomingCall.clear();
        if (done)
            done();
        self->shared.close();
    });
}

}  // namespace detail

CallAgent::CallAgent(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

// The application let go of the agent: it is disposed on the library thread, where its connection
// lives (and is destroyed).
CallAgent::~CallAgent()
{
    auto impl = std::move(impl_);
    impl->shared.work([impl] { impl->dispose({}); });
}

std::shared_ptr<Call> CallAgent::call(const std::vector<CommunicationIdentifier>& targets, StartCallOptions options)
{
    g_autofree gchar* uuid = g_uuid_string_random();
    auto handle = Call::Impl::create(impl_->shared.child(), uuid, CallDirection::Outgoing);
    auto call = Call::Impl::of(*handle);
    call->initialize(options.audioOptions.muted);
    if (impl_->disposedForCallers) {
        // Nothing fires for a disposed agent: the call is over before it is handed out.
        call->initializeEnded(CallEndReason{410, 3100, "Setup failed: the agent was disposed"});
        return handle;
    }
    std::shared_ptr<detail::AgentCore> agent = impl_;
    call->agent = agent;
    agent->shared.work([agent, call, handle, targets, options] {
        if (agent->disposed) {
            // Disposed since call() looked: nothing of the agent fires any more.
            call->initializeEnded(CallEndReason{410, 3100, "Setup failed: the agent was disposed"});
            return;
        }
        agent->addCall(call, handle);
        if (!agent->connection)
            return call->finish(CallEndReason{410, 3100, "Setup failed: the agent is not connected"});
        std::vector<std::string> rawIds;
        for (const auto& target : targets)
            rawIds.push_back(rawIdOf(target));
        if (targets.size() != 1 || !std::holds_alternative<CommunicationUserIdentifier>(targets[0]))
            return call->finish(CallEndReason{400, 40005, "Only 1:1 calls to one communication user are supported"});
        call->startMedia(agent->options.audio, options.audioOptions.muted, options.videoOptions);
        if (call->ended)
            return;  // the media could not start: nobody is rung
        auto streams = call->publishedStreams();
        agent->request(protocol::InviteMessage{.callId = call->id, .targets = rawIds,
                                               .displayName = agent->options.displayName,
                                               .media = {.audio = true, .video = !streams.empty()},
                                               .streams = streams},
                       [call](Result<Done> result) {
                           if (!result)
                               call->finish(CallEndReason{result.error().code, result.error().subCode,
                                                          result.error().message});
                       });
        // The server starts every participant unmuted: tell it, right behind the invite, that
        // this one is not (the callee then sees isMuted from the start).
        if (options.audioOptions.muted)
            agent->send(protocol::MuteStateMessage{.callId = call->id, .muted = true});
    });
    return handle;
}

std::vector<std::shared_ptr<Call>> CallAgent::calls() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->callHandles;
}

Subscription CallAgent::onCallsUpdated(std::function<void(const CollectionUpdate<std::shared_ptr<Call>>&)> handler)
{
    return impl_->callsUpdated.subscribe(std::move(handler));
}

Subscription CallAgent::onIncomingCall(std::function<void(std::shared_ptr<IncomingCall>)> handler)
{
    return impl_->incomingCall.subscribe(std::move(handler));
}

std::shared_ptr<DeviceManager> CallAgent::deviceManager() const
{
    return impl_->deviceManager;
}

const std::string& CallAgent::displayName() const { return impl_->options.displayName; }
const CommunicationUserIdentifier& CallAgent::identifier() const { return impl_->identity; }

void CallAgent::dispose(std::function<void()> done)
{
    auto impl = impl_;
    impl->shared.work([impl, done = std::move(done)]() mutable { impl->dispose(std::move(done)); });
}

}  // namespace calling
