// The signalling and call control of docs/protocol.md against the real calling-server process on
// loopback: identities and tokens from its REST API, agents on SignallingClient, and a raw libsoup
// WebSocket for what no well-behaved agent sends. Every wait is a condition with a deadline.
#include "identity_store.h"
#include "main_loop.h"
#include "rest_client.h"
#include "secrets.h"
#include "server_process.h"

#include "protocol/access_token.h"
#include "protocol/glib_ptr.h"
#include "protocol/messages.h"
#include "protocol/signalling_client.h"

#include <glib.h>
#include <gtest/gtest.h>
#include <libsoup/soup.h>

#include <algorithm>
#include <deque>
#include <memory>
#include <optional>
#include <set>

using namespace calling;
using namespace calling::protocol;
using calling::test::RestClient;
using calling::test::ServerProcess;

namespace {

constexpr gint64 kDeadlineUs = 5 * G_USEC_PER_SEC;
// The quick server's timers, short so that timing tests take a second, not half a minute.
constexpr double kQuickSeconds = 0.5;

// Runs `context` until `done()` or the deadline; returns done().
template <typename Done>
bool waitFor(GMainContext* context, Done done, gint64 deadlineUs = kDeadlineUs)
{
    return calling::test::iterateUntil(context, done, std::chrono::microseconds(deadlineUs));
}

std::string newCallId()
{
    g_autofree char* id = g_uuid_string_random();
    return id;
}

std::string types(const std::vector<ServerMessage>& messages)
{
    std::string text;
    for (const auto& message : messages)
        text += (text.empty() ? "" : " ") + std::string(messageType(message));
    return text;
}

template <typename T>
T as(const ServerMessage& message)
{
    if (!std::holds_alternative<T>(message)) {
        ADD_FAILURE() << "got " << messageType(message) << ": " << serialize(message);
        return T{};
    }
    return std::get<T>(message);
}

struct Server {
    std::unique_ptr<ServerProcess> process;
    std::string endpoint;
};

// One agent: an identity, its token, and a SignallingClient recording what arrives.
struct Agent {
    std::string identity;
    std::string token;
    std::unique_ptr<SignallingClient> client;
    std::deque<ServerMessage> inbox;
    std::optional<CloseReason> closed;
    WelcomeMessage welcome;
};

// A WebSocket with no protocol knowledge, to send what SignallingClient never would.
class RawSocket {
public:
    explicit RawSocket(GMainContext* context) : context_(context) {}
    ~RawSocket()
    {
        if (connection_) {
            g_signal_handlers_disconnect_by_data(connection_.get(), this);
            if (soup_websocket_connection_get_state(connection_.get()) == SOUP_WEBSOCKET_STATE_OPEN)
                soup_websocket_connection_close(connection_.get(), SOUP_WEBSOCKET_CLOSE_NORMAL, nullptr);
        }
    }

    // `bearer`: the Authorization header's token, none when empty.
    bool open(const std::string& url, const std::string& bearer)
    {
        session_ = adopt(soup_session_new());
        soup_session_remove_feature_by_type(session_.get(), SOUP_TYPE_WEBSOCKET_EXTENSION_MANAGER);
        GObjectPtr<SoupMessage> message = adopt(soup_message_new("GET", url.c_str()));
        if (!bearer.empty())
            soup_message_headers_replace(soup_message_get_request_headers(message.get()), "Authorization",
                                         ("Bearer " + bearer).c_str());
        bool done = false;
        soup_session_websocket_connect_async(
            session_.get(), message.get(), nullptr, nullptr, G_PRIORITY_DEFAULT, nullptr,
            [](GObject* source, GAsyncResult* result, gpointer data) {
                auto* self = static_cast<RawSocket*>(data);
                self->connection_ = adopt(soup_session_websocket_connect_finish(SOUP_SESSION(source), result, nullptr));
                self->connected_ = true;
            },
            this);
        waitFor(context_, [&] { return connected_; });
        done = connection_ != nullptr;
        if (done) {
            soup_websocket_connection_set_max_incoming_payload_size(connection_.get(), 1024 * 1024);
            g_signal_connect(connection_.get(), "message",
                             G_CALLBACK(+[](SoupWebsocketConnection*, gint, GBytes* bytes, gpointer data) {
                                 gsize size = 0;
                                 auto* text = static_cast<const char*>(g_bytes_get_data(bytes, &size));
                                 static_cast<RawSocket*>(data)->received.emplace_back(text ? text : "", size);
                             }),
                             this);
            g_signal_connect(connection_.get(), "closed", G_CALLBACK(+[](SoupWebsocketConnection* c, gpointer data) {
                                 static_cast<RawSocket*>(data)->closeCode = soup_websocket_connection_get_close_code(c);
                             }),
                             this);
        }
        return done;
    }

    void sendText(const std::string& text) { soup_websocket_connection_send_text(connection_.get(), text.c_str()); }
    void sendBinary(const std::string& bytes)
    {
        soup_websocket_connection_send_binary(connection_.get(), bytes.data(), bytes.size());
    }

    // The next message, parsed; nullopt at the deadline.
    std::optional<ServerMessage> next()
    {
        if (!waitFor(context_, [&] { return !received.empty(); }))
            return std::nullopt;
        std::string text = std::move(received.front());
        received.pop_front();
        auto parsed = parseServerMessage(text);
        EXPECT_TRUE(parsed) << text;
        if (!parsed)
            return std::nullopt;
        return parsed.value();
    }

    // The next message, which must be an error with this code and subCode.
    ErrorMessage nextError(int code, int subCode)
    {
        auto message = next();
        if (!message) {
            ADD_FAILURE() << "no error " << code << "/" << subCode;
            return {};
        }
        auto error = as<ErrorMessage>(*message);
        EXPECT_EQ(error.code, code) << error.message;
        EXPECT_EQ(error.subCode, subCode) << error.message;
        return error;
    }

    std::deque<std::string> received;
    std::optional<int> closeCode;

private:
    GMainContext* context_;
    GObjectPtr<SoupSession> session_;
    GObjectPtr<SoupWebsocketConnection> connection_;
    bool connected_ = false;
};

class SignallingTest : public ::testing::Test {
protected:
    static void SetUpTestSuite()
    {
        // --verbose: the tests read call events from the log.
        standard_ = startServer({"--verbose"});
        quick_ = startServer(
            {"--verbose", "--ring-timeout", "0.5", "--grace-period", "0.5", "--auth-timeout", "0.5"});
    }

    static void TearDownTestSuite()
    {
        // Calls and lost endpoints still pending do not keep the server from stopping cleanly.
        if (standard_) {
            EXPECT_EQ(standard_->process->stop(), 0) << standard_->process->log();
        }
        standard_.reset();
        quick_.reset();
    }

    static std::unique_ptr<Server> startServer(std::vector<std::string> extraArgs)
    {
        std::string why;
        auto server = std::make_unique<Server>();
        server->process = ServerProcess::start({"", std::nullopt, std::move(extraArgs)}, &why);
        EXPECT_TRUE(server->process) << why;
        if (!server->process)
            return nullptr;
        server->endpoint = server->process->connection().endpoint;
        return server;
    }

    void SetUp() override
    {
        ASSERT_TRUE(standard_ && quick_);
        context_ = g_main_context_new();
        g_main_context_push_thread_default(context_);
    }

    void TearDown() override
    {
        for (const auto& agent : agents_) {
            for (const Server* server : {standard_.get(), quick_.get()})
                EXPECT_EQ(server->process->log().find(agent->token), std::string::npos) << "a token was logged";
        }
        // Close every connection and see it closed, so that nothing of this test reaches the next.
        for (const auto& agent : agents_)
            if (agent->client && agent->client->isConnected())
                agent->client->close();
        waitFor(context_, [&] {
            for (const auto& agent : agents_)
                if (agent->client && agent->client->isConnected())
                    return false;
            return true;
        });
        agents_.clear();
        rest_.clear();
        g_main_context_pop_thread_default(context_);
        g_main_context_unref(context_);
        if (HasFailure()) {
            std::cerr << "standard server log:\n" << standard_->process->log();
            std::cerr << "quick server log:\n" << quick_->process->log();
        }
    }

    RestClient& rest(const Server& server)
    {
        auto& client = rest_[&server];
        if (!client)
            client = std::make_unique<RestClient>(server.process->connection());
        return *client;
    }

