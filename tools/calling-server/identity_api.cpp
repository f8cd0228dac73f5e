#include "identity_api.h"

#include "protocol/access_token.h"

#include <glib.h>
#include <json-glib/json-glib.h>

#include <algorithm>
#include <optional>
#include <vector>

namespace calling::server {
namespace {

constexpr int64_t kMinExpiresInMinutes = 60;
constexpr int64_t kMaxExpiresInMinutes = 1440;
constexpr const char* kApiVersions[] = {"2021-03-07", "2022-06-01", "2022-10-01", "2023-08-01", "2023-10-01"};

std::string toJson(JsonBuilder* builder)
{
    g_autoptr(JsonNode) root = json_builder_get_root(builder);
    g_autofree char* text = json_to_string(root, FALSE);
    return text;
}

std::string isoTime(int64_t unixSeconds)
{
    g_autoptr(GDateTime) time = g_date_time_new_from_unix_utc(unixSeconds);
    g_autofree char* text = g_date_time_format(time, "%Y-%m-%dT%H:%M:%S+00:00");
    return text;
}

// A parsed request body, or the 400 to answer with.
struct Body {
    JsonObject* object = nullptr;  // null for an empty body
    std::optional<ApiResponse> error;
};

Body parseBody(JsonParser* parser, std::string_view text)
{
    if (std::all_of(text.begin(), text.end(), [](char c) { return g_ascii_isspace(c); }))
        return {};
    if (!g_utf8_validate(text.data(), static_cast<gssize>(text.size()), nullptr))
        return {nullptr, errorResponse(400, "InvalidJson", "request body is not UTF-8")};
    g_autoptr(GError) error = nullptr;
    if (!json_parser_load_from_data(parser, text.data(), static_cast<gssize>(text.size()), &error))
        return {nullptr, errorResponse(400, "InvalidJson", std::string("request body is not JSON: ") + error->message)};
    JsonNode* root = json_parser_get_root(parser);
    if (!root || !JSON_NODE_HOLDS_OBJECT(root))
        return {nullptr, errorResponse(400, "InvalidJson", "request body must be a JSON object")};
    return {json_node_get_object(root), std::nullopt};
}

// Reads "scopes" (or "createTokenWithScopes") and "expiresInMinutes"; either may be absent.
struct TokenRequest {
    std::optional<std::vector<std::string>> scopes;
    int64_t expiresInMinutes = kMaxExpiresInMinutes;
    std::optional<ApiResponse> error;
};

TokenRequest parseTokenRequest(JsonObject* object, const char* scopesName)
{
    TokenRequest request;
    if (!object)
        return request;
    if (JsonNode* scopes = json_object_get_member(object, scopesName)) {
        if (!JSON_NODE_HOLDS_ARRAY(scopes)) {
            request.error = errorResponse(400, "ValidationError", std::string(scopesName) + " must be an array of strings");
            return request;
        }
        request.scopes.emplace();
        JsonArray* array = json_node_get_array(scopes);
        for (guint i = 0; i < json_array_get_length(array); ++i) {
            JsonNode* scope = json_array_get_element(array, i);
            if (!JSON_NODE_HOLDS_VALUE(scope) || json_node_get_value_type(scope) != G_TYPE_STRING) {
                request.error =
                    errorResponse(400, "ValidationError", std::string(scopesName) + " must be an array of strings");
                return request;
            }
            std::string name = json_node_get_string(scope);
            if (!protocol::isKnownScope(name)) {
                request.error = errorResponse(400, "ValidationError",
                                              "unknown scope '" + name + "': scopes are \"chat\" and \"voip\"");
                return request;
            }
            if (std::find(request.scopes->begin(), request.scopes->end(), name) == request.scopes->end())
                request.scopes->push_back(name);
        }
    }
    if (JsonNode* minutes = json_object_get_member(object, "expiresInMinutes")) {
        if (!JSON_NODE_HOLDS_VALUE(minutes) || json_node_get_value_type(minutes) != G_TYPE_INT64) {
            request.error = errorResponse(400, "ValidationError", "expiresInMinutes must be an integer");
            return request;
        }
        request.expiresInMinutes = json_node_get_int(minutes);
        if (request.expiresInMinutes < kMinExpiresInMinutes || request.expiresInMinutes > kMaxExpiresInMinutes) {
            request.error = errorResponse(400, "ValidationError", "expiresInMinutes must be between 60 and 1440");
            return request;
        }
    }
    return request;
}

void addAccessToken(JsonBuilder* builder, const std::string& token, int64_t expiresAt)
{
    json_builder_begin_object(builder);
    json_builder_set_member_name(builder, "token");
    json_builder_add_string_value(builder, token.c_str());
    json_builder_set_member_name(builder, "expiresOn");
    json_builder_add_string_value(builder, isoTime(expiresAt).c_str());
    json_builder_end_object(builder);
}

ApiResponse notFound(std::string_view id)
{
    return errorResponse(404, "IdentityNotFound", "no identity " + std::string(id));
}

ApiResponse methodNotAllowed(const char* allow)
{
    ApiResponse response = errorResponse(405, "MethodNotAllowed", std::string("allowed: ") + allow);
    response.allow = allow;
    return response;
}

std::optional<ApiResponse> checkApiVersion(std::string_view query)
{
    if (query.empty())
        return std::nullopt;
    std::string text(query);
    g_autoptr(GHashTable) params = g_uri_parse_params(text.c_str(), -1, "&", G_URI_PARAMS_NONE, nullptr);
    if (!params)
        return errorResponse(400, "InvalidRequest", "query string is not valid");
    auto* version = static_cast<const char*>(g_hash_table_lookup(params, "api-version"));
    if (!version)
        return std::nullopt;
    for (const char* known : kApiVersions) {
        if (std::string_view(version) == known)
            return std::nullopt;
    }
    return errorResponse(400, "UnsupportedApiVersion", std::string("api-version ") + version + " is not supported");
}

}  // namespace

ApiResponse errorResponse(int status, std::string_view code, std::string_view message)
{
    g_autoptr(JsonBuilder) builder = json_builder_new();
    json_builder_begin_object(builder);
    json_builder_set_member_name(builder, "error");
    json_builder_begin_object(builder);
    json_builder_set_member_name(builder, "code");
    json_builder_add_string_value(builder, std::string(code).c_str());
    json_builder_set_member_name(builder, "message");
    json_builder_add_string_value(builder, std::string(message).c_str());
    json_builder_end_object(builder);
    json_builder_end_object(builder);
    return ApiResponse{status, toJson(builder), {}};
}

IdentityApi::IdentityApi(IdentityStore& store, std::string signingKey)
    : store_(store), signingKey_(std::move(signingKey))
{
}

bool IdentityApi::handles(std::string_view path)
{
    return path == "/identities" || path.starts_with("/identities/");
}

ApiResponse IdentityApi::handle(const ApiRequest& request)
{
    if (auto error = checkApiVersion(request.query))
        return *error;

    std::string_view rest = request.path.substr(std::string_view("/identities").size());
    if (rest.empty() || rest == "/") {
        if (request.method != "POST")
            return methodNotAllowed("POST");
        return create(request);
    }
    rest.remove_prefix(1);

    // "{id}" or "{id}/:action"; the id is percent-encoded by SDKs ("8%3Aacs%3A...").
    std::string_view encodedId = rest;
    std::string_view action;
    if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
        encodedId = rest.substr(0, slash);
        action = rest.substr(slash + 1);
    }
    std::string encoded(encodedId);
    g_autofree char* decoded = g_uri_unescape_string(encoded.c_str(), "/");
    if (!decoded || !*decoded)
        return errorResponse(400, "InvalidRequest", "identity id is not a valid path segment");
    std::string id = decoded;

