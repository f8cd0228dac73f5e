// pipelines/*.sh, run exactly as a user runs them: real gst-launch-1.0 processes, given the real
// calling-server and tokens through the environment. Each test checks what the pipeline makes: the
// recording (gst-discoverer-1.0, then decoded whole: the caller's tone and picture), what bridged
// callers hear and see, the HLS playlist and a decoded segment.
#include "frame_meter.h"
#include "discovered.h"
#include "launch.h"
#include "main_loop.h"
#include "rest_client.h"
#include "server_process.h"
#include "tone_meter.h"

#include <gst/gst.h>
#define GST_USE_UNSTABLE_API  // GstWebRTCPeerConnectionState; stable in practice since 1.14
#include <gst/webrtc/webrtc.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <functional>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using calling::test::Discovered;
using calling::test::FrameMeter;
using calling::test::discover;
using calling::test::Launched;
using calling::test::Process;

namespace {

// What pipelines/call-from-test-sources.sh sends: a 440 Hz tone and 640x480 SMPTE bars, whose
// centre is the green bar.
constexpr double kTestSourcesTone = 440;
constexpr int kTestSourcesWidth = 640;
constexpr int kTestSourcesHeight = 480;
constexpr uint32_t kSmpteCentre = 0x00ff00;

std::string pipeline(const std::string& name)
{
    return std::string(g_getenv("CALLING_SOURCE_ROOT")) + "/pipelines/" + name;
}

long long fileSize(const std::string& path)
{
    struct stat info = {};
    return stat(path.c_str(), &info) == 0 ? info.st_size : -1;
}

std::string readFile(const std::string& path)
{
    g_autofree char* text = nullptr;
    return g_file_get_contents(path.c_str(), &text, nullptr, nullptr) ? text : "";
}

class PipelinesTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        gst_init(nullptr, nullptr);
        context_ = g_main_context_new();
        g_main_context_push_thread_default(context_);
        std::string why;
        // A vanished endpoint ends its calls after a one-second grace window.
        server_ = calling::test::ServerProcess::start({.extraArgs = {"--grace-period=1"}}, &why);
        ASSERT_TRUE(server_) << why;
        rest_ = std::make_unique<calling::test::RestClient>(server_->connection());
        dir_ = calling::test::makeTempDir();
    }

    void TearDown() override
    {
        launched_.clear();  // hang up while the server still runs
        processes_.clear();
        if (server_)
            server_->stop();
        calling::test::removeTree(dir_);
        g_main_context_pop_thread_default(context_);
        g_main_context_unref(context_);
    }

    struct Identity {
        std::string id;
        std::string token;
    };

    Identity identity()
    {
        Identity made;
        made.id = rest_->createIdentity();
        made.token = rest_->issueToken(made.id);
        EXPECT_FALSE(made.token.empty());
        return made;
    }

    // Runs a pipelines/ script as written, with SERVER set and `env`.
    Process& run(const std::string& script, std::map<std::string, std::string> env)
    {
        env["SERVER"] = server_->connection().endpoint;
        processes_.push_back(std::make_unique<Process>(std::vector<std::string>{pipeline(script)}, env));
        Process& process = *processes_.back();
        EXPECT_EQ(process.startError, "");
        return process;
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

    // Runs call-from-test-sources.sh to `callee` until `connected` holds: the answering pipeline
    // connects to calling-server on its own time, and a call placed before that ends at once with
    // 480/10037 (callee offline), so such a call is placed again.
    Process* callFromTestSources(const Identity& caller, const Identity& callee, const std::function<bool()>& connected)
    {
        auto deadline = std::chrono::steady_clock::now() + 15s;
        while (std::chrono::steady_clock::now() < deadline) {
            Process& call = run("call-from-test-sources.sh", {{"TOKEN", caller.token}, {"TARGET", callee.id}});
            if (!waitFor([&] { return connected() || call.exited(); }, 20s)) {
                ADD_FAILURE() << "the call never connected; call-from-test-sources.sh said:\n" << call.output();
                return nullptr;
            }
            if (!call.exited())
                return &call;
            if (!call.said("480/10037")) {
                ADD_FAILURE() << "call-from-test-sources.sh failed:\n" << call.output();
                return nullptr;
            }
        }
        ADD_FAILURE() << "the callee never came online";
        return nullptr;
    }

    // Decodes the whole recording: the audio into a ToneMeter, the video into a FrameMeter.
    struct Decoded {
        std::shared_ptr<calling::test::ToneMeter> audio;
        std::shared_ptr<FrameMeter> video = FrameMeter::create();
        std::string error;
    };

    Decoded decodeRecording(const std::string& path, bool withVideo)
    {
        std::string description = "filesrc location=" + path +
                                  " ! matroskademux name=demux demux.audio_0 ! queue ! opusdec ! audioconvert ! "
                                  "audioresample ! appsink name=out";
        if (withVideo)
            description += " demux.video_0 ! queue ! vp8dec ! videoconvert ! appsink name=frames";
        return decode(description);
    }

    Decoded decode(const std::string& description)
    {
        Launched& decoder = launch(description);
        Decoded decoded;
        decoded.audio = decoder.meter;
        if (g_autoptr(GstElement) frames = decoder.element("frames"))
            decoded.video->attach(frames);
        if (!decoder.play())
            decoded.error = "the decoder did not start";
        else if (!waitFor([&] { return decoder.eos || !decoder.errorMessage.empty(); }, 20s))
            decoded.error = "the decoder never reached the end: " + decoder.describe();
        else
            decoded.error = decoder.errorMessage;
        decoder.stop();
        return decoded;
    }

    // The recording is a playable Matroska file of the caller's media: an Opus track (and a VP8
    // one), a duration, an index to seek with, and it decodes to the end into the caller's tone
    // (and picture).
    void expectPlayableRecording(const std::string& path, double atLeastSeconds, bool withVideo = true)
    {
        Discovered found = discover(path);
        EXPECT_GT(found.seconds, atLeastSeconds) << found.text;
        EXPECT_TRUE(found.seekable) << found.text;
        EXPECT_EQ(found.audioTracks, 1) << found.text;
        EXPECT_EQ(found.opusTracks, 1) << found.text;
        EXPECT_EQ(found.videoTracks, withVideo ? 1 : 0) << found.text;
        EXPECT_EQ(found.vp8Tracks, withVideo ? 1 : 0) << found.text;

        Decoded decoded = decodeRecording(path, withVideo);
        EXPECT_EQ(decoded.error, "");
        EXPECT_GT(decoded.audio->received(), size_t(atLeastSeconds * calling::test::ToneMeter::kRate));
        EXPECT_GT(decoded.audio->dominance(kTestSourcesTone), 0.8) << "the recording's audio is not the caller's tone";
        if (withVideo) {
            EXPECT_GT(decoded.video->frames(), size_t(atLeastSeconds * 5)) << decoded.video->describe();
            EXPECT_TRUE(decoded.video->sees(kTestSourcesWidth, kTestSourcesHeight, kSmpteCentre))
                << decoded.video->describe();
        }
    }

    GMainContext* context_ = nullptr;
    std::unique_ptr<calling::test::ServerProcess> server_;
    std::unique_ptr<calling::test::RestClient> rest_;
    std::string dir_;
    std::vector<std::unique_ptr<Launched>> launched_;
    std::vector<std::unique_ptr<Process>> processes_;
};

