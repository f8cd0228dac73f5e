#include "protocol/request_signing.h"

#include "protocol/crypto.h"

#include <glib.h>
#include <libsoup/soup.h>

#include <cstdlib>

namespace calling::protocol {
namespace {

constexpr std::string_view kScheme = "HMAC-SHA256 ";
constexpr std::string_view kSignedHeadersPrefix = "SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=";

std::string signature(std::string_view method, std::string_view pathAndQuery, std::string_view host,
                      std::string_view date, std::string_view contentHash, std::string_view accessKey)
{
    std::string toSign;
    toSign.append(method).append("\n").append(pathAndQuery).append("\n");
    toSign.append(date).append(";").append(host).append(";").append(contentHash);
    return base64Encode(hmacSha256(accessKey, toSign));
}

Error denied(std::string message)
{
    return Error{401, 0, std::move(message)};
}

}  // namespace

std::string httpDate(int64_t unixSeconds)
{
    g_autoptr(GDateTime) time = g_date_time_new_from_unix_utc(unixSeconds);
    g_autofree char* text = soup_date_time_to_string(time, SOUP_DATE_HTTP);
    return text;
}

SignedHeaders signRequest(std::string_view method, std::string_view pathAndQuery, std::string_view host,
                          std::string_view body, std::string_view accessKey, int64_t nowUnix)
{
    SignedHeaders headers;
    headers.date = httpDate(nowUnix);
    headers.contentHash = base64Encode(sha256(body));
    headers.authorization = std::string(kScheme) + std::string(kSignedHeadersPrefix) +
        signature(method, pathAndQuery, host, headers.date, headers.contentHash, accessKey);
    return headers;
}

Result<Done> verifyRequestSignature(const ReceivedRequest& request, std::string_view accessKey, int64_t nowUnix,
                                    int64_t maxSkewSeconds)
{
    if (request.authorization.empty())
        return denied("missing Authorization header");
    std::string_view auth = request.authorization;
    if (!auth.starts_with(kScheme))
        return denied("Authorization scheme must be HMAC-SHA256");
    auth.remove_prefix(kScheme.size());
    if (!auth.starts_with(kSignedHeadersPrefix))
        return denied("SignedHeaders must be x-ms-date;host;x-ms-content-sha256");
    std::string_view given = auth.substr(kSignedHeadersPrefix.size());

    if (request.date.empty())
        return denied("missing x-ms-date header");
    std::string dateText(request.date);
    g_autoptr(GDateTime) date = soup_date_time_new_from_http_string(dateText.c_str());
    if (!date)
        return denied("x-ms-date is not an HTTP date");
    if (std::llabs(g_date_time_to_unix(date) - nowUnix) > maxSkewSeconds)
        return denied("x-ms-date is too far from the server's clock");

    if (request.contentHash.empty())
        return denied("missing x-ms-content-sha256 header");
    if (!constantTimeEquals(request.contentHash, base64Encode(sha256(request.body))))
        return denied("x-ms-content-sha256 does not match the body");

    std::string expected =
        signature(request.method, request.pathAndQuery, request.host, request.date, request.contentHash, accessKey);
    if (!constantTimeEquals(given, expected))
        return denied("signature does not match");
    return Done{};
}

}  // namespace calling::protocol
