// The access token an agent presents to calling-server: a static token, or one refreshed through
// the application's callback.
//
//   CommunicationTokenCredential fixed("eyJ...");
//   CommunicationTokenCredential refreshed({
//       .tokenRefresher = [](auto done) { myBackend.fetchToken(std::move(done)); },
//       .token = "eyJ...",               // optional first token
//       .refreshProactively = true,      // refresh before exp, not only when a token is needed
//   });
//
// With refreshProactively, a new token is fetched when what is left of the current one's
// lifetime falls under min(10 minutes, half its lifetime); the CallAgent then re-authenticates
// its live connection with it, and calls go on. A refresher that fails is asked again (at most
// every few seconds) until the token expires; the agent's calls then end with 495/4507.
//
// Threads: the credential is thread-safe. tokenRefresher is called on the library's own thread and
// must not block; it completes by calling `done` once, from any thread. Copies share one token
// cache and one refresher.
#pragma once

#include <calling/result.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace calling {

class CommunicationTokenCredential;
namespace detail {
class TokenCache;
std::shared_ptr<TokenCache> tokenCacheOf(const CommunicationTokenCredential& credential);
}  // namespace detail

using TokenCompletion = std::function<void(Result<std::string>)>;

struct CommunicationTokenRefreshOptions {
    std::function<void(TokenCompletion done)> tokenRefresher;
    std::string token;
    bool refreshProactively = false;
};

class CommunicationTokenCredential {
public:
    explicit CommunicationTokenCredential(std::string token);
    explicit CommunicationTokenCredential(CommunicationTokenRefreshOptions options);

    // A token valid now: the cached one, or a fresh one from the refresher. A static token that has
    // expired fails with 401/4507. `done` is called on the library thread or inline.
    void getToken(TokenCompletion done) const;

    // Stops proactive refreshing; later getToken() calls fail with 401/4507.
    void dispose();

private:
    friend std::shared_ptr<detail::TokenCache> detail::tokenCacheOf(const CommunicationTokenCredential&);
    std::shared_ptr<detail::TokenCache> cache_;
};

}  // namespace calling
