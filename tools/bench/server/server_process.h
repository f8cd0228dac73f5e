// The calling-server under load: the real binary, started by the benchmark on a free loopback port
// with a state dir of its own, and read from the outside through /proc (resident memory, CPU time),
// the way an operator would watch it.
#pragma once

#include "protocol/connection_string.h"
#include "protocol/glib_ptr.h"

#include <calling/result.h>

#include <gio/gio.h>

#include <cstdint>
#include <memory>
#include <string>

namespace bench {

class ServerProcess {
public:
    // Starts `binary` and waits (iterating the thread-default context, up to a deadline) for the
    // connection string it prints. The child inherits this process's RLIMIT_NOFILE.
    static calling::Result<std::unique_ptr<ServerProcess>> start(const std::string& binary);
    ~ServerProcess();
    ServerProcess(const ServerProcess&) = delete;
    ServerProcess& operator=(const ServerProcess&) = delete;

    const calling::protocol::ConnectionString& connection() const { return connection_; }
    // host:port
    std::string authority() const;
    bool running();

    // VmRSS of /proc/<pid>/status in bytes; nullopt-like -1 when it cannot be read.
    int64_t residentBytes() const;
    // utime + stime of /proc/<pid>/stat in milliseconds; -1 when it cannot be read.
    int64_t cpuMilliseconds() const;
    // The end of what the server wrote to stderr, for failure messages.
    std::string logTail(std::size_t bytes = 2000) const;

    // SIGTERM, then waits up to a deadline (SIGKILL after it); returns the exit status, -1 if killed.
    int stop();

private:
    ServerProcess() = default;

    calling::protocol::GObjectPtr<GSubprocess> process_;
    std::string pid_;
    calling::protocol::ConnectionString connection_;
    std::string stateDir_;
    std::string logPath_;
};

// utime + stime of /proc/<pid>/stat ("self" for this process) in milliseconds; -1 when unreadable.
int64_t cpuMilliseconds(const std::string& pid);

// Runs the thread-default main context until `done()` or until `timeoutMs` passed; returns done().
// Wakes at least every 50 ms so that the deadline is seen without relying on other events.
template <typename Done>
bool iterateUntil(Done done, int64_t timeoutMs)
{
    GMainContext* context = g_main_context_get_thread_default();
    gint64 deadline = g_get_monotonic_time() + timeoutMs * 1000;
    while (!done()) {
        if (g_get_monotonic_time() >= deadline)
            return false;
        calling::protocol::SourcePtr tick(g_timeout_source_new(50));
        g_source_set_callback(tick.get(), [](gpointer) { return G_SOURCE_REMOVE; }, nullptr, nullptr);
        g_source_attach(tick.get(), context);
        g_main_context_iteration(context, TRUE);
    }
    return true;
}

}  // namespace bench
