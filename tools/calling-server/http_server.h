// calling-server's HTTP front: listens (HTTP or HTTPS), bounds request bodies, authenticates
// REST requests with the access key (ACS HMAC-SHA256) and hands them to the identity API, and
// serves the signalling WebSocket on the same port when given a SignallingServer, the web client's
// files at `/` when given them, and, with demo tokens on, an unauthenticated way to get an identity
// and a token (loopback only; see docs/web-client.md).
// Runs on the thread-default GMainContext of the thread that calls listen().
#pragma once

#include "identity_api.h"
#include "secrets.h"
#include "signalling_server.h"
#include "static_files.h"

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
    // Connections the kernel queues before the server accepts them (capped by net.core.somaxconn).
    // libsoup listens with GSocket's default of 10: a burst of agents connecting at once (after a
    // restart, say) overflowed it, and each dropped SYN costs its client 1, 3, 7, 15... seconds of
    // TCP retransmission.
    static constexpr int kListenBacklog = 4096;

    // `signalling` (optional) must outlive the server.
    HttpServer(IdentityApi& identities, const Secrets& secrets, SignallingServer* signalling = nullptr);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    // The unauthenticated route of --demo-tokens: a new identity with a voip token for anyone who
    // asks, which is why listen() refuses it on anything but a loopback address.
    static constexpr const char* kDemoIdentitiesPath = "/demo/identities";

    // Before listen(). `files` (optional) must outlive the server; they are served at `/`.
    void serveWebClient(const StaticFiles* files) { web_ = files; }
    void enableDemoTokens() { demoTokens_ = true; }

    // Returns the endpoint, e.g. "http://127.0.0.1:40123/".
    Result<std::string> listen(const ListenOptions& options);

private:
    static void onEarly(SoupServer*, SoupServerMessage* message, const char* path, GHashTable*, gpointer self);
    static void onRequest(SoupServer*, SoupServerMessage* message, const char* path, GHashTable*, gpointer self);
    void handle(SoupServerMessage* message);
    void serveFile(SoupServerMessage* message, std::string_view method, std::string_view path);

    IdentityApi& identities_;
    const Secrets& secrets_;
    SignallingServer* signalling_;
    const StaticFiles* web_ = nullptr;
    bool demoTokens_ = false;
    SoupServer* server_ = nullptr;
};

}  // namespace calling::server
