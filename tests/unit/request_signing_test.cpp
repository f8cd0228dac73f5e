#include "protocol/crypto.h"
#include "protocol/request_signing.h"

#include <gtest/gtest.h>

using namespace calling::protocol;

namespace {

constexpr int64_t kNow = 1'800'000'000;  // Fri, 15 Jan 2027 08:00:00 GMT
const std::string kKey = "0123456789abcdef0123456789abcdef";

ReceivedRequest received(const SignedHeaders& headers, std::string_view body = R"({"scopes":["voip"]})",
                         std::string_view path = "/identities?api-version=2023-10-01")
{
    return ReceivedRequest{"POST", path, "127.0.0.1:8080", headers.date, headers.contentHash, headers.authorization,
                           body};
}

SignedHeaders sign(std::string_view body = R"({"scopes":["voip"]})", int64_t now = kNow)
{
    return signRequest("POST", "/identities?api-version=2023-10-01", "127.0.0.1:8080", body, kKey, now);
}

TEST(RequestSigning, HeadersHaveTheAcsShape)
{
    SignedHeaders headers = sign("");
    EXPECT_EQ(headers.date, "Fri, 15 Jan 2027 08:00:00 GMT");
    // SHA-256 of the empty string, base64.
    EXPECT_EQ(headers.contentHash, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
    // Independently computed: printf 'POST\n/identities?api-version=2023-10-01\nFri, 15 Jan 2027 08:00:00
    // GMT;127.0.0.1:8080;47DEQ...' | openssl dgst -sha256 -hmac 0123456789abcdef0123456789abcdef -binary | base64
    EXPECT_EQ(headers.authorization,
              "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature="
              "dro17+z3eP5jd9z0SlU//5NmakhqAUSJz9uokLkRHBk=");
}

TEST(RequestSigning, SignedRequestVerifies)
{
    auto result = verifyRequestSignature(received(sign()), kKey, kNow, 300);
    EXPECT_TRUE(result.ok()) << result.error().message;
}

TEST(RequestSigning, WrongKeyIsRefused)
{
    auto result = verifyRequestSignature(received(sign()), "another key of the same length!!", kNow, 300);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, 401);
}

TEST(RequestSigning, OtherPathIsRefused)
{
    auto result = verifyRequestSignature(received(sign(), R"({"scopes":["voip"]})", "/identities/x"), kKey, kNow, 300);
    EXPECT_FALSE(result.ok());
}

TEST(RequestSigning, BodyNotMatchingItsHashIsRefused)
{
    auto result = verifyRequestSignature(received(sign(), R"({"scopes":["chat"]})"), kKey, kNow, 300);
    ASSERT_FALSE(result.ok());
    EXPECT_NE(result.error().message.find("x-ms-content-sha256"), std::string::npos);
}

TEST(RequestSigning, StaleAndFutureDatesAreRefused)
{
    EXPECT_FALSE(verifyRequestSignature(received(sign(R"({"scopes":["voip"]})", kNow - 301)), kKey, kNow, 300).ok());
    EXPECT_FALSE(verifyRequestSignature(received(sign(R"({"scopes":["voip"]})", kNow + 301)), kKey, kNow, 300).ok());
    EXPECT_TRUE(verifyRequestSignature(received(sign(R"({"scopes":["voip"]})", kNow - 299)), kKey, kNow, 300).ok());
}

TEST(RequestSigning, MissingOrMalformedHeadersAreRefused)
{
    SignedHeaders headers = sign();
    SignedHeaders noAuth = headers;
    noAuth.authorization.clear();
    EXPECT_FALSE(verifyRequestSignature(received(noAuth), kKey, kNow, 300).ok());
    SignedHeaders noDate = headers;
    noDate.date.clear();
    EXPECT_FALSE(verifyRequestSignature(received(noDate), kKey, kNow, 300).ok());
    SignedHeaders badDate = headers;
    badDate.date = "yesterday";
    EXPECT_FALSE(verifyRequestSignature(received(badDate), kKey, kNow, 300).ok());
    SignedHeaders otherScheme = headers;
    otherScheme.authorization.replace(0, 11, "HMAC-SHA512");
    EXPECT_FALSE(verifyRequestSignature(received(otherScheme), kKey, kNow, 300).ok());
    SignedHeaders otherHeaders = headers;
    otherHeaders.authorization.replace(otherHeaders.authorization.find("x-ms-date;host"), 14, "host;x-ms-date");
    EXPECT_FALSE(verifyRequestSignature(received(otherHeaders), kKey, kNow, 300).ok());
}

TEST(Base64, DecodeIsStrict)
{
    EXPECT_EQ(base64Decode("aGVsbG8="), "hello");
    EXPECT_FALSE(base64Decode("aGVsbG8"));    // missing padding
    EXPECT_FALSE(base64Decode("aGVsbG9="));   // stray bits
    EXPECT_FALSE(base64Decode("aGV*bG8="));   // not the alphabet
    EXPECT_FALSE(base64Decode("aG=sbG8="));   // padding in the middle
    EXPECT_FALSE(base64Decode(""));
}

}  // namespace
