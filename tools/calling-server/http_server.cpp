#include "http_server.h"

#include "keep_alive.h"

#include "protocol/request_signing.h"

#include <gio/gio.h>
#include <gio/gnetworking.h>

#include <memory>

namespace calling::server {
namespace {

void respond(SoupServerMessage* message, const ApiResponse& response)
{
    closeAfterResponse(message);
    SoupMessageHeaders* headers = soup_server_message_get_response_headers(message);
    if (!response.allow.empty())
        soup_message_headers_replace(headers, "Allow", response.allow.c_str());
    soup_server_message_set_status(message, response.status, nullptr);
    if (!response.body.empty())
        soup_server_message_set_response(message, "application/json", SOUP_MEMORY_COPY, response.body.data(),
                                         response.body.size());
}

// Stops keeping the body, answers 413 and closes the connection once the body has been drained.
void rejectTooLarge(SoupServerMessage* message)
{
    SoupMessageBody* body = soup_server_message_get_request_body(message);
    soup_message_body_set_accumulate(body, FALSE);
    soup_message_body_truncate(body);
    soup_message_headers_replace(soup_server_message_get_response_headers(message), "Connection", "close");
    respond(message, errorResponse(413, "RequestEntityTooLarge", "request body is larger than 1 MiB"));
}

void onChunk(SoupServerMessage* message, GBytes*, gpointer)
{
    if (static_cast<size_t>(soup_server_message_get_request_body(message)->length) > HttpServer::kMaxBodyBytes &&
        soup_server_message_get_status(message) == 0)
        rejectTooLarge(message);
}

using SocketAddressPtr = std::unique_ptr<GSocketAddress, decltype(&g_object_unref)>;

Result<SocketAddressPtr> parseListenAddress(const std::string& address)
{
    g_autoptr(GError) error = nullptr;
    g_autoptr(GSocketConnectable) parsed = g_network_address_parse(address.c_str(), 0, &error);
    if (!parsed)
        return Error{400, 0, "--listen must be HOST:PORT: " + std::string(error->message)};
    auto* network = G_NETWORK_ADDRESS(parsed);
    std::string host = g_network_address_get_hostname(network);
    guint16 port = g_network_address_get_port(network);
    if (host == "localhost")
        host = "127.0.0.1";
    g_autoptr(GInetAddress) inet = g_inet_address_new_from_string(host.c_str());
    if (!inet)
        return Error{400, 0, "--listen needs an IP address, not " + host};
    return SocketAddressPtr(g_inet_socket_address_new(inet, port), g_object_unref);
}

}  // namespace

HttpServer::HttpServer(IdentityApi& identities, const Secrets& secrets, SignallingServer* signalling)
    : identities_(identities), secrets_(secrets), signalling_(signalling)
{
}

HttpServer::~HttpServer()
{
    if (server_) {
        soup_server_disconnect(server_);
        g_object_unref(server_);
    }
}

Result<std::string> HttpServer::listen(const ListenOptions& options)
{
    g_autoptr(GTlsCertificate) certificate = nullptr;
    bool tls = !options.tlsCertFile.empty() || !options.tlsKeyFile.empty();
    if (tls) {
        if (options.tlsCertFile.empty() || options.tlsKeyFile.empty())
            return Error{400, 0, "--tls-cert and --tls-key go together"};
        g_autoptr(GError) error = nullptr;
        certificate = g_tls_certificate_new_from_files(options.tlsCertFile.c_str(), options.tlsKeyFile.c_str(), &error);
        if (!certificate)
            return Error{400, 0, std::string("cannot load the TLS certificate or key: ") + error->message};
    }

    auto address = parseListenAddress(options.address);
    if (!address)
        return address.error();
    if (demoTokens_ &&
        !g_inet_address_get_is_loopback(g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(address->get()))))
        return Error{400, 0, "--demo-tokens gives tokens to anyone who asks: it only works on a loopback address, not " +
                                 options.address};

    // raw-paths: the request signature covers the path exactly as the client sent it.
    server_ = soup_server_new("raw-paths", TRUE, "server-header", "calling-server", "tls-certificate", certificate,
                              nullptr);
    soup_server_add_early_handler(server_, nullptr, onEarly, this, nullptr);
    soup_server_add_handler(server_, nullptr, onRequest, this, nullptr);
    if (signalling_)
        signalling_->install(server_, onEarly, this);

    // The socket is ours rather than soup_server_listen()'s so that its backlog can be set.
    g_autoptr(GError) error = nullptr;
    GSocketFamily family = g_socket_address_get_family(address->get());
    g_autoptr(GSocket) socket = g_socket_new(family, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, &error);
    if (socket && family == G_SOCKET_FAMILY_IPV6)
        g_socket_set_option(socket, IPPROTO_IPV6, IPV6_V6ONLY, TRUE, nullptr);  // as soup_server_listen() does
    if (socket)
        g_socket_set_listen_backlog(socket, kListenBacklog);
    if (!socket || !g_socket_bind(socket, address->get(), TRUE, &error) || !g_socket_listen(socket, &error) ||
        !soup_server_listen_socket(server_, socket,
                                   tls ? SOUP_SERVER_LISTEN_HTTPS : static_cast<SoupServerListenOptions>(0), &error))
        return Error{500, 0, "cannot listen on " + options.address + ": " + error->message};

