// The web client calling-server serves, in Debian's Chromium (headless, fake camera and microphone,
// driven through playwright-core by driver.mjs), in calls with GStreamer agents over real
// webrtcbin: a callbin launch line (Opus and VP8, or H.264, both ways) and the library's
// CallAgent (mute and the published streams). Everything runs for real on loopback: the calling-server process, the
// browser, webrtcbin. What is checked is what a user checks: the picture and the sound that
// arrive on each side, the page's words, the end reasons.
#include "browser_driver.h"
#include "frame_meter.h"
#include "launch.h"
#include "main_loop.h"
#include "rest_client.h"
#include "server_process.h"
#include "tone_meter.h"

#include <calling/call_client.h>
#include <calling/renderer.h>

#include <gst/gst.h>
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using calling::test::BrowserDriver;
using calling::test::FrameMeter;
using calling::test::Launched;

namespace {

// Chromium's fake camera: 640x480, a green field with a moving pie and a clock. Its fake
// microphone: a beep.
constexpr int kFakeCameraWidth = 640;
constexpr int kFakeCameraHeight = 480;
// What the GStreamer agent sends: a tone and 320x240 test bars.
constexpr double kAgentTone = 440;
constexpr int kAgentWidth = 320;
constexpr int kAgentHeight = 240;

// The page's call, through the page's own object (app.js exposes it as window.calling).
constexpr const char* kStats = "await window.calling.call.mediaStats()";

class BrowserTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        gst_init(nullptr, nullptr);
        context_ = g_main_context_new();
        g_main_context_push_thread_default(context_);
        std::string why;
        std::string web = std::string(g_getenv("CALLING_SOURCE_ROOT")) + "/web";
        server_ = calling::test::ServerProcess::start({.extraArgs = {"--web-root", web, "--demo-tokens"}}, &why);
        ASSERT_TRUE(server_) << why;
        rest_ = std::make_unique<calling::test::RestClient>(server_->connection());
        agentId_ = rest_->createIdentity();
        agentToken_ = rest_->issueToken(agentId_);
        ASSERT_FALSE(agentToken_.empty());
        browser_ = std::make_unique<BrowserDriver>(context_, [this] { pump(); });
        ASSERT_TRUE(browser_->start(&why)) << why;
    }

    void TearDown() override
    {
        if (HasFailure() && browser_)
            std::cerr << "The browser said:\n" << browser_->log();
        browser_.reset();
        launched_.clear();  // hang up while the server still runs
        call_.reset();
        agent_.reset();
        client_.reset();
        if (server_)
            server_->stop();
        g_main_context_pop_thread_default(context_);
        g_main_context_unref(context_);
    }

    void pump()
    {
        for (auto& launched : launched_)
            launched->pump();
    }

    bool waitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 15s)
    {
        return calling::test::iterateUntil(context_, [&] {
            pump();
            return condition();
        }, timeout);
    }

    // The page, signed in with `token` (a new demo identity when empty, through the page's button):
    // returns the identity the page shows.
    std::string openSignedIn(const std::string& token)
    {
        auto check = [](const BrowserDriver::Answer& answer) {
            EXPECT_TRUE(answer.ok) << answer.error;
            return answer.ok;
        };
        if (!check(browser_->open(server_->connection().endpoint)))
            return {};
        if (token.empty()) {
            if (!check(browser_->waitFor("!document.querySelector('#demo-button').hidden")) ||
                !check(browser_->click("#demo-button")) ||
                !check(browser_->waitFor("document.querySelector('#token').value.length > 0")))
                return {};
        } else if (!check(browser_->fill("#token", token))) {
            return {};
        }
        if (!check(browser_->fill("#display-name", "Browser")) || !check(browser_->click("#sign-in-button")) ||
            !check(browser_->waitFor("!document.querySelector('#dial').hidden")))
            return {};
        std::string shown = browser_->text("#identity").string();
        const std::string prefix = "Signed in as ";
        EXPECT_EQ(shown.rfind(prefix, 0), 0u) << shown;
        return shown.substr(std::min(shown.size(), prefix.size()));
    }

    // A callbin launch line that sends a tone and test bars and decodes what it receives into a
    // ToneMeter ("out") and a FrameMeter ("frames"); it calls `target`, or answers when empty.
    // With `h264`, it prefers H.264 and decodes H.264.
    Launched& launchAgent(const std::string& target, bool h264 = false)
    {
        std::string line = "audiotestsrc is-live=true wave=sine volume=0.5 freq=" + std::to_string(int(kAgentTone)) +
                           " ! callbin name=call server-url=" + server_->connection().endpoint + " access-token=" +
                           agentToken_ + " display-name=Agent" + (target.empty() ? "" : " target=" + target) +
                           (h264 ? " video-codecs=h264,vp8" : "") +
                           " videotestsrc is-live=true ! video/x-raw,width=" + std::to_string(kAgentWidth) +
                           ",height=" + std::to_string(kAgentHeight) + ",framerate=30/1 ! call.video_0"
                           " call. ! audio/x-opus ! queue ! opusdec ! audioconvert ! audioresample ! appsink name=out" +
                           (h264 ? " call. ! video/x-h264 ! queue ! h264parse ! openh264dec"
                                 : " call. ! video/x-vp8 ! queue ! vp8dec") +
                           " ! videoconvert ! appsink name=frames";
        launched_.push_back(std::make_unique<Launched>(line));
        Launched& launched = *launched_.back();
        EXPECT_EQ(launched.parseError, "");
        if (g_autoptr(GstElement) frames = launched.element("frames"))
            agentFrames_->attach(frames);
        EXPECT_TRUE(launched.play());
        return launched;
    }

    // The agent sees the browser's fake camera (its size, not black) and hears its microphone.
    void expectAgentReceivesTheBrowser(const Launched& agent)
    {
        EXPECT_TRUE(waitFor([&] {
            return agentFrames_->frames() >= 30 && agentFrames_->width() == kFakeCameraWidth &&
                   agentFrames_->height() == kFakeCameraHeight && agentFrames_->brightness() > 20;
        })) << agentFrames_->describe();
        EXPECT_TRUE(waitFor([&] { return agent.meter->rmsDb() > -40; }))
            << "the browser's microphone as the agent hears it: " << agent.meter->rmsDb() << " dBFS";
    }

    // The page shows the agent's picture at its size with framesDecoded rising, and plays its tone.
    void expectBrowserReceivesTheAgent()
    {
        auto video = browser_->waitFor(std::string("(") + kStats + ").video?.framesDecoded > 0");
        ASSERT_TRUE(video.ok) << video.error;
        double decoded = browser_->evaluate(kStats).number("video.framesDecoded");
        auto rising = browser_->waitFor("(" + std::string(kStats) + ").video.framesDecoded >= " +
                                        std::to_string(int(decoded) + 30));
        EXPECT_TRUE(rising.ok) << rising.error << "; framesDecoded was " << decoded;
        auto size = browser_->waitFor("document.querySelector('#remote-video').videoWidth > 0");
        EXPECT_TRUE(size.ok) << size.error;
        EXPECT_EQ(browser_->evaluate("document.querySelector('#remote-video').videoWidth").number(), kAgentWidth);
        EXPECT_EQ(browser_->evaluate("document.querySelector('#remote-video').videoHeight").number(), kAgentHeight);
        auto shown = browser_->waitFor("!document.querySelector('#remote-video').hidden");
        EXPECT_TRUE(shown.ok) << shown.error;

        double energy = browser_->evaluate(kStats).number("audio.totalAudioEnergy");
        auto louder = browser_->waitFor("(" + std::string(kStats) + ").audio.totalAudioEnergy > " +
                                        std::to_string(energy + 0.1) + " && (" + kStats + ").audio.audioLevel > 0.1");
        EXPECT_TRUE(louder.ok) << louder.error << "; " << browser_->evaluate(kStats).json;
        // Who is speaking: the agent's tone lights its badge.
        EXPECT_TRUE(browser_->waitFor("!document.querySelector('#remote-speaking').hidden").ok);
    }

    std::string artifact(const std::string& name)
    {
        std::string dir = g_getenv("BROWSER_ARTIFACTS") ? g_getenv("BROWSER_ARTIFACTS") : ".";
        g_mkdir_with_parents(dir.c_str(), 0755);
        return dir + "/" + name;
    }

    GMainContext* context_ = nullptr;
    std::unique_ptr<calling::test::ServerProcess> server_;
    std::unique_ptr<calling::test::RestClient> rest_;
    std::unique_ptr<BrowserDriver> browser_;
    std::string agentId_;
    std::string agentToken_;
    std::vector<std::unique_ptr<Launched>> launched_;
    std::shared_ptr<FrameMeter> agentFrames_ = FrameMeter::create();
    // The library's side, in MuteAndCamera...
    std::unique_ptr<calling::CallClient> client_;
    std::shared_ptr<calling::CallAgent> agent_;
    std::shared_ptr<calling::Call> call_;
};

