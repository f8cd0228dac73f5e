// Reads a calling-server state dir the way the server does, to verify the tokens it issued.
#pragma once

#include "protocol/access_token.h"

#include <string>
#include <string_view>

namespace calling::test {

// `accessKey`: the base64 key the server was started with.
Result<protocol::TokenGrant, protocol::TokenError> verifyWithServerState(const std::string& stateDir,
                                                                         const std::string& accessKey,
                                                                         const std::string& token,
                                                                         std::string_view scope = "voip");

}  // namespace calling::test
