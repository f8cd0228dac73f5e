// Video between two agents of the library: a camera sent from the start or mid-call, its
// picture at the far end (size and content), the views' scaling modes and mirroring, switching
// cameras, stopping and starting, screen sharing, a local preview, and the documented errors.
// The real server, real webrtcbin on loopback, the plugin's virtual cameras (SMPTE bars and a
// bouncing ball, 640x480) and screen (1280x720).
#include "agent_test.h"
#include "frame_meter.h"

#include <calling/media_stats.h>
#include <calling/renderer.h>

#include <gst/gst.h>
#include <gtest/gtest.h>

#include <optional>

using namespace calling;
using namespace std::chrono_literals;
using calling::test::named;
using calling::test::FrameMeter;
using calling::test::near;

namespace {

// The virtual camera's SMPTE bars, left to right, in the top two thirds of the picture.
constexpr uint32_t kBars[] = {0xffffff, 0xffff00, 0x00ffff, 0x00ff00, 0xff00ff, 0xff0000, 0x0000ff};
constexpr uint32_t kBlack = 0x000000;

std::string hex(uint32_t rgb)
{
    char text[16];
    snprintf(text, sizeof text, "0x%06x", rgb);
    return text;
}

class VideoTest : public test::AgentTest {
protected:
    void releaseCalls() override
    {
        views_.clear();
        calls_.clear();
    }

    std::shared_ptr<LocalVideoStream> camera(CallClient& client, const std::string& name)
    {
        auto device = named(client.deviceManager()->getCameraList(), name);
        return device ? std::make_shared<LocalVideoStream>(*device) : nullptr;
    }

    // Alice (with `aliceVideo`) calls Bob, who answers with `bobVideo`; both Connected.
    bool connect(StartCallOptions aliceOptions = {}, AcceptCallOptions bobOptions = {})
    {
        aliceClient_ = &newClient();
        bobClient_ = &newClient();
        std::string aliceId = rest_->createIdentity();
        std::string bobId = rest_->createIdentity();
        auto alice = signIn(*aliceClient_, aliceId);
        auto bob = signIn(*bobClient_, bobId);
        if (!alice || !bob)
            return false;
        auto incoming = bob->onIncomingCall([&, bobOptions](std::shared_ptr<IncomingCall> call) {
            call->accept(bobOptions, [&](Result<std::shared_ptr<Call>> accepted) {
                if (accepted)
                    atBob_ = accepted.value();
            });
        });
        atAlice_ = alice->call({CommunicationUserIdentifier{bobId}}, aliceOptions);
        calls_ = {atAlice_};
        if (!waitFor([&] { return atBob_ && atAlice_->state() == CallState::Connected &&
                                  atBob_->state() == CallState::Connected; }, 20s))
            return false;
        calls_.push_back(atBob_);
        return true;
    }

    // Alice calls Bob sending the SMPTE bars of "Virtual camera 1"; the stream, once both are Connected.
    std::shared_ptr<LocalVideoStream> connectSendingBars()
    {
        auto& devices = newClient();  // lists the camera until connect() makes Alice's own client
        auto bars = camera(devices, "Virtual camera 1");
        StartCallOptions options;
        options.videoOptions.localVideoStreams = {bars};
        return bars && connect(options) ? bars : nullptr;
    }

    // The first remote participant of `call`, once it is there.
    std::shared_ptr<RemoteParticipant> other(const std::shared_ptr<Call>& call)
    {
        std::shared_ptr<RemoteParticipant> found;
        waitFor([&] {
            auto participants = call->remoteParticipants();
            if (!participants.empty())
                found = participants[0];
            return found != nullptr;
        });
        return found;
    }

    // A stream of `participant` of `type`, once it is there and available.
    std::shared_ptr<RemoteVideoStream> availableStream(const std::shared_ptr<RemoteParticipant>& participant,
                                                       MediaStreamType type, std::chrono::milliseconds timeout = 10s)
    {
        std::shared_ptr<RemoteVideoStream> found;
        waitFor([&] {
            auto streams = type == MediaStreamType::Video ? participant->videoStreams() : participant->screenSharingStreams();
            found = !streams.empty() && streams[0]->isAvailable() ? streams[0] : nullptr;
            return found != nullptr;
        }, timeout);
        return found;
    }