TEST_F(BrowserTest, TheServerServesTheWebClientSafelyAndDemoIdentitiesOnlyWhenAskedOnLoopback)
{
    auto get = [&](const std::string& method, const std::string& path) {
        return rest_->send({.method = method, .pathAndQuery = path, .sign = false});
    };
    auto page = get("GET", "/");
    EXPECT_EQ(page.status, 200);
    EXPECT_EQ(page.header("content-type"), "text/html; charset=utf-8");
    EXPECT_NE(page.body.find("<script type=\"module\" src=\"app.js\">"), std::string::npos);
    EXPECT_NE(page.header("content-security-policy").find("default-src 'self'"), std::string::npos);
    auto script = get("GET", "/calling-client.js");
    EXPECT_EQ(script.status, 200);
    EXPECT_EQ(script.header("content-type"), "text/javascript; charset=utf-8");
    EXPECT_EQ(get("GET", "/style.css").header("content-type"), "text/css; charset=utf-8");
    auto head = get("HEAD", "/app.js");
    EXPECT_EQ(head.status, 200);
    EXPECT_EQ(head.body, "");
    // Nothing outside web/, nothing hidden, nothing but GET and HEAD.
    for (const char* path : {"/%2e%2e/README.md", "/..%2fREADME.md", "/%2E%2E/%2E%2E/etc/passwd", "/.git/config",
                             "/nothing.html", "/index.html%00.js"})
        EXPECT_EQ(get("GET", path).status, 404) << path;
    auto post = get("POST", "/index.html");
    EXPECT_EQ(post.status, 405);
    EXPECT_EQ(post.header("allow"), "GET, HEAD");

    // --demo-tokens (this server has it): an identity and a voip token without the access key.
    auto demo = get("POST", "/demo/identities");
    EXPECT_EQ(demo.status, 201) << demo.body;
    EXPECT_EQ(demo.string("identity.id").rfind("8:acs:", 0), 0u) << demo.body;
    EXPECT_FALSE(demo.string("accessToken.token").empty()) << demo.body;
    EXPECT_EQ(get("GET", "/demo/identities").status, 405);

    // Without the flag there is no such route; with it, a non-loopback address is refused.
    std::string why;
    auto plain = calling::test::ServerProcess::start({.extraArgs = {"--web-root", std::string(g_getenv("CALLING_SOURCE_ROOT")) + "/web"}}, &why);
    ASSERT_TRUE(plain) << why;
    calling::test::RestClient plainRest(plain->connection());
    EXPECT_EQ(plainRest.send({.method = "POST", .pathAndQuery = "/demo/identities", .sign = false}).status, 404);
    EXPECT_EQ(plainRest.send({.method = "GET", .pathAndQuery = "/", .sign = false}).status, 200);
    plain->stop();
    std::string dir = calling::test::makeTempDir();
    auto refused = calling::test::runCommand(
        {g_getenv("CALLING_SERVER"), "--listen", "0.0.0.0:0", "--state-dir", dir, "--demo-tokens"});
    calling::test::removeTree(dir);
    EXPECT_EQ(refused.exitStatus, 2) << refused.text;
    EXPECT_NE(refused.text.find("--demo-tokens"), std::string::npos) << refused.text;
    EXPECT_NE(refused.text.find("loopback"), std::string::npos) << refused.text;
}