// Roughly a second of the caller's media (VP8 at 1 Mb/s and Opus, more at the start, where the
// keyframes are): a sign that the recording runs, not a measure of its length.
constexpr long long kAboutASecond = 100 * 1000;

TEST_F(PipelinesTest, AnswerAndRecordRecordsTheCallerUntilTheCallerHangsUp)
{
    Identity caller = identity();
    Identity recorder = identity();
    std::string file = dir_ + "/call.mkv";
    Process& record = run("answer-and-record.sh", {{"TOKEN", recorder.token}, {"OUTPUT", file}});
    Process* call = callFromTestSources(caller, recorder, [&] { return fileSize(file) > kAboutASecond; });
    ASSERT_TRUE(call) << "answer-and-record.sh said:\n" << record.output();
    ASSERT_TRUE(waitFor([&] { return fileSize(file) > 3 * kAboutASecond || record.exited(); }))
        << record.output();

    // A hang up: gst-launch-1.0 without -e stops the caller's pipeline, and callbin hangs up.
    call->signal(SIGINT);
    ASSERT_TRUE(waitFor([&] { return record.exited() && call->exited(); })) << record.output() << call->output();
    EXPECT_EQ(record.exitStatus(), 0) << record.output();
    EXPECT_TRUE(record.said("Got EOS from element \"pipeline0\"")) << record.output();
    expectPlayableRecording(file, 0.5);
}

