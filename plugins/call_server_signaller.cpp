/**
 * SECTION:callserversignaller
 * @title: CallServerSignaller
 *
 * The #CallSignaller that callbin makes for itself when it is given #CallBin:server-url and
 * #CallBin:access-token instead of a signaller: it opens its own authenticated WebSocket to
 * calling-server (docs/protocol.md) and runs one call.
 *
 * With #CallServerSignaller:target set, it invites that raw id and, once the callee is
 * `Connected`, asks callbin to offer (the caller offers). With no target, it waits for the first
 * incoming call, accepts it and lets the caller offer. It relays descriptions and ICE candidates
 * both ways, reports where the call stands with "call-state-changed" (connecting, waiting,
 * calling, ringing, connected, ended), and "session-ended" then "call-ended" with the server's end
 * reason when the call is over. A failure to go on (no connection, a refused token, a bad
 * setting, a lost connection) is an "error" with the server's code and subCode.
 *
 * Threads: start() starts a thread of its own, "callsignaller", which iterates a GMainContext of
 * its own (as its thread-default context) and owns the connection: nothing depends on an
 * application main loop, which gst-launch-1.0 does not run for elements. Every signal is emitted
 * from that thread. send_sdp() and send_ice() only queue their message for that thread. stop()
 * hangs up (a caller that is still ringing cancels, a callee that is still ringing rejects),
 * closes the connection cleanly, and waits for the thread to end: at most about three seconds,
 * then the connection is dropped (the server then ends the call after its grace window).
 *
 * Settings are read on start(): a change while running applies to the next start. The access
 * token is write-only and never logged or quoted in messages.
 */
#include "call_server_signaller.h"

#include "protocol/call_signaller.h"
#include "protocol/messages.h"
#include "protocol/signalling_client.h"

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

GST_DEBUG_CATEGORY_STATIC(call_server_signaller_debug);
#define GST_CAT_DEFAULT call_server_signaller_debug

namespace protocol = calling::protocol;

namespace {

// How long stop() lets the hang up and the close handshake take before it drops the connection.
constexpr guint kShutdownMs = 3000;

enum {
    PROP_0,
    PROP_SERVER_URL,
    PROP_ACCESS_TOKEN,
    PROP_TARGET,
    PROP_DISPLAY_NAME,
    PROP_CA_FILE,
};

struct Settings {
    std::string serverUrl;
    std::string accessToken;  // never logged
    std::string target;
    std::string displayName;
    std::string caFile;
};

// Where the call stands, on the signaller's thread.
enum class Phase {
    Connecting,
    Waiting,    // answer mode: connected, no call yet
    Calling,    // invited; the callee may be ringing
    Accepting,  // answer mode: accepting an incoming call
    InCall,     // both sides joined
    Ended,      // the call is over; nothing more is reported
    Failed,     // an error was reported; nothing more is reported
};

// One start() to stop(): the thread, its context and the connection. Everything but post() and
// the constructor runs on the session's thread.
class Session : public std::enable_shared_from_this<Session> {
public:
    Session(CallServerSignaller* owner, Settings settings) : settings_(std::move(settings))
    {
        g_weak_ref_init(&owner_, owner);
        context_ = g_main_context_new();
        loop_ = g_main_loop_new(context_, FALSE);
    }

    ~Session()
    {
        g_main_loop_unref(loop_);
        g_main_context_unref(context_);
        g_weak_ref_clear(&owner_);
    }

    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    // Queues `task` for the session's thread, in order; dropped once the session finished.
    void post(std::function<void()> task)
    {
        struct Task {
            std::shared_ptr<Session> session;
            std::function<void()> run;
        };
        std::lock_guard lock(mutex_);
        if (finished_)
            return;
        GSource* source = g_idle_source_new();
        g_source_set_priority(source, G_PRIORITY_DEFAULT);
        g_source_set_callback(
            source,
            [](gpointer data) {
                auto* task = static_cast<Task*>(data);
                if (!task->session->finished_)
                    task->run();
                return gboolean(G_SOURCE_REMOVE);
            },
            new Task{shared_from_this(), std::move(task)}, [](gpointer data) { delete static_cast<Task*>(data); });
        g_source_attach(source, context_);
        g_source_unref(source);
    }

