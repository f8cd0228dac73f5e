#include "server_process.h"

#include <glib/gstdio.h>

#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <memory>

namespace bench {

using calling::Error;
using calling::Result;

namespace {

constexpr int64_t kStartTimeoutMs = 20000;
// Closing ten thousand connections on SIGTERM takes the server a while on a loaded machine.
constexpr int64_t kStopTimeoutMs = 30000;

void removeTree(const std::string& path)
{
    g_autoptr(GDir) dir = g_dir_open(path.c_str(), 0, nullptr);
    if (dir) {
        while (const char* name = g_dir_read_name(dir)) {
            g_autofree char* child = g_build_filename(path.c_str(), name, nullptr);
            if (g_file_test(child, G_FILE_TEST_IS_DIR))
                removeTree(child);
            else
                g_unlink(child);
        }
    }
    g_rmdir(path.c_str());
}

std::string readFile(const std::string& path)
{
    g_autofree char* contents = nullptr;
    gsize length = 0;
    if (!g_file_get_contents(path.c_str(), &contents, &length, nullptr))
        return {};
    return std::string(contents, length);
}

}  // namespace

int64_t cpuMilliseconds(const std::string& pid)
{
    std::string stat = readFile("/proc/" + pid + "/stat");
    // The command name in parentheses may hold spaces; the fields after it are positional:
    // state is field 3, utime 14 and stime 15.
    auto close = stat.rfind(')');
    if (close == std::string::npos)
        return -1;
    g_auto(GStrv) fields = g_strsplit(stat.c_str() + close + 2, " ", -1);
    if (g_strv_length(fields) < 13)
        return -1;
    long ticksPerSecond = sysconf(_SC_CLK_TCK);
    int64_t ticks = g_ascii_strtoll(fields[11], nullptr, 10) + g_ascii_strtoll(fields[12], nullptr, 10);
    return ticks * 1000 / ticksPerSecond;
}

Result<std::unique_ptr<ServerProcess>> ServerProcess::start(const std::string& binary)
{
    std::unique_ptr<ServerProcess> server(new ServerProcess());
    g_autofree char* dir = g_dir_make_tmp("calling-bench-server-XXXXXX", nullptr);
    if (!dir)
        return Error{500, 0, "cannot make a temporary state dir"};
    server->stateDir_ = dir;
    g_autofree char* state = g_build_filename(dir, "state", nullptr);
    g_autofree char* log = g_build_filename(dir, "server.log", nullptr);
    server->logPath_ = log;

    const char* argv[] = {binary.c_str(), "--listen", "127.0.0.1:0", "--state-dir", state, nullptr};
    g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE);
    // The server generates its own key in the fresh state dir; one from the environment is not ours.
    g_subprocess_launcher_unsetenv(launcher, "CALLING_SERVER_ACCESS_KEY");
    g_subprocess_launcher_set_stderr_file_path(launcher, log);
    g_autoptr(GError) error = nullptr;
    server->process_ = calling::protocol::adopt(g_subprocess_launcher_spawnv(launcher, argv, &error));
    if (!server->process_)
        return Error{500, 0, "cannot start " + binary + ": " + error->message};
    server->pid_ = g_subprocess_get_identifier(server->process_.get());

    // Read asynchronously so that a server that never prints fails at the deadline instead of hanging.
    g_autoptr(GDataInputStream) out = g_data_input_stream_new(g_subprocess_get_stdout_pipe(server->process_.get()));
    // Shared with the callback, which may still come after a timeout here.
    struct Read {
        bool done = false;
        std::string line;
    };
    auto read = std::make_shared<Read>();
    g_data_input_stream_read_line_async(
        out, G_PRIORITY_DEFAULT, nullptr,
        [](GObject* source, GAsyncResult* result, gpointer data) {
            std::unique_ptr<std::shared_ptr<Read>> state(static_cast<std::shared_ptr<Read>*>(data));
            g_autofree char* line =
                g_data_input_stream_read_line_finish(G_DATA_INPUT_STREAM(source), result, nullptr, nullptr);
            (*state)->line = line ? line : "";
            (*state)->done = true;
        },
        new std::shared_ptr<Read>(read));
    if (!iterateUntil([&] { return read->done; }, kStartTimeoutMs) || read->line.empty())
        return Error{500, 0, "calling-server printed no connection string; its log ends:\n" + server->logTail()};
    auto parsed = calling::protocol::parseConnectionString(read->line);
    if (!parsed)
        return Error{500, 0, "calling-server printed an unparsable line: " + read->line};
    server->connection_ = parsed.value();
    return server;
}

ServerProcess::~ServerProcess()
{
    stop();
    removeTree(stateDir_);
}

std::string ServerProcess::authority() const
{
    g_autoptr(GUri) uri = g_uri_parse(connection_.endpoint.c_str(), G_URI_FLAGS_NONE, nullptr);
    return std::string(g_uri_get_host(uri)) + ":" + std::to_string(g_uri_get_port(uri));
}

bool ServerProcess::running()
{
    if (!process_)
        return false;
    // The identifier goes away once GLib reaped the child.
    return g_subprocess_get_identifier(process_.get()) != nullptr;
}

int64_t ServerProcess::residentBytes() const
{
    std::string status = readFile("/proc/" + pid_ + "/status");
    auto at = status.find("VmRSS:");
    if (at == std::string::npos)
        return -1;
    return g_ascii_strtoll(status.c_str() + at + 6, nullptr, 10) * 1024;  // the kernel writes kB
}

int64_t ServerProcess::cpuMilliseconds() const
{
    return bench::cpuMilliseconds(pid_);
}

std::string ServerProcess::logTail(std::size_t bytes) const
{
    std::string log = readFile(logPath_);
    return log.size() > bytes ? log.substr(log.size() - bytes) : log;
}

int ServerProcess::stop()
{
    if (!process_)
        return -1;
    g_subprocess_send_signal(process_.get(), SIGTERM);
    // Shared with the callback, which comes after a timeout here too (once the kill took effect).
    auto exited = std::make_shared<bool>(false);
    g_subprocess_wait_async(
        process_.get(), nullptr,
        [](GObject*, GAsyncResult*, gpointer data) {
            std::unique_ptr<std::shared_ptr<bool>> done(static_cast<std::shared_ptr<bool>*>(data));
            **done = true;
        },
        new std::shared_ptr<bool>(exited));
    iterateUntil([&] { return *exited; }, kStopTimeoutMs);
    int status = -1;
    if (!*exited) {
        g_subprocess_force_exit(process_.get());
        g_subprocess_wait(process_.get(), nullptr, nullptr);
    } else if (g_subprocess_get_if_exited(process_.get())) {
        status = g_subprocess_get_exit_status(process_.get());
    }
    process_.reset();
    return status;
}

}  // namespace bench
