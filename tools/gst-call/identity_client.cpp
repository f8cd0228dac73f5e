#include "identity_client.h"

#include "protocol/crypto.h"
#include "protocol/request_signing.h"

#include <json-glib/json-glib.h>

namespace gstcall {

using calling::Error;
using calling::Result;

namespace {

constexpr const char* kApiVersion = "api-version=2023-10-01";

// The Host header libsoup sends: the port only when it is not the scheme's default. The signature
// covers it, so both must agree.
std::string hostOf(GUri* uri)
{
    std::string host = g_uri_get_host(uri);
    int port = g_uri_get_port(uri);
    bool https = g_ascii_strcasecmp(g_uri_get_scheme(uri), "https") == 0;
    if (port > 0 && port != (https ? 443 : 80))
        host += ":" + std::to_string(port);
    return host;
}

// A string member at a dotted path of a JSON object ("identity.id"); empty when absent.
std::string member(JsonNode* root, const char* dottedPath)
{
    JsonNode* node = root;
    g_auto(GStrv) parts = g_strsplit(dottedPath, ".", -1);
    for (char** part = parts; node && *part; ++part) {
        if (!JSON_NODE_HOLDS_OBJECT(node))
            return {};
        node = json_object_get_member(json_node_get_object(node), *part);
    }
    if (!node || !JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING)
        return {};
    return json_node_get_string(node);
}

struct Request {
    std::string identity;
    std::function<void(Result<IssuedToken>)> done;
};

}  // namespace

IdentityClient::IdentityClient(calling::protocol::ConnectionString connection, const std::string& caFile)
    : connection_(std::move(connection)),
      key_(calling::protocol::base64Decode(connection_.accessKey).value_or("")),
      session_(calling::protocol::adopt(soup_session_new_with_options("timeout", 20, nullptr)))
{
    if (!caFile.empty()) {
        g_autoptr(GError) error = nullptr;
        g_autoptr(GTlsDatabase) database = g_tls_file_database_new(caFile.c_str(), &error);
        if (database)
            soup_session_set_tls_database(session_.get(), database);
    }
}

void IdentityClient::issueToken(const std::string& identity, std::function<void(Result<IssuedToken>)> done)
{
    std::string pathAndQuery;
    std::string body;
    if (identity.empty()) {
        pathAndQuery = std::string("/identities?") + kApiVersion;
        body = R"({"createTokenWithScopes":["voip"]})";
    } else {
        g_autofree char* escaped = g_uri_escape_string(identity.c_str(), nullptr, FALSE);
        pathAndQuery = std::string("/identities/") + escaped + "/:issueAccessToken?" + kApiVersion;
        body = R"({"scopes":["voip"]})";
    }
    std::string endpoint = connection_.endpoint;
    endpoint.pop_back();  // the path brings its own slash
    std::string url = endpoint + pathAndQuery;
    SoupMessage* message = soup_message_new("POST", url.c_str());
    if (!message) {
        done(Error{400, 0, "not a URL: " + url});
        return;
    }
    auto signedHeaders = calling::protocol::signRequest("POST", pathAndQuery, hostOf(soup_message_get_uri(message)),
                                                        body, key_, g_get_real_time() / G_USEC_PER_SEC);
    SoupMessageHeaders* headers = soup_message_get_request_headers(message);
    soup_message_headers_replace(headers, "x-ms-date", signedHeaders.date.c_str());
    soup_message_headers_replace(headers, "x-ms-content-sha256", signedHeaders.contentHash.c_str());
    soup_message_headers_replace(headers, "Authorization", signedHeaders.authorization.c_str());
    g_autoptr(GBytes) bytes = g_bytes_new(body.data(), body.size());
    soup_message_set_request_body_from_bytes(message, "application/json", bytes);

    auto* request = new Request{identity, std::move(done)};
    soup_session_send_and_read_async(
        session_.get(), message, G_PRIORITY_DEFAULT, nullptr,
        [](GObject* source, GAsyncResult* result, gpointer data) {
            std::unique_ptr<Request> request(static_cast<Request*>(data));
            g_autoptr(GError) error = nullptr;
            g_autoptr(GBytes) reply = soup_session_send_and_read_finish(SOUP_SESSION(source), result, &error);
            SoupMessage* message = soup_session_get_async_result_message(SOUP_SESSION(source), result);
            if (!reply) {
                request->done(Error{408, 40104, std::string("cannot reach the identity API: ") + error->message});
                return;
            }
            guint status = soup_message_get_status(message);
            gsize size = 0;
            auto* text = static_cast<const char*>(g_bytes_get_data(reply, &size));
            g_autoptr(JsonParser) parser = json_parser_new();
            JsonNode* root = nullptr;
            if (text && size > 0 && json_parser_load_from_data(parser, text, gssize(size), nullptr))
                root = json_parser_get_root(parser);
            if (status != 200 && status != 201) {
                std::string said = root ? member(root, "error.message") : std::string();
                std::string why = "the identity API answered " + std::to_string(status) +
                                  (said.empty() ? std::string() : ": " + said);
                bool refused = status == SOUP_STATUS_UNAUTHORIZED || status == SOUP_STATUS_FORBIDDEN;
                request->done(Error{refused ? 401 : int(status), 0, why});
                return;
            }
            IssuedToken issued;
            issued.identity = request->identity.empty() && root ? member(root, "identity.id") : request->identity;
            issued.token = root ? member(root, request->identity.empty() ? "accessToken.token" : "token")
                                : std::string();
            if (issued.identity.empty() || issued.token.empty()) {
                request->done(Error{500, 0, "the identity API's answer has no identity or token"});
                return;
            }
            request->done(std::move(issued));
        },
        request);
    g_object_unref(message);
}

void issueCredential(const std::shared_ptr<IdentityClient>& client, const std::string& identity,
                     std::function<void(Result<std::pair<calling::CommunicationTokenCredential, std::string>>)> done)
{
    std::weak_ptr<IdentityClient> weakClient = client;
    std::shared_ptr<GMainContext> context(g_main_context_ref_thread_default(), g_main_context_unref);
    client->issueToken(identity, [weakClient, context, done = std::move(done)](Result<IssuedToken> issued) {
        if (!issued) {
            done(issued.error());
            return;
        }
        // The refresher runs on the library's thread: the request is made on the client's.
        std::string id = issued->identity;
        calling::CommunicationTokenRefreshOptions refresh{
            .tokenRefresher =
                [weakClient, id, context](calling::TokenCompletion tokenDone) {
                    auto* request = new std::function<void()>([weakClient, id, tokenDone] {
                        auto client = weakClient.lock();
                        if (!client) {
                            tokenDone(Error{401, 4507, "gst-call is leaving"});
                            return;
                        }
                        client->issueToken(id, [tokenDone](Result<IssuedToken> next) {
                            if (next)
                                tokenDone(next->token);
                            else
                                tokenDone(next.error());
                        });
                    });
                    g_main_context_invoke_full(
                        context.get(), G_PRIORITY_DEFAULT,
                        [](gpointer data) -> gboolean {
                            (*static_cast<std::function<void()>*>(data))();
                            return G_SOURCE_REMOVE;
                        },
                        request, [](gpointer data) { delete static_cast<std::function<void()>*>(data); });
                },
            .token = issued->token,
            .refreshProactively = true,
        };
        done(std::pair(calling::CommunicationTokenCredential(std::move(refresh)), id));
    });
}

}  // namespace gstcall
