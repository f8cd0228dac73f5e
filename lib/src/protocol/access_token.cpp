#include "protocol/access_token.h"

#include <json-glib/json-glib.h>
#include <jwt.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

namespace calling::protocol {
namespace {

struct JwtFree {
    void operator()(jwt_t* jwt) const { jwt_free(jwt); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtFree>;

struct MallocFree {
    void operator()(char* text) const { free(text); }
};
using MallocString = std::unique_ptr<char, MallocFree>;

TokenError fault(TokenFault kind, std::string message)
{
    return TokenError{kind, std::move(message)};
}

std::optional<int64_t> integerMember(JsonObject* object, const char* name)
{
    JsonNode* node = json_object_get_member(object, name);
    if (!node || !JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_INT64)
        return std::nullopt;
    return json_node_get_int(node);
}

std::optional<TokenGrant> parseClaims(const char* json)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    if (!json || !json_parser_load_from_data(parser, json, -1, nullptr))
        return std::nullopt;
    JsonNode* root = json_parser_get_root(parser);
    if (!root || !JSON_NODE_HOLDS_OBJECT(root))
        return std::nullopt;
    JsonObject* claims = json_node_get_object(root);

    TokenGrant grant;
    JsonNode* sub = json_object_get_member(claims, "sub");
    if (!sub || !JSON_NODE_HOLDS_VALUE(sub) || json_node_get_value_type(sub) != G_TYPE_STRING)
        return std::nullopt;
    grant.identity = json_node_get_string(sub);

    JsonNode* scp = json_object_get_member(claims, "scp");
    if (!scp || !JSON_NODE_HOLDS_ARRAY(scp))
        return std::nullopt;
    JsonArray* scopes = json_node_get_array(scp);
    for (guint i = 0; i < json_array_get_length(scopes); ++i) {
        JsonNode* scope = json_array_get_element(scopes, i);
        if (!JSON_NODE_HOLDS_VALUE(scope) || json_node_get_value_type(scope) != G_TYPE_STRING)
            return std::nullopt;
        grant.scopes.emplace_back(json_node_get_string(scope));
    }

    auto iat = integerMember(claims, "iat");
    auto exp = integerMember(claims, "exp");
    auto gen = integerMember(claims, "gen");
    if (!iat || !exp || !gen)
        return std::nullopt;
    grant.issuedAt = *iat;
    grant.expiresAt = *exp;
    grant.generation = *gen;
    return grant;
}

}  // namespace

bool isKnownScope(std::string_view scope)
{
    return scope == "chat" || scope == "voip";
}

Error TokenError::toError() const
{
    // ACS: "ended because the app didn't provide a valid ACS token" (495/4507); the HTTP-level
    // status for a refused token is 401.
    return Error{401, 4507, message};
}

std::string issueAccessToken(const TokenGrant& grant, std::string_view signingKey)
{
    jwt_t* raw = nullptr;
    jwt_new(&raw);
    JwtPtr jwt(raw);
    jwt_set_alg(jwt.get(), JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(signingKey.data()),
                static_cast<int>(signingKey.size()));

    g_autoptr(JsonBuilder) builder = json_builder_new();
    json_builder_begin_object(builder);
    json_builder_set_member_name(builder, "sub");
    json_builder_add_string_value(builder, grant.identity.c_str());
    json_builder_set_member_name(builder, "scp");
    json_builder_begin_array(builder);
    for (const auto& scope : grant.scopes)
        json_builder_add_string_value(builder, scope.c_str());
    json_builder_end_array(builder);
    json_builder_set_member_name(builder, "iat");
    json_builder_add_int_value(builder, grant.issuedAt);
    json_builder_set_member_name(builder, "exp");
    json_builder_add_int_value(builder, grant.expiresAt);
    json_builder_set_member_name(builder, "gen");
    json_builder_add_int_value(builder, grant.generation);
    json_builder_end_object(builder);
    g_autoptr(JsonNode) root = json_builder_get_root(builder);
    g_autofree char* claims = json_to_string(root, FALSE);

    jwt_add_grants_json(jwt.get(), claims);
    MallocString token(jwt_encode_str(jwt.get()));
    return token ? std::string(token.get()) : std::string();
}

Result<TokenGrant, TokenError> verifyAccessToken(std::string_view token, std::string_view signingKey,
                                                 const IdentityDirectory& identities, std::string_view requiredScope,
                                                 int64_t nowUnix)
{
    // JWTs are ASCII; anything else (or an embedded NUL) is not a token.
    if (token.empty() || token.size() > 8192 ||
        !std::all_of(token.begin(), token.end(), [](char c) { return c > 0x20 && c < 0x7f; }))
        return fault(TokenFault::Malformed, "not a token");
    if (std::count(token.begin(), token.end(), '.') != 2)
        return fault(TokenFault::Malformed, "not a JWT");

    std::string text(token);
    jwt_t* raw = nullptr;
    int rc = jwt_decode(&raw, text.c_str(), reinterpret_cast<const unsigned char*>(signingKey.data()),
                        static_cast<int>(signingKey.size()));
    JwtPtr jwt(raw);
    if (rc != 0 || !jwt)
        return fault(TokenFault::BadSignature, "token signature is not valid");
    // libjwt accepts "alg": "none" (and any HMAC size) even when given a key; only HS256 is ours.
    if (jwt_get_alg(jwt.get()) != JWT_ALG_HS256)
        return fault(TokenFault::BadSignature, "token is not signed with HS256");

    MallocString claimsJson(jwt_get_grants_json(jwt.get(), nullptr));
    auto grant = parseClaims(claimsJson.get());
    if (!grant)
        return fault(TokenFault::Malformed, "token claims are missing or of the wrong type");
    if (nowUnix >= grant->expiresAt)
        return fault(TokenFault::Expired, "token has expired");

    auto generation = identities.tokenGeneration(grant->identity);
    if (!generation)
        return fault(TokenFault::UnknownIdentity, "token's identity does not exist");
    if (grant->generation != *generation)
        return fault(TokenFault::Revoked, "token has been revoked");
    if (!requiredScope.empty() &&
        std::find(grant->scopes.begin(), grant->scopes.end(), requiredScope) == grant->scopes.end())
        return fault(TokenFault::MissingScope, "token lacks the " + std::string(requiredScope) + " scope");
    return std::move(*grant);
}

std::optional<int64_t> peekTokenExpiry(std::string_view token)
{
    size_t first = token.find('.');
    size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
    if (second == std::string_view::npos)
        return std::nullopt;
    // base64url without padding → standard base64 for GLib's decoder.
    std::string payload(token.substr(first + 1, second - first - 1));
    for (char& c : payload) {
        if (c == '-')
            c = '+';
        else if (c == '_')
            c = '/';
    }
    payload.append((4 - payload.size() % 4) % 4, '=');
    gsize length = 0;
    g_autofree guchar* json = g_base64_decode(payload.c_str(), &length);
    g_autoptr(JsonParser) parser = json_parser_new();
    if (!json || !json_parser_load_from_data(parser, reinterpret_cast<const char*>(json), static_cast<gssize>(length),
                                             nullptr))
        return std::nullopt;
    JsonNode* root = json_parser_get_root(parser);
    if (!root || !JSON_NODE_HOLDS_OBJECT(root))
        return std::nullopt;
    JsonNode* exp = json_object_get_member(json_node_get_object(root), "exp");
    if (!exp || !JSON_NODE_HOLDS_VALUE(exp) || json_node_get_value_type(exp) != G_TYPE_INT64)
        return std::nullopt;
    return json_node_get_int(exp);
}

}  // namespace calling::protocol
