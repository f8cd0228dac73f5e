// Recordings that survive (issue 5): `gst-call record` (the library's CallRecorder) against real
// callers, each recording checked as a user would: gst-discoverer-1.0 (duration, seekable, an
// Opus and a VP8 track) and the whole file decoded (the caller's tone and picture). The cases: the
// caller hangs up, the recorder gets SIGINT or SIGTERM, the caller vanishes (SIGKILL; the server's
// grace window ends the call), a caller without video, and a caller (an agent of the library in
// this process) that stops its video and starts it again.
#include "frame_meter.h"
#include "discovered.h"
#include "launch.h"
#include "main_loop.h"
#include "rest_client.h"
#include "server_process.h"
#include "tone_meter.h"

#include <calling/call_client.h>
#include <calling/local_video_stream.h>

#include <gst/gst.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <memory>
#include <optional>
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

// What the caller sends: the virtual 880 Hz microphone and virtual camera 1, 640x480 SMPTE bars
// whose centre is the green bar.
constexpr const char* kMicrophone = "calling-virtual:virtual-microphone-880";
constexpr const char* kCamera = "calling-virtual:virtual-camera-1";
constexpr double kTone = 880;
constexpr int kWidth = 640;
constexpr int kHeight = 480;
constexpr uint32_t kSmpteCentre = 0x00ff00;

std::string gstCall()
{
    const char* path = g_getenv("GST_CALL");
    return path ? path : "gst-call";
}

