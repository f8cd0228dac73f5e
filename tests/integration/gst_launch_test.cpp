// callbin on its own, the way a user first tries it: launch lines with server-url, access-token and
// target against the real calling-server process, built with gst_parse_launch exactly as
// gst-launch-1.0 builds them, and a real gst-launch-1.0 process. Each side sends a tone of its own;
// a ToneMeter at the end of each line tells whether the other side's tone arrives.
#include "launch.h"
#include "main_loop.h"
#include "protocol/access_token.h"
#include "rest_client.h"
#include "server_process.h"
#include "tone_meter.h"

#include <gio/gio.h>
#include <gst/gst.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using calling::test::Launched;
using calling::test::ToneMeter;

namespace {

constexpr double kAliceTone = 440;
constexpr double kBobTone = 1000;

// What comes after callbin in a user's line to hear the call; the appsink measures it.
constexpr const char* kListen =
    " call. ! queue ! opusdec ! audioconvert ! audioresample ! appsink name=out";

std::string sender(double tone)
{
    return "audiotestsrc is-live=true wave=sine volume=0.5 freq=" + std::to_string(int(tone)) + " ! ";
}

class GstLaunchTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        gst_init(nullptr, nullptr);
        context_ = g_main_context_new();
        g_main_context_push_thread_default(context_);
        std::string why;
        server_ = calling::test::ServerProcess::start({}, &why);
        ASSERT_TRUE(server_) << why;
        rest_ = std::make_unique<calling::test::RestClient>(server_->connection());
        aliceId_ = rest_->createIdentity();
        bobId_ = rest_->createIdentity();
        aliceToken_ = rest_->issueToken(aliceId_);
        bobToken_ = rest_->issueToken(bobId_);
        ASSERT_FALSE(aliceToken_.empty() || bobToken_.empty());
    }

    void TearDown() override
    {
        launched_.clear();  // hang up while the server still runs
        if (server_)
            server_->stop();
        g_main_context_pop_thread_default(context_);
        g_main_context_unref(context_);
    }

    // callbin's own settings for a launch line.
    std::string callbin(const std::string& token, const std::string& extra = "") const
    {
        return "callbin name=call server-url=" + server_->connection().endpoint + " access-token=" + token +
               (extra.empty() ? "" : " " + extra);
    }

    Launched& launch(const std::string& description)
    {
        launched_.push_back(std::make_unique<Launched>(description));
        Launched& launched = *launched_.back();
        EXPECT_TRUE(launched.parseError.empty()) << launched.parseError;
        return launched;
    }

    bool waitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 15s)
    {
        return calling::test::iterateUntil(
            context_,
            [&] {
                for (auto& launched : launched_)
                    launched->pump();
                return condition();
            },
            timeout);
    }

    static bool hears(const Launched& listener, double tone) { return listener.meter->dominance(tone) > 0.8; }

    GMainContext* context_ = nullptr;
    std::unique_ptr<calling::test::ServerProcess> server_;
    std::unique_ptr<calling::test::RestClient> rest_;
    std::string aliceId_;
    std::string bobId_;
    std::string aliceToken_;
    std::string bobToken_;
    std::vector<std::unique_ptr<Launched>> launched_;
};

