// Thin wrappers over OpenSSL and GLib for the few primitives the protocol needs.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace calling::protocol {

// Bytes are carried in std::string; they may contain NULs.
std::string randomBytes(size_t count);
std::string sha256(std::string_view data);
std::string hmacSha256(std::string_view key, std::string_view data);
bool constantTimeEquals(std::string_view a, std::string_view b);

std::string base64Encode(std::string_view bytes);
// Strict: nullopt unless `text` is canonical padded standard base64.
std::optional<std::string> base64Decode(std::string_view text);

}  // namespace calling::protocol