class RecordingTest : public ::testing::Test {
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
        connection_ = server_->connection().toString();
        dir_ = calling::test::makeTempDir();
        file_ = dir_ + "/call.mkv";
    }

    void TearDown() override
    {
        launched_.clear();
        processes_.clear();
        call_.reset();
        camera_.reset();
        agent_.reset();
        client_.reset();
        if (server_)
            server_->stop();
        calling::test::removeTree(dir_);
        g_main_context_pop_thread_default(context_);
        g_main_context_unref(context_);
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

    Process& start(std::vector<std::string> arguments)
    {
        arguments.insert(arguments.begin(), gstCall());
        processes_.push_back(std::make_unique<Process>(arguments, std::map<std::string, std::string>{
                                                                      {"CALLING_CONNECTION_STRING", connection_}}));
        EXPECT_EQ(processes_.back()->startError, "");
        return *processes_.back();
    }

    int exitStatus(Process& process, std::chrono::milliseconds timeout = 30s)
    {
        if (!waitFor([&] { return process.exited(); }, timeout)) {
            ADD_FAILURE() << "gst-call did not exit:\n" << process.output();
            return -1;
        }
        return process.exitStatus();
    }

    // `gst-call record -o FILE`, waiting for a call; its identity's raw id.
    std::string recorder(Process*& process)
    {
        process = &start({"record", "--display-name", "Recorder", "-o", file_});
        EXPECT_TRUE(waitFor([&] { return process->said("waiting: for an incoming call"); })) << process->output();
        std::smatch match;
        const std::string& output = process->output();
        return std::regex_search(output, match, std::regex(R"(identity: (8:acs:\S+))")) ? match[1].str() : "";
    }

    // `gst-call call` with the virtual microphone and (unless `video` is false) camera.
    Process& caller(const std::string& target, std::vector<std::string> more = {}, bool video = true)
    {
        std::vector<std::string> arguments = {"call", "--display-name", "Caller", "--microphone", kMicrophone};
        if (video) {
            arguments.push_back("--camera");
            arguments.push_back(kCamera);
        }
        arguments.insert(arguments.end(), more.begin(), more.end());
        arguments.push_back(target);
        return start(arguments);
    }

    // The recording is a playable Matroska file of the caller's media: an Opus track (and a VP8
    // one), a duration, an index to seek with, and it decodes to the end into the caller's tone
    // (and picture).
    void expectPlayableRecording(double atLeastSeconds, bool withVideo = true, bool h264 = false)
    {
        Discovered found = discover(file_);
        EXPECT_GT(found.seconds, atLeastSeconds) << found.text;
        EXPECT_TRUE(found.seekable) << found.text;
        EXPECT_EQ(found.audioTracks, 1) << found.text;
        EXPECT_EQ(found.opusTracks, 1) << found.text;
        EXPECT_EQ(found.videoTracks, withVideo ? 1 : 0) << found.text;
        EXPECT_EQ(h264 ? found.h264Tracks : found.vp8Tracks, withVideo ? 1 : 0) << found.text;

        std::string description = "filesrc location=" + file_ +
                                  " ! matroskademux name=demux demux.audio_0 ! queue ! opusdec ! audioconvert ! "
                                  "audioresample ! appsink name=out";
        if (withVideo)
            description += std::string(" demux.video_0 ! queue ! ") + (h264 ? "h264parse ! openh264dec" : "vp8dec") +
                           " ! videoconvert ! appsink name=frames";
        launched_.push_back(std::make_unique<Launched>(description));
        Launched& decoder = *launched_.back();
        ASSERT_EQ(decoder.parseError, "");
        auto frames = FrameMeter::create();
        if (g_autoptr(GstElement) sink = decoder.element("frames"))
            frames->attach(sink);
        ASSERT_TRUE(decoder.play());
        // The tone as the file plays, at its best: the last moments of a call whose caller was
        // killed are the jitter buffer's concealment, not the tone.
        double toneDominance = 0;
        ASSERT_TRUE(waitFor([&] {
            toneDominance = std::max(toneDominance, decoder.meter->dominance(tone_));
            return decoder.eos || !decoder.errorMessage.empty();
        }, 20s)) << decoder.describe();
        EXPECT_EQ(decoder.errorMessage, "");
        EXPECT_GT(decoder.meter->received(), size_t(atLeastSeconds * calling::test::ToneMeter::kRate));
        EXPECT_GT(toneDominance, 0.8) << "the recording's audio is not the caller's tone";
        if (withVideo) {
            // At least 3 frames a second of the span: a loaded machine's camera gives fewer than 30.
            EXPECT_GT(frames->frames(), size_t(atLeastSeconds * 3)) << frames->describe();
            EXPECT_TRUE(frames->sees(kWidth, kHeight, kSmpteCentre)) << frames->describe();
        }
        decoder.stop();
    }

    // The recorder's summary: its Opus packets (20 ms each) span about as long as they play. Audio
    // that reached it in a burst would be squeezed into less time, and play sped up.
    static void expectAudioInRealTime(const Process& recorder)
    {
        std::smatch match;
        ASSERT_TRUE(std::regex_search(recorder.output(), match, std::regex(R"(audio OPUS (\d+) packets ([0-9.]+) s)")))
            << recorder.output();
        double packets = std::stod(match[1]), seconds = std::stod(match[2]);
        EXPECT_LT(packets * 0.020, seconds * 1.1 + 0.2) << "audio squeezed into less time: " << recorder.output();
    }

    // Whether the recorder has printed a status line `seconds` or more into the call. Status lines
    // come from a one-second timer whose ticks drift against the call's clock, so a given second
    // may be printed twice or skipped.
    static bool reached(const Process& recorder, int seconds)
    {
        static const std::regex statusLine(R"((?:^|\n)(\d+):(\d\d) audio )");
        std::string output = recorder.output();
        for (auto it = std::sregex_iterator(output.begin(), output.end(), statusLine); it != std::sregex_iterator(); ++it)
            if (std::stoi((*it)[1]) * 60 + std::stoi((*it)[2]) >= seconds)
                return true;
        return false;
    }

    GMainContext* context_ = nullptr;
    std::unique_ptr<calling::test::ServerProcess> server_;
    std::unique_ptr<calling::test::RestClient> rest_;
    std::string connection_;
    std::string dir_;
    std::string file_;
    double tone_ = kTone;  // the caller's microphone
    std::vector<std::unique_ptr<Launched>> launched_;
    std::vector<std::unique_ptr<Process>> processes_;
    std::unique_ptr<calling::CallClient> client_;
    std::shared_ptr<calling::CallAgent> agent_;
    std::shared_ptr<calling::LocalVideoStream> camera_;
    std::shared_ptr<calling::Call> call_;
};

TEST_F(RecordingTest, RecordsTheCallerUntilTheCallerHangsUp)
{
    Process* record = nullptr;
    std::string id = recorder(record);
    ASSERT_FALSE(id.empty());
    Process& call = caller(id, {"--duration", "4"});
    EXPECT_EQ(exitStatus(call), 0) << call.output();
    EXPECT_EQ(exitStatus(*record), 0) << record->output();
    EXPECT_TRUE(record->said("recording: " + file_)) << record->output();
    // The summary line: both tracks, with what they took in.
    EXPECT_TRUE(std::regex_search(record->output(),
                                  std::regex("recorded: " + file_ + R"( \| audio OPUS \d+ packets [0-9.]+ s, video VP8 \d+ frames [0-9.]+ s)")))
        << record->output();
    EXPECT_TRUE(record->said("ended: 0/0")) << record->output();
    expectAudioInRealTime(*record);
    expectPlayableRecording(3);
}

