// A plain HTTP client for REST tests: signs requests the ACS way with the access key, and lets a
// test break any part of the signing on purpose.
#pragma once

#include "protocol/connection_string.h"

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace calling::test {

struct RestRequest {
    std::string method = "POST";
    std::string pathAndQuery;  // e.g. "/identities?api-version=2023-10-01"
    std::string body;
    bool sign = true;
    int64_t clockOffsetSeconds = 0;         // shifts x-ms-date
    std::optional<std::string> signingKey;  // raw bytes; default: the connection string's key
    std::map<std::string, std::string> overrideHeaders;  // applied after signing
    bool chunked = false;                                // send the body without Content-Length
};

struct RestResponse {
    int status = 0;
    std::string body;
    std::map<std::string, std::string> headers;  // names in lower case

    std::string header(const char* name) const;
    // String member at a dotted path ("identity.id") of the JSON body; empty when absent.
    std::string string(const char* dottedPath) const;
    std::string errorCode() const { return string("error.code"); }
};

class RestClient {
public:
    // `caFile`: a PEM certificate to trust for https endpoints (empty: the system's).
    explicit RestClient(protocol::ConnectionString connection, const std::string& caFile = "");
    ~RestClient();

    RestResponse send(const RestRequest& request);

    // Conveniences for the happy path.
    std::string createIdentity();
    std::string issueToken(const std::string& id, const char* scopesJson = R"(["voip"])");

    static std::string escapeId(const std::string& id);

private:
    protocol::ConnectionString connection_;
    std::string key_;
    SoupSession* session_;
};

}  // namespace calling::test