    static gpointer threadMain(gpointer data)
    {
        std::shared_ptr<Session> self = std::move(*static_cast<std::shared_ptr<Session>*>(data));
        delete static_cast<std::shared_ptr<Session>*>(data);
        g_main_context_push_thread_default(self->context_);
        self->begin();
        g_main_loop_run(self->loop_);
        // The client goes on this thread, before anything queued is let go.
        self->client_.reset();
        self->shutdownTimer_.reset();
        {
            std::lock_guard lock(self->mutex_);
            self->finished_ = true;
        }
        // What is still queued holds the session: run it out (each task sees `finished_`).
        while (g_main_context_iteration(self->context_, FALSE)) {
        }
        g_main_context_pop_thread_default(self->context_);
        return nullptr;
    }

    // Hangs up and closes, then ends the thread. From stop().
    void shutdown()
    {
        stopping_ = true;
        shutdownTimer_ = protocol::SourcePtr(g_timeout_source_new(kShutdownMs));
        g_source_set_callback(
            shutdownTimer_.get(),
            [](gpointer data) {
                auto* self = static_cast<Session*>(data);
                GST_WARNING("calling-server did not confirm the hang up and close in time: dropping the connection");
                g_main_loop_quit(self->loop_);
                return gboolean(G_SOURCE_REMOVE);
            },
            this, nullptr);
        g_source_attach(shutdownTimer_.get(), context_);

        if (!client_ || !client_->isConnected()) {
            g_main_loop_quit(loop_);
            return;
        }
        bool inCall = !callId_.empty() &&
                      (phase_ == Phase::Calling || phase_ == Phase::Accepting || phase_ == Phase::InCall);
        if (!inCall) {
            client_->close();  // the closed callback quits
            return;
        }
        GST_INFO("hanging up call %s", callId_.c_str());
        client_->request(protocol::HangUpMessage{.callId = callId_}, [this](calling::Result<calling::Done> done) {
            if (!done)
                GST_INFO("hang up: %s", done.error().message.c_str());
            client_->close();
        });
    }

    void sendSdp(const std::string& peerId, const std::string& type, const std::string& sdp)
    {
        if (!canRelay(peerId))
            return;
        auto sent = client_->send(
            protocol::SdpMessage{.callId = callId_, .to = peerId, .description = {.type = type, .sdp = sdp}});
        if (!sent)
            GST_WARNING("could not send the %s: %s", type.c_str(), sent.error().message.c_str());
    }

    void sendIce(const std::string& peerId, unsigned mlineIndex, const std::string& candidate)
    {
        if (!canRelay(peerId))
            return;
        auto sent = client_->send(protocol::IceMessage{
            .callId = callId_, .to = peerId, .candidate = {.sdpMLineIndex = mlineIndex, .candidate = candidate}});
        if (!sent)
            GST_DEBUG("could not send a candidate: %s", sent.error().message.c_str());
    }

private:
    // The owner, for as long as a signal is being emitted; null once it is gone.
    struct Owner {
        explicit Owner(GWeakRef* ref) : object(static_cast<GObject*>(g_weak_ref_get(ref))) {}
        ~Owner()
        {
            if (object)
                g_object_unref(object);
        }
        Owner(const Owner&) = delete;
        Owner& operator=(const Owner&) = delete;
        CallSignaller* get() const { return object ? CALL_SIGNALLER(object) : nullptr; }
        GObject* object;
    };

    bool canRelay(const std::string& peerId) const
    {
        if (stopping_ || !client_ || (phase_ != Phase::InCall && phase_ != Phase::Accepting) || peerId != peerId_) {
            GST_DEBUG("not in a call with %s: dropping what callbin sends", peerId.c_str());
            return false;
        }
        return true;
    }