// A caller that prefers H.264: the recorder answers with it, and the file holds the H.264 as it
// arrived (no transcoding), playable and decodable to the caller's picture.
TEST_F(RecordingTest, RecordsAnH264CallAsH264)
{
    Process* record = nullptr;
    std::string id = recorder(record);
    ASSERT_FALSE(id.empty());
    Process& call = caller(id, {"--duration", "4", "--h264"});
    EXPECT_EQ(exitStatus(call), 0) << call.output();
    EXPECT_EQ(exitStatus(*record), 0) << record->output();
    EXPECT_TRUE(std::regex_search(record->output(),
                                  std::regex("recorded: " + file_ + R"( \| audio OPUS \d+ packets [0-9.]+ s, video H264 \d+ frames [0-9.]+ s)")))
        << record->output();
    expectPlayableRecording(3, true, true);
}

class RecordingSignalTest : public RecordingTest, public ::testing::WithParamInterface<int> {};

TEST_P(RecordingSignalTest, ARecorderInterruptedFinalisesItsFile)
{
    Process* record = nullptr;
    std::string id = recorder(record);
    ASSERT_FALSE(id.empty());
    Process& call = caller(id);
    ASSERT_TRUE(waitFor([&] { return reached(*record, 3); }, 30s)) << record->output() << call.output();
    record->signal(GetParam());
    EXPECT_EQ(exitStatus(*record), 0) << record->output();
    EXPECT_TRUE(record->said("interrupted: hanging up")) << record->output();
    EXPECT_TRUE(record->said("recorded: " + file_)) << record->output();
    // The caller sees the recorder hang up.
    EXPECT_EQ(exitStatus(call), 0) << call.output();
    expectPlayableRecording(2.5);
}

INSTANTIATE_TEST_SUITE_P(Signals, RecordingSignalTest, ::testing::Values(SIGINT, SIGTERM),
                         [](const auto& info) { return std::string(info.param == SIGINT ? "SIGINT" : "SIGTERM"); });

TEST_F(RecordingTest, ACallerThatVanishesLeavesAPlayableFile)
{
    Process* record = nullptr;
    std::string id = recorder(record);
    ASSERT_FALSE(id.empty());
    Process& call = caller(id);
    ASSERT_TRUE(waitFor([&] { return reached(*record, 3); }, 30s)) << record->output() << call.output();
    call.signal(SIGKILL);
    // calling-server ends the call after its grace window: the far end lost, exit code 7.
    EXPECT_EQ(exitStatus(*record), 7) << record->output();
    EXPECT_TRUE(record->said("ended: 410/301005")) << record->output();
    EXPECT_TRUE(record->said("recorded: " + file_)) << record->output();
    expectPlayableRecording(2.5);
}

TEST_F(RecordingTest, ACallerWithoutVideoGivesAnAudioOnlyFile)
{
    Process* record = nullptr;
    std::string id = recorder(record);
    ASSERT_FALSE(id.empty());
    Process& call = caller(id, {"--duration", "3"}, false);
    EXPECT_EQ(exitStatus(call), 0) << call.output();
    EXPECT_EQ(exitStatus(*record), 0) << record->output();
    EXPECT_TRUE(std::regex_search(record->output(), std::regex(R"(recorded: \S+ \| audio OPUS \d+ packets [0-9.]+ s\n)")))
        << record->output();
    expectAudioInRealTime(*record);
    expectPlayableRecording(2, false);
}