TEST_F(GstLaunchTest, ALaunchLineCallsAnotherThatAnswersEachHearsTheOtherAndAHangUpEndsBoth)
{
    // Bob answers the first incoming call; his name goes through the child proxy.
    Launched& bob = launch(sender(kBobTone) + callbin(bobToken_, "signaller::display-name=Bob") + kListen);
    ASSERT_TRUE(bob.play());
    ASSERT_TRUE(waitFor([&] { return bob.reached("waiting") || !bob.errorMessage.empty(); }))
        << bob.describe();
    ASSERT_EQ(bob.errorMessage, "");

    Launched& alice =
        launch(sender(kAliceTone) + callbin(aliceToken_, "target=" + bobId_ + " display-name=Alice") + kListen);
    ASSERT_TRUE(alice.play());
    ASSERT_TRUE(waitFor([&] {
        return (hears(alice, kBobTone) && hears(bob, kAliceTone)) || !alice.errorMessage.empty() ||
               !bob.errorMessage.empty();
    }, 20s)) << "Alice: " << alice.describe() << ", hears " << alice.meter->dominance(kBobTone) << "; Bob: "
             << bob.describe() << ", hears " << bob.meter->dominance(kAliceTone);
    ASSERT_EQ(alice.errorMessage, "");
    ASSERT_EQ(bob.errorMessage, "");

    EXPECT_EQ(alice.states, (std::vector<std::string>{"connecting", "calling", "ringing", "connected"}));
    EXPECT_EQ(bob.states, (std::vector<std::string>{"connecting", "waiting", "ringing", "connected"}));
    EXPECT_EQ(alice.peerIds.back(), bobId_);
    EXPECT_EQ(bob.peerIds.back(), aliceId_);

    // Alice's remote pad carries Bob's id and the name set through signaller::display-name.
    g_autoptr(GstElement) aliceCall = alice.element("call");
    GstIterator* pads = gst_element_iterate_src_pads(aliceCall);
    GValue item = G_VALUE_INIT;
    std::string participant, displayName;
    while (gst_iterator_next(pads, &item) == GST_ITERATOR_OK) {
        g_autofree gchar* id = nullptr;
        g_autofree gchar* name = nullptr;
        g_object_get(g_value_get_object(&item), "participant-id", &id, "display-name", &name, nullptr);
        participant = id ? id : "";
        displayName = name ? name : "";
        g_value_reset(&item);
    }
    g_value_unset(&item);
    gst_iterator_free(pads);
    EXPECT_EQ(participant, bobId_);
    EXPECT_EQ(displayName, "Bob");

    // Alice's pipeline stops: she hangs up, and Bob's call ends with 0/0, then his pipeline's EOS.
    alice.stop();
    ASSERT_TRUE(waitFor([&] { return bob.eos || !bob.errorMessage.empty(); })) << bob.describe();
    ASSERT_TRUE(bob.ended) << bob.describe();
    EXPECT_EQ(bob.ended->code, 0);
    EXPECT_EQ(bob.ended->subCode, 0);
    EXPECT_TRUE(bob.endedBeforeEos) << "call-ended comes first, then EOS";
    EXPECT_EQ(bob.states.back(), "ended");
    EXPECT_EQ(bob.errorMessage, "");
}

TEST_F(GstLaunchTest, ARefusedTokenIsAnErrorThatSaysWhyAndNeverShowsTheToken)
{
    // A well-formed token of this server whose signature does not match.
    std::string forged = aliceToken_.substr(0, aliceToken_.size() - 4) +
                         (aliceToken_.substr(aliceToken_.size() - 4) == "AAAA" ? "BBBB" : "AAAA");
    Launched& alice = launch(sender(kAliceTone) + callbin(forged, "target=" + bobId_) + kListen);
    ASSERT_TRUE(alice.play());
    ASSERT_TRUE(waitFor([&] { return !alice.errorMessage.empty(); })) << alice.describe();
    EXPECT_EQ(alice.errorDomain, GST_RESOURCE_ERROR);
    EXPECT_EQ(alice.errorCode, GST_RESOURCE_ERROR_NOT_AUTHORIZED);
    EXPECT_NE(alice.errorMessage.find("401/4507"), std::string::npos) << alice.errorMessage;
    EXPECT_NE(alice.errorMessage.find("calling-server"), std::string::npos) << alice.errorMessage;
    for (const std::string& text : {alice.errorMessage, alice.errorDebug}) {
        EXPECT_EQ(text.find(forged), std::string::npos) << "the token is shown: " << text;
        EXPECT_EQ(text.find(forged.substr(0, 20)), std::string::npos) << "part of the token is shown: " << text;
    }
    EXPECT_FALSE(alice.reached("calling"));
}

TEST_F(GstLaunchTest, ACallThatEndsWithoutAHangUpIsAnErrorAfterItsCallEndedMessage)
{
    // Bob has no agent connected: calling-server ends the call at once with 480/10037.
    Launched& alice = launch(sender(kAliceTone) + callbin(aliceToken_, "target=" + bobId_) + kListen);
    ASSERT_TRUE(alice.play());
    ASSERT_TRUE(waitFor([&] { return !alice.errorMessage.empty(); })) << alice.describe();
    ASSERT_TRUE(alice.ended) << alice.describe();
    EXPECT_EQ(alice.ended->code, 480);
    EXPECT_EQ(alice.ended->subCode, 10037);
    EXPECT_NE(alice.errorMessage.find("480/10037"), std::string::npos) << alice.errorMessage;
    EXPECT_FALSE(alice.eos);
    EXPECT_EQ(alice.states, (std::vector<std::string>{"connecting", "calling", "ended"}));
}