    void setState(const char* state)
    {
        GST_INFO("call %s: %s", callId_.empty() ? "-" : callId_.c_str(), state);
        Owner owner(&owner_);
        if (owner.get())
            call_signaller_emit_call_state_changed(owner.get(), state, callId_.c_str(), peerId_.c_str());
    }

    void fail(int code, int subCode, const std::string& message)
    {
        if (phase_ == Phase::Failed || phase_ == Phase::Ended || stopping_)
            return;
        endSession();
        phase_ = Phase::Failed;
        GST_WARNING("%s (%d/%d)", message.c_str(), code, subCode);
        Owner owner(&owner_);
        if (owner.get())
            call_signaller_emit_error(owner.get(), code, subCode, message.c_str());
    }

    void endSession()
    {
        if (!joined_ || peerLeft_)
            return;
        peerLeft_ = true;
        Owner owner(&owner_);
        if (owner.get())
            call_signaller_emit_session_ended(owner.get(), peerId_.c_str());
    }

    void begin()
    {
        if (settings_.serverUrl.empty()) {
            fail(400, 0, "server-url is not set: it is calling-server's endpoint, http(s)://host:port/");
            return;
        }
        if (auto url = protocol::SignallingClient::signallingUrl(settings_.serverUrl); !url) {
            fail(url.error().code, url.error().subCode, "server-url: " + url.error().message);
            return;
        }
        if (settings_.accessToken.empty()) {
            fail(400, 0, "access-token is not set");
            return;
        }
        if (!settings_.target.empty() && !protocol::isValidRawId(settings_.target)) {
            fail(400, 40002, "target is not a valid raw id");
            return;
        }
        phase_ = Phase::Connecting;
        setState("connecting");
        client_ = std::make_unique<protocol::SignallingClient>(context_);
        client_->setMessageCallback([this](const protocol::ServerMessage& message) { received(message); });
        GST_INFO("connecting to %s", settings_.serverUrl.c_str());
        client_->connect({.endpoint = settings_.serverUrl, .token = settings_.accessToken, .tlsCaFile = settings_.caFile},
                         [this](calling::Result<protocol::WelcomeMessage> welcome) { connected(welcome); });
    }

    void connected(const calling::Result<protocol::WelcomeMessage>& welcome)
    {
        if (stopping_)
            return;
        if (!welcome) {
            const calling::Error& error = welcome.error();
            fail(error.code, error.subCode, "Could not connect to calling-server: " + error.message);
            return;
        }
        identity_ = welcome->identity;
        GST_INFO("connected to calling-server as %s", identity_.c_str());
        client_->setClosedCallback([this](const protocol::CloseReason& reason) { closed(reason); });
        if (settings_.target.empty()) {
            phase_ = Phase::Waiting;
            setState("waiting");
            return;
        }
        g_autofree gchar* callId = g_uuid_string_random();
        callId_ = callId;
        peerId_ = settings_.target;
        phase_ = Phase::Calling;
        setState("calling");
        protocol::InviteMessage invite{.callId = callId_,
                                       .targets = {settings_.target},
                                       .displayName = settings_.displayName,
                                       .media = {.audio = true, .video = false}};
        client_->request(std::move(invite), [this](calling::Result<calling::Done> done) {
            if (!done && phase_ == Phase::Calling)
                fail(done.error().code, done.error().subCode, "calling-server refused the call: " + done.error().message);
        });
    }

    void closed(const protocol::CloseReason& reason)
    {
        if (stopping_) {
            g_main_loop_quit(loop_);
            return;
        }
        if (phase_ == Phase::Ended || phase_ == Phase::Failed) {
            GST_INFO("calling-server closed the connection (%d)", reason.closeCode);
            return;
        }
        if (reason.closeCode == 4401)
            fail(401, 4507, "calling-server closed the connection: the access token expired or was revoked");
        else
            fail(408, 40104, "Lost the connection to calling-server (close code " + std::to_string(reason.closeCode) +
                                 ")");
    }

