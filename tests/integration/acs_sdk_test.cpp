// Microsoft's own ACS identity SDK (@azure/communication-identity, run by Node.js) against the real
// calling-server over https: proof that existing ACS identity clients work unchanged.
#include "server_process.h"
#include "server_state.h"

#include <gtest/gtest.h>
#include <json-glib/json-glib.h>

#include <map>
#include <string>
#include <vector>

namespace {

const std::string kAccessKey = "YWNzLXNkay10ZXN0LWFjY2Vzcy1rZXktMDAwMDAwMDAwMDA=";

class SdkResult {
public:
    // The SDK script prints its result as the last line; Node may print warnings before it.
    explicit SdkResult(const std::string& output) : parser_(json_parser_new())
    {
        size_t end = output.find_last_not_of('\n');
        size_t start = end == std::string::npos ? std::string::npos : output.rfind('\n', end);
        start = start == std::string::npos ? 0 : start + 1;
        std::string last = end == std::string::npos ? "" : output.substr(start, end - start + 1);
        ok_ = json_parser_load_from_data(parser_, last.c_str(), -1, nullptr) &&
            JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser_));
    }
    ~SdkResult() { g_object_unref(parser_); }
    bool ok() const { return ok_; }
    JsonObject* object() const { return json_node_get_object(json_parser_get_root(parser_)); }
    std::string string(const char* name) const
    {
        return json_object_has_member(object(), name) ? json_object_get_string_member(object(), name) : "";
    }
    double number(const char* name) const { return json_object_get_double_member(object(), name); }
    int status(const char* name) const
    {
        return static_cast<int>(json_object_get_int_member(json_object_get_object_member(object(), name), "statusCode"));
    }
    std::string code(const char* name) const
    {
        JsonObject* failure = json_object_get_object_member(object(), name);
        return json_object_has_member(failure, "code") ? json_object_get_string_member(failure, "code") : "";
    }

private:
    JsonParser* parser_;
    bool ok_ = false;
};

TEST(AcsIdentitySdk, WorksUnchangedAgainstCallingServer)
{
    std::string sdkDir = std::string(g_getenv("CALLING_SOURCE_ROOT")) + "/tests/acs-sdk";
    ASSERT_TRUE(g_file_test((sdkDir + "/node_modules/@azure/communication-identity").c_str(), G_FILE_TEST_IS_DIR))
        << "the ACS SDK is not installed in " << sdkDir << ": run tools/setup.sh";

    std::string dir = calling::test::makeTempDir();
    std::string cert = dir + "/cert.pem";
    std::string key = dir + "/key.pem";
    ASSERT_EQ(calling::test::makeLoopbackCertificate(dir), "");

    std::string stateDir = dir + "/state";
    std::string why;
    auto server =
        calling::test::ServerProcess::start({stateDir, kAccessKey, {"--tls-cert", cert, "--tls-key", key}}, &why);
    ASSERT_TRUE(server) << why;
    int64_t started = g_get_real_time() / G_USEC_PER_SEC;

    calling::test::CommandOutput sdk = calling::test::runCommand({"node", sdkDir + "/identity_sdk.mjs", server->connection().toString()},
                     {{"NODE_EXTRA_CA_CERTS", cert}});
    ASSERT_EQ(sdk.exitStatus, 0) << sdk.text;
    SdkResult result(sdk.text);
    ASSERT_TRUE(result.ok()) << sdk.text;

    EXPECT_TRUE(result.string("userId").starts_with("8:acs:")) << sdk.text;
    EXPECT_NEAR(result.number("expiresOn"), started + 1440 * 60, 10);
    EXPECT_NEAR(result.number("secondExpiresOn"), started + 60 * 60, 10);

    // Tokens from before the SDK's revokeTokens are refused; the one issued after works.
    auto first = calling::test::verifyWithServerState(stateDir, kAccessKey, result.string("token"));
    ASSERT_FALSE(first.ok());
    EXPECT_EQ(first.error().fault, calling::protocol::TokenFault::Revoked);
    auto after = calling::test::verifyWithServerState(stateDir, kAccessKey, result.string("afterRevoke"));
    ASSERT_TRUE(after.ok()) << after.error().message;
    EXPECT_EQ(after->identity, result.string("userId"));

    EXPECT_EQ(result.status("tokenForDeleted"), 404);
    EXPECT_EQ(result.code("tokenForDeleted"), "IdentityNotFound");
    EXPECT_EQ(result.status("unknownScope"), 400);
    EXPECT_EQ(result.status("shortExpiry"), 400);
    EXPECT_EQ(result.status("forged"), 401);

    server.reset();
    calling::test::removeTree(dir);
}

}  // namespace
