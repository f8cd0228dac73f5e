// The identity REST API against the real calling-server process on loopback.
#include "rest_client.h"
#include "server_process.h"
#include "server_state.h"

#include "protocol/access_token.h"

#include <gio/gio.h>
#include <gtest/gtest.h>

#include <regex>

using namespace calling;
using calling::test::RestClient;
using calling::test::RestRequest;
using calling::test::RestResponse;
using calling::test::ServerProcess;

namespace {

const char* kVersion = "?api-version=2023-10-01";
const std::string kAccessKey = "c2VjcmV0LWFjY2Vzcy1rZXktZm9yLXRoZS10ZXN0cy0wMQ==";

std::string identityPath(const std::string& id, const char* action = "")
{
    return "/identities/" + RestClient::escapeId(id) + action + kVersion;
}

int64_t now()
{
    return g_get_real_time() / G_USEC_PER_SEC;
}

int64_t parseIsoTime(const std::string& text)
{
    g_autoptr(GDateTime) time = g_date_time_new_from_iso8601(text.c_str(), nullptr);
    return time ? g_date_time_to_unix(time) : -1;
}

// Verifies a token the way the signalling will: with the server's signing key and identity store.
Result<protocol::TokenGrant, protocol::TokenError> verify(const std::string& stateDir, const std::string& token,
                                                          std::string_view scope = "voip")
{
    return test::verifyWithServerState(stateDir, kAccessKey, token, scope);
}

class IdentityApiTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        stateDir_ = test::makeTempDir();
        startServer();
    }

    void startServer()
    {
        std::string why;
        server_ = ServerProcess::start({stateDir_, kAccessKey, {}}, &why);
        ASSERT_TRUE(server_) << why;
        client_ = std::make_unique<RestClient>(server_->connection());
    }

    void restartServer()
    {
        client_.reset();
        ASSERT_EQ(server_->stop(), 0) << server_->log();
        server_.reset();
        startServer();
    }

    void TearDown() override
    {
        client_.reset();
        server_.reset();
        test::removeTree(stateDir_);
    }

    // A plain TCP connection to the server, for what no HTTP client would send.
    GSocketConnection* rawConnection()
    {
        g_autoptr(GSocketClient) socketClient = g_socket_client_new();
        g_autoptr(GError) error = nullptr;
        GSocketConnection* connection =
            g_socket_client_connect_to_host(socketClient, server_->authority().c_str(), 0, nullptr, &error);
        EXPECT_TRUE(connection) << error->message;
        return connection;
    }

    RestResponse post(const std::string& path, const std::string& body)
    {
        return client_->send({.method = "POST", .pathAndQuery = path, .body = body});
    }

    std::string stateDir_;
    std::unique_ptr<ServerProcess> server_;
    std::unique_ptr<RestClient> client_;
};

TEST_F(IdentityApiTest, CreateIdentityReturnsAnAcsStyleIdAndNoToken)
{
    RestResponse response = client_->send({.pathAndQuery = std::string("/identities") + kVersion});
    ASSERT_EQ(response.status, 201) << response.body;
    EXPECT_EQ(response.header("Content-Type"), "application/json");
    std::string id = response.string("identity.id");
    static const std::regex shape("^8:acs:[0-9a-f-]{36}_[0-9a-f-]{36}$");
    EXPECT_TRUE(std::regex_match(id, shape)) << id;
    EXPECT_EQ(response.body.find("accessToken"), std::string::npos) << response.body;

    std::string second = client_->createIdentity();
    EXPECT_NE(second, id);
    EXPECT_EQ(second.substr(0, 43), id.substr(0, 43)) << "same resource id";
}

// libsoup 3.2 never releases a kept-alive connection that the client closes while idle
// (tools/calling-server/keep_alive.h), so every answer closes its connection.
TEST_F(IdentityApiTest, AnswersCloseTheirConnection)
{
    RestResponse created = client_->send({.pathAndQuery = std::string("/identities") + kVersion});
    ASSERT_EQ(created.status, 201) << created.body;
    EXPECT_EQ(created.header("Connection"), "close");
    RestResponse refused = client_->send({.pathAndQuery = std::string("/identities") + kVersion, .sign = false});
    ASSERT_EQ(refused.status, 401) << refused.body;
    EXPECT_EQ(refused.header("Connection"), "close");
}

