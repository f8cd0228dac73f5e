// The identity REST API, wire-compatible with ACS Communication Identity api-version 2023-10-01:
//   POST   /identities                              create, optionally with a token
//   GET    /identities/{id}                         read
//   DELETE /identities/{id}                         delete (its tokens stop verifying)
//   POST   /identities/{id}/:issueAccessToken       issue a token
//   POST   /identities/{id}/:revokeAccessTokens     revoke every token issued so far
// It sees requests after HttpServer has authenticated them; it knows nothing of HTTP transport.
#pragma once

#include "identity_store.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace calling::server {

struct ApiRequest {
    std::string_view method;
    std::string_view path;   // percent-encoded, as sent
    std::string_view query;  // percent-encoded, without '?'
    std::string_view body;
    int64_t nowUnix = 0;
};

struct ApiResponse {
    int status = 200;
    std::string body;   // JSON, empty for 204
    std::string allow;  // the Allow header for 405
};

// ACS-style error body: {"error":{"code":...,"message":...}}.
ApiResponse errorResponse(int status, std::string_view code, std::string_view message);

class IdentityApi {
public:
    IdentityApi(IdentityStore& store, std::string signingKey);

    static bool handles(std::string_view path);
    ApiResponse handle(const ApiRequest& request);

private:
    ApiResponse create(const ApiRequest& request);
    ApiResponse get(std::string_view id);
    ApiResponse remove(std::string_view id, int64_t nowUnix);
    ApiResponse issueToken(std::string_view id, const ApiRequest& request);
    ApiResponse revokeTokens(std::string_view id);

    IdentityStore& store_;
    std::string signingKey_;
};

}  // namespace calling::server