    // A new identity with a voip token and a client not connected yet.
    Agent& newAgent(const Server& server)
    {
        auto agent = std::make_unique<Agent>();
        agent->identity = rest(server).createIdentity();
        agent->token = rest(server).issueToken(agent->identity);
        resetClient(*agent);
        agents_.push_back(std::move(agent));
        return *agents_.back();
    }

    // Drops the agent's connection the way a crash would: no hangUp, no goodbye.
    void resetClient(Agent& agent)
    {
        agent.client = std::make_unique<SignallingClient>(context_);
        agent.client->setMessageCallback([&agent](const ServerMessage& message) { agent.inbox.push_back(message); });
        agent.client->setClosedCallback([&agent](const CloseReason& reason) { agent.closed = reason; });
        agent.closed.reset();
    }

    Result<WelcomeMessage> connect(const Server& server, Agent& agent,
                                   SignallingOptions::Auth auth = SignallingOptions::Auth::Header,
                                   const std::string& token = "", const std::string& resume = "")
    {
        std::optional<Result<WelcomeMessage>> result;
        SignallingOptions options{server.endpoint, token.empty() ? agent.token : token, auth, resume};
        agent.client->connect(options, [&](Result<WelcomeMessage> welcome) { result.emplace(std::move(welcome)); });
        if (!waitFor(context_, [&] { return result.has_value(); }))
            return Error{0, 0, "connect did not complete"};
        if (result->ok())
            agent.welcome = result->value();
        return std::move(*result);
    }

    Agent& online(const Server& server, SignallingOptions::Auth auth = SignallingOptions::Auth::Header)
    {
        Agent& agent = newAgent(server);
        auto welcome = connect(server, agent, auth);
        EXPECT_TRUE(welcome) << welcome.error().code << "/" << welcome.error().subCode << " "
                             << welcome.error().message;
        return agent;
    }

    // The next server message for `agent`, within the deadline.
    ServerMessage next(Agent& agent, gint64 deadlineUs = kDeadlineUs)
    {
        if (!waitFor(context_, [&] { return !agent.inbox.empty(); }, deadlineUs)) {
            ADD_FAILURE() << "nothing arrived for " << agent.identity;
            return ErrorMessage{"", "", -1, -1, "nothing arrived"};
        }
        ServerMessage message = std::move(agent.inbox.front());
        agent.inbox.pop_front();
        return message;
    }

    template <typename T>
    T receive(Agent& agent)
    {
        return as<T>(next(agent));
    }

    // Everything the server sent `agent` so far: a request the server answers in order is a
    // barrier behind everything it sent before.
    std::vector<ServerMessage> drain(Agent& agent)
    {
        std::optional<Result<Done>> answer;
        agent.client->request(HoldMessage{"", newCallId()}, [&](Result<Done> result) { answer.emplace(result); });
        EXPECT_TRUE(waitFor(context_, [&] { return answer.has_value(); })) << "no answer to the barrier";
        if (answer) {
            EXPECT_EQ(answer->ok() ? 0 : answer->error().subCode, 40400);
        }
        std::vector<ServerMessage> messages(agent.inbox.begin(), agent.inbox.end());
        agent.inbox.clear();
        return messages;
    }

    // Sends a request and waits for its ack or error.
    Result<Done> request(Agent& agent, ClientMessage message)
    {
        std::optional<Result<Done>> answer;
        agent.client->request(std::move(message), [&](Result<Done> result) { answer.emplace(result); });
        if (!waitFor(context_, [&] { return answer.has_value(); }))
            return Error{0, 0, "no answer"};
        return *answer;
    }

    void expectEnded(Agent& agent, const std::string& callId, int code, int subCode)
    {
        auto ended = receive<CallEndedMessage>(agent);
        EXPECT_EQ(ended.callId, callId);
        EXPECT_EQ(ended.reason.code, code) << ended.reason.message;
        EXPECT_EQ(ended.reason.subCode, subCode) << ended.reason.message;
    }

    void expectParticipant(Agent& agent, const std::string& callId, const std::string& who, ParticipantState state,
                           std::optional<std::pair<int, int>> endReason = std::nullopt)
    {
        auto updated = receive<ParticipantUpdatedMessage>(agent);
        EXPECT_EQ(updated.callId, callId);
        EXPECT_EQ(updated.participant.rawId, who);
        EXPECT_EQ(updated.participant.state, state);
        if (endReason) {
            ASSERT_TRUE(updated.participant.endReason);
            EXPECT_EQ(updated.participant.endReason->code, endReason->first);
            EXPECT_EQ(updated.participant.endReason->subCode, endReason->second);
        }
    }

    // a calls b; b's `ringing` endpoints ring; `answering` accepts. Returns the call id.
    std::string establish(Agent& a, Agent& b)
    {
        std::string callId = newCallId();
        EXPECT_TRUE(request(a, InviteMessage{"", callId, {b.identity}, "Alice", {true, false}}));
        EXPECT_EQ(receive<IncomingCallMessage>(b).callId, callId);
        expectParticipant(a, callId, b.identity, ParticipantState::Ringing);
        EXPECT_TRUE(request(b, AcceptMessage{"", callId, "Bob"}));
        expectParticipant(b, callId, a.identity, ParticipantState::Connected);
        expectParticipant(a, callId, b.identity, ParticipantState::Connected);
        return callId;
    }

    void expectRelayWorks(Agent& from, Agent& to, const std::string& callId)
    {
        ASSERT_TRUE(from.client->send(SdpMessage{"", callId, to.identity, {"offer", "v=0\r\n"}}));
        auto sdp = receive<RemoteSdpMessage>(to);
        EXPECT_EQ(sdp.callId, callId);
        EXPECT_EQ(sdp.from, from.identity);
    }

    // Waits until the server logged `needle` at least `count` times.
    bool waitForLog(const Server& server, const std::string& needle, size_t count = 1)
    {
        return waitFor(context_, [&] {
            std::string log = server.process->log();
            size_t found = 0;
            for (size_t at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1))
                ++found;
            return found >= count;
        });
    }

    std::string signallingUrl(const Server& server) { return SignallingClient::signallingUrl(server.endpoint).value(); }

    // A voip token for `identity` expiring at `expiresAt` (Unix seconds), signed with the server's
    // own key and carrying the identity's current generation, as the REST API would issue it.
    static std::string mintToken(const Server& server, const std::string& identity, int64_t expiresAt)
    {
        auto secrets = server::loadSecrets(server.process->stateDir(), std::nullopt);
        EXPECT_TRUE(secrets) << secrets.error().message;
        g_autofree char* database = g_build_filename(server.process->stateDir().c_str(), "identities.db", nullptr);
        auto store = server::IdentityStore::open(database);
        EXPECT_TRUE(store) << store.error().message;
        if (!secrets || !store)
            return "";
        auto generation = store.value()->tokenGeneration(identity);
        EXPECT_TRUE(generation) << identity;
        int64_t now = g_get_real_time() / G_USEC_PER_SEC;
        return issueAccessToken(TokenGrant{identity, {"voip"}, std::min(now, expiresAt - 1), expiresAt,
                                           generation.value_or(0)},
                                secrets->signingKey);
    }

    static int64_t nowUnixMs() { return g_get_real_time() / 1000; }

    static std::unique_ptr<Server> standard_;
    static std::unique_ptr<Server> quick_;
    GMainContext* context_ = nullptr;
    std::map<const Server*, std::unique_ptr<RestClient>> rest_;
    std::vector<std::unique_ptr<Agent>> agents_;
};

std::unique_ptr<Server> SignallingTest::standard_;
std::unique_ptr<Server> SignallingTest::quick_;

}  // namespace

TEST_F(SignallingTest, HeaderAuthWelcomes)
{
    Agent& agent = newAgent(*standard_);
    auto welcome = connect(*standard_, agent);
    ASSERT_TRUE(welcome) << welcome.error().message;
    EXPECT_EQ(welcome->protocolVersion, 1);
    EXPECT_EQ(welcome->identity, agent.identity);
    EXPECT_TRUE(g_uuid_string_is_valid(welcome->endpointId.c_str())) << welcome->endpointId;
    int64_t now = g_get_real_time() / G_USEC_PER_SEC;
    EXPECT_NEAR(welcome->tokenExpiresOn, now + 24 * 3600, 120);
    EXPECT_DOUBLE_EQ(welcome->graceSeconds, 10);
    EXPECT_TRUE(agent.client->isConnected());
}

