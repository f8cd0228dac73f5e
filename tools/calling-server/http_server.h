// calling-server's HTTP front: listens (HTTP or HTTPS), bounds request bodies, authenticates
// REST requests with the access key (ACS HMAC-SHA256) and hands them to the identity API, and
// serves the signalling WebSocket on the same port when given a SignallingServer.
// Runs on the thread-default GMainContext of the thread that calls listen().
#pragma once

#include "identity_api.h"
#include "secrets.h"
#include "signalling_server.h"

#include <calling/result.h>

#include <libsoup/soup.h>

#include <string>

namespace calling::server {

struct ListenOptions {
    std::string address = "127.0.0.1:0";  // HOST:PORT, port 0 picks a free one
    std::string tlsCertFile;              // both set: serve https
    std::string tlsKeyFile;
};

class HttpServer {
public:
    static constexpr size_t kMaxBodyBytes = 1024 * 1024;
    static constexpr int64_t kMaxClockSkewSeconds = 300;

    // `signalling` (optional) must outlive the server.
    HttpServer(IdentityApi& identities, const Secrets& secrets, SignallingServer* signalling = nullptr);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    // Returns the endpoint, e.g. "http://127.0.0.1:40123/".
    Result<std::string> listen(const ListenOptions& options);

private:
    static void onEarly(SoupServer*, SoupServerMessage* message, const char* path, GHashTable*, gpointer self);
    static void onRequest(SoupServer*, SoupServerMessage* message, const char* path, GHashTable*, gpointer self);
    void handle(SoupServerMessage* message);

    IdentityApi& identities_;
    const Secrets& secrets_;
    SignallingServer* signalling_;
    SoupServer* server_ = nullptr;
};

}  // namespace calling::server