    GSList* uris = soup_server_get_uris(server_);
    std::string endpoint;
    if (uris) {
        g_autofree char* text = g_uri_to_string(static_cast<GUri*>(uris->data));
        endpoint = text;
    }
    g_slist_free_full(uris, reinterpret_cast<GDestroyNotify>(g_uri_unref));
    if (!endpoint.ends_with("/"))
        endpoint += '/';
    return endpoint;
}

void HttpServer::onEarly(SoupServer*, SoupServerMessage* message, const char*, GHashTable*, gpointer)
{
    SoupMessageHeaders* headers = soup_server_message_get_request_headers(message);
    SoupEncoding encoding = soup_message_headers_get_encoding(headers);
    if (encoding == SOUP_ENCODING_CONTENT_LENGTH) {
        if (soup_message_headers_get_content_length(headers) > static_cast<goffset>(kMaxBodyBytes))
            rejectTooLarge(message);
    } else if (encoding == SOUP_ENCODING_CHUNKED || encoding == SOUP_ENCODING_EOF) {
        g_signal_connect(message, "got-chunk", G_CALLBACK(onChunk), nullptr);
    }
}

void HttpServer::onRequest(SoupServer*, SoupServerMessage* message, const char*, GHashTable*, gpointer self)
{
    static_cast<HttpServer*>(self)->handle(message);
}

void HttpServer::handle(SoupServerMessage* message)
{
    GUri* uri = soup_server_message_get_uri(message);
    std::string method = soup_server_message_get_method(message);
    std::string path = g_uri_get_path(uri);
    std::string query = g_uri_get_query(uri) ? g_uri_get_query(uri) : "";
    int64_t now = g_get_real_time() / G_USEC_PER_SEC;

    ApiResponse response;
    if (demoTokens_ && path == kDemoIdentitiesPath) {
        // The same identity and token as POST /identities with createTokenWithScopes ["voip"], without
        // the access key: only ever on loopback (see listen()).
        if (method != "POST") {
            response = errorResponse(405, "MethodNotAllowed", "allowed: POST");
            response.allow = "POST";
        } else {
            response = identities_.handle(
                ApiRequest{"POST", "/identities", "api-version=2023-10-01", R"({"createTokenWithScopes":["voip"]})", now});
        }
    } else if (!IdentityApi::handles(path)) {
        if (web_) {
            serveFile(message, method, path);
            return;
        }
        response = errorResponse(404, "NotFound", "no such route");
    } else {
        g_autoptr(GBytes) bodyBytes = soup_message_body_flatten(soup_server_message_get_request_body(message));
        gsize bodySize = 0;
        auto* bodyData = static_cast<const char*>(g_bytes_get_data(bodyBytes, &bodySize));
        std::string_view body(bodyData ? bodyData : "", bodySize);

        SoupMessageHeaders* headers = soup_server_message_get_request_headers(message);
        auto header = [headers](const char* name) -> std::string_view {
            const char* value = soup_message_headers_get_one(headers, name);
            return value ? value : "";
        };
        std::string pathAndQuery = query.empty() ? path : path + "?" + query;
        protocol::ReceivedRequest signedRequest{method, pathAndQuery, header("Host"), header("x-ms-date"),
                                                header("x-ms-content-sha256"), header("Authorization"), body};
        auto authenticated =
            protocol::verifyRequestSignature(signedRequest, secrets_.accessKey, now, kMaxClockSkewSeconds);
        if (!authenticated)
            response = errorResponse(401, "Denied", authenticated.error().message);
        else
            response = identities_.handle(ApiRequest{method, path, query, body, now});
    }
    respond(message, response);
    // Paths hold identity ids, which are not secret; headers and bodies (keys, tokens) are never logged.
    g_info("%s %s -> %d", method.c_str(), path.c_str(), response.status);
}

void HttpServer::serveFile(SoupServerMessage* message, std::string_view method, std::string_view path)
{
    StaticFile file = web_->get(method, path);
    SoupMessageHeaders* headers = soup_server_message_get_response_headers(message);
    if (file.status != 200) {
        ApiResponse response = errorResponse(file.status, file.status == 405 ? "MethodNotAllowed" : "NotFound", file.body);
        if (file.status == 405)
            response.allow = "GET, HEAD";
        respond(message, response);
        g_info("%s %s -> %d", std::string(method).c_str(), std::string(path).c_str(), file.status);
        return;
    }
    // The client is small and changes with the server: always revalidated, never sniffed, and
    // allowed to talk only to the server it came from (its WebSocket included) and to show the
    // media it gets from WebRTC.
    soup_message_headers_replace(headers, "Cache-Control", "no-cache");
    soup_message_headers_replace(headers, "X-Content-Type-Options", "nosniff");
    soup_message_headers_replace(headers, "Content-Security-Policy",
                                 "default-src 'self'; connect-src 'self'; media-src 'self' blob: mediastream:; "
                                 "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'");
    closeAfterResponse(message);
    soup_server_message_set_status(message, 200, nullptr);
    // libsoup leaves the body out of the answer to a HEAD, keeping its Content-Length.
    soup_server_message_set_response(message, file.contentType.c_str(), SOUP_MEMORY_COPY, file.body.data(),
                                     file.body.size());
    g_info("%s %s -> 200", std::string(method).c_str(), std::string(path).c_str());
}

}  // namespace calling::server
