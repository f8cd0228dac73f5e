// ACS connection strings: "endpoint=https://host:port/;accesskey=BASE64KEY".
#pragma once

#include <calling/result.h>

#include <string>
#include <string_view>

namespace calling::protocol {

struct ConnectionString {
    std::string endpoint;   // with a trailing slash
    std::string accessKey;  // as written: base64

    std::string toString() const;
};

// Errors carry code 400 and name the missing or bad part (never the key itself).
Result<ConnectionString> parseConnectionString(std::string_view text);

}  // namespace calling::protocol
