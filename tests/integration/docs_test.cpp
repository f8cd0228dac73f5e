// The shell examples in docs/ run as written, in order (identity.md's and gst-call.md's against
// the real calling-server, elements.md's against the plugin in the build tree).
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

calling::test::CommandOutput runBash(const std::string& script, const std::string& workDir)
{
    g_autofree char* serverDir = g_path_get_dirname(g_getenv("CALLING_SERVER"));
    g_autofree char* tools = g_build_filename(g_getenv("CALLING_SOURCE_ROOT"), "tools", nullptr);
    std::string path = std::string(serverDir) + ":" + tools + ":" + g_getenv("PATH");
    if (const char* gstCall = g_getenv("GST_CALL")) {
        g_autofree char* gstCallDir = g_path_get_dirname(gstCall);
        path = std::string(gstCallDir) + ":" + path;
    }
    return calling::test::runCommand({"timeout", "60", "bash", "-c", "set -euo pipefail\n" + script},
                                     {{"PATH", path}}, workDir);
}

TEST(Docs, IdentityExamplesRunAsWritten)
{
    std::string doc = std::string(g_getenv("CALLING_SOURCE_ROOT")) + "/docs/identity.md";
    std::string script = shellBlocks(doc);
    ASSERT_FALSE(script.empty()) << "no ```sh blocks in " << doc;

    std::string dir = calling::test::makeTempDir();
    calling::test::CommandOutput run = runBash(script, dir);
    calling::test::removeTree(dir);

    EXPECT_EQ(run.exitStatus, 0) << run.text;
    EXPECT_NE(run.text.find("endpoint=http://127.0.0.1:"), std::string::npos) << run.text;
    EXPECT_NE(run.text.find(R"({"identity":{"id":"8:acs:)"), std::string::npos) << run.text;
    EXPECT_NE(run.text.find(R"("accessToken":{"token":")"), std::string::npos) << run.text;
    EXPECT_NE(run.text.find(R"("lastTokenIssuedAt":")"), std::string::npos) << run.text;
    EXPECT_NE(run.text.find(R"({"error":{"code":"ValidationError")"), std::string::npos) << run.text;
}

TEST(Docs, ElementsExamplesRunAsWritten)
{
    std::string doc = std::string(g_getenv("CALLING_SOURCE_ROOT")) + "/docs/elements.md";
    std::string script = shellBlocks(doc);
    ASSERT_FALSE(script.empty()) << "no ```sh blocks in " << doc;

    std::string dir = calling::test::makeTempDir();
    calling::test::CommandOutput run = runBash(script, dir);
    calling::test::removeTree(dir);

    EXPECT_EQ(run.exitStatus, 0) << run.text;
    // gst-device-monitor-1.0 finds the plugin's virtual devices (through the tests' registry).
    for (const char* id : {"virtual-camera-1", "virtual-camera-2", "virtual-screen", "virtual-microphone-440",
                           "virtual-microphone-880", "virtual-speaker"})
        EXPECT_NE(run.text.find(std::string("calling.device-id = ") + id), std::string::npos) << id << "\n" << run.text;
    EXPECT_NE(run.text.find("name  : Virtual microphone 880 Hz"), std::string::npos) << run.text;
}

TEST(Docs, GstCallExamplesRunAsWritten)
{
    std::string doc = std::string(g_getenv("CALLING_SOURCE_ROOT")) + "/docs/gst-call.md";
    std::string script = shellBlocks(doc);
    ASSERT_FALSE(script.empty()) << "no ```sh blocks in " << doc;

    std::string dir = calling::test::makeTempDir();
    calling::test::CommandOutput run = runBash(script, dir);
    calling::test::removeTree(dir);

    EXPECT_EQ(run.exitStatus, 0) << run.text;
    EXPECT_NE(run.text.find("microphone  calling-virtual:virtual-microphone-880"), std::string::npos) << run.text;
    // Alice's side, then Bob's (cat bob.txt): the call connected, Opus flowed, both ended 0/0.
    EXPECT_NE(run.text.find("state: Ringing\n"), std::string::npos) << run.text;
    EXPECT_NE(run.text.find("duration: 4 s reached"), std::string::npos) << run.text;
    EXPECT_NE(run.text.find("incoming: 8:acs:"), std::string::npos) << run.text;
    EXPECT_NE(run.text.find(" audio recv "), std::string::npos) << run.text;
    size_t ends = 0;
    for (size_t at = run.text.find("ended: 0/0"); at != std::string::npos; at = run.text.find("ended: 0/0", at + 1))
        ++ends;
    EXPECT_EQ(ends, 2u) << run.text;
    EXPECT_NE(run.text.find("ended: 480/10037"), std::string::npos) << run.text;
    EXPECT_NE(run.text.find("gst-call exited with 6"), std::string::npos) << run.text;
}

}  // namespace