    Result<std::shared_ptr<RendererView>> view(Renderer& renderer, CreateViewOptions options,
                                               const std::shared_ptr<FrameMeter>& meter)
    {
        options.sink = [meter] { return meter->makeSink(); };
        std::optional<Result<std::shared_ptr<RendererView>>> made;
        renderer.createView(options, [&](Result<std::shared_ptr<RendererView>> result) { made = std::move(result); });
        if (!waitFor([&] { return made.has_value(); }))
            return Error{0, 0, "createView never completed"};
        if (made->ok())
            views_.push_back(made->value());
        return *made;
    }

    std::optional<Result<Done>> run(const std::function<void(Completion)>& operation)
    {
        std::optional<Result<Done>> outcome;
        operation([&](Result<Done> result) { outcome = result; });
        waitFor([&] { return outcome.has_value(); });
        return outcome;
    }

    // Whether the frames `meter` gets show the SMPTE bars, each bar's centre at view x = map(source x).
    static bool showsBars(const FrameMeter& meter, int y, const std::function<int(int)>& map, std::string* seen = nullptr)
    {
        if (meter.frames() == 0)
            return false;
        bool all = true;
        std::string text;
        for (int bar = 0; bar < 7; bar++) {
            int x = map(640 * (2 * bar + 1) / 14);
            if (x < 0 || x >= meter.width())
                continue;
            uint32_t got = meter.at(x, y);
            text += hex(got) + " ";
            all = all && near(got, kBars[bar]);
        }
        if (seen)
            *seen = text;
        return all;
    }

    // The codecs of a call's video as its statistics name them, sent then received ("H264 H264"),
    // once a sample has both; "" if none came in 10 s.
    std::string videoCodecsOf(const std::shared_ptr<Call>& call)
    {
        auto collector = createMediaStatsCollector(call, {.sampleInterval = 300ms});
        std::string codecs;
        auto subscription = collector->onSampleReported([&](const MediaStatsSample& sample) {
            auto sent = sample.find(MediaStreamDirection::Send, MediaStreamKind::Video);
            auto received = sample.find(MediaStreamDirection::Receive, MediaStreamKind::Video);
            if (codecs.empty() && sent && received && !sent->codecName.empty() && !received->codecName.empty())
                codecs = sent->codecName + " " + received->codecName;
        });
        waitFor([&] { return !codecs.empty(); });
        collector->dispose();
        return codecs;
    }

    std::vector<std::shared_ptr<Call>> calls_;
    std::vector<std::shared_ptr<RendererView>> views_;
    CallClient* aliceClient_ = nullptr;
    CallClient* bobClient_ = nullptr;
    std::shared_ptr<Call> atAlice_;
    std::shared_ptr<Call> atBob_;
};

}  // namespace

TEST_F(VideoTest, ACameraStartedMidCallArrivesWithItsSizeAndPicture)
{
    ASSERT_TRUE(connect());
    auto sent = camera(*aliceClient_, "Virtual camera 1");
    ASSERT_TRUE(sent);
    auto started = run([&](Completion done) { atAlice_->startVideo(sent, done); });
    ASSERT_TRUE(started && started->ok()) << (started ? started->error().message : "no answer");
    EXPECT_EQ(atAlice_->localVideoStreams(), std::vector<std::shared_ptr<LocalVideoStream>>{sent});

    auto alice = other(atBob_);
    ASSERT_TRUE(alice);
    auto stream = availableStream(alice, MediaStreamType::Video);
    ASSERT_TRUE(stream);
    EXPECT_EQ(stream->id(), 1);
    Renderer renderer(stream);
    auto meter = FrameMeter::create();
    auto made = view(renderer, {.scalingMode = ScalingMode::Fit}, meter);
    ASSERT_TRUE(made.ok()) << made.error().message;
    ASSERT_TRUE(waitFor([&] { return meter->frames() > 5; })) << meter->describe();
    EXPECT_EQ(meter->width(), 640);
    EXPECT_EQ(meter->height(), 480);
    EXPECT_EQ(renderer.size(), (StreamSize{640, 480}));
    std::string seen;
    EXPECT_TRUE(waitFor([&] { return showsBars(*meter, 100, [](int x) { return x; }, &seen); })) << seen;
    EXPECT_NE(made.value()->target(), nullptr);
}