    void received(const protocol::ServerMessage& message)
    {
        if (stopping_ || phase_ == Phase::Ended || phase_ == Phase::Failed)
            return;
        std::visit([this](const auto& typed) { handle(typed); }, message);
    }

    void handle(const protocol::IncomingCallMessage& incoming)
    {
        if (phase_ != Phase::Waiting) {
            GST_INFO("busy: leaving incoming call %s ringing", incoming.callId.c_str());
            return;
        }
        callId_ = incoming.callId;
        peerId_ = incoming.caller.rawId;
        peerName_ = incoming.caller.displayName;
        phase_ = Phase::Accepting;
        setState("ringing");
        std::string callId = callId_;
        client_->request(protocol::AcceptMessage{.callId = callId_, .displayName = settings_.displayName},
                         [this, callId](calling::Result<calling::Done> done) {
                             // A call that ended meanwhile (the caller gave up) has already said so.
                             if (!done && callId == callId_ && phase_ == Phase::Accepting)
                                 fail(done.error().code, done.error().subCode,
                                      "calling-server refused to accept the call: " + done.error().message);
                         });
    }

    void handle(const protocol::ParticipantUpdatedMessage& update)
    {
        const protocol::ParticipantInfo& participant = update.participant;
        if (update.callId != callId_ || participant.rawId == identity_)
            return;
        switch (participant.state) {
        case protocol::ParticipantState::Ringing:
            if (phase_ == Phase::Calling && !ringing_) {
                ringing_ = true;
                setState("ringing");
            }
            break;
        case protocol::ParticipantState::Connected:
        case protocol::ParticipantState::Hold:
            if (joined_)
                break;
            joined_ = true;
            peerId_ = participant.rawId;
            peerName_ = participant.displayName;
            phase_ = Phase::InCall;
            setState("connected");
            if (!settings_.target.empty()) {
                Owner owner(&owner_);
                if (owner.get())
                    call_signaller_emit_session_requested(owner.get(), peerId_.c_str(), peerName_.c_str());
            }
            break;
        case protocol::ParticipantState::Disconnected:
            if (participant.rawId == peerId_)
                endSession();
            break;
        }
    }

    void handle(const protocol::RemoteSdpMessage& sdp)
    {
        if (sdp.callId != callId_ || sdp.from != peerId_)
            return;
        Owner owner(&owner_);
        if (owner.get())
            call_signaller_emit_session_description(owner.get(), sdp.from.c_str(), sdp.description.type.c_str(),
                                                    sdp.description.sdp.c_str());
    }

    void handle(const protocol::RemoteIceMessage& ice)
    {
        if (ice.callId != callId_ || ice.from != peerId_)
            return;
        Owner owner(&owner_);
        if (owner.get())
            call_signaller_emit_handle_ice(owner.get(), ice.from.c_str(), ice.candidate.sdpMLineIndex,
                                           ice.candidate.candidate.c_str());
    }

    void handle(const protocol::CallEndedMessage& ended)
    {
        if (ended.callId != callId_)
            return;
        endSession();
        phase_ = Phase::Ended;
        GST_INFO("call %s ended: %d/%d %s", callId_.c_str(), ended.reason.code, ended.reason.subCode,
                 ended.reason.message.c_str());
        setState("ended");
        Owner owner(&owner_);
        if (owner.get())
            call_signaller_emit_call_ended(owner.get(), ended.reason.code, ended.reason.subCode,
                                           ended.reason.message.c_str());
    }

    void handle(const protocol::ErrorMessage& error)
    {
        // Answers to requests go to their callbacks; this is the server telling something by itself
        // (a relay that failed, or the token expiring, which the close that follows reports).
        GST_WARNING("calling-server: %d/%d %s", error.code, error.subCode, error.message.c_str());
    }