    if (action.empty()) {
        if (request.method == "GET")
            return get(id);
        if (request.method == "DELETE")
            return remove(id, request.nowUnix);
        return methodNotAllowed("GET, DELETE");
    }
    if (action != ":issueAccessToken" && action != ":revokeAccessTokens")
        return errorResponse(404, "NotFound", "no such route");
    if (request.method != "POST")
        return methodNotAllowed("POST");
    if (action == ":issueAccessToken")
        return issueToken(id, request);
    return revokeTokens(id);
}

ApiResponse IdentityApi::create(const ApiRequest& request)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    Body body = parseBody(parser, request.body);
    if (body.error)
        return *body.error;
    TokenRequest tokenRequest = parseTokenRequest(body.object, "createTokenWithScopes");
    if (tokenRequest.error)
        return *tokenRequest.error;

    auto id = store_.createIdentity(request.nowUnix);
    if (!id)
        return errorResponse(500, "InternalError", "could not store the identity");

    g_autoptr(JsonBuilder) builder = json_builder_new();
    json_builder_begin_object(builder);
    json_builder_set_member_name(builder, "identity");
    json_builder_begin_object(builder);
    json_builder_set_member_name(builder, "id");
    json_builder_add_string_value(builder, id->c_str());
    json_builder_end_object(builder);
    if (tokenRequest.scopes && !tokenRequest.scopes->empty()) {
        protocol::TokenGrant grant{*id, *tokenRequest.scopes, request.nowUnix,
                                   request.nowUnix + tokenRequest.expiresInMinutes * 60, 0};
        store_.recordTokenIssued(*id, request.nowUnix);
        json_builder_set_member_name(builder, "accessToken");
        addAccessToken(builder, protocol::issueAccessToken(grant, signingKey_), grant.expiresAt);
    }
    json_builder_end_object(builder);
    return ApiResponse{201, toJson(builder), {}};
}