TEST_F(PipelinesTest, AnswerAndRecordFinalisesItsFileOnCtrlC)
{
    Identity caller = identity();
    Identity recorder = identity();
    std::string file = dir_ + "/call.mkv";
    Process& record = run("answer-and-record.sh", {{"TOKEN", recorder.token}, {"OUTPUT", file}});
    Process* call = callFromTestSources(caller, recorder, [&] { return fileSize(file) > 3 * kAboutASecond; });
    ASSERT_TRUE(call) << "answer-and-record.sh said:\n" << record.output();

    // Ctrl-C in the middle of the call: -e ends the remote streams, the file is finalised, and
    // then the recorder hangs up; the caller's call ends with it.
    record.signal(SIGINT);
    ASSERT_TRUE(waitFor([&] { return record.exited() && call->exited(); })) << record.output() << call->output();
    EXPECT_EQ(record.exitStatus(), 0) << record.output();
    EXPECT_EQ(call->exitStatus(), 0) << call->output();
    expectPlayableRecording(file, 0.5);
}

TEST_F(PipelinesTest, AnswerAndRecordEndsWithAPlayableFileWhenTheCallerVanishes)
{
    Identity caller = identity();
    Identity recorder = identity();
    std::string file = dir_ + "/call.mkv";
    Process& record = run("answer-and-record.sh", {{"TOKEN", recorder.token}, {"OUTPUT", file}});
    Process* call = callFromTestSources(caller, recorder, [&] { return fileSize(file) > 2 * kAboutASecond; });
    ASSERT_TRUE(call) << "answer-and-record.sh said:\n" << record.output();

    // The caller's process dies without hanging up: after the grace window calling-server ends the
    // call (410/301005), and the recorder ends with EOS and a finished file.
    call->signal(SIGKILL);
    ASSERT_TRUE(waitFor([&] { return record.exited(); }, 10s)) << record.output();
    EXPECT_EQ(record.exitStatus(), 0) << record.output();
    expectPlayableRecording(file, 0.5);
}

TEST_F(PipelinesTest, AnswerAndRecordFinishesTheFileOfACallerWithoutVideo)
{
    // The recorder's video track never gets a stream: when the call ends, callbin gives it an
    // empty one that ends at once, and the file is finalised with the audio alone.
    Identity caller = identity();
    Identity recorder = identity();
    std::string file = dir_ + "/call.mkv";
    Process& record = run("answer-and-record.sh", {{"TOKEN", recorder.token}, {"OUTPUT", file}});
    std::string line = "audiotestsrc is-live=true wave=sine volume=0.5 freq=440 ! callbin name=call server-url=" +
                       server_->connection().endpoint + " access-token=" + caller.token + " target=" + recorder.id;
    Launched* call = nullptr;
    auto deadline = std::chrono::steady_clock::now() + 15s;
    while (!call && std::chrono::steady_clock::now() < deadline) {
        Launched& attempt = launch(line);
        ASSERT_TRUE(attempt.play());
        ASSERT_TRUE(waitFor([&] { return attempt.reached("connected") || attempt.ended || record.exited(); }))
            << attempt.describe() << "\nanswer-and-record.sh said:\n" << record.output();
        if (attempt.reached("connected"))
            call = &attempt;
        else
            ASSERT_TRUE(attempt.ended && attempt.ended->code == 480) << attempt.describe() << record.output();
    }
    ASSERT_TRUE(call) << "the recorder never came online:\n" << record.output();
    // The call lasts two seconds from when its media can flow.
    g_autoptr(GstElement) callbin = call->element("call");
    gint64 connectedAt = 0;
    ASSERT_TRUE(waitFor([&] {
        GstWebRTCPeerConnectionState state = GST_WEBRTC_PEER_CONNECTION_STATE_NEW;
        g_object_get(callbin, "connection-state", &state, nullptr);
        if (state == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED && !connectedAt)
            connectedAt = g_get_monotonic_time();
        return connectedAt && g_get_monotonic_time() - connectedAt > 2 * G_USEC_PER_SEC;
    }));
    call->stop();
    ASSERT_TRUE(waitFor([&] { return record.exited(); })) << record.output();
    EXPECT_EQ(record.exitStatus(), 0) << record.output();
    expectPlayableRecording(file, 0.5, false);
}

