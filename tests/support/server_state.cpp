#include "server_state.h"

#include "identity_store.h"
#include "secrets.h"

#include <glib.h>
#include <gtest/gtest.h>

namespace calling::test {

Result<protocol::TokenGrant, protocol::TokenError> verifyWithServerState(const std::string& stateDir,
                                                                         const std::string& accessKey,
                                                                         const std::string& token,
                                                                         std::string_view scope)
{
    auto secrets = server::loadSecrets(stateDir, accessKey);
    EXPECT_TRUE(secrets.ok()) << secrets.error().message;
    g_autofree char* database = g_build_filename(stateDir.c_str(), "identities.db", nullptr);
    auto store = server::IdentityStore::open(database);
    EXPECT_TRUE(store.ok()) << store.error().message;
    return protocol::verifyAccessToken(token, secrets->signingKey, *store.value(), scope,
                                       g_get_real_time() / G_USEC_PER_SEC);
}

}  // namespace calling::test