TEST_F(VideoTest, ACallPlacedAndAcceptedWithVideoSendsItBothWays)
{
    auto& aliceDevices = newClient();  // keeps "Virtual camera 1" listed for the streams below
    auto aliceCamera = camera(aliceDevices, "Virtual camera 1");
    auto bobCamera = camera(aliceDevices, "Virtual camera 2");
    ASSERT_TRUE(aliceCamera && bobCamera);
    StartCallOptions aliceOptions;
    aliceOptions.videoOptions.localVideoStreams = {aliceCamera};
    AcceptCallOptions bobOptions;
    bobOptions.videoOptions.localVideoStreams = {bobCamera};
    ASSERT_TRUE(connect(aliceOptions, bobOptions));
    EXPECT_EQ(atAlice_->localVideoStreams().size(), 1u);
    EXPECT_EQ(atBob_->localVideoStreams().size(), 1u);

    auto aliceSeen = availableStream(other(atBob_), MediaStreamType::Video);
    auto bobSeen = availableStream(other(atAlice_), MediaStreamType::Video);
    ASSERT_TRUE(aliceSeen && bobSeen);
    Renderer atBob(aliceSeen), atAlice(bobSeen);
    auto bobMeter = FrameMeter::create(), aliceMeter = FrameMeter::create();
    ASSERT_TRUE(view(atBob, {}, bobMeter).ok());
    ASSERT_TRUE(view(atAlice, {}, aliceMeter).ok());
    std::string seen;
    EXPECT_TRUE(waitFor([&] { return showsBars(*bobMeter, 100, [](int x) { return x; }, &seen); })) << seen;
    // The ball on black: the corners stay black.
    EXPECT_TRUE(waitFor([&] { return aliceMeter->frames() > 5 && near(aliceMeter->at(5, 5), kBlack) &&
                                     near(aliceMeter->at(634, 474), kBlack); }))
        << aliceMeter->describe() << " " << hex(aliceMeter->at(5, 5));
    EXPECT_EQ(aliceMeter->width(), 640);
}

// The caller prefers H.264: the callee takes the offer's first codec, and both directions carry
// H.264 (openh264), each picture at the sender's size and with its content.
TEST_F(VideoTest, ACallerPreferringH264SendsAndReceivesH264BothWays)
{
    auto& devices = newClient();
    auto aliceCamera = camera(devices, "Virtual camera 1");
    auto bobCamera = camera(devices, "Virtual camera 2");
    ASSERT_TRUE(aliceCamera && bobCamera);
    StartCallOptions aliceOptions;
    aliceOptions.videoOptions.localVideoStreams = {aliceCamera};
    aliceOptions.videoOptions.preferredCodec = VideoCodec::H264;
    AcceptCallOptions bobOptions;
    bobOptions.videoOptions.localVideoStreams = {bobCamera};
    ASSERT_TRUE(connect(aliceOptions, bobOptions));

    auto aliceSeen = availableStream(other(atBob_), MediaStreamType::Video);
    auto bobSeen = availableStream(other(atAlice_), MediaStreamType::Video);
    ASSERT_TRUE(aliceSeen && bobSeen);
    Renderer atBob(aliceSeen), atAlice(bobSeen);
    auto bobMeter = FrameMeter::create(), aliceMeter = FrameMeter::create();
    ASSERT_TRUE(view(atBob, {}, bobMeter).ok());
    ASSERT_TRUE(view(atAlice, {}, aliceMeter).ok());
    std::string seen;
    EXPECT_TRUE(waitFor([&] { return showsBars(*bobMeter, 100, [](int x) { return x; }, &seen); })) << seen;
    EXPECT_EQ(bobMeter->width(), 640);
    EXPECT_EQ(bobMeter->height(), 480);
    EXPECT_TRUE(waitFor([&] { return aliceMeter->frames() > 5 && near(aliceMeter->at(5, 5), kBlack) &&
                                     near(aliceMeter->at(634, 474), kBlack); }))
        << aliceMeter->describe() << " " << hex(aliceMeter->at(5, 5));
    EXPECT_EQ(aliceMeter->width(), 640);
    EXPECT_EQ(aliceMeter->height(), 480);

    EXPECT_EQ(videoCodecsOf(atAlice_), "H264 H264");
    EXPECT_EQ(videoCodecsOf(atBob_), "H264 H264");
}