    void handle(const protocol::WelcomeMessage&) {}
    void handle(const protocol::AuthRefreshedMessage&) {}
    void handle(const protocol::AckMessage&) {}

    GWeakRef owner_;
    GMainContext* context_ = nullptr;
    GMainLoop* loop_ = nullptr;
    std::mutex mutex_;
    std::atomic<bool> finished_ = false;

    // The session's thread only.
    const Settings settings_;
    std::unique_ptr<protocol::SignallingClient> client_;
    protocol::SourcePtr shutdownTimer_;
    Phase phase_ = Phase::Connecting;
    bool stopping_ = false;
    std::string identity_;
    std::string callId_;
    std::string peerId_;
    std::string peerName_;
    bool ringing_ = false;
    bool joined_ = false;    // the peer joined: a session exists
    bool peerLeft_ = false;  // session-ended was emitted
};

}  // namespace

struct CallServerSignallerState {
    std::mutex mutex;
    Settings settings;
    std::shared_ptr<Session> session;  // from start() to stop()
    GThread* thread = nullptr;
};

struct _CallServerSignaller {
    GstObject parent;
    CallServerSignallerState* state;
};

static void call_server_signaller_iface_init(CallSignallerInterface* iface);

G_DEFINE_TYPE_WITH_CODE(CallServerSignaller, call_server_signaller, GST_TYPE_OBJECT,
                        G_IMPLEMENT_INTERFACE(CALL_TYPE_SIGNALLER, call_server_signaller_iface_init);
                        GST_DEBUG_CATEGORY_INIT(call_server_signaller_debug, "callserversignaller", 0,
                                                "callbin's own connection to calling-server"))

static std::shared_ptr<Session> currentSession(CallSignaller* signaller)
{
    CallServerSignallerState& state = *CALL_SERVER_SIGNALLER(signaller)->state;
    std::lock_guard lock(state.mutex);
    return state.session;
}

static void start(CallSignaller* signaller)
{
    auto* self = CALL_SERVER_SIGNALLER(signaller);
    CallServerSignallerState& state = *self->state;
    std::lock_guard lock(state.mutex);
    if (state.session) {
        GST_WARNING_OBJECT(self, "already started");
        return;
    }
    state.session = std::make_shared<Session>(self, state.settings);
    state.thread = g_thread_new("callsignaller", Session::threadMain, new std::shared_ptr<Session>(state.session));
}

static void stop(CallSignaller* signaller)
{
    auto* self = CALL_SERVER_SIGNALLER(signaller);
    CallServerSignallerState& state = *self->state;
    std::shared_ptr<Session> session;
    GThread* thread = nullptr;
    {
        std::lock_guard lock(state.mutex);
        session = std::move(state.session);
        thread = std::exchange(state.thread, nullptr);
    }
    if (!session)
        return;
    session->post([session] { session->shutdown(); });
    if (thread == g_thread_self()) {
        // Let go of from one of our own signal handlers: the thread ends by itself.
        g_thread_unref(thread);
        return;
    }
    g_thread_join(thread);
    GST_DEBUG_OBJECT(self, "stopped");
}

static void sendSdp(CallSignaller* signaller, const gchar* peerId, const gchar* type, const gchar* sdp)
{
    if (auto session = currentSession(signaller))
        session->post([session, peer = std::string(peerId), type = std::string(type), sdp = std::string(sdp)] {
            session->sendSdp(peer, type, sdp);
        });
}

static void sendIce(CallSignaller* signaller, const gchar* peerId, guint mlineIndex, const gchar* candidate)
{
    if (auto session = currentSession(signaller))
        session->post([session, peer = std::string(peerId), mlineIndex, candidate = std::string(candidate)] {
            session->sendIce(peer, mlineIndex, candidate);
        });
}

static void call_server_signaller_iface_init(CallSignallerInterface* iface)
{
    iface->start = start;
    iface->stop = stop;
    iface->send_sdp = sendSdp;
    iface->send_ice = sendIce;
}

