#include "static_files.h"

#include <glib.h>

#include <cstdlib>
#include <memory>

namespace calling::server {
namespace {

// realpath(3): the canonical absolute path, or empty when it does not exist.
std::string canonical(const std::string& path)
{
    std::unique_ptr<char, decltype(&free)> resolved(realpath(path.c_str(), nullptr), free);
    return resolved ? std::string(resolved.get()) : std::string();
}

// A path segment the client may name: letters, digits, '-', '_' and '.', not starting with '.'
// (no "..", no hidden files). Anything else is not one of the client's files.
bool plainSegment(std::string_view segment)
{
    if (segment.empty() || segment.front() == '.')
        return false;
    for (char c : segment) {
        if (!g_ascii_isalnum(c) && c != '-' && c != '_' && c != '.')
            return false;
    }
    return true;
}

}  // namespace

StaticFiles::StaticFiles(const std::string& root) : root_(canonical(root))
{
    if (!root_.empty() && !g_file_test(root_.c_str(), G_FILE_TEST_IS_DIR))
        root_.clear();
}

std::string StaticFiles::contentType(std::string_view name)
{
    struct Type {
        std::string_view extension;
        const char* type;
    };
    static constexpr Type kTypes[] = {
        {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
        {".json", "application/json"}, {".svg", "image/svg+xml"}, {".png", "image/png"},
        {".ico", "image/x-icon"}, {".txt", "text/plain; charset=utf-8"},
    };
    for (const Type& type : kTypes) {
        if (name.ends_with(type.extension))
            return type.type;
    }
    return {};
}

StaticFile StaticFiles::get(std::string_view method, std::string_view rawPath) const
{
    StaticFile notFound{404, {}, "no such file"};
    if (!valid() || !rawPath.starts_with("/"))
        return notFound;

    // Decoded with nothing that could become a separator: an encoded '/' or NUL is refused.
    std::string raw(rawPath);
    g_autofree char* decoded = g_uri_unescape_string(raw.c_str(), "/");
    if (!decoded)
        return notFound;
    std::string path = decoded;
    if (path.ends_with("/"))
        path += "index.html";

    std::string relative;
    for (std::string_view rest = std::string_view(path).substr(1); !rest.empty();) {
        size_t slash = rest.find('/');
        std::string_view segment = rest.substr(0, slash);
        if (!plainSegment(segment))
            return notFound;
        relative += "/";
        relative += segment;
        rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    }
    std::string type = contentType(relative);
    if (relative.empty() || type.empty())
        return notFound;

    // A symbolic link inside the root may not lead outside it.
    std::string file = canonical(root_ + relative);
    if (file.empty() || !file.starts_with(root_ + "/") || !g_file_test(file.c_str(), G_FILE_TEST_IS_REGULAR))
        return notFound;
    if (method != "GET" && method != "HEAD")
        return {405, {}, "the web client is read with GET or HEAD"};
    g_autofree char* contents = nullptr;
    gsize length = 0;
    if (!g_file_get_contents(file.c_str(), &contents, &length, nullptr))
        return notFound;
    return {200, type, std::string(contents, length)};
}

}  // namespace calling::server
