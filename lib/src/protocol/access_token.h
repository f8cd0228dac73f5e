// Access tokens: HS256 JWTs that calling-server issues and every server-side check verifies.
//
// Claims: sub (the identity's raw id), scp (array of scopes), iat and exp (Unix seconds), and gen,
// the identity's revocation generation when the token was issued. Revoking an identity's tokens
// bumps its generation, so every token issued before no longer verifies, also after a restart.
#pragma once

#include <calling/result.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace calling::protocol {

// The scopes a token can carry: "chat" and "voip".
bool isKnownScope(std::string_view scope);

struct TokenGrant {
    std::string identity;
    std::vector<std::string> scopes;
    int64_t issuedAt = 0;
    int64_t expiresAt = 0;
    int64_t generation = 0;
};

// `signingKey` is the server's secret (raw bytes).
std::string issueAccessToken(const TokenGrant& grant, std::string_view signingKey);

// What verification found wrong. Every fault is reported to clients as the documented token error
// (toError()); the fault itself is for logs and tests.
enum class TokenFault { Malformed, BadSignature, Expired, UnknownIdentity, Revoked, MissingScope };

struct TokenError {
    TokenFault fault;
    std::string message;
    Error toError() const;
};

// What the verifier needs to know about identities; calling-server's identity store implements it.
class IdentityDirectory {
public:
    virtual ~IdentityDirectory() = default;
    // The identity's current revocation generation, or nullopt when it does not exist or was deleted.
    virtual std::optional<int64_t> tokenGeneration(std::string_view identity) const = 0;
};

// The one check every server-side consumer of tokens calls. Accepts only an HS256 token with a
// valid signature under `signingKey`, well-typed claims, `nowUnix` < exp, a live identity, the
// identity's current generation and `requiredScope` among its scopes (no scope check when empty).
Result<TokenGrant, TokenError> verifyAccessToken(std::string_view token, std::string_view signingKey,
                                                 const IdentityDirectory& identities, std::string_view requiredScope,
                                                 int64_t nowUnix);

// The `exp` claim of a token, read without verifying it: what a client needs to plan a refresh.
// nullopt when the token is not a JWT with an integer exp.
std::optional<int64_t> peekTokenExpiry(std::string_view token);

}  // namespace calling::protocol
