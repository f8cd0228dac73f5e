// Runs the real calling-server binary for a test: a free loopback port, its own state dir, its
// stderr kept in a file so a test can read what it logged.
#pragma once

#include "protocol/connection_string.h"

#include <gio/gio.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace calling::test {

class ServerProcess {
public:
    struct Options {
        std::string stateDir;                  // empty: a new temporary dir
        std::optional<std::string> accessKey;  // base64; none: the server generates or reuses one
        std::vector<std::string> extraArgs;
    };

    // Starts the server and waits (with a deadline) for its connection-string line.
    // On failure, returns nullptr and puts the reason in `why`.
    static std::unique_ptr<ServerProcess> start(const Options& options, std::string* why);
    ~ServerProcess();

    const protocol::ConnectionString& connection() const { return connection_; }
    const std::string& stateDir() const { return stateDir_; }
    // host:port of the endpoint
    std::string authority() const;

    // SIGTERM, then waits for the exit; returns the exit status (-1 if it had to be killed).
    int stop();
    // What the server wrote to stderr so far.
    std::string log() const;

private:
    ServerProcess() = default;

    GSubprocess* process_ = nullptr;
    protocol::ConnectionString connection_;
    std::string stateDir_;
    std::string logPath_;
    bool ownsStateDir_ = false;
};

// Removes a directory tree.
void removeTree(const std::string& path);
std::string makeTempDir();

struct CommandOutput {
    int exitStatus = -1;  // -1: did not start or did not exit normally
    std::string text;     // stdout and stderr together
};

// Runs argv to completion with extra environment variables, in `workDir` when given.
CommandOutput runCommand(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {},
                         const std::string& workDir = "");

// Makes a self-signed certificate for 127.0.0.1 in `dir` (cert.pem, key.pem) with openssl; returns
// openssl's output when it fails, an empty string on success.
std::string makeLoopbackCertificate(const std::string& dir);

}  // namespace calling::test
