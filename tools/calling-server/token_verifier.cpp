#include "token_verifier.h"

#include <glib.h>

namespace calling::server {

AccessTokenVerifier::AccessTokenVerifier(const protocol::IdentityDirectory& identities, std::string signingKey)
    : identities_(identities), signingKey_(std::move(signingKey))
{
}

Result<protocol::TokenGrant, protocol::TokenError> AccessTokenVerifier::verify(std::string_view token) const
{
    return protocol::verifyAccessToken(token, signingKey_, identities_, kScope, g_get_real_time() / G_USEC_PER_SEC);
}

}  // namespace calling::server