TEST_F(BrowserTest, TheBrowserCallsAGStreamerAgentMediaFlowsBothWaysAndTheBrowserHangsUp)
{
    Launched& agent = launchAgent("");
    ASSERT_TRUE(waitFor([&] { return agent.reached("waiting") || !agent.errorMessage.empty(); })) << agent.describe();
    ASSERT_FALSE(openSignedIn(rest_->issueToken(rest_->createIdentity())).empty());

    ASSERT_TRUE(browser_->fill("#target", agentId_).ok);
    ASSERT_TRUE(browser_->click("#call-button").ok);
    auto connected = browser_->waitFor("document.querySelector('#call-state').textContent === 'Connected'");
    ASSERT_TRUE(connected.ok) << connected.error << "; agent: " << agent.describe();
    EXPECT_TRUE(waitFor([&] { return agent.reached("connected"); })) << agent.describe();
    EXPECT_NE(browser_->text("#remote-name").string().find("Agent"), std::string::npos);

    expectAgentReceivesTheBrowser(agent);
    expectBrowserReceivesTheAgent();
    // The in-call screenshot the README shows.
    auto shot = browser_->screenshot(artifact("in-call.png"));
    EXPECT_TRUE(shot.ok) << shot.error;

    // The browser hangs up: both ends see 0/0, and the agent's pipeline ends with EOS.
    ASSERT_TRUE(browser_->click("#hang-up-button").ok);
    auto ended = browser_->waitFor("document.querySelector('#call-state').textContent.startsWith('Disconnected')");
    EXPECT_TRUE(ended.ok) << ended.error;
    EXPECT_EQ(browser_->text("#call-state").string(), "Disconnected: the call was hung up (0/0)");
    ASSERT_TRUE(waitFor([&] { return agent.eos || !agent.errorMessage.empty(); })) << agent.describe();
    ASSERT_TRUE(agent.ended) << agent.describe();
    EXPECT_EQ(agent.ended->code, 0);
    EXPECT_EQ(agent.ended->subCode, 0);
    EXPECT_EQ(agent.errorMessage, "");
}

