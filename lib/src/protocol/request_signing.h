// ACS HMAC-SHA256 request signing, as the ACS identity SDKs do it.
//
// The client signs "METHOD\nPATH?QUERY\nDATE;HOST;CONTENT_HASH" with the base64-decoded access key
// and sends x-ms-date, x-ms-content-sha256 (base64 SHA-256 of the body) and
//   Authorization: HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=<base64>
// Both sides of the identity API use these functions.
#pragma once

#include <calling/result.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace calling::protocol {

struct SignedHeaders {
    std::string date;         // x-ms-date, RFC 1123
    std::string contentHash;  // x-ms-content-sha256
    std::string authorization;
};

// `accessKey` is the raw (base64-decoded) key; `nowUnix` the request time in seconds.
SignedHeaders signRequest(std::string_view method, std::string_view pathAndQuery, std::string_view host,
                          std::string_view body, std::string_view accessKey, int64_t nowUnix);

struct ReceivedRequest {
    std::string_view method;
    std::string_view pathAndQuery;  // as sent, still percent-encoded
    std::string_view host;          // the Host header
    std::string_view date;          // x-ms-date header, empty when absent
    std::string_view contentHash;   // x-ms-content-sha256 header, empty when absent
    std::string_view authorization; // Authorization header, empty when absent
    std::string_view body;
};

// Accepts the request only if the signature matches, the body hash matches the body and x-ms-date
// is within `maxSkewSeconds` of `nowUnix`. Errors carry code 401 and say what was wrong.
Result<Done> verifyRequestSignature(const ReceivedRequest& request, std::string_view accessKey, int64_t nowUnix,
                                    int64_t maxSkewSeconds);

std::string httpDate(int64_t unixSeconds);

}  // namespace calling::protocol
