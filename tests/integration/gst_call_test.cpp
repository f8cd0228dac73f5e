// gst-call as a user runs it: real gst-call processes against the real calling-server on
// loopback, their output read line by line as it comes, signals sent as Ctrl-C and kill send them.
// Where a test needs a callee that never answers, an agent of the library runs in this process.
#include "launch.h"
#include "main_loop.h"
#include "rest_client.h"
#include "server_process.h"

#include <calling/call_client.h>

#include <gio/gio.h>
#include <gst/gst.h>
#include <gtest/gtest.h>

#include <csignal>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using calling::test::Process;

namespace {

std::string gstCall()
{
    const char* path = g_getenv("GST_CALL");
    return path ? path : "gst-call";
}

// The status lines' figures: call time, then send and receive audio bitrate in kb/s, and rtt.
struct Status {
    double sendKbps = 0;
    double receiveKbps = 0;
    bool hasRtt = false;
};

std::vector<Status> statusLines(const std::string& output)
{
    static const std::regex line(R"(^\d\d:\d\d audio send ([0-9.]+) kb/s.*\| audio recv ([0-9.]+) kb/s.*$)");
    std::vector<Status> found;
    std::istringstream lines(output);
    std::string text;
    while (std::getline(lines, text)) {
        std::smatch match;
        if (std::regex_match(text, match, line))
            found.push_back({std::stod(match[1]), std::stod(match[2]), text.find(" rtt ") != std::string::npos});
    }
    return found;
}

// A status line with Opus (32 kb/s) flowing both ways and a round-trip time.
bool audioFlowsBothWays(const Process& process)
{
    for (const Status& status : statusLines(process.output()))
        if (status.sendKbps > 20 && status.sendKbps < 60 && status.receiveKbps > 20 && status.receiveKbps < 60 &&
            status.hasRtt)
            return true;
    return false;
}

class GstCallTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        gst_init(nullptr, nullptr);
        context_ = g_main_context_new();
        g_main_context_push_thread_default(context_);
        std::string why;
        // A short ring timeout, for the call nobody answers.
        server_ = calling::test::ServerProcess::start({.extraArgs = {"--ring-timeout=3"}}, &why);
        ASSERT_TRUE(server_) << why;
        rest_ = std::make_unique<calling::test::RestClient>(server_->connection());
        connection_ = server_->connection().toString();
    }

    void TearDown() override
    {
        processes_.clear();
        client_.reset();
        if (server_)
            server_->stop();
        g_main_context_pop_thread_default(context_);
        g_main_context_unref(context_);
    }

    bool waitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 15s)
    {
        return calling::test::iterateUntil(context_, condition, timeout);
    }

    Process& start(std::vector<std::string> arguments, const std::map<std::string, std::string>& env = {})
    {
        arguments.insert(arguments.begin(), gstCall());
        processes_.push_back(std::make_unique<Process>(arguments, env));
        EXPECT_EQ(processes_.back()->startError, "");
        return *processes_.back();
    }

    // Runs gst-call to the end; returns its exit status.
    int run(Process& process, std::chrono::milliseconds timeout = 30s)
    {
        if (!waitFor([&] { return process.exited(); }, timeout)) {
            ADD_FAILURE() << "gst-call did not exit:\n" << process.output();
            return -1;
        }
        return process.exitStatus();
    }

    // `gst-call answer`, once it waits for a call; its identity's raw id.
    std::string answering(Process& answer)
    {
        EXPECT_TRUE(waitFor([&] { return answer.said("waiting: for an incoming call"); })) << answer.output();
        std::smatch match;
        static const std::regex identity(R"(identity: (8:acs:\S+))");
        const std::string& output = answer.output();
        return std::regex_search(output, match, identity) ? match[1].str() : std::string();
    }

    // An agent of the library, signed in, that lets every call ring.
    std::string silentCallee()
    {
        std::string id = rest_->createIdentity();
        client_ = std::make_unique<calling::CallClient>(
            calling::CallClientOptions{.endpoint = server_->connection().endpoint, .callbackContext = context_});
        std::optional<calling::Result<std::shared_ptr<calling::CallAgent>>> agent;
        client_->createCallAgent(calling::CommunicationTokenCredential(rest_->issueToken(id)), {.displayName = "Silent"},
                                 [&](calling::Result<std::shared_ptr<calling::CallAgent>> made) { agent = made; });
        EXPECT_TRUE(waitFor([&] { return agent.has_value(); }));
        EXPECT_TRUE(agent && agent->ok());
        if (agent && agent->ok())
            silentAgent_ = agent->value();
        return id;
    }

    GMainContext* context_ = nullptr;
    std::unique_ptr<calling::test::ServerProcess> server_;
    std::unique_ptr<calling::test::RestClient> rest_;
    std::string connection_;
    std::vector<std::unique_ptr<Process>> processes_;
    std::unique_ptr<calling::CallClient> client_;
    std::shared_ptr<calling::CallAgent> silentAgent_;
};