TEST_F(BrowserTest, AGStreamerAgentCallsTheBrowserMediaFlowsBothWaysAndTheAgentHangsUp)
{
    // The page gets its identity from the server's demo route, through its own button.
    std::string browserId = openSignedIn("");
    ASSERT_EQ(browserId.rfind("8:acs:", 0), 0u) << browserId;

    Launched& agent = launchAgent(browserId);
    auto ringing = browser_->waitFor("!document.querySelector('#incoming').hidden");
    ASSERT_TRUE(ringing.ok) << ringing.error << "; agent: " << agent.describe();
    EXPECT_NE(browser_->text("#incoming-caller").string().find(agentId_), std::string::npos);
    ASSERT_TRUE(browser_->click("#accept-button").ok);
    auto connected = browser_->waitFor("document.querySelector('#call-state').textContent === 'Connected'");
    ASSERT_TRUE(connected.ok) << connected.error << "; agent: " << agent.describe();

    expectAgentReceivesTheBrowser(agent);
    expectBrowserReceivesTheAgent();

    // The agent hangs up (its pipeline stops): the page says so, with the documented 0/0.
    agent.stop();
    auto ended = browser_->waitFor("document.querySelector('#call-state').textContent.startsWith('Disconnected')");
    EXPECT_TRUE(ended.ok) << ended.error;
    EXPECT_EQ(browser_->text("#call-state").string(), "Disconnected: the call was hung up (0/0)");
    EXPECT_EQ(browser_->text("#status").string(), "Call ended: the call was hung up (0/0).");
}