TEST_F(IdentityApiTest, CreateIdentityWithScopesReturnsAVerifiableToken)
{
    RestResponse response =
        post(std::string("/identities") + kVersion, R"({"createTokenWithScopes":["voip","chat"],"expiresInMinutes":60})");
    ASSERT_EQ(response.status, 201) << response.body;
    std::string id = response.string("identity.id");
    std::string token = response.string("accessToken.token");
    ASSERT_FALSE(token.empty()) << response.body;
    int64_t expiresOn = parseIsoTime(response.string("accessToken.expiresOn"));
    EXPECT_NEAR(expiresOn, now() + 60 * 60, 5) << response.body;

    auto verified = verify(stateDir_, token);
    ASSERT_TRUE(verified.ok()) << verified.error().message;
    EXPECT_EQ(verified->identity, id);
    EXPECT_EQ(verified->scopes, (std::vector<std::string>{"voip", "chat"}));
    EXPECT_EQ(verified->expiresAt, expiresOn);
}

TEST_F(IdentityApiTest, IssueTokenDefaultsToADayAndKeepsScopes)
{
    std::string id = client_->createIdentity();
    RestResponse response = post(identityPath(id, "/:issueAccessToken"), R"({"scopes":["chat"]})");
    ASSERT_EQ(response.status, 200) << response.body;
    EXPECT_NEAR(parseIsoTime(response.string("expiresOn")), now() + 1440 * 60, 5) << response.body;

    auto verified = verify(stateDir_, response.string("token"), "chat");
    ASSERT_TRUE(verified.ok()) << verified.error().message;
    EXPECT_EQ(verified->identity, id);
    auto noVoip = verify(stateDir_, response.string("token"), "voip");
    ASSERT_FALSE(noVoip.ok());
    EXPECT_EQ(noVoip.error().fault, protocol::TokenFault::MissingScope);

    RestResponse read = client_->send({.method = "GET", .pathAndQuery = identityPath(id)});
    ASSERT_EQ(read.status, 200) << read.body;
    EXPECT_EQ(read.string("id"), id);
    EXPECT_NEAR(parseIsoTime(read.string("lastTokenIssuedAt")), now(), 5) << read.body;
}

TEST_F(IdentityApiTest, BadTokenRequestsGet400)
{
    std::string id = client_->createIdentity();
    std::string issue = identityPath(id, "/:issueAccessToken");
    struct Case {
        const char* body;
        const char* code;
    } cases[] = {
        {R"({"scopes":["voip"],"expiresInMinutes":59})", "ValidationError"},
        {R"({"scopes":["voip"],"expiresInMinutes":1441})", "ValidationError"},
        {R"({"scopes":["voip"],"expiresInMinutes":"60"})", "ValidationError"},
        {R"({"scopes":["voip"],"expiresInMinutes":60.5})", "ValidationError"},
        {R"({"scopes":["admin"]})", "ValidationError"},
        {R"({"scopes":"voip"})", "ValidationError"},
        {R"({"scopes":[7]})", "ValidationError"},
        {R"({"scopes":[]})", "ValidationError"},
        {R"({})", "ValidationError"},
        {"", "ValidationError"},
        {R"({"scopes":["voip"])", "InvalidJson"},
        {R"(["voip"])", "InvalidJson"},
        {"\xff\xfe{}", "InvalidJson"},
    };
    for (const Case& c : cases) {
        RestResponse response = post(issue, c.body);
        EXPECT_EQ(response.status, 400) << c.body << " -> " << response.body;
        EXPECT_EQ(response.errorCode(), c.code) << c.body << " -> " << response.body;
        EXPECT_FALSE(response.string("error.message").empty()) << response.body;
    }
    RestResponse create = post(std::string("/identities") + kVersion, R"({"createTokenWithScopes":["voip","x"]})");
    EXPECT_EQ(create.status, 400) << create.body;
    RestResponse version = post("/identities?api-version=1999-01-01", "");
    EXPECT_EQ(version.status, 400) << version.body;
    EXPECT_EQ(version.errorCode(), "UnsupportedApiVersion");
}