TEST_F(GstLaunchTest, AConnectedCallEndsWithEosWhateverEndsItAndATokenThatExpiresIsNoError)
{
    // Alice's token expires three seconds from now, during the call: calling-server ends it with
    // 495/4507 for both. A connected call ends with EOS however it ends, so recordings finalise.
    std::ifstream keyFile(server_->stateDir() + "/signing.key", std::ios::binary);
    std::string signingKey((std::istreambuf_iterator<char>(keyFile)), std::istreambuf_iterator<char>());
    ASSERT_FALSE(signingKey.empty());
    int64_t now = g_get_real_time() / G_USEC_PER_SEC;
    std::string shortToken = calling::protocol::issueAccessToken({aliceId_, {"voip"}, now, now + 3, 0}, signingKey);

    Launched& bob = launch(sender(kBobTone) + callbin(bobToken_) + kListen);
    ASSERT_TRUE(bob.play());
    ASSERT_TRUE(waitFor([&] { return bob.reached("waiting") || !bob.errorMessage.empty(); })) << bob.describe();
    Launched& alice = launch(sender(kAliceTone) + callbin(shortToken, "target=" + bobId_) + kListen);
    ASSERT_TRUE(alice.play());
    ASSERT_TRUE(waitFor([&] { return (alice.reached("connected") && bob.reached("connected")) || alice.eos ||
                                     !alice.errorMessage.empty() || !bob.errorMessage.empty(); }))
        << "Alice: " << alice.describe() << "; Bob: " << bob.describe();
    ASSERT_TRUE(waitFor([&] { return (alice.eos && bob.eos) || !alice.errorMessage.empty() ||
                                     !bob.errorMessage.empty(); }, 10s))
        << "Alice: " << alice.describe() << "; Bob: " << bob.describe();
    for (Launched* side : {&alice, &bob}) {
        ASSERT_TRUE(side->ended) << side->describe();
        EXPECT_EQ(side->ended->code, 495) << side->describe();
        EXPECT_EQ(side->ended->subCode, 4507) << side->describe();
        EXPECT_TRUE(side->endedBeforeEos) << side->describe();
        EXPECT_EQ(side->errorMessage, "");
    }
}

TEST_F(GstLaunchTest, LosingCallingServerDuringAConnectedCallIsAWarningAndEos)
{
    Launched& bob = launch(sender(kBobTone) + callbin(bobToken_) + kListen);
    ASSERT_TRUE(bob.play());
    ASSERT_TRUE(waitFor([&] { return bob.reached("waiting") || !bob.errorMessage.empty(); })) << bob.describe();
    Launched& alice = launch(sender(kAliceTone) + callbin(aliceToken_, "target=" + bobId_) + kListen);
    ASSERT_TRUE(alice.play());
    ASSERT_TRUE(waitFor([&] { return hears(bob, kAliceTone) || !alice.errorMessage.empty() ||
                                     !bob.errorMessage.empty(); }, 20s))
        << "Alice: " << alice.describe() << "; Bob: " << bob.describe();

    server_->stop();
    ASSERT_TRUE(waitFor([&] { return (alice.eos && bob.eos) || !alice.errorMessage.empty() ||
                                     !bob.errorMessage.empty(); }))
        << "Alice: " << alice.describe() << "; Bob: " << bob.describe();
    for (Launched* side : {&alice, &bob}) {
        EXPECT_EQ(side->errorMessage, "");
        EXPECT_NE(side->warningMessage.find("408/40104"), std::string::npos) << side->warningMessage;
    }
}

TEST_F(GstLaunchTest, AMissingServerUrlIsASettingsError)
{
    Launched& alice = launch(sender(kAliceTone) + "callbin name=call access-token=" + aliceToken_ + kListen);
    ASSERT_TRUE(alice.play());
    ASSERT_TRUE(waitFor([&] { return !alice.errorMessage.empty(); })) << alice.describe();
    EXPECT_EQ(alice.errorDomain, GST_RESOURCE_ERROR);
    EXPECT_EQ(alice.errorCode, GST_RESOURCE_ERROR_SETTINGS);
    EXPECT_NE(alice.errorMessage.find("server-url"), std::string::npos) << alice.errorMessage;
    EXPECT_EQ(alice.errorMessage.find(aliceToken_), std::string::npos);
}

