#include "protocol/access_token.h"
#include "protocol/crypto.h"

#include <glib.h>
#include <gtest/gtest.h>

#include <map>

using namespace calling::protocol;

namespace {

constexpr int64_t kNow = 1'800'000'000;
const std::string kKey(32, 'k');
const std::string kIdentity = "8:acs:resource_5f2b8c1e-0000-4000-8000-000000000001";

class FakeDirectory : public IdentityDirectory {
public:
    std::optional<int64_t> tokenGeneration(std::string_view identity) const override
    {
        auto found = generations.find(std::string(identity));
        if (found == generations.end())
            return std::nullopt;
        return found->second;
    }
    std::map<std::string, int64_t> generations{{kIdentity, 3}};
};

TokenGrant grant()
{
    return TokenGrant{kIdentity, {"voip", "chat"}, kNow - 10, kNow + 3600, 3};
}

std::string base64Url(std::string_view bytes)
{
    std::string text = base64Encode(bytes);
    for (char& c : text)
        c = c == '+' ? '-' : c == '/' ? '_' : c;
    while (!text.empty() && text.back() == '=')
        text.pop_back();
    return text;
}

std::string fromBase64Url(std::string text)
{
    for (char& c : text)
        c = c == '-' ? '+' : c == '_' ? '/' : c;
    while (text.size() % 4)
        text += '=';
    return base64Decode(text).value_or("");
}

struct Parts {
    std::string header, payload, signature;
};

Parts split(const std::string& token)
{
    size_t first = token.find('.');
    size_t second = token.find('.', first + 1);
    return {token.substr(0, first), token.substr(first + 1, second - first - 1), token.substr(second + 1)};
}

TokenFault faultOf(const std::string& token, std::string_view scope = "voip", int64_t now = kNow,
                   const std::string& key = kKey)
{
    FakeDirectory directory;
    auto result = verifyAccessToken(token, key, directory, scope, now);
    EXPECT_FALSE(result.ok()) << "token was accepted";
    return result.ok() ? TokenFault::Malformed : result.error().fault;
}

TEST(AccessToken, ValidTokenVerifiesWithItsClaims)
{
    FakeDirectory directory;
    std::string token = issueAccessToken(grant(), kKey);
    auto verified = verifyAccessToken(token, kKey, directory, "voip", kNow);
    ASSERT_TRUE(verified.ok()) << verified.error().message;
    EXPECT_EQ(verified->identity, kIdentity);
    EXPECT_EQ(verified->scopes, (std::vector<std::string>{"voip", "chat"}));
    EXPECT_EQ(verified->expiresAt, kNow + 3600);
    EXPECT_EQ(verified->issuedAt, kNow - 10);
}

TEST(AccessToken, HeaderSaysHs256Jwt)
{
    std::string header = fromBase64Url(split(issueAccessToken(grant(), kKey)).header);
    EXPECT_NE(header.find("\"HS256\""), std::string::npos) << header;
}

TEST(AccessToken, ExpiredTokenIsRefused)
{
    std::string token = issueAccessToken(grant(), kKey);
    EXPECT_EQ(faultOf(token, "voip", kNow + 3600), TokenFault::Expired);
    EXPECT_EQ(faultOf(token, "voip", kNow + 100000), TokenFault::Expired);
}

TEST(AccessToken, TamperedPayloadIsRefused)
{
    Parts parts = split(issueAccessToken(grant(), kKey));
    std::string payload = fromBase64Url(parts.payload);
    size_t at = payload.find(kIdentity);
    ASSERT_NE(at, std::string::npos);
    payload.replace(at, kIdentity.size(), "8:acs:resource_someone-else");
    EXPECT_EQ(faultOf(parts.header + "." + base64Url(payload) + "." + parts.signature), TokenFault::BadSignature);
}

TEST(AccessToken, TamperedSignatureIsRefused)
{
    Parts parts = split(issueAccessToken(grant(), kKey));
    std::string signature = fromBase64Url(parts.signature);
    signature[0] = static_cast<char>(signature[0] ^ 0x01);
    EXPECT_EQ(faultOf(parts.header + "." + parts.payload + "." + base64Url(signature)), TokenFault::BadSignature);
}

TEST(AccessToken, AlgNoneIsRefused)
{
    Parts parts = split(issueAccessToken(grant(), kKey));
    std::string none = base64Url(R"({"alg":"none","typ":"JWT"})");
    EXPECT_EQ(faultOf(none + "." + parts.payload + "."), TokenFault::BadSignature);
    EXPECT_EQ(faultOf(none + "." + parts.payload + "." + parts.signature), TokenFault::BadSignature);
}

TEST(AccessToken, OtherHmacSizeIsRefused)
{
    Parts parts = split(issueAccessToken(grant(), kKey));
    std::string header = base64Url(R"({"alg":"HS512","typ":"JWT"})");
    std::string signature = base64Url(hmacSha256(kKey, header + "." + parts.payload));
    EXPECT_EQ(faultOf(header + "." + parts.payload + "." + signature), TokenFault::BadSignature);
}

TEST(AccessToken, WrongKeyIsRefused)
{
    std::string token = issueAccessToken(grant(), std::string(32, 'x'));
    EXPECT_EQ(faultOf(token), TokenFault::BadSignature);
}

TEST(AccessToken, RevokedTokenIsRefused)
{
    FakeDirectory directory;
    std::string token = issueAccessToken(grant(), kKey);
    directory.generations[kIdentity] = 4;  // what revoking does
    auto verified = verifyAccessToken(token, kKey, directory, "voip", kNow);
    ASSERT_FALSE(verified.ok());
    EXPECT_EQ(verified.error().fault, TokenFault::Revoked);
    EXPECT_EQ(verified.error().toError().code, 401);
}

TEST(AccessToken, DeletedIdentityIsRefused)
{
    FakeDirectory directory;
    std::string token = issueAccessToken(grant(), kKey);
    directory.generations.clear();
    auto verified = verifyAccessToken(token, kKey, directory, "voip", kNow);
    ASSERT_FALSE(verified.ok());
    EXPECT_EQ(verified.error().fault, TokenFault::UnknownIdentity);
}

TEST(AccessToken, ScopeNotGrantedIsRefused)
{
    TokenGrant chatOnly = grant();
    chatOnly.scopes = {"chat"};
    EXPECT_EQ(faultOf(issueAccessToken(chatOnly, kKey), "voip"), TokenFault::MissingScope);
}

TEST(AccessToken, OnlyChatAndVoipAreKnownScopes)
{
    EXPECT_TRUE(isKnownScope("voip"));
    EXPECT_TRUE(isKnownScope("chat"));
    EXPECT_FALSE(isKnownScope("admin"));
    EXPECT_FALSE(isKnownScope("VOIP"));
    EXPECT_FALSE(isKnownScope(""));
}

TEST(AccessToken, GarbageIsMalformed)
{
    EXPECT_EQ(faultOf(""), TokenFault::Malformed);
    EXPECT_EQ(faultOf("not a token"), TokenFault::Malformed);
    EXPECT_EQ(faultOf("a.b"), TokenFault::Malformed);
    EXPECT_EQ(faultOf(std::string(10000, 'a') + ".b.c"), TokenFault::Malformed);
    EXPECT_NE(faultOf("a.b.c"), TokenFault::Expired);
}

TEST(AccessToken, ClaimsOfTheWrongTypeAreRefusedEvenWhenSigned)
{
    std::string header = base64Url(R"({"alg":"HS256","typ":"JWT"})");
    std::string payload = base64Url(R"({"sub":42,"scp":["voip"],"iat":1,"exp":99999999999,"gen":3})");
    std::string signature = base64Url(hmacSha256(kKey, header + "." + payload));
    EXPECT_EQ(faultOf(header + "." + payload + "." + signature), TokenFault::Malformed);
}

}  // namespace