TEST_F(GstCallTest, EveryCommandHasHelp)
{
    struct Case {
        std::vector<std::string> arguments;
        std::vector<std::string> mentions;
    };
    const Case cases[] = {
        {{"--help"}, {"Usage:", "COMMAND", "call ", "answer ", "record ", "devices ", "--connection-string", "--token"}},
        {{"call", "--help"}, {"gst-call call", "TARGET", "--duration", "--timeout", "--microphone", "--connection-string",
                              "exit code"}},
        {{"answer", "--help"}, {"gst-call answer", "--decline", "--duration", "--token", "identity: RAW_ID"}},
        {{"record", "--help"}, {"gst-call record", "--output", "--camera", "Matroska", "SIGTERM"}},
        {{"bridge", "--help"}, {"gst-call bridge", "--token-a", "--identity-b", "identity a: RAW_ID"}},
        {{"devices", "--help"}, {"gst-call devices", "calling-virtual:"}},
        {{"help", "call"}, {"gst-call call", "TARGET"}},
    };
    for (const Case& test : cases) {
        std::vector<std::string> argv = {gstCall()};
        argv.insert(argv.end(), test.arguments.begin(), test.arguments.end());
        auto result = calling::test::runCommand(argv);
        EXPECT_EQ(result.exitStatus, 0) << test.arguments[0] << "\n" << result.text;
        for (const auto& mention : test.mentions)
            EXPECT_NE(result.text.find(mention), std::string::npos) << test.arguments[0] << " lacks " << mention << "\n"
                                                                   << result.text;
    }
}

TEST_F(GstCallTest, BadInputIsAClearUsageError)
{
    const std::string endpoint = server_->connection().endpoint;
    struct Case {
        std::vector<std::string> arguments;
        std::string says;
    };
    const Case cases[] = {
        {{}, "which command?"},
        {{"frob"}, "unknown command 'frob'"},
        {{"call", "--frob", "8:acs:x"}, "Unknown option --frob"},
        {{"call", "--connection-string=endpoint=nowhere", "8:acs:x"}, "bad connection string"},
        {{"call", "--connection-string", connection_, "bob"}, "'bob' is not a user's raw id"},
        {{"call", "--connection-string", connection_}, "call needs the raw id"},
        {{"call", "8:acs:x"}, "Give --connection-string or --token"},
        {{"call", "--token", "abc", "8:acs:x"}, "--token needs --endpoint"},
        {{"call", "--token", "abc", "--endpoint", "ftp://x/", "8:acs:x"}, "is not an http(s):// URL"},
        {{"call", "--connection-string", connection_, "--identity", "4:+123", "8:acs:x"}, "is not a user's raw id"},
        {{"call", "--connection-string", connection_, "--duration", "-1", "8:acs:x"}, "cannot be negative"},
        {{"answer", "--connection-string", connection_, "extra"}, "answer takes no arguments"},
        {{"answer", "--connection-string", connection_, "--microphone", "nope"}, "no such device for --microphone: nope"},
        {{"call", "--connection-string", connection_, "--camera", "nope", "8:acs:x"}, "no such device for --camera: nope"},
        {{"record", "--connection-string", connection_}, "record needs the file to write: -o FILE"},
        {{"record", "--connection-string", connection_, "-o", "x.mkv", "extra"}, "record takes no arguments"},
        {{"bridge", "--token-a", "abc", "--endpoint", "http://127.0.0.1:1/"}, "--token-a and --token-b go together"},
        {{"bridge", "--connection-string", connection_, "--identity-a", "bob"}, "'bob' is not a user's raw id"},
        {{"bridge"}, "Give --connection-string or --token"},
        {{"devices", "extra"}, "devices takes no arguments"},
    };
    for (const Case& test : cases) {
        std::vector<std::string> argv = {gstCall()};
        argv.insert(argv.end(), test.arguments.begin(), test.arguments.end());
        auto result = calling::test::runCommand(argv);
        std::string what = test.arguments.empty() ? "(nothing)" : test.arguments[0];
        EXPECT_EQ(result.exitStatus, 2) << what << "\n" << result.text;
        EXPECT_NE(result.text.find(test.says), std::string::npos) << what << ": expected '" << test.says << "'\n"
                                                                  << result.text;
        // What to do about it: a pointer to --help, or the help itself.
        EXPECT_TRUE(result.text.find("Try 'gst-call") != std::string::npos ||
                    result.text.find("Usage:") != std::string::npos)
            << result.text;
    }
}

