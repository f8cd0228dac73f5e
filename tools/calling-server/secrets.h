// The server's two secrets, kept in the state dir:
//   signing.key  random bytes that sign access tokens (never leaves the server)
//   access.key   the access key clients sign requests with, when none is given
#pragma once

#include <calling/result.h>

#include <optional>
#include <string>

namespace calling::server {

struct Secrets {
    std::string accessKey;        // raw bytes
    std::string accessKeyBase64;  // as in the connection string
    std::string signingKey;       // raw bytes
};

// Creates `stateDir` and missing key files (mode 0600). A given access key must be base64 and is not
// written to disk; without one, the key stored by an earlier start is reused or a new one generated.
Result<Secrets> loadSecrets(const std::string& stateDir, const std::optional<std::string>& accessKeyBase64);

}  // namespace calling::server