TEST_F(SignallingTest, InBandAuthWelcomes)
{
    Agent& agent = newAgent(*quick_);
    auto welcome = connect(*quick_, agent, SignallingOptions::Auth::Message);
    ASSERT_TRUE(welcome) << welcome.error().message;
    EXPECT_EQ(welcome->identity, agent.identity);
    EXPECT_DOUBLE_EQ(welcome->graceSeconds, kQuickSeconds);
    // Authenticated, the connection outlives the auth timeout.
    waitFor(context_, [] { return false; }, static_cast<gint64>(kQuickSeconds * 2 * G_USEC_PER_SEC));
    EXPECT_TRUE(agent.client->isConnected());
    EXPECT_EQ(types(drain(agent)), "");
}

TEST_F(SignallingTest, RefusedTokensGet401Slash4507BothWays)
{
    RestClient& client = rest(*standard_);
    Agent& agent = newAgent(*standard_);

    std::string chatOnly = client.issueToken(agent.identity, R"(["chat"])");
    std::string tampered = agent.token;
    tampered[tampered.size() - 2] = tampered[tampered.size() - 2] == 'A' ? 'B' : 'A';

    // An expired token, signed with the server's own key.
    std::string expired = mintToken(*standard_, agent.identity, g_get_real_time() / G_USEC_PER_SEC - 60);
    ASSERT_FALSE(expired.empty());

    Agent& revokedAgent = newAgent(*standard_);
    ASSERT_EQ(client.send({.pathAndQuery = "/identities/" + RestClient::escapeId(revokedAgent.identity) +
                                           "/:revokeAccessTokens?api-version=2023-10-01"})
                  .status,
              204);
    Agent& deletedAgent = newAgent(*standard_);
    ASSERT_EQ(client.send({.method = "DELETE",
                           .pathAndQuery = "/identities/" + RestClient::escapeId(deletedAgent.identity) +
                                           "?api-version=2023-10-01"})
                  .status,
              204);

    struct Case {
        const char* what;
        std::string token;
    } cases[] = {{"garbage", "not-a-token"},    {"tampered", tampered},
                 {"expired", expired},          {"revoked", revokedAgent.token},
                 {"deleted", deletedAgent.token}, {"chat scope only", chatOnly}};
    for (const auto& [what, token] : cases) {
        for (auto auth : {SignallingOptions::Auth::Header, SignallingOptions::Auth::Message}) {
            resetClient(agent);
            auto welcome = connect(*standard_, agent, auth, token);
            ASSERT_FALSE(welcome) << what;
            EXPECT_EQ(welcome.error().code, 401) << what << ": " << welcome.error().message;
            EXPECT_EQ(welcome.error().subCode, 4507) << what << ": " << welcome.error().message;
            // The server's own words, from the HTTP 401 body or the in-band error.
            EXPECT_TRUE(welcome.error().message.starts_with("token") ||
                        welcome.error().message.starts_with("not a"))
                << what << ": " << welcome.error().message;
        }
        // The refusal before the upgrade is an HTTP 401 whose body is the documented error.
        auto response =
            client.send({.method = "GET", .pathAndQuery = "/signalling/v1", .sign = false,
                         .overrideHeaders = {{"Authorization", "Bearer " + token}}});
        EXPECT_EQ(response.status, 401) << what;
        auto body = parseServerMessage(response.body);
        ASSERT_TRUE(body) << response.body;
        EXPECT_EQ(as<ErrorMessage>(body.value()).code, 401);
        EXPECT_EQ(as<ErrorMessage>(body.value()).subCode, 4507);
    }
    // And the raw in-band exchange: error 401/4507, then close code 4401.
    RawSocket raw(context_);
    ASSERT_TRUE(raw.open(signallingUrl(*standard_), ""));
    raw.sendText(serialize(ClientMessage(AuthMessage{"a1", expired, ""})));
    EXPECT_EQ(raw.nextError(401, 4507).requestId, "a1");
    ASSERT_TRUE(waitFor(context_, [&] { return raw.closeCode.has_value(); }));
    EXPECT_EQ(*raw.closeCode, 4401);
    EXPECT_EQ(standard_->process->log().find(agent.token), std::string::npos) << "tokens are never logged";
}

TEST_F(SignallingTest, AnythingBeforeAuthIsRefusedWith4401)
{
    for (const std::string& first : {serialize(ClientMessage(HoldMessage{"h", newCallId()})), std::string("garbage"),
                                     std::string(R"({"type":"dance"})")}) {
        RawSocket raw(context_);
        ASSERT_TRUE(raw.open(signallingUrl(*standard_), ""));
        raw.sendText(first);
        raw.nextError(401, 4507);
        ASSERT_TRUE(waitFor(context_, [&] { return raw.closeCode.has_value(); })) << first;
        EXPECT_EQ(*raw.closeCode, 4401) << first;
    }
    RawSocket binary(context_);
    ASSERT_TRUE(binary.open(signallingUrl(*standard_), ""));
    binary.sendBinary("\x01\x02");
    binary.nextError(401, 4507);
    ASSERT_TRUE(waitFor(context_, [&] { return binary.closeCode.has_value(); }));
    EXPECT_EQ(*binary.closeCode, 4401);

    // Silence is refused too, once the auth timeout is over.
    RawSocket silent(context_);
    ASSERT_TRUE(silent.open(signallingUrl(*quick_), ""));
    silent.nextError(401, 4507);
    ASSERT_TRUE(waitFor(context_, [&] { return silent.closeCode.has_value(); }));
    EXPECT_EQ(*silent.closeCode, 4401);
}