TEST_F(GstCallTest, DevicesListsTheVirtualDevices)
{
    Process& devices = start({"devices"});
    EXPECT_EQ(run(devices), 0) << devices.output();
    for (const char* line : {"microphone  calling-virtual:virtual-microphone-440  Virtual microphone 440 Hz",
                             "microphone  calling-virtual:virtual-microphone-880", "speaker     calling-virtual:virtual-speaker",
                             "camera      calling-virtual:virtual-camera-1", "screen      calling-virtual:virtual-screen"})
        EXPECT_TRUE(devices.said(line)) << line << "\n" << devices.output();
}

TEST_F(GstCallTest, OneAnswersTheOtherCallsStatusLinesThenCtrlCOnTheCallerEndsBoth)
{
    // Both mint their identities and tokens from the connection string (from the environment for
    // the callee); the callee uses a virtual microphone.
    Process& answer = start({"answer", "--display-name", "Bob", "--microphone", "calling-virtual:virtual-microphone-880"},
                            {{"CALLING_CONNECTION_STRING", connection_}});
    std::string bob = answering(answer);
    ASSERT_FALSE(bob.empty()) << answer.output();
    Process& call = start({"call", "--connection-string", connection_, "--display-name", "Alice", bob});

    ASSERT_TRUE(waitFor([&] { return call.said("state: Connected") && answer.said("state: Connected"); }))
        << call.output() << "---\n" << answer.output();
    EXPECT_TRUE(call.said("state: Connecting\n"));
    EXPECT_TRUE(call.said("state: Ringing\n"));
    EXPECT_TRUE(call.said("participant: " + bob));
    EXPECT_TRUE(answer.said("incoming: 8:acs:")) << answer.output();
    EXPECT_TRUE(answer.said("\"Alice\"")) << answer.output();

    // Status lines, once a second: Opus both ways and a round-trip time, as each side sees it.
    ASSERT_TRUE(waitFor([&] { return audioFlowsBothWays(call) && audioFlowsBothWays(answer); }, 20s))
        << call.output() << "---\n" << answer.output();

    // Ctrl-C on the caller: it hangs up; the callee's call ends too; both ended normally.
    call.signal(SIGINT);
    EXPECT_EQ(run(call), 0) << call.output();
    EXPECT_EQ(run(answer), 0) << answer.output();
    EXPECT_TRUE(call.said("interrupted: hanging up\nstate: Disconnecting\nstate: Disconnected\nended: 0/0"))
        << call.output();
    EXPECT_TRUE(answer.said("state: Disconnected\nended: 0/0")) << answer.output();
}

TEST_F(GstCallTest, SigtermOnTheCalleeEndsBothAndATokenAndAnIdentityAreTokenSources)
{
    // The callee signs in with a token it was given, the caller with a token minted for an
    // identity it names.
    std::string bob = rest_->createIdentity();
    std::string alice = rest_->createIdentity();
    Process& answer = start({"answer", "--endpoint", server_->connection().endpoint, "--stats-interval", "0"},
                            {{"CALLING_TOKEN", rest_->issueToken(bob)}});
    EXPECT_EQ(answering(answer), bob);
    Process& call = start({"call", "--connection-string", connection_, "--identity", alice, bob});
    ASSERT_TRUE(waitFor([&] { return call.said("state: Connected") && answer.said("state: Connected"); }))
        << call.output() << "---\n" << answer.output();
    EXPECT_TRUE(call.said("identity: " + alice + "\n"));

    answer.signal(SIGTERM);
    EXPECT_EQ(run(answer), 0) << answer.output();
    EXPECT_EQ(run(call), 0) << call.output();
    EXPECT_TRUE(call.said("ended: 0/0")) << call.output();
    EXPECT_FALSE(answer.said("00:0")) << "--stats-interval 0 prints no status line\n" << answer.output();
}