// Without a preference, a call sends VP8 both ways, whatever the callee prefers: the caller's
// offer decides.
TEST_F(VideoTest, ACallIsVP8BothWaysUnlessTheCallerPrefersH264)
{
    auto& devices = newClient();
    auto aliceCamera = camera(devices, "Virtual camera 1");
    auto bobCamera = camera(devices, "Virtual camera 2");
    ASSERT_TRUE(aliceCamera && bobCamera);
    StartCallOptions aliceOptions;
    aliceOptions.videoOptions.localVideoStreams = {aliceCamera};
    AcceptCallOptions bobOptions;
    bobOptions.videoOptions.localVideoStreams = {bobCamera};
    bobOptions.videoOptions.preferredCodec = VideoCodec::H264;
    ASSERT_TRUE(connect(aliceOptions, bobOptions));

    auto aliceSeen = availableStream(other(atBob_), MediaStreamType::Video);
    ASSERT_TRUE(aliceSeen);
    Renderer atBob(aliceSeen);
    auto bobMeter = FrameMeter::create();
    ASSERT_TRUE(view(atBob, {}, bobMeter).ok());
    std::string seen;
    EXPECT_TRUE(waitFor([&] { return showsBars(*bobMeter, 100, [](int x) { return x; }, &seen); })) << seen;
    EXPECT_EQ(videoCodecsOf(atAlice_), "VP8 VP8");
    EXPECT_EQ(videoCodecsOf(atBob_), "VP8 VP8");
}

TEST_F(VideoTest, ScalingModesAndMirroringShapeTheView)
{
    ASSERT_TRUE(connectSendingBars());
    auto stream = availableStream(other(atBob_), MediaStreamType::Video);
    ASSERT_TRUE(stream);
    Renderer renderer(stream);
    auto meter = FrameMeter::create();
    auto made = view(renderer, {.scalingMode = ScalingMode::Fit, .width = 320, .height = 320}, meter);
    ASSERT_TRUE(made.ok()) << made.error().message;
    auto fitted = made.value();
    std::string seen;

    // Fit: 640x480 becomes 320x240 between black bars of 40 rows, above and below.
    auto fit = [](int x) { return x / 2; };
    ASSERT_TRUE(waitFor([&] { return meter->width() == 320 && meter->height() == 320 &&
                                     showsBars(*meter, 40 + 100 / 2, fit, &seen); })) << seen << meter->describe();
    for (int y : {2, 37, 283, 317})
        EXPECT_TRUE(near(meter->at(160, y), kBlack)) << "row " << y << ": " << hex(meter->at(160, y));
    EXPECT_FALSE(near(meter->at(160, 44), kBlack)) << "the picture starts at row 40";

    // Stretch, changed on the living view: no bars; the bars squeezed to 320 wide.
    fitted->updateScalingMode(ScalingMode::Stretch);
    EXPECT_EQ(fitted->scalingMode(), ScalingMode::Stretch);
    auto stretch = [](int x) { return x / 2; };
    EXPECT_TRUE(waitFor([&] { return !near(meter->at(160, 5), kBlack) && showsBars(*meter, 100 * 320 / 480, stretch, &seen); }))
        << seen << " top row " << hex(meter->at(160, 5));

    // Crop: 640x480 scaled to 427x320, 53 columns cut on each side: the yellow bar reaches x=30.
    fitted->updateScalingMode(ScalingMode::Crop);
    auto crop = [](int x) { return x * 320 / 480 - 53; };
    EXPECT_TRUE(waitFor([&] { return !near(meter->at(160, 5), kBlack) && near(meter->at(30, 66), kBars[1]) &&
                                     showsBars(*meter, 66, crop, &seen); }))
        << seen << " at x=30: " << hex(meter->at(30, 66));

    // Mirrored: the blue bar is on the left, the white one on the right.
    auto mirroredMeter = FrameMeter::create();
    auto mirrored = view(renderer, {.scalingMode = ScalingMode::Stretch, .isMirrored = true, .width = 320, .height = 320},
                         mirroredMeter);
    ASSERT_TRUE(mirrored.ok());
    EXPECT_TRUE(mirrored.value()->isMirrored());
    EXPECT_TRUE(waitFor([&] { return mirroredMeter->frames() > 3 && near(mirroredMeter->at(10, 66), kBars[6]) &&
                                     near(mirroredMeter->at(310, 66), kBars[0]); }))
        << hex(mirroredMeter->at(10, 66)) << " " << hex(mirroredMeter->at(310, 66));
}