TEST_F(PipelinesTest, ARecorderThatLinksOnlyAudioRecordsWhileTheCallersVideoGoesNowhere)
{
    // The caller sends video too; nothing links it here, and nothing stalls.
    Identity caller = identity();
    Identity recorder = identity();
    std::string file = dir_ + "/audio.mkv";
    Launched& record = launch("callbin name=call server-url=" + server_->connection().endpoint + " access-token=" +
                              recorder.token + " call. ! audio/x-opus ! identity name=packets ! queue ! mux.audio_%u "
                              "matroskamux name=mux offset-to-zero=true ! filesink location=" + file);
    std::atomic<int> packets = 0;  // of 20 ms
    g_autoptr(GstElement) counter = record.element("packets");
    g_signal_connect(counter, "handoff", G_CALLBACK(+[](GstElement*, GstBuffer*, gpointer count) {
                         ++*static_cast<std::atomic<int>*>(count);
                     }),
                     &packets);
    ASSERT_TRUE(record.play());
    ASSERT_TRUE(waitFor([&] { return record.reached("waiting") || !record.errorMessage.empty(); }))
        << record.describe();
    Process* call = callFromTestSources(caller, recorder, [&] { return record.reached("connected"); });
    ASSERT_TRUE(call) << record.describe();
    ASSERT_TRUE(waitFor([&] { return packets > 100 || !record.errorMessage.empty(); })) << record.describe();
    call->signal(SIGINT);
    ASSERT_TRUE(waitFor([&] { return record.eos || !record.errorMessage.empty(); })) << record.describe();
    EXPECT_EQ(record.errorMessage, "");
    record.stop();
    expectPlayableRecording(file, 0.5, false);
}

TEST_F(PipelinesTest, BridgeLetsTwoCallersHearAndSeeEachOther)
{
    Identity alice = identity();
    Identity bob = identity();
    Identity bridgeA = identity();
    Identity bridgeB = identity();
    Process& bridge = run("bridge.sh", {{"TOKEN_A", bridgeA.token}, {"TOKEN_B", bridgeB.token}, 
                                        // callbin says what it receives, should the test fail
                                        {"GST_DEBUG", "callbin:4"}, {"GST_DEBUG_NO_COLOR", "1"}});

    // Each caller sends a tone and a colour of its own, and hears and sees what comes back.
    struct Caller {
        std::string description;
        Launched* line = nullptr;
        std::shared_ptr<FrameMeter> video = FrameMeter::create();
    };
    auto describe = [&](const Identity& who, const Identity& target, int tone, const char* colour) {
        return "audiotestsrc is-live=true wave=sine volume=0.5 freq=" + std::to_string(tone) +
               " ! call.audio_0 videotestsrc is-live=true pattern=solid-color foreground-color=" + colour +
               " ! video/x-raw,width=320,height=240,framerate=30/1 ! call.video_0 callbin name=call server-url=" +
               server_->connection().endpoint + " access-token=" + who.token + " target=" + target.id +
               " call. ! audio/x-opus ! queue ! opusdec ! audioconvert ! audioresample ! appsink name=out"
               " call. ! video/x-vp8 ! queue ! vp8dec ! videoconvert ! appsink name=frames";
    };
    Caller callers[2] = {{describe(alice, bridgeA, 440, "0xffff0000")}, {describe(bob, bridgeB, 1000, "0xff0000ff")}};
    // Until the bridge is online, a call ends at once with 480/10037: call again.
    auto deadline = std::chrono::steady_clock::now() + 15s;
    for (Caller& caller : callers) {
        while (std::chrono::steady_clock::now() < deadline) {
            caller.line = &launch(caller.description);
            g_autoptr(GstElement) frames = caller.line->element("frames");
            caller.video->attach(frames);
            ASSERT_TRUE(caller.line->play());
            ASSERT_TRUE(waitFor([&] { return caller.line->reached("connected") || caller.line->ended ||
                                             !caller.line->errorMessage.empty(); }))
                << caller.line->describe() << "\nbridge.sh said:\n" << bridge.output();
            if (caller.line->reached("connected"))
                break;
            ASSERT_TRUE(caller.line->ended && caller.line->ended->code == 480) << caller.line->describe();
        }
    }
    Launched& aliceLine = *callers[0].line;
    Launched& bobLine = *callers[1].line;
    ASSERT_TRUE(waitFor(
        [&] {
            return (aliceLine.meter->dominance(1000) > 0.8 && bobLine.meter->dominance(440) > 0.8 &&
                    callers[0].video->sees(320, 240, 0x0000ff) && callers[1].video->sees(320, 240, 0xff0000)) ||
                   bridge.exited() || !aliceLine.errorMessage.empty() || !bobLine.errorMessage.empty();
        },
        20s))
        << "Alice hears " << aliceLine.meter->dominance(1000) << " of Bob's tone and sees "
        << callers[0].video->describe() << "; Bob hears " << bobLine.meter->dominance(440)
        << " of Alice's tone and sees " << callers[1].video->describe() << "\nbridge.sh said:\n"
        << bridge.output();

    // Both hang up: the bridge's pipeline ends.
    aliceLine.stop();
    bobLine.stop();
    ASSERT_TRUE(waitFor([&] { return bridge.exited(); })) << bridge.output();
    EXPECT_EQ(bridge.exitStatus(), 0) << bridge.output();
}

