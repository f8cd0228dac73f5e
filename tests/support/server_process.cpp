#include "server_process.h"

#include "main_loop.h"

#include <glib/gstdio.h>

#include <csignal>

namespace calling::test {
namespace {

constexpr gint64 kStartDeadlineUs = 10 * G_USEC_PER_SEC;
constexpr gint64 kStopDeadlineUs = 10 * G_USEC_PER_SEC;

// Runs `context` until `done()` or the deadline; returns done().
template <typename Done>
bool iterateUntil(GMainContext* context, gint64 deadlineUs, Done done)
{
    return calling::test::iterateUntil(context, done, std::chrono::microseconds(deadlineUs));
}

}  // namespace

std::string makeTempDir()
{
    g_autofree char* dir = g_dir_make_tmp("calling-test-XXXXXX", nullptr);
    return dir ? dir : "";
}

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

CommandOutput runCommand(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                         const std::string& workDir)
{
    g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new(
        static_cast<GSubprocessFlags>(G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE));
    for (const auto& [name, value] : env)
        g_subprocess_launcher_setenv(launcher, name.c_str(), value.c_str(), TRUE);
    if (!workDir.empty())
        g_subprocess_launcher_set_cwd(launcher, workDir.c_str());
    std::vector<const char*> args;
    for (const auto& arg : argv)
        args.push_back(arg.c_str());
    args.push_back(nullptr);

    CommandOutput output;
    g_autoptr(GError) error = nullptr;
    g_autoptr(GSubprocess) process = g_subprocess_launcher_spawnv(launcher, args.data(), &error);
    if (!process) {
        output.text = error->message;
        return output;
    }
    g_autofree char* text = nullptr;
    g_subprocess_communicate_utf8(process, nullptr, nullptr, &text, nullptr, nullptr);
    output.text = text ? text : "";
    if (g_subprocess_get_if_exited(process))
        output.exitStatus = g_subprocess_get_exit_status(process);
    return output;
}

std::string makeLoopbackCertificate(const std::string& dir)
{
    CommandOutput made = runCommand({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj",
                                     "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-days", "1",
                                     "-keyout", dir + "/key.pem", "-out", dir + "/cert.pem"});
    return made.exitStatus == 0 ? std::string() : "openssl failed: " + made.text;
}

std::unique_ptr<ServerProcess> ServerProcess::start(const Options& options, std::string* why)
{
    std::unique_ptr<ServerProcess> server(new ServerProcess());
    server->stateDir_ = options.stateDir;
    if (server->stateDir_.empty()) {
        server->stateDir_ = makeTempDir();
        server->ownsStateDir_ = true;
    }
    g_autofree char* logName = g_strdup_printf("server-%d-%p.log", getpid(), static_cast<void*>(server.get()));
    g_autofree char* logPath = g_build_filename(g_get_tmp_dir(), logName, nullptr);
    server->logPath_ = logPath;

    const char* binary = g_getenv("CALLING_SERVER");
    if (!binary) {
        *why = "CALLING_SERVER is not set (run the tests through meson test)";
        return nullptr;
    }
    std::vector<const char*> argv = {binary, "--listen", "127.0.0.1:0", "--state-dir", server->stateDir_.c_str()};
    if (options.accessKey) {
        argv.push_back("--access-key");
        argv.push_back(options.accessKey->c_str());
    }
    for (const auto& arg : options.extraArgs)
        argv.push_back(arg.c_str());
    argv.push_back(nullptr);

    g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE);
    g_subprocess_launcher_unsetenv(launcher, "CALLING_SERVER_ACCESS_KEY");
    g_subprocess_launcher_set_stderr_file_path(launcher, server->logPath_.c_str());
    g_autoptr(GError) error = nullptr;
    server->process_ = g_subprocess_launcher_spawnv(launcher, argv.data(), &error);
    if (!server->process_) {
        *why = std::string("cannot start calling-server: ") + error->message;
        return nullptr;
    }

    // Read the first stdout line asynchronously so that a server that never prints fails the test
    // at the deadline instead of hanging it.
    g_autoptr(GMainContext) context = g_main_context_new();
    g_main_context_push_thread_default(context);
    g_autoptr(GDataInputStream) out = g_data_input_stream_new(g_subprocess_get_stdout_pipe(server->process_));
    struct Read {
        bool done = false;
        std::string line;
    } read;
    g_data_input_stream_read_line_async(
        out, G_PRIORITY_DEFAULT, nullptr,
        [](GObject* source, GAsyncResult* result, gpointer data) {
            auto* state = static_cast<Read*>(data);
            gsize length = 0;
            g_autofree char* line =
                g_data_input_stream_read_line_finish(G_DATA_INPUT_STREAM(source), result, &length, nullptr);
            state->line = line ? line : "";
            state->done = true;
        },
        &read);
    bool gotLine = iterateUntil(context, kStartDeadlineUs, [&] { return read.done; });
    g_main_context_pop_thread_default(context);
    if (!gotLine || read.line.empty()) {
        *why = "calling-server printed no connection string; its log:\n" + server->log();
        return nullptr;
    }
    auto parsed = protocol::parseConnectionString(read.line);
    if (!parsed) {
        *why = "calling-server printed an unparsable line: " + read.line;
        return nullptr;
    }
    server->connection_ = parsed.value();
    return server;
}

ServerProcess::~ServerProcess()
{
    stop();
    g_unlink(logPath_.c_str());
    if (ownsStateDir_)
        removeTree(stateDir_);
}

std::string ServerProcess::authority() const
{
    g_autoptr(GUri) uri = g_uri_parse(connection_.endpoint.c_str(), G_URI_FLAGS_NONE, nullptr);
    return std::string(g_uri_get_host(uri)) + ":" + std::to_string(g_uri_get_port(uri));
}

int ServerProcess::stop()
{
    if (!process_)
        return -1;
    g_subprocess_send_signal(process_, SIGTERM);
    g_autoptr(GMainContext) context = g_main_context_new();
    g_main_context_push_thread_default(context);
    bool exited = false;
    g_subprocess_wait_async(
        process_, nullptr, [](GObject*, GAsyncResult*, gpointer done) { *static_cast<bool*>(done) = true; }, &exited);
    iterateUntil(context, kStopDeadlineUs, [&] { return exited; });
    g_main_context_pop_thread_default(context);
    int status = -1;
    if (!exited) {
        g_subprocess_force_exit(process_);
        g_subprocess_wait(process_, nullptr, nullptr);
    } else if (g_subprocess_get_if_exited(process_)) {
        status = g_subprocess_get_exit_status(process_);
    }
    g_clear_object(&process_);
    return status;
}

std::string ServerProcess::log() const
{
    g_autofree char* contents = nullptr;
    gsize length = 0;
    if (!g_file_get_contents(logPath_.c_str(), &contents, &length, nullptr))
        return {};
    return std::string(contents, length);
}

}  // namespace calling::test
