#include "secrets.h"

#include "protocol/crypto.h"

#include <glib.h>
#include <glib/gstdio.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace calling::server {
namespace {

constexpr size_t kKeyBytes = 32;

// Reads `name` in `dir`, or writes `create()` there first. Errors carry code 500.
template <typename Create>
Result<std::string> readOrCreate(const std::string& dir, const char* name, Create create)
{
    g_autofree char* path = g_build_filename(dir.c_str(), name, nullptr);
    g_autoptr(GError) error = nullptr;
    gchar* contents = nullptr;
    gsize length = 0;
    if (g_file_get_contents(path, &contents, &length, &error)) {
        std::string value(contents, length);
        g_free(contents);
        return value;
    }
    if (!g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return Error{500, 0, std::string("cannot read ") + path + ": " + error->message};
    g_clear_error(&error);

    std::string value = create();
    // Write under a temporary name with 0600, then rename, so a crash never leaves half a key.
    g_autofree char* temporary = g_strconcat(path, ".new", nullptr);
    int fd = g_open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return Error{500, 0, std::string("cannot create ") + temporary + ": " + g_strerror(errno)};
    bool written = write(fd, value.data(), value.size()) == static_cast<ssize_t>(value.size()) && fsync(fd) == 0;
    close(fd);
    if (!written || g_rename(temporary, path) != 0)
        return Error{500, 0, std::string("cannot write ") + path + ": " + g_strerror(errno)};
    return value;
}

}  // namespace

Result<Secrets> loadSecrets(const std::string& stateDir, const std::optional<std::string>& accessKeyBase64)
{
    if (g_mkdir_with_parents(stateDir.c_str(), 0700) != 0)
        return Error{500, 0, "cannot create state dir " + stateDir + ": " + g_strerror(errno)};

    Secrets secrets;
    auto signingKey = readOrCreate(stateDir, "signing.key", [] { return protocol::randomBytes(kKeyBytes); });
    if (!signingKey)
        return signingKey.error();
    if (signingKey->size() < kKeyBytes)
        return Error{500, 0, "signing.key in the state dir is too short; remove it to make a new one"};
    secrets.signingKey = signingKey.value();

    if (accessKeyBase64) {
        secrets.accessKeyBase64 = *accessKeyBase64;
    } else {
        auto stored =
            readOrCreate(stateDir, "access.key", [] { return protocol::base64Encode(protocol::randomBytes(kKeyBytes)); });
        if (!stored)
            return stored.error();
        secrets.accessKeyBase64 = stored.value();
        while (!secrets.accessKeyBase64.empty() && g_ascii_isspace(secrets.accessKeyBase64.back()))
            secrets.accessKeyBase64.pop_back();
    }
    auto raw = protocol::base64Decode(secrets.accessKeyBase64);
    if (!raw || raw->size() < 16)
        return Error{400, 0, "the access key must be base64 of at least 16 bytes"};
    secrets.accessKey = *raw;
    return secrets;
}

}  // namespace calling::server
