#include "protocol/crypto.h"

#include <glib.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <stdexcept>

namespace calling::protocol {

std::string randomBytes(size_t count)
{
    std::string out(count, '\0');
    // Failure means the system has no entropy source at all; nothing sensible can continue.
    if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(count)) != 1)
        g_error("RAND_bytes failed: no source of randomness");
    return out;
}

std::string sha256(std::string_view data)
{
    std::string out(32, '\0');
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), reinterpret_cast<unsigned char*>(out.data()), &len, EVP_sha256(),
               nullptr);
    return out;
}

std::string hmacSha256(std::string_view key, std::string_view data)
{
    std::string out(32, '\0');
    unsigned int len = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
         data.size(), reinterpret_cast<unsigned char*>(out.data()), &len);
    return out;
}

bool constantTimeEquals(std::string_view a, std::string_view b)
{
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string base64Encode(std::string_view bytes)
{
    g_autofree gchar* text = g_base64_encode(reinterpret_cast<const guchar*>(bytes.data()), bytes.size());
    return text;
}

std::optional<std::string> base64Decode(std::string_view text)
{
    if (text.empty() || text.size() % 4 != 0)
        return std::nullopt;
    for (size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        bool padding = c == '=' && i >= text.size() - 2 && (i == text.size() - 1 || text.back() == '=');
        if (!g_ascii_isalnum(c) && c != '+' && c != '/' && !padding)
            return std::nullopt;
    }
    std::string copy(text);
    gsize len = 0;
    g_base64_decode_inplace(copy.data(), &len);
    copy.resize(len);
    // Reject non-canonical encodings (stray bits in the last character).
    if (base64Encode(copy) != text)
        return std::nullopt;
    return copy;
}

}  // namespace calling::protocol
