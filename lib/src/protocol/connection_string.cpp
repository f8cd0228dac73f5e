#include "protocol/connection_string.h"

#include "protocol/crypto.h"

#include <glib.h>

namespace calling::protocol {

std::string ConnectionString::toString() const
{
    return "endpoint=" + endpoint + ";accesskey=" + accessKey;
}

Result<ConnectionString> parseConnectionString(std::string_view text)
{
    ConnectionString parsed;
    while (!text.empty()) {
        size_t end = text.find(';');
        std::string_view part = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
        if (part.empty())
            continue;
        size_t eq = part.find('=');
        if (eq == std::string_view::npos)
            return Error{400, 0, "connection string part without '=': expected endpoint=...;accesskey=..."};
        g_autofree char* name = g_ascii_strdown(part.data(), static_cast<gssize>(eq));
        std::string_view value = part.substr(eq + 1);
        if (std::string_view(name) == "endpoint")
            parsed.endpoint = value;
        else if (std::string_view(name) == "accesskey")
            parsed.accessKey = value;
    }
    if (!parsed.endpoint.starts_with("http://") && !parsed.endpoint.starts_with("https://"))
        return Error{400, 0, "connection string needs endpoint=http(s)://host:port/"};
    if (!parsed.endpoint.ends_with("/"))
        parsed.endpoint += '/';
    if (!base64Decode(parsed.accessKey))
        return Error{400, 0, "connection string needs accesskey=<base64 key>"};
    return parsed;
}

}  // namespace calling::protocol
