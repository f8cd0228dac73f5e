// The shell examples in docs/ run as written, in order, against the real calling-server.
#include "server_process.h"

#include <gio/gio.h>
#include <gtest/gtest.h>

#include <string>

namespace {

std::string shellBlocks(const std::string& markdownPath)
{
    g_autofree char* text = nullptr;
    if (!g_file_get_contents(markdownPath.c_str(), &text, nullptr, nullptr))
        return {};
    std::string script;
    bool inBlock = false;
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (char** line = lines; *line; ++line) {
        std::string_view current(*line);
        if (!inBlock && current == "```sh") {
            inBlock = true;
        } else if (inBlock && current == "```") {
            inBlock = false;
        } else if (inBlock) {
            script.append(current).append("\n");
        }
    }
    return script;
}

struct ShellRun {
    int exitStatus = -1;
    std::string output;
};

ShellRun runBash(const std::string& script, const std::string& workDir)
{
    g_autofree char* serverDir = g_path_get_dirname(g_getenv("CALLING_SERVER"));
    g_autofree char* tools = g_build_filename(g_getenv("CALLING_SOURCE_ROOT"), "tools", nullptr);
    std::string path = std::string(serverDir) + ":" + tools + ":" + g_getenv("PATH");

    g_autoptr(GSubprocessLauncher) launcher =
        g_subprocess_launcher_new(static_cast<GSubprocessFlags>(G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                                                G_SUBPROCESS_FLAGS_STDERR_MERGE));
    g_subprocess_launcher_setenv(launcher, "PATH", path.c_str(), TRUE);
    g_subprocess_launcher_set_cwd(launcher, workDir.c_str());
    std::string strict = "set -euo pipefail\n" + script;
    g_autoptr(GError) error = nullptr;
    g_autoptr(GSubprocess) bash =
        g_subprocess_launcher_spawn(launcher, &error, "timeout", "60", "bash", "-c", strict.c_str(), nullptr);
    ShellRun run;
    if (!bash) {
        run.output = error->message;
        return run;
    }
    g_autofree char* out = nullptr;
    g_subprocess_communicate_utf8(bash, nullptr, nullptr, &out, nullptr, &error);
    run.output = out ? out : "";
    if (g_subprocess_get_if_exited(bash))
        run.exitStatus = g_subprocess_get_exit_status(bash);
    return run;
}

TEST(Docs, IdentityExamplesRunAsWritten)
{
    std::string doc = std::string(g_getenv("CALLING_SOURCE_ROOT")) + "/docs/identity.md";
    std::string script = shellBlocks(doc);
    ASSERT_FALSE(script.empty()) << "no ```sh blocks in " << doc;

    std::string dir = calling::test::makeTempDir();
    ShellRun run = runBash(script, dir);
    calling::test::removeTree(dir);

    EXPECT_EQ(run.exitStatus, 0) << run.output;
    EXPECT_NE(run.output.find("endpoint=http://127.0.0.1:"), std::string::npos) << run.output;
    EXPECT_NE(run.output.find(R"({"identity":{"id":"8:acs:)"), std::string::npos) << run.output;
    EXPECT_NE(run.output.find(R"("accessToken":{"token":")"), std::string::npos) << run.output;
    EXPECT_NE(run.output.find(R"("lastTokenIssuedAt":")"), std::string::npos) << run.output;
    EXPECT_NE(run.output.find(R"({"error":{"code":"ValidationError")"), std::string::npos) << run.output;
}

}  // namespace
