#include "rest_client.h"

#include "protocol/crypto.h"
#include "protocol/request_signing.h"

#include <gtest/gtest.h>

#include <cstring>

namespace calling::test {

std::string RestResponse::header(const char* name) const
{
    g_autofree char* lower = g_ascii_strdown(name, -1);
    auto found = headers.find(lower);
    return found == headers.end() ? std::string() : found->second;
}

std::string RestResponse::string(const char* dottedPath) const
{
    g_autoptr(JsonParser) parser = json_parser_new();
    if (!json_parser_load_from_data(parser, body.data(), static_cast<gssize>(body.size()), nullptr))
        return {};
    JsonNode* node = json_parser_get_root(parser);
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

RestClient::RestClient(protocol::ConnectionString connection, const std::string& caFile)
    : connection_(std::move(connection)), key_(protocol::base64Decode(connection_.accessKey).value_or("")),
      session_(soup_session_new_with_options("timeout", 20, nullptr))
{
    if (!caFile.empty()) {
        g_autoptr(GError) error = nullptr;
        g_autoptr(GTlsDatabase) database = g_tls_file_database_new(caFile.c_str(), &error);
        EXPECT_TRUE(database) << error->message;
        soup_session_set_tls_database(session_, database);
    }
}

RestClient::~RestClient()
{
    g_object_unref(session_);
}

std::string RestClient::escapeId(const std::string& id)
{
    g_autofree char* escaped = g_uri_escape_string(id.c_str(), nullptr, FALSE);
    return escaped;
}

RestResponse RestClient::send(const RestRequest& request)
{
    std::string endpoint = connection_.endpoint;
    endpoint.pop_back();  // the path brings its own slash
    std::string url = endpoint + request.pathAndQuery;
    g_autoptr(SoupMessage) message = soup_message_new(request.method.c_str(), url.c_str());
    RestResponse response;
    if (!message) {
        ADD_FAILURE() << "bad URL " << url;
        return response;
    }
    GUri* uri = soup_message_get_uri(message);
    std::string host = std::string(g_uri_get_host(uri)) + ":" + std::to_string(g_uri_get_port(uri));
    SoupMessageHeaders* headers = soup_message_get_request_headers(message);
    if (request.sign) {
        auto signedHeaders = protocol::signRequest(request.method, request.pathAndQuery, host, request.body,
                                                   request.signingKey.value_or(key_),
                                                   g_get_real_time() / G_USEC_PER_SEC + request.clockOffsetSeconds);
        soup_message_headers_replace(headers, "x-ms-date", signedHeaders.date.c_str());
        soup_message_headers_replace(headers, "x-ms-content-sha256", signedHeaders.contentHash.c_str());
        soup_message_headers_replace(headers, "Authorization", signedHeaders.authorization.c_str());
    }
    for (const auto& [name, value] : request.overrideHeaders) {
        if (value.empty())
            soup_message_headers_remove(headers, name.c_str());
        else
            soup_message_headers_replace(headers, name.c_str(), value.c_str());
    }
    if (!request.body.empty() || request.method == "POST") {
        g_autoptr(GBytes) bytes = g_bytes_new(request.body.data(), request.body.size());
        if (request.chunked) {
            g_autoptr(GInputStream) stream = g_memory_input_stream_new_from_bytes(bytes);
            soup_message_set_request_body(message, "application/json", stream, -1);
        } else {
            soup_message_set_request_body_from_bytes(message, "application/json", bytes);
        }
    }

    g_autoptr(GError) error = nullptr;
    g_autoptr(GBytes) body = soup_session_send_and_read(session_, message, nullptr, &error);
    if (!body) {
        ADD_FAILURE() << request.method << " " << request.pathAndQuery << ": " << error->message;
        return response;
    }
    response.status = static_cast<int>(soup_message_get_status(message));
    gsize size = 0;
    auto* data = static_cast<const char*>(g_bytes_get_data(body, &size));
    response.body.assign(data ? data : "", size);
    SoupMessageHeadersIter iter;
    soup_message_headers_iter_init(&iter, soup_message_get_response_headers(message));
    const char* name = nullptr;
    const char* value = nullptr;
    while (soup_message_headers_iter_next(&iter, &name, &value)) {
        g_autofree char* lower = g_ascii_strdown(name, -1);
        response.headers[lower] = value;
    }
    return response;
}

std::string RestClient::createIdentity()
{
    RestResponse response = send({.pathAndQuery = "/identities?api-version=2023-10-01"});
    EXPECT_EQ(response.status, 201) << response.body;
    return response.string("identity.id");
}

std::string RestClient::issueToken(const std::string& id, const char* scopesJson)
{
    RestResponse response = send({.pathAndQuery = "/identities/" + escapeId(id) +
                                      "/:issueAccessToken?api-version=2023-10-01",
                                  .body = std::string(R"({"scopes":)") + scopesJson + "}"});
    EXPECT_EQ(response.status, 200) << response.body;
    return response.string("token");
}

}  // namespace calling::test