ApiResponse IdentityApi::get(std::string_view id)
{
    auto identity = store_.find(id);
    if (!identity)
        return notFound(id);
    g_autoptr(JsonBuilder) builder = json_builder_new();
    json_builder_begin_object(builder);
    json_builder_set_member_name(builder, "id");
    json_builder_add_string_value(builder, identity->id.c_str());
    if (identity->lastTokenIssuedAt) {
        json_builder_set_member_name(builder, "lastTokenIssuedAt");
        json_builder_add_string_value(builder, isoTime(*identity->lastTokenIssuedAt).c_str());
    }
    json_builder_end_object(builder);
    return ApiResponse{200, toJson(builder), {}};
}

ApiResponse IdentityApi::remove(std::string_view id, int64_t nowUnix)
{
    if (!store_.deleteIdentity(id, nowUnix))
        return notFound(id);
    return ApiResponse{204, {}, {}};
}

ApiResponse IdentityApi::issueToken(std::string_view id, const ApiRequest& request)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    Body body = parseBody(parser, request.body);
    if (body.error)
        return *body.error;
    TokenRequest tokenRequest = parseTokenRequest(body.object, "scopes");
    if (tokenRequest.error)
        return *tokenRequest.error;
    if (!tokenRequest.scopes || tokenRequest.scopes->empty())
        return errorResponse(400, "ValidationError", "scopes must name at least one scope");

    auto identity = store_.find(id);
    if (!identity)
        return notFound(id);
    protocol::TokenGrant grant{identity->id, *tokenRequest.scopes, request.nowUnix,
                               request.nowUnix + tokenRequest.expiresInMinutes * 60, identity->generation};
    std::string token = protocol::issueAccessToken(grant, signingKey_);
    store_.recordTokenIssued(id, request.nowUnix);

    g_autoptr(JsonBuilder) builder = json_builder_new();
    addAccessToken(builder, token, grant.expiresAt);
    return ApiResponse{200, toJson(builder), {}};
}

ApiResponse IdentityApi::revokeTokens(std::string_view id)
{
    if (!store_.revokeTokens(id))
        return notFound(id);
    return ApiResponse{204, {}, {}};
}

}  // namespace calling::server