TEST_F(GstCallTest, DurationHangsUpAfterThatLong)
{
    Process& answer = start({"answer", "--connection-string", connection_});
    std::string bob = answering(answer);
    Process& call = start({"call", "--connection-string", connection_, "--duration", "2", bob});
    EXPECT_EQ(run(call), 0) << call.output();
    EXPECT_EQ(run(answer), 0) << answer.output();
    // The hang up follows; a status line may come between (its timer is not the duration's).
    EXPECT_TRUE(std::regex_search(call.output(), std::regex(R"(duration: 2 s reached\n(\d\d:\d\d [^\n]*\n)*state: Disconnecting)")))
        << call.output();
}

TEST_F(GstCallTest, DeclinedIsExitCode4)
{
    Process& answer = start({"answer", "--connection-string", connection_, "--decline"});
    std::string bob = answering(answer);
    Process& call = start({"call", "--connection-string", connection_, bob});
    EXPECT_EQ(run(call), 4) << call.output();
    EXPECT_TRUE(call.said("ended: 603/0")) << call.output();
    EXPECT_EQ(run(answer), 0) << answer.output();
    EXPECT_TRUE(answer.said("declined: 8:acs:")) << answer.output();
}

TEST_F(GstCallTest, ACalleeNotConnectedAnywhereIsExitCode6)
{
    std::string nobody = rest_->createIdentity();
    Process& call = start({"call", "--connection-string", connection_, nobody});
    EXPECT_EQ(run(call), 6) << call.output();
    EXPECT_TRUE(call.said("ended: 480/10037")) << call.output();
}

TEST_F(GstCallTest, NoAnswerIsExitCode5WhetherTheServerOrTimeoutGivesUp)
{
    std::string silent = silentCallee();
    // The server's ring timeout (3 s here).
    Process& ringing = start({"call", "--connection-string", connection_, silent});
    EXPECT_EQ(run(ringing), 5) << ringing.output();
    EXPECT_TRUE(ringing.said("state: Ringing\n")) << ringing.output();
    EXPECT_TRUE(ringing.said("ended: 487/10004")) << ringing.output();

    // gst-call's own, before the server's.
    Process& impatient = start({"call", "--connection-string", connection_, "--timeout", "1", silent});
    EXPECT_EQ(run(impatient), 5) << impatient.output();
    EXPECT_TRUE(impatient.said("timeout: not connected within 1 s")) << impatient.output();

    // An answerer nobody calls.
    Process& waiting = start({"answer", "--connection-string", connection_, "--timeout", "1"});
    EXPECT_EQ(run(waiting), 5) << waiting.output();
    EXPECT_TRUE(waiting.said("timeout: no call connected within 1 s")) << waiting.output();
}

TEST_F(GstCallTest, CtrlCWhileWaitingForACallLeavesCleanly)
{
    Process& answer = start({"answer", "--connection-string", connection_});
    ASSERT_FALSE(answering(answer).empty());
    answer.signal(SIGINT);
    EXPECT_EQ(run(answer), 0) << answer.output();
    EXPECT_TRUE(answer.said("interrupted")) << answer.output();
}

TEST_F(GstCallTest, RefusedCredentialsAreExitCode3AndNoServerIs7)
{
    Process& badToken = start({"call", "--token", "not-a-token", "--endpoint", server_->connection().endpoint, "8:acs:x"});
    EXPECT_EQ(run(badToken), 3) << badToken.output();
    EXPECT_TRUE(badToken.said("cannot sign in")) << badToken.output();
    EXPECT_TRUE(badToken.said("401/4507")) << badToken.output();

    // The right endpoint with a wrong access key: the identity API refuses to mint a token.
    std::string wrongKey =
        "endpoint=" + server_->connection().endpoint + ";accesskey=d3Jvbmcga2V5IHdyb25nIGtleSB3cm9uZyBrZXkgISE=";
    Process& badKey = start({"answer", "--connection-string", wrongKey});
    EXPECT_EQ(run(badKey), 3) << badKey.output();
    EXPECT_TRUE(badKey.said("cannot get a token from the identity API")) << badKey.output();
    EXPECT_EQ(badKey.output().find("d3Jvbmcga2V5"), std::string::npos) << "the key is never shown";

    // Nothing listens there.
    Process& noServer = start({"answer", "--token", rest_->issueToken(rest_->createIdentity()), "--endpoint",
                               "http://127.0.0.1:1/"});
    EXPECT_EQ(run(noServer), 7) << noServer.output();
}

}  // namespace