TEST_F(GstLaunchTest, AnHttpsServerIsReachedWithCaFileAndRefusedWithoutIt)
{
    std::string dir = calling::test::makeTempDir();
    ASSERT_EQ(calling::test::makeLoopbackCertificate(dir), "");
    std::string cert = dir + "/cert.pem";
    std::string why;
    auto tls = calling::test::ServerProcess::start({.extraArgs = {"--tls-cert", cert, "--tls-key", dir + "/key.pem"}},
                                                   &why);
    ASSERT_TRUE(tls) << why;
    std::string endpoint = tls->connection().endpoint;
    ASSERT_EQ(endpoint.rfind("https://", 0), 0u) << endpoint;
    calling::test::RestClient rest(tls->connection(), cert);
    std::string token = rest.issueToken(rest.createIdentity());

    Launched& trusting = launch(sender(kBobTone) + "callbin name=call server-url=" + endpoint + " access-token=" +
                                token + " signaller::ca-file=" + cert + kListen);
    Launched& distrusting =
        launch(sender(kBobTone) + "callbin name=call server-url=" + endpoint + " access-token=" + token + kListen);
    ASSERT_TRUE(trusting.play());
    ASSERT_TRUE(distrusting.play());
    EXPECT_TRUE(waitFor([&] { return trusting.reached("waiting") || !trusting.errorMessage.empty(); }))
        << trusting.describe();
    EXPECT_EQ(trusting.errorMessage, "");
    EXPECT_TRUE(waitFor([&] { return !distrusting.errorMessage.empty(); })) << distrusting.describe();
    EXPECT_NE(distrusting.errorMessage.find("408/40104"), std::string::npos) << distrusting.errorMessage;
    EXPECT_EQ(distrusting.errorDomain, GST_RESOURCE_ERROR);
    EXPECT_EQ(distrusting.errorCode, GST_RESOURCE_ERROR_OPEN_READ_WRITE);
    launched_.clear();  // before the server goes
    tls->stop();
    calling::test::removeTree(dir);
}

TEST_F(GstLaunchTest, GstLaunchAnswersACallAndExitsZeroWhenTheCallerHangsUp)
{
    g_autofree gchar* launcher = g_find_program_in_path("gst-launch-1.0");
    if (!launcher)
        GTEST_SKIP() << "gst-launch-1.0 is not installed (gstreamer1.0-tools)";
    // What a user types to answer a call with a tone; -m prints callbin's messages.
    std::vector<std::string> args = {"-m", "audiotestsrc", "is-live=true", "freq=1000", "volume=0.5", "!",
                                     "callbin", "name=call", "server-url=" + server_->connection().endpoint,
                                     "access-token=" + bobToken_, "call.", "!", "queue", "!", "opusdec", "!",
                                     "fakesink"};
    args.insert(args.begin(), "gst-launch-1.0");
    calling::test::Process bob(args);
    ASSERT_EQ(bob.startError, "");
    ASSERT_TRUE(waitFor([&] { return bob.said("call-state, state=(string)waiting") || bob.exited(); }))
        << bob.output();
    ASSERT_FALSE(bob.exited()) << bob.output();

    Launched& alice = launch(sender(kAliceTone) + callbin(aliceToken_, "target=" + bobId_) + kListen);
    ASSERT_TRUE(alice.play());
    ASSERT_TRUE(waitFor([&] { return hears(alice, kBobTone) || !alice.errorMessage.empty() || bob.exited(); }, 20s))
        << alice.describe() << "\ngst-launch-1.0 said:\n" << bob.output();
    ASSERT_EQ(alice.errorMessage, "");

    alice.stop();
    ASSERT_TRUE(waitFor([&] { return bob.exited(); })) << bob.output();
    EXPECT_EQ(bob.exitStatus(), 0) << bob.output();
    EXPECT_TRUE(bob.said("call-ended, code=(int)0, sub-code=(int)0")) << bob.output();
    EXPECT_TRUE(bob.said("Got EOS from element \"pipeline0\"")) << bob.output();
    EXPECT_FALSE(bob.said(bobToken_)) << "gst-launch-1.0 -m must not print the token";
}

}  // namespace