// An agent that prefers H.264 calls the browser: Chromium answers with H.264, and each side
// decodes the other's H.264.
TEST_F(BrowserTest, AnAgentPreferringH264CallsTheBrowserAndH264FlowsBothWays)
{
    std::string browserId = openSignedIn("");
    ASSERT_EQ(browserId.rfind("8:acs:", 0), 0u) << browserId;

    Launched& agent = launchAgent(browserId, true);
    auto ringing = browser_->waitFor("!document.querySelector('#incoming').hidden");
    ASSERT_TRUE(ringing.ok) << ringing.error << "; agent: " << agent.describe();
    ASSERT_TRUE(browser_->click("#accept-button").ok);
    auto connected = browser_->waitFor("document.querySelector('#call-state').textContent === 'Connected'");
    ASSERT_TRUE(connected.ok) << connected.error << "; agent: " << agent.describe();

    expectAgentReceivesTheBrowser(agent);
    expectBrowserReceivesTheAgent();
    EXPECT_EQ(browser_->evaluate("(" + std::string(kStats) + ").video.codec").string(), "video/H264");
    agent.stop();
}

TEST_F(BrowserTest, MuteAndTheCameraCrossBothWaysBetweenTheBrowserAndTheLibrary)
{
    // The library's agent answers, with a tone for a microphone and a null speaker.
    client_ = std::make_unique<calling::CallClient>(
        calling::CallClientOptions{.endpoint = server_->connection().endpoint, .callbackContext = context_});
    std::optional<calling::Result<std::shared_ptr<calling::CallAgent>>> created;
    calling::AudioDevices devices{
        .microphone = [] {
            GstElement* source = gst_element_factory_make("audiotestsrc", nullptr);
            g_object_set(source, "is-live", TRUE, "freq", kAgentTone, "volume", 0.5, nullptr);
            return source;
        },
        .speaker = [] { return gst_element_factory_make("fakesink", nullptr); },
    };
    client_->createCallAgent(calling::CommunicationTokenCredential(agentToken_),
                             {.displayName = "Library", .audio = devices},
                             [&](auto agent) { created = std::move(agent); });
    ASSERT_TRUE(waitFor([&] { return created.has_value(); }));
    ASSERT_TRUE(created->ok()) << created->error().message;
    agent_ = created->value();
    // It answers with the plugin's virtual camera (SMPTE bars, 640x480).
    std::shared_ptr<calling::LocalVideoStream> libraryCamera;
    for (const auto& device : client_->deviceManager()->getCameraList())
        if (device.name == "Virtual camera 1")
            libraryCamera = std::make_shared<calling::LocalVideoStream>(device);
    ASSERT_TRUE(libraryCamera);
    calling::AcceptCallOptions acceptOptions;
    acceptOptions.videoOptions.localVideoStreams = {libraryCamera};
    auto subscription = agent_->onIncomingCall([&](std::shared_ptr<calling::IncomingCall> incoming) {
        incoming->accept(acceptOptions, [&](calling::Result<std::shared_ptr<calling::Call>> accepted) {
            if (accepted)
                call_ = accepted.value();
        });
    });

    ASSERT_FALSE(openSignedIn(rest_->issueToken(rest_->createIdentity())).empty());
    ASSERT_TRUE(browser_->fill("#target", agentId_).ok);
    ASSERT_TRUE(browser_->click("#call-button").ok);
    ASSERT_TRUE(waitFor([&] {
        return call_ && call_->state() == calling::CallState::Connected && !call_->remoteParticipants().empty();
    })) << (call_ ? calling::toString(call_->state()) : "no call");
    std::shared_ptr<calling::RemoteParticipant> browser = call_->remoteParticipants().front();

    // The browser's camera, published when the call started, is available.
    auto camera = [&] {
        auto streams = browser->videoStreams();
        return streams.empty() ? std::optional<bool>() : std::optional<bool>(streams.front()->isAvailable());
    };
    EXPECT_TRUE(waitFor([&] { return camera() == true; }));
    // A view of it shows Chromium's fake camera: the stream names the msid of the browser's m-line.
    calling::Renderer renderer(browser->videoStreams().front());
    auto frames = FrameMeter::create();
    calling::CreateViewOptions options;
    options.sink = [frames] { return frames->makeSink(); };
    std::optional<calling::Result<std::shared_ptr<calling::RendererView>>> view;
    renderer.createView(options, [&](auto made) { view = std::move(made); });
    ASSERT_TRUE(waitFor([&] { return view.has_value(); }));
    ASSERT_TRUE(view->ok()) << view->error().message;
    EXPECT_TRUE(waitFor([&] { return frames->frames() > 5 && frames->width() == 640 && frames->brightness() > 20; }, 15s))
        << frames->describe();

    // The browser mutes and unmutes: the library's participant follows.
    ASSERT_TRUE(browser_->click("#mute-button").ok);
    EXPECT_TRUE(waitFor([&] { return browser->isMuted(); }));
    EXPECT_EQ(browser_->text("#mute-button").string(), "Unmute");
    ASSERT_TRUE(browser_->click("#mute-button").ok);
    EXPECT_TRUE(waitFor([&] { return !browser->isMuted(); }));

    // The browser turns its camera off and on: the stream stays, its availability follows.
    ASSERT_TRUE(browser_->click("#camera-button").ok);
    EXPECT_TRUE(waitFor([&] { return camera() == false; }));
    EXPECT_EQ(browser_->text("#camera-button").string(), "Turn camera on");
    ASSERT_TRUE(browser_->click("#camera-button").ok);
    EXPECT_TRUE(waitFor([&] { return camera() == true; }));

    // The library mutes and unmutes: the page shows it.
    call_->mute();
    auto muted = browser_->waitFor("!document.querySelector('#remote-muted').hidden");
    EXPECT_TRUE(muted.ok) << muted.error;
    call_->unmute();
    auto unmuted = browser_->waitFor("document.querySelector('#remote-muted').hidden");
    EXPECT_TRUE(unmuted.ok) << unmuted.error;
    // The library's camera: the page decodes it, and follows it off and on.
    auto framesRise = [&] {
        double decoded = browser_->evaluate(kStats).number("video.framesDecoded");
        return browser_->waitFor("(" + std::string(kStats) + ").video.framesDecoded >= " + std::to_string(int(decoded) + 30));
    };
    auto streamsRead = [&](const std::string& text) {
        return browser_->waitFor("document.querySelector('#remote-streams').textContent === '" + text + "'");
    };
    EXPECT_TRUE(streamsRead("camera on").ok) << browser_->text("#remote-streams").string();
    auto decoding = framesRise();
    EXPECT_TRUE(decoding.ok) << decoding.error;
    // The decoder's own frame size (the video element's reads 0 while the page keeps it hidden).
    EXPECT_EQ(browser_->evaluate(kStats).number("video.frameWidth"), 640);
    std::optional<calling::Result<calling::Done>> stopped;
    call_->stopVideo(libraryCamera, [&](calling::Result<calling::Done> result) { stopped = result; });
    ASSERT_TRUE(waitFor([&] { return stopped.has_value(); }));
    EXPECT_TRUE(stopped->ok());
    EXPECT_TRUE(streamsRead("camera off").ok) << browser_->text("#remote-streams").string();
    EXPECT_TRUE(browser_->waitFor("!document.querySelector('#remote-video-off').hidden").ok);
    std::optional<calling::Result<calling::Done>> started;
    call_->startVideo(libraryCamera, [&](calling::Result<calling::Done> result) { started = result; });
    ASSERT_TRUE(waitFor([&] { return started.has_value(); }));
    EXPECT_TRUE(started->ok());
    EXPECT_TRUE(streamsRead("camera on").ok) << browser_->text("#remote-streams").string();
    auto again = framesRise();
    EXPECT_TRUE(again.ok) << again.error;

    // The library hangs up: the page ends the call with 0/0.
    bool hungUp = false;
    call_->hangUp({}, [&](calling::Result<calling::Done>) { hungUp = true; });
    EXPECT_TRUE(waitFor([&] { return hungUp; }));
    auto ended = browser_->waitFor("document.querySelector('#call-state').textContent.startsWith('Disconnected')");
    EXPECT_TRUE(ended.ok) << ended.error;
    EXPECT_EQ(browser_->text("#call-state").string(), "Disconnected: the call was hung up (0/0)");
}

}  // namespace
