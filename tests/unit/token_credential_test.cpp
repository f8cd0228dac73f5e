#include "model/token_cache.h"
#include "protocol/access_token.h"

#include <calling/communication_token_credential.h>

#include <gtest/gtest.h>

#include <optional>
#include <string>

using calling::CommunicationTokenCredential;
using calling::CommunicationTokenRefreshOptions;
using calling::Result;
using calling::TokenCompletion;
using calling::detail::TokenCache;
using calling::protocol::TokenGrant;

namespace {

std::string tokenExpiringAt(int64_t expiresAt, int64_t issuedAt)
{
    return calling::protocol::issueAccessToken(TokenGrant{"8:acs:r_u", {"voip"}, issuedAt, expiresAt, 0},
                                               "0123456789abcdef0123456789abcdef");
}

std::optional<Result<std::string>> getNow(const CommunicationTokenCredential& credential)
{
    std::optional<Result<std::string>> out;
    credential.getToken([&](Result<std::string> result) { out = std::move(result); });
    return out;
}

}  // namespace

TEST(TokenCredential, PeeksTheExpiryOfAToken)
{
    int64_t now = TokenCache::nowUnix();
    EXPECT_EQ(calling::protocol::peekTokenExpiry(tokenExpiringAt(now + 3600, now)), now + 3600);
    EXPECT_FALSE(calling::protocol::peekTokenExpiry("not a token"));
    EXPECT_FALSE(calling::protocol::peekTokenExpiry("a.!!!.c"));
}

TEST(TokenCredential, AStaticTokenIsReturnedUntilItExpires)
{
    int64_t now = TokenCache::nowUnix();
    std::string token = tokenExpiringAt(now + 3600, now);
    auto valid = getNow(CommunicationTokenCredential(token));
    ASSERT_TRUE(valid && valid->ok());
    EXPECT_EQ(valid->value(), token);

    auto expired = getNow(CommunicationTokenCredential(tokenExpiringAt(now - 1, now - 3600)));
    ASSERT_TRUE(expired && !expired->ok());
    EXPECT_EQ(expired->error().code, 401);
    EXPECT_EQ(expired->error().subCode, 4507);
}

TEST(TokenCredential, AnExpiredTokenIsRefreshedThroughTheRefresher)
{
    int64_t now = TokenCache::nowUnix();
    std::string fresh = tokenExpiringAt(now + 3600, now);
    int refresherCalls = 0;
    CommunicationTokenCredential credential(CommunicationTokenRefreshOptions{
        .tokenRefresher = [&](TokenCompletion done) { refresherCalls++; done(fresh); },
        .token = tokenExpiringAt(now - 1, now - 3600),
    });
    auto result = getNow(credential);
    ASSERT_TRUE(result && result->ok());
    EXPECT_EQ(result->value(), fresh);
    EXPECT_EQ(refresherCalls, 1);
    // Cached now.
    ASSERT_TRUE(getNow(credential)->ok());
    EXPECT_EQ(refresherCalls, 1);
}

TEST(TokenCredential, ConcurrentRefreshesShareOneRefresherCall)
{
    int64_t now = TokenCache::nowUnix();
    TokenCompletion pending;
    int refresherCalls = 0;
    CommunicationTokenCredential credential(CommunicationTokenRefreshOptions{
        .tokenRefresher = [&](TokenCompletion done) { refresherCalls++; pending = std::move(done); },
    });
    int completions = 0;
    credential.getToken([&](Result<std::string> result) { completions += result.ok(); });
    credential.getToken([&](Result<std::string> result) { completions += result.ok(); });
    EXPECT_EQ(refresherCalls, 1);
    ASSERT_TRUE(pending);
    std::string token = tokenExpiringAt(now + 3600, now);
    pending(token);
    pending(token);  // a second completion is ignored
    EXPECT_EQ(completions, 2);
}

TEST(TokenCredential, RefresherFailuresAndExpiredTokensAreTheDocumentedError)
{
    int64_t now = TokenCache::nowUnix();
    CommunicationTokenCredential failing(CommunicationTokenRefreshOptions{
        .tokenRefresher = [](TokenCompletion done) { done(calling::Error{0, 0, "backend down"}); },
    });
    auto failed = getNow(failing);
    ASSERT_TRUE(failed && !failed->ok());
    EXPECT_EQ(failed->error().code, 401);
    EXPECT_EQ(failed->error().subCode, 4507);
    EXPECT_NE(failed->error().message.find("backend down"), std::string::npos);

    CommunicationTokenCredential stale(CommunicationTokenRefreshOptions{
        .tokenRefresher = [&](TokenCompletion done) { done(tokenExpiringAt(now - 5, now - 3600)); },
    });
    auto staleResult = getNow(stale);
    ASSERT_TRUE(staleResult && !staleResult->ok());
    EXPECT_EQ(staleResult->error().subCode, 4507);
}

TEST(TokenCredential, ProactiveRefreshIsDueTenMinutesAheadOrAtHalfTheLifetime)
{
    int64_t now = TokenCache::nowUnix();
    TokenCache longLived(CommunicationTokenRefreshOptions{
        .tokenRefresher = [](TokenCompletion) {}, .token = tokenExpiringAt(now + 3600, now), .refreshProactively = true});
    EXPECT_TRUE(longLived.refreshesProactively());
    ASSERT_TRUE(longLived.refreshDueAt());
    EXPECT_NEAR(double(*longLived.refreshDueAt()), double(now + 3600 - 600), 2);

    TokenCache shortLived(tokenExpiringAt(now + 4, now));
    EXPECT_FALSE(shortLived.refreshesProactively());
    ASSERT_TRUE(shortLived.refreshDueAt());
    EXPECT_NEAR(double(*shortLived.refreshDueAt()), double(now + 2), 1);
}

TEST(TokenCredential, ADisposedCredentialGivesNoToken)
{
    int64_t now = TokenCache::nowUnix();
    CommunicationTokenCredential credential(tokenExpiringAt(now + 3600, now));
    credential.dispose();
    auto result = getNow(credential);
    ASSERT_TRUE(result && !result->ok());
    EXPECT_EQ(result->error().subCode, 4507);
}