TEST_F(IdentityApiTest, UnknownIdentityGets404)
{
    std::string ghost = "8:acs:00000000-0000-4000-8000-000000000000_00000000-0000-4000-8000-000000000000";
    EXPECT_EQ(post(identityPath(ghost, "/:issueAccessToken"), R"({"scopes":["voip"]})").status, 404);
    EXPECT_EQ(post(identityPath(ghost, "/:revokeAccessTokens"), "").status, 404);
    EXPECT_EQ(client_->send({.method = "DELETE", .pathAndQuery = identityPath(ghost)}).status, 404);
    RestResponse read = client_->send({.method = "GET", .pathAndQuery = identityPath(ghost)});
    EXPECT_EQ(read.status, 404);
    EXPECT_EQ(read.errorCode(), "IdentityNotFound");
}

TEST_F(IdentityApiTest, RevokedTokensAreRefusedAndNewOnesWork)
{
    std::string id = client_->createIdentity();
    std::string before = client_->issueToken(id);
    ASSERT_TRUE(verify(stateDir_, before).ok());

    RestResponse revoke = post(identityPath(id, "/:revokeAccessTokens"), "");
    EXPECT_EQ(revoke.status, 204) << revoke.body;
    EXPECT_TRUE(revoke.body.empty());
    auto refused = verify(stateDir_, before);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().fault, protocol::TokenFault::Revoked);

    std::string after = client_->issueToken(id);
    EXPECT_TRUE(verify(stateDir_, after).ok());
}

TEST_F(IdentityApiTest, DeletedIdentityLosesItsTokens)
{
    std::string id = client_->createIdentity();
    std::string token = client_->issueToken(id);
    EXPECT_EQ(client_->send({.method = "DELETE", .pathAndQuery = identityPath(id)}).status, 204);

    auto refused = verify(stateDir_, token);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().fault, protocol::TokenFault::UnknownIdentity);
    EXPECT_EQ(post(identityPath(id, "/:issueAccessToken"), R"({"scopes":["voip"]})").status, 404);
    EXPECT_EQ(client_->send({.method = "DELETE", .pathAndQuery = identityPath(id)}).status, 404);
}

TEST_F(IdentityApiTest, UnknownRoutesAndWrongMethods)
{
    std::string id = client_->createIdentity();
    // `/` is the web client now (docs/web-client.md); a name that is not one of its files is 404.
    EXPECT_EQ(client_->send({.method = "GET", .pathAndQuery = "/no-such-route"}).status, 404);
    EXPECT_EQ(client_->send({.method = "GET", .pathAndQuery = "/nothing/here"}).status, 404);
    RestResponse action = post(identityPath(id, "/:frobnicate"), "");
    EXPECT_EQ(action.status, 404);
    EXPECT_EQ(action.errorCode(), "NotFound");

    RestResponse list = client_->send({.method = "GET", .pathAndQuery = std::string("/identities") + kVersion});
    EXPECT_EQ(list.status, 405);
    EXPECT_EQ(list.header("Allow"), "POST");
    EXPECT_EQ(list.errorCode(), "MethodNotAllowed");
    EXPECT_EQ(client_->send({.method = "PUT", .pathAndQuery = identityPath(id)}).status, 405);
    EXPECT_EQ(client_->send({.method = "GET", .pathAndQuery = identityPath(id, "/:issueAccessToken")}).status, 405);
    EXPECT_EQ(client_->send({.method = "DELETE", .pathAndQuery = identityPath(id, "/:revokeAccessTokens")}).status,
              405);
}

