#include "model/token_cache.h"

#include "protocol/access_token.h"

#include <glib.h>

#include <algorithm>

namespace calling::detail {

namespace {

Error invalidToken(const std::string& why)
{
    return Error{401, 4507, why};
}

constexpr int64_t kRefreshAheadSeconds = 10 * 60;

}  // namespace

int64_t TokenCache::nowUnix()
{
    return g_get_real_time() / G_USEC_PER_SEC;
}

TokenCache::TokenCache(std::string token)
    : token_(std::move(token)), expiresAt_(protocol::peekTokenExpiry(token_)), obtainedAt_(nowUnix())
{
}

TokenCache::TokenCache(CommunicationTokenRefreshOptions options) : options_(std::move(options))
{
    token_ = std::exchange(options_.token, {});
    if (!token_.empty()) {
        expiresAt_ = protocol::peekTokenExpiry(token_);
        obtainedAt_ = nowUnix();
    }
}

std::optional<int64_t> TokenCache::expiresAt() const
{
    std::lock_guard lock(mutex_);
    return expiresAt_;
}

std::optional<int64_t> TokenCache::refreshDueAt() const
{
    std::lock_guard lock(mutex_);
    if (!expiresAt_)
        return std::nullopt;
    int64_t lifetime = std::max<int64_t>(*expiresAt_ - obtainedAt_, 0);
    return *expiresAt_ - std::min(kRefreshAheadSeconds, lifetime / 2);
}

// Completions run with no lock held: they may call back into the credential.
void TokenCache::get(TokenCompletion done)
{
    std::optional<Result<std::string>> answer;
    {
        std::lock_guard lock(mutex_);
        if (disposed_)
            answer = invalidToken("the credential was disposed");
        else if (!token_.empty() && (!expiresAt_ || nowUnix() < *expiresAt_))
            answer = token_;
        else if (!options_.tokenRefresher)
            answer = invalidToken(token_.empty() ? "no token" : "the token has expired");
    }
    if (answer)
        done(std::move(*answer));
    else
        refresh(std::move(done));
}

void TokenCache::refresh(TokenCompletion done)
{
    std::function<void(TokenCompletion)> refresher;
    std::optional<Result<std::string>> answer;
    {
        std::lock_guard lock(mutex_);
        if (disposed_) {
            answer = invalidToken("the credential was disposed");
        } else if (!options_.tokenRefresher) {
            answer = token_.empty() ? Result<std::string>(invalidToken("no token")) : Result<std::string>(token_);
        } else {
            waiters_.push_back(std::move(done));
            if (refreshing_)
                return;
            refreshing_ = true;
            refresher = options_.tokenRefresher;
        }
    }
    if (answer) {
        done(std::move(*answer));
        return;
    }
    // The refresher may complete inline or later, from any thread, but only once counts.
    auto self = shared_from_this();
    auto once = std::make_shared<std::once_flag>();
    refresher([self, once](Result<std::string> result) {
        std::call_once(*once, [&] { self->finish(std::move(result)); });
    });
}

void TokenCache::finish(Result<std::string> result)
{
    std::vector<TokenCompletion> waiters;
    Result<std::string> outcome = result;
    {
        std::lock_guard lock(mutex_);
        refreshing_ = false;
        waiters.swap(waiters_);
        if (disposed_) {
            outcome = invalidToken("the credential was disposed");
        } else if (result.ok()) {
            auto expiry = protocol::peekTokenExpiry(result.value());
            if (result.value().empty() || (expiry && *expiry <= nowUnix())) {
                outcome = invalidToken("the token refresher returned an expired or empty token");
            } else {
                token_ = result.value();
                expiresAt_ = expiry;
                obtainedAt_ = nowUnix();
            }
        } else {
            outcome = Error{result.error().code ? result.error().code : 401,
                            result.error().code ? result.error().subCode : 4507,
                            "the token refresher failed: " + result.error().message};
        }
    }
    for (auto& waiter : waiters)
        waiter(outcome);
}

void TokenCache::dispose()
{
    std::lock_guard lock(mutex_);
    disposed_ = true;
    token_.clear();
}

std::shared_ptr<TokenCache> tokenCacheOf(const CommunicationTokenCredential& credential)
{
    return credential.cache_;
}

}  // namespace calling::detail

namespace calling {

CommunicationTokenCredential::CommunicationTokenCredential(std::string token)
    : cache_(std::make_shared<detail::TokenCache>(std::move(token)))
{
}

CommunicationTokenCredential::CommunicationTokenCredential(CommunicationTokenRefreshOptions options)
    : cache_(std::make_shared<detail::TokenCache>(std::move(options)))
{
}

void CommunicationTokenCredential::getToken(TokenCompletion done) const
{
    cache_->get(std::move(done));
}

void CommunicationTokenCredential::dispose()
{
    cache_->dispose();
}

}  // namespace calling