TEST_F(VideoTest, SwitchingTheCameraChangesThePictureWithoutAGap)
{
    auto stream = connectSendingBars();
    ASSERT_TRUE(stream);
    auto ball = named(aliceClient_->deviceManager()->getCameraList(), "Virtual camera 2");
    ASSERT_TRUE(ball);
    auto remote = availableStream(other(atBob_), MediaStreamType::Video);
    ASSERT_TRUE(remote);
    Renderer renderer(remote);
    auto meter = FrameMeter::create();
    ASSERT_TRUE(view(renderer, {}, meter).ok());
    std::string seen;
    ASSERT_TRUE(waitFor([&] { return showsBars(*meter, 100, [](int x) { return x; }, &seen); })) << seen;

    // The white bar's place turns black with the ball: the time from the last frame of the old
    // camera to the first of the new one is the gap the switch made at the far end.
    meter->track(45, 100);
    // A few frames of the old camera first, so that the last one before the switch is known.
    ASSERT_TRUE(waitFor([&] { return meter->tracked().size() >= 3; }));
    size_t before = meter->frames();
    auto switched = stream->switchSource(*ball);
    ASSERT_TRUE(switched.ok()) << switched.error().message;
    EXPECT_EQ(stream->source(), *ball);
    EXPECT_TRUE(waitFor([&] { return meter->frames() > before && near(meter->at(45, 100), kBlack) &&
                                     near(meter->at(600, 20), kBlack); }))
        << hex(meter->at(45, 100));
    auto samples = meter->tracked();
    auto firstNew = std::find_if(samples.begin(), samples.end(), [](const FrameMeter::Sample& sample) {
        return near(sample.rgb, kBlack);
    });
    ASSERT_NE(firstNew, samples.end());
    ASSERT_NE(firstNew, samples.begin()) << "no frame of the old camera after the switch began";
    ASSERT_TRUE(near(std::prev(firstNew)->rgb, kBars[0])) << hex(std::prev(firstNew)->rgb);
    auto gap = std::chrono::duration_cast<std::chrono::milliseconds>(firstNew->arrived - std::prev(firstNew)->arrived);
    // At 30 fps a frame comes every 33 ms: a frame or two, with room for a busy machine.
    EXPECT_LT(gap.count(), 150) << "the far end waited " << gap.count() << " ms for the new camera";
    RecordProperty("switch_gap_ms", int(gap.count()));

    auto same = stream->switchSource(*ball);
    ASSERT_FALSE(same.ok());
    EXPECT_EQ(same.error().subCode, 43005);
    auto unknown = stream->switchSource(VideoDeviceInfo{"no-such-camera", "Nothing", VideoDeviceType::UsbCamera});
    ASSERT_FALSE(unknown.ok());
    EXPECT_EQ(unknown.error().subCode, 43004);
}