TEST_F(SignallingTest, ACallInTheDocumentedOrder)
{
    Agent& a = online(*standard_);
    Agent& b = online(*standard_, SignallingOptions::Auth::Message);
    std::string callId = newCallId();

    ASSERT_TRUE(a.client->send(InviteMessage{"1", callId, {b.identity}, "Alice", {true, false}}));
    auto incoming = receive<IncomingCallMessage>(b);
    EXPECT_EQ(incoming.callId, callId);
    EXPECT_EQ(incoming.caller, (CallerInfo{a.identity, "Alice"}));
    EXPECT_EQ(incoming.media, (MediaFlags{true, false}));
    auto ringing = receive<ParticipantUpdatedMessage>(a);
    EXPECT_EQ(ringing.participant, (ParticipantInfo{b.identity, "", ParticipantState::Ringing, false, {}}));
    EXPECT_EQ(receive<AckMessage>(a).requestId, "1");

    ASSERT_TRUE(b.client->send(AcceptMessage{"7", callId, "Bob"}));
    auto caller = receive<ParticipantUpdatedMessage>(b);
    EXPECT_EQ(caller.participant, (ParticipantInfo{a.identity, "Alice", ParticipantState::Connected, false, {}}));
    EXPECT_EQ(receive<AckMessage>(b).requestId, "7");
    auto callee = receive<ParticipantUpdatedMessage>(a);
    EXPECT_EQ(callee.participant, (ParticipantInfo{b.identity, "Bob", ParticipantState::Connected, false, {}}));

    ASSERT_TRUE(a.client->send(SdpMessage{"", callId, b.identity, {"offer", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n"}}));
    auto offer = receive<RemoteSdpMessage>(b);
    EXPECT_EQ(offer, (RemoteSdpMessage{callId, a.identity, {"offer", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n"}}));
    ASSERT_TRUE(b.client->send(SdpMessage{"", callId, a.identity, {"answer", "v=0\r\n"}}));
    EXPECT_EQ(receive<RemoteSdpMessage>(a), (RemoteSdpMessage{callId, b.identity, {"answer", "v=0\r\n"}}));
    ASSERT_TRUE(a.client->send(IceMessage{"", callId, b.identity, {0, "candidate:1 1 UDP 1 127.0.0.1 5000 typ host"}}));
    EXPECT_EQ(receive<RemoteIceMessage>(b),
              (RemoteIceMessage{callId, a.identity, {0, "candidate:1 1 UDP 1 127.0.0.1 5000 typ host"}}));
    ASSERT_TRUE(b.client->send(IceMessage{"", callId, a.identity, {1, "candidate:2 1 UDP 1 127.0.0.1 5001 typ host"}}));
    EXPECT_EQ(receive<RemoteIceMessage>(a).from, b.identity);

    ASSERT_TRUE(a.client->send(HangUpMessage{"2", callId, false}));
    expectEnded(a, callId, 0, 0);
    EXPECT_EQ(receive<AckMessage>(a).requestId, "2");
    expectParticipant(b, callId, a.identity, ParticipantState::Disconnected, std::pair(0, 0));
    expectEnded(b, callId, 0, 0);
    EXPECT_EQ(types(drain(a)), "");
    EXPECT_EQ(types(drain(b)), "");
}

TEST_F(SignallingTest, RejectEndsTheCallWith603)
{
    Agent& a = online(*standard_);
    Agent& b = online(*standard_);
    std::string callId = newCallId();
    ASSERT_TRUE(request(a, InviteMessage{"", callId, {b.identity}, "", {}}));
    receive<IncomingCallMessage>(b);
    expectParticipant(a, callId, b.identity, ParticipantState::Ringing);
    ASSERT_TRUE(request(b, RejectMessage{"", callId}));
    expectEnded(b, callId, 603, 0);
    expectParticipant(a, callId, b.identity, ParticipantState::Disconnected, std::pair(603, 0));
    expectEnded(a, callId, 603, 0);
}

TEST_F(SignallingTest, HangingUpWhileRingingCancelsWith487)
{
    Agent& a = online(*standard_);
    Agent& b = online(*standard_);
    std::string callId = newCallId();
    ASSERT_TRUE(request(a, InviteMessage{"", callId, {b.identity}, "", {}}));
    receive<IncomingCallMessage>(b);
    expectParticipant(a, callId, b.identity, ParticipantState::Ringing);
    ASSERT_TRUE(request(a, HangUpMessage{"", callId, false}));
    expectEnded(a, callId, 0, 0);
    expectEnded(b, callId, 487, 0);
}

TEST_F(SignallingTest, NobodyAnsweringEndsWith487Slash10004AfterTheRingTimeout)
{
    Agent& a = online(*quick_);
    Agent& b = online(*quick_);
    std::string callId = newCallId();
    gint64 start = g_get_monotonic_time();
    ASSERT_TRUE(request(a, InviteMessage{"", callId, {b.identity}, "", {}}));
    receive<IncomingCallMessage>(b);
    expectParticipant(a, callId, b.identity, ParticipantState::Ringing);
    expectParticipant(a, callId, b.identity, ParticipantState::Disconnected, std::pair(487, 10004));
    expectEnded(a, callId, 487, 10004);
    expectEnded(b, callId, 487, 10004);
    EXPECT_GE(g_get_monotonic_time() - start, static_cast<gint64>(kQuickSeconds * G_USEC_PER_SEC) * 9 / 10);
}

TEST_F(SignallingTest, CallingSomeoneOfflineEndsWith480)
{
    Agent& a = online(*standard_);
    Agent& b = newAgent(*standard_);
    std::string callId = newCallId();
    ASSERT_TRUE(a.client->send(InviteMessage{"1", callId, {b.identity}, "", {}}));
    expectParticipant(a, callId, b.identity, ParticipantState::Disconnected, std::pair(480, 10037));
    expectEnded(a, callId, 480, 10037);
    EXPECT_EQ(receive<AckMessage>(a).requestId, "1");
}

TEST_F(SignallingTest, HangingUpForEveryoneEndsTheOthersWith4097)
{
    Agent& a = online(*standard_);
    Agent& b = online(*standard_);
    std::string callId = establish(a, b);
    ASSERT_TRUE(request(a, HangUpMessage{"", callId, true}));
    expectEnded(a, callId, 0, 0);
    expectParticipant(b, callId, a.identity, ParticipantState::Disconnected, std::pair(0, 4097));
    expectEnded(b, callId, 0, 4097);
}

TEST_F(SignallingTest, HoldResumeAndMuteAreSeenByTheOtherSide)
{
    Agent& a = online(*standard_);
    Agent& b = online(*standard_);
    std::string callId = establish(a, b);
    ASSERT_TRUE(request(a, HoldMessage{"", callId}));
    expectParticipant(b, callId, a.identity, ParticipantState::Hold);
    ASSERT_TRUE(request(a, ResumeMessage{"", callId}));
    expectParticipant(b, callId, a.identity, ParticipantState::Connected);
    ASSERT_TRUE(request(b, MuteStateMessage{"", callId, true}));
    auto muted = receive<ParticipantUpdatedMessage>(a);
    EXPECT_EQ(muted.participant.rawId, b.identity);
    EXPECT_TRUE(muted.participant.isMuted);
    ASSERT_TRUE(request(b, MuteStateMessage{"", callId, false}));
    EXPECT_FALSE(receive<ParticipantUpdatedMessage>(a).participant.isMuted);
}

TEST_F(SignallingTest, PublishedStreamsAndTheirAvailabilityReachTheOtherSide)
{
    Agent& a = online(*standard_);
    Agent& b = online(*standard_);
    std::string callId = establish(a, b);
    auto published = [&](std::vector<StreamInfo> streams) {
        EXPECT_TRUE(request(a, StreamsMessage{"", callId, streams}));
        auto updated = receive<ParticipantUpdatedMessage>(b);
        EXPECT_EQ(updated.callId, callId);
        EXPECT_EQ(updated.participant,
                  (ParticipantInfo{a.identity, "Alice", ParticipantState::Connected, false, std::nullopt, streams}));
    };
    published({{1, StreamType::Video, true}});
    published({{1, StreamType::Video, false}});
    published({{1, StreamType::Video, false}, {2, StreamType::ScreenSharing, true}});
    published({{1, StreamType::Video, true}, {2, StreamType::ScreenSharing, false}});
    published({{1, StreamType::Video, true}});
    published({});
    // The sender hears nothing back but its ack.
    EXPECT_EQ(types(drain(a)), "");
    EXPECT_EQ(types(drain(b)), "");

    // Bob's streams reach Alice the same way; a mute update carries them along.
    ASSERT_TRUE(request(b, StreamsMessage{"", callId, {{7, StreamType::ScreenSharing, true}}}));
    EXPECT_EQ(receive<ParticipantUpdatedMessage>(a).participant.streams,
              (std::vector<StreamInfo>{{7, StreamType::ScreenSharing, true}}));
    ASSERT_TRUE(request(b, MuteStateMessage{"", callId, true}));
    auto muted = receive<ParticipantUpdatedMessage>(a).participant;
    EXPECT_TRUE(muted.isMuted);
    EXPECT_EQ(muted.streams, (std::vector<StreamInfo>{{7, StreamType::ScreenSharing, true}}));

    // Leaving takes them away.
    ASSERT_TRUE(request(b, HangUpMessage{"", callId, false}));
    expectEnded(b, callId, 0, 0);
    auto gone = receive<ParticipantUpdatedMessage>(a).participant;
    EXPECT_EQ(gone.state, ParticipantState::Disconnected);
    EXPECT_TRUE(gone.streams.empty());
    expectEnded(a, callId, 0, 0);
}

TEST_F(SignallingTest, StreamsAnnouncedWithInviteAndAcceptAreSeenWhenTheCallConnects)
{
    Agent& a = online(*standard_);
    Agent& b = online(*standard_);
    std::string callId = newCallId();
    const std::vector<StreamInfo> aliceCamera = {{0, StreamType::Video, true}};
    const std::vector<StreamInfo> bobCamera = {{3, StreamType::Video, false}};
    ASSERT_TRUE(request(a, InviteMessage{"", callId, {b.identity}, "Alice", {true, true}, aliceCamera}));
    EXPECT_EQ(receive<IncomingCallMessage>(b).media, (MediaFlags{true, true}));
    expectParticipant(a, callId, b.identity, ParticipantState::Ringing);

    // A ringing callee has nothing to publish in yet; the caller may change its set.
    auto early = request(b, StreamsMessage{"", callId, bobCamera});
    ASSERT_FALSE(early);
    EXPECT_EQ(early.error().code, 409);
    EXPECT_EQ(early.error().subCode, 40901);
    const std::vector<StreamInfo> aliceBoth = {{0, StreamType::Video, true}, {1, StreamType::ScreenSharing, true}};
    ASSERT_TRUE(request(a, StreamsMessage{"", callId, aliceBoth}));

    ASSERT_TRUE(request(b, AcceptMessage{"", callId, "Bob", bobCamera}));
    auto caller = receive<ParticipantUpdatedMessage>(b);
    EXPECT_EQ(caller.participant,
              (ParticipantInfo{a.identity, "Alice", ParticipantState::Connected, false, std::nullopt, aliceBoth}));
    auto callee = receive<ParticipantUpdatedMessage>(a);
    EXPECT_EQ(callee.participant,
              (ParticipantInfo{b.identity, "Bob", ParticipantState::Connected, false, std::nullopt, bobCamera}));
    EXPECT_EQ(types(drain(a)), "");
    EXPECT_EQ(types(drain(b)), "");
}

TEST_F(SignallingTest, BadStreamsMessagesGet400Slash40002AndChangeNothing)
{
    Agent& a = online(*standard_);
    Agent& b = newAgent(*standard_);
    RawSocket raw(context_);
    ASSERT_TRUE(raw.open(signallingUrl(*standard_), b.token));
    ASSERT_TRUE(raw.next());  // welcome
    std::string callId = newCallId();
    ASSERT_TRUE(request(a, InviteMessage{"", callId, {b.identity}, "Alice", {}}));
    ASSERT_TRUE(raw.next());  // incomingCall
    expectParticipant(a, callId, b.identity, ParticipantState::Ringing);
    // A bad initial set refuses the accept: the call still rings.
    raw.sendText(R"({"type":"accept","requestId":"acc","callId":")" + callId +
                 R"(","streams":[{"id":1,"type":"Video","available":true},)"
                 R"({"id":1,"type":"Video","available":false}]})");
    auto refused = raw.nextError(400, 40002);
    EXPECT_EQ(refused.requestId, "acc");
    EXPECT_EQ(refused.callId, callId);
    raw.sendText(R"({"type":"accept","requestId":"acc2","callId":")" + callId + R"("})");
    ASSERT_TRUE(raw.next());  // Alice, Connected
    EXPECT_EQ(as<AckMessage>(raw.next().value_or(ErrorMessage{})).requestId, "acc2");
    auto connected = receive<ParticipantUpdatedMessage>(a).participant;
    EXPECT_EQ(connected.state, ParticipantState::Connected);
    EXPECT_TRUE(connected.streams.empty());

    std::string head = R"({"type":"streams","requestId":"v","callId":")" + callId + R"(")";
    std::string nine;
    for (int i = 0; i < 9; ++i)
        nine += std::string(i ? "," : "") + R"({"id":)" + std::to_string(i) + R"(,"type":"Video","available":true})";
    for (const std::string& rest :
         {std::string(""), std::string(R"(,"streams":{"id":1})"), std::string(R"(,"streams":[1])"),
          std::string(R"(,"streams":[{"id":1,"type":"Video"}])"),
          std::string(R"(,"streams":[{"id":65536,"type":"Video","available":true}])"),
          std::string(R"(,"streams":[{"id":-1,"type":"Video","available":true}])"),
          std::string(R"(,"streams":[{"id":1,"type":"Audio","available":true}])"),
          std::string(R"(,"streams":[{"id":1,"type":"Video","available":"yes"}])"),
          std::string(R"(,"streams":[{"id":2,"type":"Video","available":true},)"
                      R"({"id":2,"type":"ScreenSharing","available":true}])"),
          R"(,"streams":[)" + nine + "]"}) {
        raw.sendText(head + rest + "}");
        auto error = raw.nextError(400, 40002);
        EXPECT_EQ(error.requestId, "v") << rest;
        EXPECT_EQ(error.callId, callId) << rest;
        EXPECT_FALSE(error.message.empty());
    }
    EXPECT_FALSE(raw.closeCode);
    EXPECT_EQ(types(drain(a)), "") << "nothing reached Alice";

    // A good one after all that goes through.
    raw.sendText(head + R"(,"streams":[{"id":65535,"type":"ScreenSharing","available":true}]})");
    EXPECT_EQ(as<AckMessage>(raw.next().value_or(ErrorMessage{})).requestId, "v");
    EXPECT_EQ(receive<ParticipantUpdatedMessage>(a).participant.streams,
              (std::vector<StreamInfo>{{65535, StreamType::ScreenSharing, true}}));
}

TEST_F(SignallingTest, AnOutsiderGets404AndTheCallGoesOn)
{
    Agent& a = online(*standard_);
    Agent& b = online(*standard_);
    Agent& c = online(*standard_);
    std::string callId = establish(a, b);
    std::vector<ClientMessage> intrusions = {
        SdpMessage{"s", callId, b.identity, {"offer", "v=0\r\n"}}, IceMessage{"i", callId, a.identity, {0, "c"}},
        HangUpMessage{"h", callId, true}, HoldMessage{"o", callId}, AcceptMessage{"a", callId, "Mallory"},
        RejectMessage{"r", callId}, MuteStateMessage{"m", callId, true},
        StreamsMessage{"v", callId, {{1, StreamType::Video, true}}}};
    for (const auto& message : intrusions) {
        ASSERT_TRUE(c.client->send(message));
        auto error = receive<ErrorMessage>(c);
        EXPECT_EQ(error.code, 404) << messageType(message);
        EXPECT_EQ(error.subCode, 40400) << messageType(message);
        EXPECT_EQ(error.requestId, requestIdOf(message));
        EXPECT_EQ(error.callId, callId);
    }
    EXPECT_EQ(types(drain(a)), "");
    EXPECT_EQ(types(drain(b)), "");
    expectRelayWorks(a, b, callId);
    expectRelayWorks(b, a, callId);
}

TEST_F(SignallingTest, TheSameUserOnTwoEndpointsRingsOnBothAndAcceptingEndsTheOther)
{
    Agent& a = online(*standard_);
    Agent& b1 = online(*standard_);
    Agent& b2 = newAgent(*standard_);
    b2.identity = b1.identity;
    b2.token = rest(*standard_).issueToken(b1.identity);
    ASSERT_TRUE(connect(*standard_, b2, SignallingOptions::Auth::Message));
    EXPECT_NE(b1.welcome.endpointId, b2.welcome.endpointId);

    std::string callId = newCallId();
    ASSERT_TRUE(request(a, InviteMessage{"", callId, {b1.identity}, "Alice", {}}));
    EXPECT_EQ(receive<IncomingCallMessage>(b1).callId, callId);
    EXPECT_EQ(receive<IncomingCallMessage>(b2).callId, callId);
    ASSERT_TRUE(request(b2, AcceptMessage{"", callId, "Bob on the phone"}));
    expectEnded(b1, callId, 487, 10003);
    expectParticipant(a, callId, b1.identity, ParticipantState::Ringing);
    expectParticipant(a, callId, b1.identity, ParticipantState::Connected);
    expectParticipant(b2, callId, a.identity, ParticipantState::Connected);
    // The endpoint that did not answer is out of the call.
    auto late = request(b1, AcceptMessage{"", callId, ""});
    ASSERT_FALSE(late);
    EXPECT_EQ(late.error().subCode, 40400);
    expectRelayWorks(a, b2, callId);
}

TEST_F(SignallingTest, AnEndpointConnectingWhileTheCallRingsRingsTooAndCanAnswer)
{
    Agent& a = online(*standard_);
    Agent& b1 = online(*standard_);
    std::string callId = newCallId();
    ASSERT_TRUE(request(a, InviteMessage{"", callId, {b1.identity}, "Alice", {true, true}}));
    EXPECT_EQ(receive<IncomingCallMessage>(b1).callId, callId);
    expectParticipant(a, callId, b1.identity, ParticipantState::Ringing);

    Agent& b2 = newAgent(*standard_);
    b2.identity = b1.identity;
    b2.token = rest(*standard_).issueToken(b1.identity);
    ASSERT_TRUE(connect(*standard_, b2, SignallingOptions::Auth::Message));
    auto incoming = receive<IncomingCallMessage>(b2);
    EXPECT_EQ(incoming, (IncomingCallMessage{callId, CallerInfo{a.identity, "Alice"}, MediaFlags{true, true}}));

    ASSERT_TRUE(request(b2, AcceptMessage{"", callId, "Bob"}));
    expectEnded(b1, callId, 487, 10003);
    expectParticipant(b2, callId, a.identity, ParticipantState::Connected);
    expectParticipant(a, callId, b1.identity, ParticipantState::Connected);
    expectRelayWorks(a, b2, callId);
    expectRelayWorks(b2, a, callId);
    EXPECT_EQ(types(drain(a)), "");
    EXPECT_EQ(types(drain(b1)), "");
}

TEST_F(SignallingTest, ALostConnectionEndsTheCallWith410AfterTheGraceWindow)
{
    Agent& a = online(*quick_);
    Agent& b = online(*quick_);
    std::string callId = establish(a, b);
    gint64 lost = g_get_monotonic_time();
    resetClient(a);
    gint64 deadline = static_cast<gint64>(kQuickSeconds * G_USEC_PER_SEC) + 2 * G_USEC_PER_SEC;
    ASSERT_TRUE(waitFor(context_, [&] { return b.inbox.size() >= 2; }, deadline)) << types(drain(b));
    EXPECT_GE(g_get_monotonic_time() - lost, static_cast<gint64>(kQuickSeconds * G_USEC_PER_SEC) * 9 / 10);
    expectParticipant(b, callId, a.identity, ParticipantState::Disconnected, std::pair(410, 301005));
    expectEnded(b, callId, 410, 301005);
}

TEST_F(SignallingTest, AnEndpointResumedInsideTheGraceWindowKeepsItsCall)
{
    Agent& a = online(*standard_);
    Agent& b = online(*standard_);
    std::string callId = establish(a, b);
    std::string endpointId = a.welcome.endpointId;

    size_t losses = 0;
    for (auto auth : {SignallingOptions::Auth::Header, SignallingOptions::Auth::Message}) {
        resetClient(a);
        // Once the server noticed, what happens while A is away waits for it.
        ASSERT_TRUE(waitForLog(*standard_, "endpoint " + endpointId + " of " + a.identity + " lost", ++losses));
        ASSERT_TRUE(request(b, HoldMessage{"", callId}));
        auto welcome = connect(*standard_, a, auth, "", endpointId);
        ASSERT_TRUE(welcome) << welcome.error().message;
        EXPECT_EQ(welcome->endpointId, endpointId);
        expectParticipant(a, callId, b.identity, ParticipantState::Hold);
        ASSERT_TRUE(request(b, ResumeMessage{"", callId}));
        expectParticipant(a, callId, b.identity, ParticipantState::Connected);
        expectRelayWorks(a, b, callId);
        expectRelayWorks(b, a, callId);
    }
    EXPECT_EQ(types(drain(b)), "") << "B never saw A leave";
}

TEST_F(SignallingTest, TokenRefreshKeepsTheCallAndRefusesAnotherIdentity)
{
    Agent& a = online(*standard_);
    Agent& b = online(*standard_);
    std::string callId = establish(a, b);

    std::optional<Result<AuthRefreshedMessage>> refreshed;
    a.client->refreshToken(rest(*standard_).issueToken(a.identity),
                           [&](Result<AuthRefreshedMessage> result) { refreshed.emplace(std::move(result)); });
    ASSERT_TRUE(waitFor(context_, [&] { return refreshed.has_value(); }));
    ASSERT_TRUE(*refreshed) << refreshed->error().message;
    EXPECT_GE(refreshed->value().tokenExpiresOn, a.welcome.tokenExpiresOn);

    refreshed.reset();
    a.client->refreshToken(b.token, [&](Result<AuthRefreshedMessage> result) { refreshed.emplace(std::move(result)); });
    ASSERT_TRUE(waitFor(context_, [&] { return refreshed.has_value(); }));
    ASSERT_FALSE(*refreshed);
    EXPECT_EQ(refreshed->error().code, 403);
    EXPECT_EQ(refreshed->error().subCode, 40300);

    refreshed.reset();
    a.client->refreshToken("garbage", [&](Result<AuthRefreshedMessage> result) { refreshed.emplace(std::move(result)); });
    ASSERT_TRUE(waitFor(context_, [&] { return refreshed.has_value(); }));
    ASSERT_FALSE(*refreshed);
    EXPECT_EQ(refreshed->error().subCode, 4507);

    EXPECT_TRUE(a.client->isConnected());
    expectRelayWorks(a, b, callId);
    expectRelayWorks(b, a, callId);
    EXPECT_EQ(types(drain(b)), "");
}

TEST_F(SignallingTest, AnExpiredTokenEndsTheCallsWith495AndClosesWith4401)
{
    Agent& a = newAgent(*standard_);
    int64_t expiresAt = nowUnixMs() / 1000 + 2;
    a.token = mintToken(*standard_, a.identity, expiresAt);
    ASSERT_FALSE(a.token.empty());
    auto welcome = connect(*standard_, a);
    ASSERT_TRUE(welcome) << welcome.error().message;
    EXPECT_EQ(welcome->tokenExpiresOn, expiresAt);
    int64_t firstMessageAtMs = 0;
    a.client->setMessageCallback([&](const ServerMessage& message) {
        if (firstMessageAtMs == 0)
            firstMessageAtMs = nowUnixMs();
        a.inbox.push_back(message);
    });
    Agent& b = online(*standard_);
    std::string callId = establish(a, b);
    ASSERT_EQ(types(drain(a)), "");
    firstMessageAtMs = 0;

    gint64 deadlineUs = (expiresAt * 1000 - nowUnixMs()) * 1000 + 3 * G_USEC_PER_SEC;
    ASSERT_TRUE(waitFor(context_, [&] { return a.closed.has_value(); }, deadlineUs)) << types(drain(a));
    EXPECT_EQ(a.closed->closeCode, 4401);
    // Not before the token's exp (a little slack for the two processes' clocks).
    EXPECT_GE(firstMessageAtMs, expiresAt * 1000 - 50);
    auto error = receive<ErrorMessage>(a);
    EXPECT_EQ(error.code, 401);
    EXPECT_EQ(error.subCode, 4507);
    EXPECT_EQ(error.requestId, "");
    expectEnded(a, callId, 495, 4507);
    EXPECT_TRUE(a.inbox.empty()) << a.inbox.size() << " more";

    expectParticipant(b, callId, a.identity, ParticipantState::Disconnected, std::pair(495, 4507));
    expectEnded(b, callId, 495, 4507);
    EXPECT_TRUE(b.client->isConnected());
    EXPECT_EQ(types(drain(b)), "");
}

TEST_F(SignallingTest, ATokenRefreshedBeforeItsExpiryKeepsTheCallUntilTheNewTokenExpires)
{
    Agent& a = newAgent(*standard_);
    int64_t firstExpiry = nowUnixMs() / 1000 + 3;
    a.token = mintToken(*standard_, a.identity, firstExpiry);
    ASSERT_FALSE(a.token.empty());
    ASSERT_TRUE(connect(*standard_, a));
    Agent& b = online(*standard_);
    std::string callId = establish(a, b);

    int64_t secondExpiry = firstExpiry + 2;
    std::optional<Result<AuthRefreshedMessage>> refreshed;
    a.client->refreshToken(mintToken(*standard_, a.identity, secondExpiry),
                           [&](Result<AuthRefreshedMessage> result) { refreshed.emplace(std::move(result)); });
    ASSERT_TRUE(waitFor(context_, [&] { return refreshed.has_value(); }));
    ASSERT_TRUE(*refreshed) << refreshed->error().message;
    EXPECT_EQ(refreshed->value().tokenExpiresOn, secondExpiry);
    ASSERT_LT(nowUnixMs(), firstExpiry * 1000) << "the refresh came too late for this test to mean anything";

    // Past the first token's exp, the call goes on.
    gint64 deadlineUs = (firstExpiry * 1000 - nowUnixMs()) * 1000 + 3 * G_USEC_PER_SEC;
    ASSERT_TRUE(waitFor(context_, [&] { return a.closed || nowUnixMs() > firstExpiry * 1000 + 300; }, deadlineUs));
    ASSERT_FALSE(a.closed) << a.closed->closeCode;
    expectRelayWorks(a, b, callId);
    expectRelayWorks(b, a, callId);
    EXPECT_EQ(types(drain(a)), "");
    EXPECT_EQ(types(drain(b)), "");
    ASSERT_LT(nowUnixMs(), secondExpiry * 1000);

    // The refreshed token's exp is the one that counts now.
    deadlineUs = (secondExpiry * 1000 - nowUnixMs()) * 1000 + 3 * G_USEC_PER_SEC;
    ASSERT_TRUE(waitFor(context_, [&] { return a.closed.has_value(); }, deadlineUs));
    EXPECT_GE(nowUnixMs(), secondExpiry * 1000 - 50);
    EXPECT_EQ(a.closed->closeCode, 4401);
    auto error = receive<ErrorMessage>(a);
    EXPECT_EQ(error.code, 401);
    EXPECT_EQ(error.subCode, 4507);
    expectEnded(a, callId, 495, 4507);
    expectParticipant(b, callId, a.identity, ParticipantState::Disconnected, std::pair(495, 4507));
    expectEnded(b, callId, 495, 4507);
}

TEST_F(SignallingTest, BadMessagesGetTheDocumentedErrorsAndTheCallStillWorks)
{
    Agent& a = online(*standard_);
    Agent& b = newAgent(*standard_);
    RawSocket raw(context_);
    ASSERT_TRUE(raw.open(signallingUrl(*standard_), b.token));
    auto welcome = raw.next();
    ASSERT_TRUE(welcome);
    EXPECT_EQ(as<WelcomeMessage>(*welcome).identity, b.identity);

    std::string callId = newCallId();
    ASSERT_TRUE(request(a, InviteMessage{"", callId, {b.identity}, "Alice", {}}));
    ASSERT_TRUE(raw.next());  // incomingCall
    raw.sendText(R"({"type":"accept","requestId":"acc","callId":")" + callId + R"("})");
    ASSERT_TRUE(raw.next());  // Alice, Connected
    EXPECT_EQ(as<AckMessage>(raw.next().value_or(ErrorMessage{})).requestId, "acc");
    expectParticipant(a, callId, b.identity, ParticipantState::Ringing);
    expectParticipant(a, callId, b.identity, ParticipantState::Connected);

    raw.sendText("this is not JSON");
    raw.nextError(400, 40000);
    raw.sendText("[1,2,3]");
    raw.nextError(400, 40000);
    raw.sendText(R"({"no":"type"})");
    raw.nextError(400, 40000);
    raw.sendText(std::string(R"({"type":"hold","x":)") + std::string(5000, '[') + std::string(5000, ']') + "}");
    raw.nextError(400, 40000);
    raw.sendBinary("\x00\x01");
    raw.nextError(400, 40000);
    raw.sendText(R"({"type":"dance","requestId":"d"})");
    EXPECT_EQ(raw.nextError(400, 40001).requestId, "d");
    raw.sendText(R"({"type":"sdp","requestId":"s","callId":")" + callId + R"(","to":")" + a.identity +
                 R"(","description":{"type":"offer","sdp":42}})");
    auto badField = raw.nextError(400, 40002);
    EXPECT_EQ(badField.requestId, "s");
    EXPECT_EQ(badField.callId, callId);
    raw.sendText(R"({"type":"hold","requestId":"o","callId":")" + callId + R"(","pad":")" +
                 std::string(kMaxMessageBytes, 'x') + R"("})");
    raw.nextError(413, 40003);
    // Out of order: the call is no longer ringing, and its id is taken.
    raw.sendText(R"({"type":"accept","requestId":"again","callId":")" + callId + R"("})");
    EXPECT_EQ(raw.nextError(400, 41006).requestId, "again");
    raw.sendText(R"({"type":"reject","requestId":"r","callId":")" + callId + R"("})");
    raw.nextError(400, 41007);
    raw.sendText(serialize(ClientMessage(InviteMessage{"inv", callId, {a.identity}, "", {}})));
    raw.nextError(409, 40900);
    raw.sendText(serialize(ClientMessage(HoldMessage{"x", newCallId()})));
    raw.nextError(404, 40400);
    EXPECT_FALSE(raw.closeCode);

    // The call goes on: relayed both ways, then ended normally.
    raw.sendText(serialize(ClientMessage(SdpMessage{"", callId, a.identity, {"answer", "v=0\r\n"}})));
    EXPECT_EQ(receive<RemoteSdpMessage>(a).from, b.identity);
    ASSERT_TRUE(a.client->send(IceMessage{"", callId, b.identity, {0, "candidate:1"}}));
    EXPECT_EQ(as<RemoteIceMessage>(raw.next().value_or(ErrorMessage{})).from, a.identity);
    EXPECT_EQ(types(drain(a)), "");
    ASSERT_TRUE(request(a, HangUpMessage{"", callId, false}));
    expectEnded(a, callId, 0, 0);
    ASSERT_TRUE(raw.next());  // Alice, Disconnected
    EXPECT_EQ(as<CallEndedMessage>(raw.next().value_or(ErrorMessage{})).reason.code, 0);

    // Beyond libsoup's payload limit (1 MiB) the connection is dropped, and nothing else is.
    raw.sendText(std::string(2 * 1024 * 1024, ' '));
    ASSERT_TRUE(waitFor(context_, [&] { return raw.closeCode.has_value(); }));
    // 1009 from the server; none (0) or 1006 when the close overtook the end of the client's own write.
    EXPECT_TRUE(*raw.closeCode == SOUP_WEBSOCKET_CLOSE_TOO_BIG || *raw.closeCode == SOUP_WEBSOCKET_CLOSE_ABNORMAL ||
                *raw.closeCode == 0)
        << *raw.closeCode;
    EXPECT_TRUE(a.client->isConnected());
    EXPECT_EQ(types(drain(a)), "");
}

TEST_F(SignallingTest, AnEndpointIsInAtMostSixteenCalls)
{
    Agent& a = online(*standard_);
    Agent& b = online(*standard_);
    std::vector<std::string> callIds;
    for (int i = 0; i < 16; ++i) {
        callIds.push_back(newCallId());
        ASSERT_TRUE(request(a, InviteMessage{"", callIds.back(), {b.identity}, "", {}})) << i;
    }
    std::string oneTooMany = newCallId();
    ASSERT_TRUE(a.client->send(InviteMessage{"x", oneTooMany, {b.identity}, "", {}}));
    // Behind the sixteen Ringing updates.
    std::vector<ServerMessage> toA = drain(a);
    ASSERT_EQ(toA.size(), 17u) << types(toA);
    auto refused = as<ErrorMessage>(toA.back());
    EXPECT_EQ(refused.code, 429);
    EXPECT_EQ(refused.subCode, 40030);
    EXPECT_EQ(refused.requestId, "x");
    EXPECT_EQ(refused.callId, oneTooMany);
    EXPECT_EQ(drain(b).size(), 16u) << "sixteen calls ring, not seventeen";

    // Ending one makes room for another.
    ASSERT_TRUE(request(a, HangUpMessage{"", callIds.front(), false}));
    expectEnded(a, callIds.front(), 0, 0);
    expectEnded(b, callIds.front(), 487, 0);
    ASSERT_TRUE(request(a, InviteMessage{"", oneTooMany, {b.identity}, "", {}}));
    EXPECT_EQ(receive<IncomingCallMessage>(b).callId, oneTooMany);
    callIds.front() = oneTooMany;
    for (const auto& callId : callIds)
        ASSERT_TRUE(request(a, HangUpMessage{"", callId, false}));
}

TEST_F(SignallingTest, MessagesBeyondTheRateAreAnsweredWith429AndDropped)
{
    Agent& a = online(*standard_);
    Agent& b = newAgent(*standard_);
    RawSocket raw(context_);
    ASSERT_TRUE(raw.open(signallingUrl(*standard_), b.token));
    ASSERT_TRUE(raw.next());  // welcome

    // Far more than the burst of 400, at once: about the burst gets through (plus what 200 a
    // second adds meanwhile), the rest is refused, each with its requestId.
    constexpr int kSent = 1000;
    std::string unknownCall = newCallId();
    gint64 start = g_get_monotonic_time();
    for (int i = 0; i < kSent; ++i)
        raw.sendText(serialize(ClientMessage(HoldMessage{std::to_string(i), unknownCall})));
    ASSERT_TRUE(waitFor(context_, [&] { return raw.received.size() >= kSent; }, 20 * G_USEC_PER_SEC))
        << raw.received.size();
    double elapsedSeconds = static_cast<double>(g_get_monotonic_time() - start) / G_USEC_PER_SEC;
    int carriedOut = 0;
    int refused = 0;
    std::set<std::string> answered;
    for (int i = 0; i < kSent; ++i) {
        auto error = as<ErrorMessage>(raw.next().value_or(AckMessage{}));
        EXPECT_TRUE(answered.insert(error.requestId).second) << "answered twice: " << error.requestId;
        if (error.code == 404 && error.subCode == 40400) {
            ++carriedOut;
        } else {
            EXPECT_EQ(error.code, 429) << error.message;
            EXPECT_EQ(error.subCode, 40029) << error.message;
            EXPECT_EQ(error.callId, unknownCall);
            ++refused;
        }
    }
    EXPECT_EQ(answered.size(), static_cast<size_t>(kSent));
    EXPECT_GE(carriedOut, 400);
    EXPECT_LE(carriedOut, 400 + static_cast<int>(200 * elapsedSeconds) + 1) << elapsedSeconds << " s";
    EXPECT_GT(refused, 0);
    EXPECT_FALSE(raw.closeCode);

    // The bucket fills up again, and the connection goes on as before.
    bool carried = false;
    ASSERT_TRUE(waitFor(context_, [&] {
        if (!carried) {
            raw.sendText(serialize(ClientMessage(HoldMessage{"again", unknownCall})));
            auto answer = raw.next();
            carried = answer && std::holds_alternative<ErrorMessage>(*answer) &&
                      std::get<ErrorMessage>(*answer).subCode == 40400;
        }
        return carried;
    }));
    EXPECT_FALSE(raw.closeCode);
    EXPECT_TRUE(waitForLog(*standard_, "over the message rate"));
    // Other connections were never limited.
    auto other = request(a, HoldMessage{"", newCallId()});
    ASSERT_FALSE(other);
    EXPECT_EQ(other.error().subCode, 40400);
}

TEST_F(SignallingTest, ConnectionsWaitingToAuthenticateAreCappedAt256)
{
    auto server = startServer({"--auth-timeout", "60"});
    ASSERT_TRUE(server);
    RestClient client(server->process->connection());
    auto plainUpgrade = [&] {
        return client.send({.method = "GET", .pathAndQuery = "/signalling/v1", .sign = false});
    };
    std::vector<std::unique_ptr<RawSocket>> waiting;
    for (int i = 0; i < 256; ++i) {
        waiting.push_back(std::make_unique<RawSocket>(context_));
        ASSERT_TRUE(waiting.back()->open(signallingUrl(*server), "")) << i;
    }
    auto full = plainUpgrade();
    EXPECT_EQ(full.status, 503);
    EXPECT_EQ(full.header("retry-after"), "1");
    auto body = parseServerMessage(full.body);
    ASSERT_TRUE(body) << full.body;
    EXPECT_EQ(as<ErrorMessage>(body.value()).code, 503);
    EXPECT_EQ(as<ErrorMessage>(body.value()).subCode, 50300);
    RawSocket refused(context_);
    EXPECT_FALSE(refused.open(signallingUrl(*server), ""));

    // A token in the upgrade request does not wait, so it is not capped.
    std::string identity = client.createIdentity();
    std::string token = client.issueToken(identity);
    RawSocket withHeader(context_);
    ASSERT_TRUE(withHeader.open(signallingUrl(*server), token));
    EXPECT_EQ(as<WelcomeMessage>(withHeader.next().value_or(AckMessage{})).identity, identity);

    // A connection that authenticated frees its place; so does one that closed.
    waiting.front()->sendText(serialize(ClientMessage(AuthMessage{"", token, ""})));
    ASSERT_TRUE(waiting.front()->next());
    RawSocket next(context_);
    ASSERT_TRUE(next.open(signallingUrl(*server), ""));
    EXPECT_EQ(plainUpgrade().status, 503);
    waiting.back().reset();
    ASSERT_TRUE(waitFor(context_, [&] { return plainUpgrade().status != 503; }));
    waiting.clear();
    EXPECT_EQ(server->process->stop(), 0) << server->process->log();
}

TEST_F(SignallingTest, OtherPathsAndPlainRequestsAreRefused)
{
    RestClient& client = rest(*standard_);
    EXPECT_EQ(client.send({.method = "GET", .pathAndQuery = "/signalling/v2", .sign = false}).status, 404);
    EXPECT_EQ(client.send({.method = "GET", .pathAndQuery = "/signalling/v1/x", .sign = false}).status, 404);
    EXPECT_EQ(client.send({.method = "GET", .pathAndQuery = "/signalling/v1?endpointId=nope", .sign = false}).status,
              400);
    auto plain = client.send({.method = "GET", .pathAndQuery = "/signalling/v1", .sign = false});
    EXPECT_GE(plain.status, 400) << "not a WebSocket handshake";
    EXPECT_LT(plain.status, 500);
}

TEST_F(SignallingTest, TheClientCanBeDestroyedFromItsOwnCallbacks)
{
    Agent& a = online(*standard_);
    Agent& b = online(*standard_);
    bool destroyed = false;
    b.client->setMessageCallback([&](const ServerMessage&) {
        b.client.reset();
        destroyed = true;
    });
    ASSERT_TRUE(request(a, InviteMessage{"", newCallId(), {b.identity}, "", {}}));
    ASSERT_TRUE(waitFor(context_, [&] { return destroyed; }));

    Agent& c = newAgent(*standard_);
    bool failed = false;
    c.client->connect({standard_->endpoint, "garbage"}, [&](Result<WelcomeMessage> result) {
        failed = !result;
        c.client.reset();
    });
    ASSERT_TRUE(waitFor(context_, [&] { return failed; }));
}

TEST_F(SignallingTest, AnUnreachableServerIsAConnectionFailure)
{
    SignallingClient client(context_);
    std::optional<Result<WelcomeMessage>> result;
    // A port from a server that is gone.
    auto gone = startServer({});
    ASSERT_TRUE(gone);
    std::string endpoint = gone->endpoint;
    gone.reset();
    client.connect({endpoint, "token"}, [&](Result<WelcomeMessage> welcome) { result.emplace(std::move(welcome)); });
    ASSERT_TRUE(waitFor(context_, [&] { return result.has_value(); }));
    ASSERT_FALSE(*result);
    EXPECT_EQ(result->error().code, 408);
    EXPECT_EQ(result->error().subCode, 40104);

    SignallingClient bad(context_);
    result.reset();
    bad.connect({"ftp://example/", "token"}, [&](Result<WelcomeMessage> welcome) { result.emplace(std::move(welcome)); });
    ASSERT_TRUE(waitFor(context_, [&] { return result.has_value(); }));
    EXPECT_EQ(result->error().code, 400);
    EXPECT_EQ(SignallingClient::signallingUrl("https://127.0.0.1:8443/").value(), "wss://127.0.0.1:8443/signalling/v1");
}

TEST_F(SignallingTest, WssWithATrustedLoopbackCertificate)
{
    std::string dir = test::makeTempDir();
    ASSERT_EQ(test::makeLoopbackCertificate(dir), "");
    auto tls = startServer({"--tls-cert", dir + "/cert.pem", "--tls-key", dir + "/key.pem"});
    ASSERT_TRUE(tls);
    ASSERT_TRUE(tls->endpoint.starts_with("https://")) << tls->endpoint;
    RestClient client(tls->process->connection(), dir + "/cert.pem");
    std::string identity = client.createIdentity();
    std::string token = client.issueToken(identity);

    // Untrusted without the CA, trusted with it.
    SignallingClient untrusted(context_);
    std::optional<Result<WelcomeMessage>> result;
    untrusted.connect({tls->endpoint, token}, [&](Result<WelcomeMessage> welcome) { result.emplace(std::move(welcome)); });
    ASSERT_TRUE(waitFor(context_, [&] { return result.has_value(); }));
    ASSERT_FALSE(*result);
    EXPECT_EQ(result->error().subCode, 40104);

    SignallingClient trusted(context_);
    result.reset();
    SignallingOptions options{tls->endpoint, token};
    options.tlsCaFile = dir + "/cert.pem";
    trusted.connect(options, [&](Result<WelcomeMessage> welcome) { result.emplace(std::move(welcome)); });
    ASSERT_TRUE(waitFor(context_, [&] { return result.has_value(); }));
    ASSERT_TRUE(*result) << result->error().message;
    EXPECT_EQ(result->value().identity, identity);
    test::removeTree(dir);
}
