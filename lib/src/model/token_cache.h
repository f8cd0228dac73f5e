// The state behind a CommunicationTokenCredential: the current token, its expiry and the refresher.
// Concurrent refreshes are coalesced: one refresher call at a time, every waiter gets its result.
#pragma once

#include <calling/communication_token_credential.h>

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace calling::detail {

class TokenCache : public std::enable_shared_from_this<TokenCache> {
public:
    explicit TokenCache(std::string token);
    explicit TokenCache(CommunicationTokenRefreshOptions options);

    // A token that is valid now: the cached one when it has not expired, else a refreshed one.
    void get(TokenCompletion done);
    // Always asks the refresher (when there is one) for a new token.
    void refresh(TokenCompletion done);
    void dispose();

    bool refreshesProactively() const { return options_.refreshProactively && bool(options_.tokenRefresher); }
    // When a proactive refresh is due for the token in use (Unix seconds): once less than
    // min(10 minutes, half its lifetime) is left. nullopt for a token without exp.
    std::optional<int64_t> refreshDueAt() const;
    std::optional<int64_t> expiresAt() const;

    // Wall-clock Unix seconds, the clock token expiry is measured in.
    static int64_t nowUnix();

private:
    void finish(Result<std::string> result);

    CommunicationTokenRefreshOptions options_;
    mutable std::mutex mutex_;
    std::string token_;
    std::optional<int64_t> expiresAt_;
    int64_t obtainedAt_ = 0;
    bool disposed_ = false;
    bool refreshing_ = false;
    std::vector<TokenCompletion> waiters_;
};

}  // namespace calling::detail