TEST_F(VideoTest, StoppingVideoMakesTheStreamUnavailableAndDisposesItsViewsStartingBringsItBack)
{
    auto stream = connectSendingBars();
    ASSERT_TRUE(stream);
    auto alice = other(atBob_);
    auto remote = availableStream(alice, MediaStreamType::Video);
    ASSERT_TRUE(remote);
    Renderer renderer(remote);
    auto meter = FrameMeter::create();
    auto made = view(renderer, {}, meter);
    ASSERT_TRUE(made.ok());
    ASSERT_TRUE(waitFor([&] { return meter->frames() > 3; }));

    int availabilityEvents = 0;
    auto availability = remote->onIsAvailableChanged([&] { availabilityEvents++; });
    auto stopped = run([&](Completion done) { atAlice_->stopVideo(stream, done); });
    ASSERT_TRUE(stopped && stopped->ok());
    EXPECT_TRUE(atAlice_->localVideoStreams().empty());
    ASSERT_TRUE(waitFor([&] { return !remote->isAvailable(); }));
    EXPECT_EQ(availabilityEvents, 1);
    EXPECT_TRUE(made.value()->isDisposed());
    EXPECT_EQ(made.value()->target(), nullptr);
    EXPECT_EQ(alice->videoStreams().size(), 1u) << "the camera stream stays, unavailable";
    std::optional<Result<std::shared_ptr<RendererView>>> refused;
    renderer.createView({}, [&](Result<std::shared_ptr<RendererView>> result) { refused = result; });
    ASSERT_TRUE(waitFor([&] { return refused.has_value(); }));
    ASSERT_FALSE(refused->ok());
    EXPECT_EQ(refused->error().subCode, 43200);

    auto again = run([&](Completion done) { atAlice_->stopVideo(stream, done); });
    ASSERT_TRUE(again && !again->ok());
    EXPECT_EQ(again->error().subCode, 41030);

    auto restarted = run([&](Completion done) { atAlice_->startVideo(stream, done); });
    ASSERT_TRUE(restarted && restarted->ok());
    ASSERT_TRUE(waitFor([&] { return remote->isAvailable(); }));
    auto meterAgain = FrameMeter::create();
    ASSERT_TRUE(view(renderer, {}, meterAgain).ok());
    std::string seen;
    EXPECT_TRUE(waitFor([&] { return showsBars(*meterAgain, 100, [](int x) { return x; }, &seen); })) << seen;

    auto twice = run([&](Completion done) { atAlice_->startVideo(stream, done); });
    ASSERT_TRUE(twice && !twice->ok());
    EXPECT_EQ(twice->error().subCode, 41027);
}