// The caller's camera goes off for two seconds and on again: the video track has a gap there, the
// audio goes on through it, and the file is whole, with video after the gap.
TEST_F(RecordingTest, VideoOffAndOnLeavesAGapNotATruncatedFile)
{
    Process* record = nullptr;
    std::string id = recorder(record);
    ASSERT_FALSE(id.empty());

    client_ = std::make_unique<calling::CallClient>(
        calling::CallClientOptions{.endpoint = server_->connection().endpoint, .callbackContext = context_});
    auto devices = client_->deviceManager();
    for (const auto& microphone : devices->getMicrophoneList())
        if (microphone.id == kMicrophone)
            devices->setMicrophone(microphone);
    for (const auto& camera : devices->getCameraList())
        if (camera.id == kCamera)
            camera_ = std::make_shared<calling::LocalVideoStream>(camera);
    ASSERT_TRUE(camera_);
    std::optional<calling::Result<std::shared_ptr<calling::CallAgent>>> agent;
    client_->createCallAgent(calling::CommunicationTokenCredential(rest_->issueToken(rest_->createIdentity())),
                             {.displayName = "Caller"},
                             [&](calling::Result<std::shared_ptr<calling::CallAgent>> made) { agent = made; });
    ASSERT_TRUE(waitFor([&] { return agent.has_value(); }));
    ASSERT_TRUE(agent->ok()) << agent->error().message;
    agent_ = agent->value();
    calling::StartCallOptions options;
    options.videoOptions.localVideoStreams = {camera_};
    call_ = agent_->call({calling::CommunicationUserIdentifier{id}}, options);

    ASSERT_TRUE(waitFor([&] { return reached(*record, 2); }, 30s)) << record->output();
    std::optional<calling::Result<calling::Done>> stopped, started;
    call_->stopVideo(camera_, [&](calling::Result<calling::Done> done) { stopped = done; });
    ASSERT_TRUE(waitFor([&] { return stopped.has_value(); }));
    ASSERT_TRUE(stopped->ok()) << stopped->error().message;
    ASSERT_TRUE(waitFor([&] { return reached(*record, 4); }, 30s)) << record->output();
    call_->startVideo(camera_, [&](calling::Result<calling::Done> done) { started = done; });
    ASSERT_TRUE(waitFor([&] { return started.has_value(); }));
    ASSERT_TRUE(started->ok()) << started->error().message;
    ASSERT_TRUE(waitFor([&] { return reached(*record, 7); }, 30s)) << record->output();
    std::optional<calling::Result<calling::Done>> hungUp;
    call_->hangUp({}, [&](calling::Result<calling::Done> done) { hungUp = done; });
    ASSERT_TRUE(waitFor([&] { return hungUp.has_value(); }));
    EXPECT_EQ(exitStatus(*record), 0) << record->output();

    // The video track spans the call (frames after the gap are there); so does the audio. Fewer
    // frames than the span would hold: the gap.
    std::smatch match;
    ASSERT_TRUE(std::regex_search(record->output(), match,
                                  std::regex(R"(audio OPUS (\d+) packets ([0-9.]+) s, video VP8 (\d+) frames ([0-9.]+) s)")))
        << record->output();
    EXPECT_GT(std::stod(match[2]), 5.5) << record->output();
    EXPECT_GT(std::stod(match[4]), 4.5) << record->output();
    EXPECT_LT(std::stod(match[3]), std::stod(match[4]) * 30 - 15) << "no gap in the video track: " << record->output();
    expectPlayableRecording(5.5);
}

// tools/demo.sh, the README's first command, on this build (DEMO_BUILD_DIR: no set-up) with a
// shorter call: it exits 0, prints its summary, and leaves a playable recording of the caller's
// 440 Hz microphone and colour bars.
TEST_F(RecordingTest, TheDemoRecordsACallAndSummarisesIt)
{
    std::string root = g_getenv("CALLING_SOURCE_ROOT");
    std::string demo = root + "/tools/demo.sh";
    processes_.push_back(std::make_unique<Process>(
        std::vector<std::string>{demo},
        std::map<std::string, std::string>{{"DEMO_BUILD_DIR", g_getenv("CALLING_BUILD_ROOT")},
                                           {"DEMO_RECORDING", file_},
                                           {"DEMO_SECONDS", "4"}}));
    Process& run = *processes_.back();
    ASSERT_EQ(run.startError, "");
    EXPECT_EQ(exitStatus(run, 60s), 0) << run.output();
    for (const char* line : {"  alice: state: Connected", "  alice: duration: 4 s reached", "  bob:   recorded: ",
                             "Summary", "  setup time: ", "  received:   audio OPUS ", "seekable: yes",
                             "    audio: Opus", "    video: VP8, width 640, height 480"})
        EXPECT_TRUE(run.said(line)) << "no '" << line << "' in\n" << run.output();
    EXPECT_TRUE(std::regex_search(run.output(), std::regex(R"(  duration:   00:0[3-5] connected)"))) << run.output();
    tone_ = 440;  // the demo's caller has the virtual 440 Hz microphone
    expectPlayableRecording(3);
}

}  // namespace
