// The web client's files (web/), served read-only at `/`: GET and HEAD only, a fixed set of
// content types, and only regular files inside the root, whatever the request path says.
#pragma once

#include <string>
#include <string_view>

namespace calling::server {

struct StaticFile {
    int status = 200;          // 200, or 404 / 405 with `body` as an error message
    std::string contentType;   // for 200
    std::string body;
};

class StaticFiles {
public:
    // `root` must exist; it is resolved once (symbolic links included).
    explicit StaticFiles(const std::string& root);

    bool valid() const { return !root_.empty(); }
    const std::string& root() const { return root_; }

    // `rawPath` is the request path as sent (percent-encoded); "/" is index.html.
    StaticFile get(std::string_view method, std::string_view rawPath) const;

    // The content type of a file name's extension; empty for one that is not served.
    static std::string contentType(std::string_view name);

private:
    std::string root_;  // canonical, without a trailing '/'
};

}  // namespace calling::server
