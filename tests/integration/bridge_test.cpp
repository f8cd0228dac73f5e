// `gst-call bridge` as a user runs it (a real gst-call process, the real calling-server), called by
// two agents of the library in this process, each with a tone of its own for a microphone, a
// picture of its own, a ToneMeter for a speaker and a FrameMeter view of what it receives: each
// must hear the other's tone and see the other's picture, through the bridge.
#include "frame_meter.h"
#include "launch.h"
#include "main_loop.h"
#include "rest_client.h"
#include "server_process.h"
#include "tone_meter.h"

#include <calling/call_client.h>
#include <calling/local_video_stream.h>
#include <calling/renderer.h>

#include <gst/gst.h>
#include <gtest/gtest.h>

#include <csignal>
#include <memory>
#include <optional>
#include <regex>
#include <string>

using namespace std::chrono_literals;
using calling::test::FrameMeter;
using calling::test::Process;
using calling::test::ToneMeter;

namespace {

struct Caller {
    double tone = 0;
    std::string pattern;  // videotestsrc's
    uint32_t centre = 0;  // the picture's centre, 0xRRGGBB
    std::unique_ptr<calling::CallClient> client;
    std::shared_ptr<calling::CallAgent> agent;
    std::shared_ptr<calling::LocalVideoStream> picture;
    std::shared_ptr<calling::Call> call;
    std::shared_ptr<ToneMeter> speaker = ToneMeter::create();
    std::shared_ptr<FrameMeter> seen = FrameMeter::create();
    std::unique_ptr<calling::Renderer> renderer;
    std::shared_ptr<calling::RendererView> view;
};

class BridgeTest : public ::testing::Test {
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
    }

    void TearDown() override
    {
        for (Caller* caller : {&alice_, &bob_}) {
            caller->view.reset();
            caller->renderer.reset();
            caller->call.reset();
            caller->picture.reset();
            caller->agent.reset();
            caller->client.reset();
        }
        bridge_.reset();
        if (server_)
            server_->stop();
        g_main_context_pop_thread_default(context_);
        g_main_context_unref(context_);
    }

    bool waitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 15s)
    {
        return calling::test::iterateUntil(context_, condition, timeout);
    }

    // Signs `caller` in; its microphone is a sine at its tone, its picture a videotestsrc pattern
    // (an application's source: LocalVideoStream with an element factory).
    void signIn(Caller& caller)
    {
        caller.client = std::make_unique<calling::CallClient>(
            calling::CallClientOptions{.endpoint = server_->connection().endpoint, .callbackContext = context_});
        double tone = caller.tone;
        auto speaker = caller.speaker;
        calling::CallAgentOptions options{.displayName = "Caller"};
        options.audio.microphone = [tone] {
            GstElement* source = gst_element_factory_make("audiotestsrc", nullptr);
            g_object_set(source, "is-live", TRUE, "freq", tone, nullptr);
            return source;
        };
        options.audio.speaker = [speaker] { return speaker->makeSink(); };
        std::string pattern = caller.pattern;
        caller.picture = std::make_shared<calling::LocalVideoStream>(
            calling::VideoDeviceInfo{.id = "test:" + pattern, .name = pattern}, [pattern] {
                GstElement* source = gst_element_factory_make("videotestsrc", nullptr);
                gst_util_set_object_arg(G_OBJECT(source), "pattern", pattern.c_str());
                g_object_set(source, "is-live", TRUE, nullptr);
                return source;
            });
        std::optional<calling::Result<std::shared_ptr<calling::CallAgent>>> agent;
        caller.client->createCallAgent(calling::CommunicationTokenCredential(rest_->issueToken(rest_->createIdentity())),
                                       options, [&](calling::Result<std::shared_ptr<calling::CallAgent>> made) { agent = made; });
        ASSERT_TRUE(waitFor([&] { return agent.has_value(); }));
        ASSERT_TRUE(agent->ok()) << agent->error().message;
        caller.agent = agent->value();
    }

    void place(Caller& caller, const std::string& target)
    {
        calling::StartCallOptions options;
        options.videoOptions.localVideoStreams = {caller.picture};
        caller.call = caller.agent->call({calling::CommunicationUserIdentifier{target}}, options);
    }

    // A view of the bridge's video, into the caller's FrameMeter.
    void watch(Caller& caller)
    {
        std::shared_ptr<calling::RemoteVideoStream> stream;
        ASSERT_TRUE(waitFor([&] {
            for (const auto& participant : caller.call->remoteParticipants())
                for (const auto& candidate : participant->videoStreams())
                    if (candidate->isAvailable())
                        stream = candidate;
            return stream != nullptr;
        }));
        caller.renderer = std::make_unique<calling::Renderer>(stream);
        auto seen = caller.seen;
        std::optional<calling::Result<std::shared_ptr<calling::RendererView>>> made;
        caller.renderer->createView({.sink = [seen] { return seen->makeSink(); }},
                                    [&](calling::Result<std::shared_ptr<calling::RendererView>> view) { made = view; });
        ASSERT_TRUE(waitFor([&] { return made.has_value(); }));
        ASSERT_TRUE(made->ok()) << made->error().message;
        caller.view = made->value();
    }

    GMainContext* context_ = nullptr;
    std::unique_ptr<calling::test::ServerProcess> server_;
    std::unique_ptr<calling::test::RestClient> rest_;
    std::unique_ptr<Process> bridge_;
    Caller alice_{.tone = 440, .pattern = "smpte", .centre = 0x00ff00};
    Caller bob_{.tone = 880, .pattern = "red", .centre = 0xff0000};
};

