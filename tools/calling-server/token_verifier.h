// How the signalling checks access tokens: behind an interface so that call control can be unit
// tested without an identity store. The real one calls protocol::verifyAccessToken, the one token
// check of the project, with the server's signing key, its identity store and the `voip` scope.
#pragma once

#include "protocol/access_token.h"

#include <string>
#include <string_view>

namespace calling::server {

class TokenVerifier {
public:
    virtual ~TokenVerifier() = default;
    virtual Result<protocol::TokenGrant, protocol::TokenError> verify(std::string_view token) const = 0;
};

class AccessTokenVerifier final : public TokenVerifier {
public:
    static constexpr const char* kScope = "voip";

    AccessTokenVerifier(const protocol::IdentityDirectory& identities, std::string signingKey);
    Result<protocol::TokenGrant, protocol::TokenError> verify(std::string_view token) const override;

private:
    const protocol::IdentityDirectory& identities_;
    std::string signingKey_;
};

}  // namespace calling::server