TEST_F(IdentityApiTest, BadSignaturesGet401)
{
    std::string create = std::string("/identities") + kVersion;
    std::vector<std::pair<const char*, RestRequest>> cases = {
        {"unsigned", {.pathAndQuery = create, .sign = false}},
        {"forged with another key", {.pathAndQuery = create, .signingKey = std::string(32, 'x')}},
        {"stale x-ms-date", {.pathAndQuery = create, .clockOffsetSeconds = -3600}},
        {"future x-ms-date", {.pathAndQuery = create, .clockOffsetSeconds = 3600}},
        {"body hash mismatch",
         {.pathAndQuery = create,
          .body = R"({"createTokenWithScopes":["voip"]})",
          .overrideHeaders = {{"x-ms-content-sha256", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="}}}},
        {"no x-ms-date", {.pathAndQuery = create, .overrideHeaders = {{"x-ms-date", ""}}}},
        {"no content hash", {.pathAndQuery = create, .overrideHeaders = {{"x-ms-content-sha256", ""}}}},
        {"basic auth", {.pathAndQuery = create, .overrideHeaders = {{"Authorization", "Basic YTpi"}}}},
        {"other host signed", {.pathAndQuery = create, .overrideHeaders = {{"Host", "example.test"}}}},
    };
    for (auto& [name, request] : cases) {
        RestResponse response = client_->send(request);
        EXPECT_EQ(response.status, 401) << name << ": " << response.body;
        EXPECT_EQ(response.errorCode(), "Denied") << name << ": " << response.body;
    }
    // Nothing was created by any of them, and the server still serves a good request.
    EXPECT_FALSE(client_->createIdentity().empty());
}

TEST_F(IdentityApiTest, BodiesOverOneMebibyteGet413)
{
    std::string create = std::string("/identities") + kVersion;
    std::string big(1024 * 1024 + 1, ' ');
    RestResponse sized = client_->send({.pathAndQuery = create, .body = big});
    EXPECT_EQ(sized.status, 413) << sized.body;
    EXPECT_EQ(sized.errorCode(), "RequestEntityTooLarge");
    RestResponse chunked = client_->send({.pathAndQuery = create, .body = big + big, .chunked = true});
    EXPECT_EQ(chunked.status, 413) << chunked.body;

    // Exactly 1 MiB is fine.
    std::string json = R"({"createTokenWithScopes":["voip"]})";
    std::string limit = json + std::string(1024 * 1024 - json.size(), ' ');
    RestResponse fits = client_->send({.pathAndQuery = create, .body = limit});
    EXPECT_EQ(fits.status, 201) << fits.body;
    EXPECT_FALSE(fits.string("accessToken.token").empty());
}

TEST_F(IdentityApiTest, AStalledClientDoesNotBlockOthers)
{
    g_autoptr(GError) error = nullptr;
    g_autoptr(GSocketConnection) stalled = rawConnection();
    ASSERT_TRUE(stalled);
    const char* partial = "POST /identities HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{\"crea";
    GOutputStream* out = g_io_stream_get_output_stream(G_IO_STREAM(stalled));
    ASSERT_TRUE(g_output_stream_write_all(out, partial, strlen(partial), nullptr, nullptr, &error));

    // The half-sent request stays open while others are served.
    for (int i = 0; i < 3; ++i)
        EXPECT_FALSE(client_->createIdentity().empty());
}

TEST_F(IdentityApiTest, GarbageOnTheWireGets400AndOthersAreServed)
{
    g_autoptr(GError) error = nullptr;
    g_autoptr(GSocketConnection) connection = rawConnection();
    ASSERT_TRUE(connection);
    const char garbage[] = "\x16\x03\x01 NOT HTTP AT ALL\r\n\r\n";
    GOutputStream* out = g_io_stream_get_output_stream(G_IO_STREAM(connection));
    ASSERT_TRUE(g_output_stream_write_all(out, garbage, sizeof garbage - 1, nullptr, nullptr, &error));
    char reply[256] = {};
    GInputStream* in = g_io_stream_get_input_stream(G_IO_STREAM(connection));
    gssize got = g_input_stream_read(in, reply, sizeof reply - 1, nullptr, &error);
    ASSERT_GT(got, 0) << (error ? error->message : "connection closed without an answer");
    std::string status(reply, std::min<size_t>(12, static_cast<size_t>(got)));
    EXPECT_TRUE(status == "HTTP/1.0 400" || status == "HTTP/1.1 400") << reply;

    EXPECT_FALSE(client_->createIdentity().empty());
}

TEST_F(IdentityApiTest, StateSurvivesARestart)
{
    std::string revoked = client_->createIdentity();
    std::string deleted = client_->createIdentity();
    std::string kept = client_->createIdentity();
    std::string revokedToken = client_->issueToken(revoked);
    std::string deletedToken = client_->issueToken(deleted);
    std::string keptToken = client_->issueToken(kept);
    ASSERT_EQ(post(identityPath(revoked, "/:revokeAccessTokens"), "").status, 204);
    ASSERT_EQ(client_->send({.method = "DELETE", .pathAndQuery = identityPath(deleted)}).status, 204);

    restartServer();

    EXPECT_EQ(client_->send({.method = "GET", .pathAndQuery = identityPath(kept)}).status, 200);
    EXPECT_EQ(client_->send({.method = "GET", .pathAndQuery = identityPath(revoked)}).status, 200);
    EXPECT_EQ(client_->send({.method = "GET", .pathAndQuery = identityPath(deleted)}).status, 404);
    EXPECT_TRUE(verify(stateDir_, keptToken).ok());
    auto revokedResult = verify(stateDir_, revokedToken);
    ASSERT_FALSE(revokedResult.ok());
    EXPECT_EQ(revokedResult.error().fault, protocol::TokenFault::Revoked);
    auto deletedResult = verify(stateDir_, deletedToken);
    ASSERT_FALSE(deletedResult.ok());
    EXPECT_EQ(deletedResult.error().fault, protocol::TokenFault::UnknownIdentity);
    EXPECT_TRUE(verify(stateDir_, client_->issueToken(revoked)).ok());
    // Same resource id after the restart.
    EXPECT_EQ(client_->createIdentity().substr(0, 43), kept.substr(0, 43));
}

TEST(IdentityServer, GeneratedAccessKeyIsPrintedAndReusedAfterRestart)
{
    std::string dir = test::makeTempDir();
    std::string why;
    std::string firstKey;
    {
        auto server = ServerProcess::start({dir, std::nullopt, {}}, &why);
        ASSERT_TRUE(server) << why;
        firstKey = server->connection().accessKey;
        EXPECT_GE(firstKey.size(), 44u);
        RestClient client(server->connection());
        EXPECT_FALSE(client.createIdentity().empty());
    }
    {
        auto server = ServerProcess::start({dir, std::nullopt, {}}, &why);
        ASSERT_TRUE(server) << why;
        EXPECT_EQ(server->connection().accessKey, firstKey);
    }
    test::removeTree(dir);
}

TEST(IdentityServer, BadStartOptionsFailWithAMessage)
{
    std::string why;
    EXPECT_FALSE(ServerProcess::start({"", "not-base64!", {}}, &why));
    EXPECT_NE(why.find("access key must be base64"), std::string::npos) << why;
    EXPECT_FALSE(ServerProcess::start({"", kAccessKey, {"--tls-cert", "/nonexistent.pem"}}, &why));
    EXPECT_NE(why.find("--tls-cert and --tls-key go together"), std::string::npos) << why;
}

TEST(IdentityServer, LogsNeverContainKeysOrTokens)
{
    std::string why;
    auto server = ServerProcess::start({"", kAccessKey, {"--verbose"}}, &why);
    ASSERT_TRUE(server) << why;
    RestClient client(server->connection());
    std::vector<std::string> secrets = {kAccessKey};
    for (int i = 0; i < 3; ++i) {
        std::string id = client.createIdentity();
        secrets.push_back(client.issueToken(id));
    }
    RestResponse forged = client.send({.pathAndQuery = "/identities", .signingKey = std::string(32, 'x')});
    EXPECT_EQ(forged.status, 401);
    ASSERT_EQ(server->stop(), 0);

    std::string log = server->log();
    EXPECT_NE(log.find("POST /identities -> 201"), std::string::npos) << "verbose log should list requests:\n" << log;
    EXPECT_NE(log.find("-> 401"), std::string::npos) << log;
    for (const std::string& secret : secrets) {
        ASSERT_FALSE(secret.empty());
        EXPECT_EQ(log.find(secret.substr(0, 24)), std::string::npos) << "secret in log:\n" << log;
    }
    EXPECT_EQ(log.find("Signature="), std::string::npos) << log;
}

TEST(IdentityServer, ServesHttpsWithAGivenCertificate)
{
    std::string dir = test::makeTempDir();
    std::string cert = dir + "/cert.pem";
    std::string key = dir + "/key.pem";
    ASSERT_EQ(test::makeLoopbackCertificate(dir), "");

    std::string why;
    auto server = ServerProcess::start({"", kAccessKey, {"--tls-cert", cert, "--tls-key", key}}, &why);
    ASSERT_TRUE(server) << why;
    EXPECT_TRUE(server->connection().endpoint.starts_with("https://127.0.0.1:")) << server->connection().endpoint;
    RestClient client(server->connection(), cert);
    RestResponse response = client.send({.pathAndQuery = std::string("/identities") + kVersion});
    EXPECT_EQ(response.status, 201) << response.body;
    server.reset();
    test::removeTree(dir);
}

}  // namespace