TEST_F(BridgeTest, TwoCallersHearAndSeeEachOther)
{
    const char* gstCall = g_getenv("GST_CALL");
    bridge_ = std::make_unique<Process>(std::vector<std::string>{gstCall ? gstCall : "gst-call", "bridge"},
                                        std::map<std::string, std::string>{
                                            {"CALLING_CONNECTION_STRING", server_->connection().toString()}});
    ASSERT_EQ(bridge_->startError, "");
    ASSERT_TRUE(waitFor([&] { return bridge_->said("waiting: for a call to each identity"); })) << bridge_->output();
    std::smatch a, b;
    const std::string output = bridge_->output();
    ASSERT_TRUE(std::regex_search(output, a, std::regex(R"(identity a: (8:acs:\S+))"))) << output;
    ASSERT_TRUE(std::regex_search(output, b, std::regex(R"(identity b: (8:acs:\S+))"))) << output;

    signIn(alice_);
    signIn(bob_);
    place(alice_, a[1].str());
    place(bob_, b[1].str());
    for (Caller* caller : {&alice_, &bob_})
        ASSERT_TRUE(waitFor([&] { return caller->call->state() == calling::CallState::Connected; }, 20s))
            << bridge_->output();
    watch(alice_);
    watch(bob_);

    EXPECT_TRUE(waitFor([&] { return alice_.speaker->dominance(bob_.tone) > 0.8; }, 20s))
        << "Alice's dominance at 880 Hz: " << alice_.speaker->dominance(bob_.tone);
    EXPECT_TRUE(waitFor([&] { return bob_.speaker->dominance(alice_.tone) > 0.8; }, 20s))
        << "Bob's dominance at 440 Hz: " << bob_.speaker->dominance(alice_.tone);
    EXPECT_TRUE(waitFor([&] { return alice_.seen->sees(alice_.seen->width(), alice_.seen->height(), bob_.centre) &&
                                     alice_.seen->width() > 0; }, 20s))
        << "Alice sees " << alice_.seen->describe();
    EXPECT_TRUE(waitFor([&] { return bob_.seen->sees(bob_.seen->width(), bob_.seen->height(), alice_.centre) &&
                                     bob_.seen->width() > 0; }, 20s))
        << "Bob sees " << bob_.seen->describe();

    // Alice hangs up: the bridge hangs up Bob's call and exits 0.
    alice_.call->hangUp();
    EXPECT_TRUE(waitFor([&] { return bob_.call->state() == calling::CallState::Disconnected; }, 15s))
        << bridge_->output();
    ASSERT_TRUE(waitFor([&] { return bridge_->exited(); }, 15s)) << bridge_->output();
    EXPECT_EQ(bridge_->exitStatus(), 0) << bridge_->output();
    EXPECT_TRUE(bridge_->said("ended a: 0/0")) << bridge_->output();
    EXPECT_TRUE(bridge_->said("ended b: 0/0")) << bridge_->output();
}

}  // namespace