TEST_F(PipelinesTest, StreamToHlsWritesAPlaylistAndSegmentsThatDecode)
{
    Identity caller = identity();
    Identity streamer = identity();
    std::string playlist = dir_ + "/playlist.m3u8";
    Process& hls = run("stream-to-hls.sh", {{"TOKEN", streamer.token}, {"HLS_DIR", dir_}});
    // Two-second segments; the playlist lists a segment once it is complete.
    const std::regex listed(R"(segment\d+\.ts)");
    auto segments = [&] {
        std::string text = readFile(playlist);
        return int(std::distance(std::sregex_iterator(text.begin(), text.end(), listed), std::sregex_iterator()));
    };
    Process* call = callFromTestSources(caller, streamer, [&] { return segments() >= 1; });
    ASSERT_TRUE(call) << "stream-to-hls.sh said:\n" << hls.output();
    ASSERT_TRUE(waitFor([&] { return segments() >= 2 || hls.exited(); }, 10s)) << hls.output();

    call->signal(SIGINT);
    ASSERT_TRUE(waitFor([&] { return hls.exited(); })) << hls.output();
    EXPECT_EQ(hls.exitStatus(), 0) << hls.output();
    std::string text = readFile(playlist);
    EXPECT_NE(text.find("#EXTM3U"), std::string::npos) << text;
    EXPECT_NE(text.find("#EXT-X-ENDLIST"), std::string::npos) << "the playlist was not closed:\n" << text;

    // The second segment (the first may start before the first keyframe) is H.264 and AAC of the
    // caller's picture and tone.
    std::string segment = dir_ + "/segment00001.ts";
    Discovered found = discover(segment);
    EXPECT_GT(found.seconds, 1.0) << found.text;
    EXPECT_NE(found.text.find("H.264"), std::string::npos) << found.text;
    EXPECT_NE(found.text.find("AAC"), std::string::npos) << found.text;
    Decoded decoded = decode("filesrc location=" + segment +
                             " ! tsdemux name=demux demux. ! video/x-h264 ! queue ! h264parse ! openh264dec ! "
                             "videoconvert ! appsink name=frames demux. ! audio/mpeg ! queue ! aacparse ! faad ! "
                             "audioconvert ! audioresample ! appsink name=out");
    EXPECT_EQ(decoded.error, "");
    // At least five frames a second, even on a loaded machine whose encoders drop frames.
    EXPECT_GT(decoded.video->frames(), 10u) << decoded.video->describe();
    EXPECT_TRUE(decoded.video->sees(kTestSourcesWidth, kTestSourcesHeight, kSmpteCentre)) << decoded.video->describe();
    EXPECT_GT(decoded.audio->dominance(kTestSourcesTone), 0.8);
}

}  // namespace