TEST_F(VideoTest, AScreenShareArrivesAsAScreenSharingStreamApartFromTheCameraAndGoesOnStop)
{
    auto stream = connectSendingBars();
    ASSERT_TRUE(stream);
    auto alice = other(atBob_);
    ASSERT_TRUE(availableStream(alice, MediaStreamType::Video));

    int sharingEvents = 0;
    auto sharing = atAlice_->onIsScreenSharingOnChanged([&] { sharingEvents++; });
    auto started = run([&](Completion done) { atAlice_->startScreenSharing(done); });
    ASSERT_TRUE(started && started->ok()) << (started ? started->error().message : "");
    EXPECT_TRUE(atAlice_->isScreenSharingOn());
    EXPECT_EQ(atAlice_->localVideoStreams().size(), 2u);
    auto screen = availableStream(alice, MediaStreamType::ScreenSharing);
    ASSERT_TRUE(screen);
    EXPECT_EQ(screen->type(), MediaStreamType::ScreenSharing);
    EXPECT_NE(screen->id(), alice->videoStreams().at(0)->id());

    Renderer screenRenderer(screen), cameraRenderer(alice->videoStreams().at(0));
    auto screenMeter = FrameMeter::create(), cameraMeter = FrameMeter::create();
    ASSERT_TRUE(view(screenRenderer, {}, screenMeter).ok());
    ASSERT_TRUE(view(cameraRenderer, {}, cameraMeter).ok());
    EXPECT_TRUE(waitFor([&] { return screenMeter->frames() > 2 && screenMeter->width() == 1280 &&
                                     screenMeter->height() == 720; }, 15s)) << screenMeter->describe();
    EXPECT_TRUE(waitFor([&] { return cameraMeter->frames() > 2 && cameraMeter->width() == 640; })) << cameraMeter->describe();

    auto twice = run([&](Completion done) { atAlice_->startScreenSharing(done); });
    ASSERT_TRUE(twice && !twice->ok());
    EXPECT_EQ(twice->error().subCode, 41035);

    auto stopped = run([&](Completion done) { atAlice_->stopScreenSharing(done); });
    ASSERT_TRUE(stopped && stopped->ok());
    EXPECT_FALSE(atAlice_->isScreenSharingOn());
    EXPECT_TRUE(waitFor([&] { return alice->screenSharingStreams().empty(); }));
    EXPECT_EQ(sharingEvents, 2);
    EXPECT_EQ(alice->videoStreams().size(), 1u);
    auto notSharing = run([&](Completion done) { atAlice_->stopScreenSharing(done); });
    ASSERT_TRUE(notSharing && !notSharing->ok());
    EXPECT_EQ(notSharing->error().subCode, 41041);
}

TEST_F(VideoTest, ALocalPreviewShowsTheCameraWithoutACall)
{
    auto& client = newClient();
    auto stream = camera(client, "Virtual camera 1");
    ASSERT_TRUE(stream);
    EXPECT_EQ(stream->mediaStreamType(), MediaStreamType::Video);
    Renderer renderer(stream);
    auto meter = FrameMeter::create();
    auto made = view(renderer, {.scalingMode = ScalingMode::Fit, .isMirrored = true, .width = 320, .height = 240}, meter);
    ASSERT_TRUE(made.ok()) << made.error().message;
    // Mirrored: blue on the left.
    EXPECT_TRUE(waitFor([&] { return meter->frames() > 3 && near(meter->at(10, 50), kBars[6]) &&
                                     near(meter->at(310, 50), kBars[0]); }))
        << meter->describe() << " " << hex(meter->at(10, 50));
    made.value()->dispose();
    EXPECT_TRUE(made.value()->isDisposed());
    size_t frames = meter->frames();
    // Disposed: no frame comes any more (the capture stopped with its last user).
    GMainContext* idle = g_main_context_new();
    test::iterateUntil(idle, [] { return false; }, 300ms);
    g_main_context_unref(idle);
    EXPECT_EQ(meter->frames(), frames);
}

TEST_F(VideoTest, StartVideoRefusesWhatItCannotSend)
{
    ASSERT_TRUE(connect());
    auto screens = aliceClient_->deviceManager()->getScreenList();
    ASSERT_FALSE(screens.empty());
    auto screenStream = std::make_shared<LocalVideoStream>(screens[0]);
    EXPECT_EQ(screenStream->mediaStreamType(), MediaStreamType::ScreenSharing);
    auto refused = run([&](Completion done) { atAlice_->startVideo(screenStream, done); });
    ASSERT_TRUE(refused && !refused->ok());
    EXPECT_EQ(refused->error().subCode, 41025);
    auto missing = std::make_shared<LocalVideoStream>(VideoDeviceInfo{"no-such-camera", "Nothing", VideoDeviceType::UsbCamera});
    auto noDevice = run([&](Completion done) { atAlice_->startVideo(missing, done); });
    ASSERT_TRUE(noDevice && !noDevice->ok());
    EXPECT_EQ(noDevice->error().subCode, 43013);
    auto notSent = run([&](Completion done) { atAlice_->stopVideo(missing, done); });
    ASSERT_TRUE(notSent && !notSent->ok());
    EXPECT_EQ(notSent->error().subCode, 41030);
}