static void call_server_signaller_init(CallServerSignaller* self)
{
    self->state = new CallServerSignallerState;
}

static void call_server_signaller_dispose(GObject* object)
{
    stop(CALL_SIGNALLER(object));
    G_OBJECT_CLASS(call_server_signaller_parent_class)->dispose(object);
}

static void call_server_signaller_finalize(GObject* object)
{
    delete CALL_SERVER_SIGNALLER(object)->state;
    G_OBJECT_CLASS(call_server_signaller_parent_class)->finalize(object);
}

static std::string* settingFor(Settings& settings, guint propertyId)
{
    switch (propertyId) {
    case PROP_SERVER_URL:
        return &settings.serverUrl;
    case PROP_ACCESS_TOKEN:
        return &settings.accessToken;
    case PROP_TARGET:
        return &settings.target;
    case PROP_DISPLAY_NAME:
        return &settings.displayName;
    case PROP_CA_FILE:
        return &settings.caFile;
    default:
        return nullptr;
    }
}

static void call_server_signaller_set_property(GObject* object, guint propertyId, const GValue* value,
                                               GParamSpec* pspec)
{
    CallServerSignallerState& state = *CALL_SERVER_SIGNALLER(object)->state;
    std::lock_guard lock(state.mutex);
    std::string* setting = settingFor(state.settings, propertyId);
    if (!setting) {
        G_OBJECT_WARN_INVALID_PROPERTY_ID(object, propertyId, pspec);
        return;
    }
    const gchar* text = g_value_get_string(value);
    *setting = text ? text : "";
}

static void call_server_signaller_get_property(GObject* object, guint propertyId, GValue* value, GParamSpec* pspec)
{
    CallServerSignallerState& state = *CALL_SERVER_SIGNALLER(object)->state;
    std::lock_guard lock(state.mutex);
    std::string* setting = propertyId == PROP_ACCESS_TOKEN ? nullptr : settingFor(state.settings, propertyId);
    if (!setting) {
        G_OBJECT_WARN_INVALID_PROPERTY_ID(object, propertyId, pspec);
        return;
    }
    g_value_set_string(value, setting->empty() ? nullptr : setting->c_str());
}

static void call_server_signaller_class_init(CallServerSignallerClass* klass)
{
    GObjectClass* objectClass = G_OBJECT_CLASS(klass);
    objectClass->dispose = call_server_signaller_dispose;
    objectClass->finalize = call_server_signaller_finalize;
    objectClass->set_property = call_server_signaller_set_property;
    objectClass->get_property = call_server_signaller_get_property;

    auto flags = GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
    g_object_class_install_property(
        objectClass, PROP_SERVER_URL,
        g_param_spec_string("server-url", "Server URL",
                            "calling-server's endpoint, http://host:port/ or https://host:port/ (the signalling "
                            "WebSocket is ws(s)://host:port/signalling/v1).",
                            nullptr, flags));
    // Write-only and never notified, so that neither gst-inspect-1.0 nor gst-launch-1.0 -v shows it.
    g_object_class_install_property(
        objectClass, PROP_ACCESS_TOKEN,
        g_param_spec_string("access-token", "Access Token",
                            "The identity's access token (voip scope), from the identity API. Write-only.", nullptr,
                            GParamFlags(G_PARAM_WRITABLE | G_PARAM_STATIC_STRINGS)));
    g_object_class_install_property(
        objectClass, PROP_TARGET,
        g_param_spec_string("target", "Target",
                            "The raw id to call (8:acs:…); none: answer the first incoming call.", nullptr, flags));
    g_object_class_install_property(
        objectClass, PROP_DISPLAY_NAME,
        g_param_spec_string("display-name", "Display Name", "The name the other side sees; none by default.",
                            nullptr, flags));
    g_object_class_install_property(
        objectClass, PROP_CA_FILE,
        g_param_spec_string("ca-file", "CA File",
                            "PEM certificates to trust for an https:// server-url instead of the system's.", nullptr,
                            flags));
}
