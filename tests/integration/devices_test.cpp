// The DeviceManager against the calling plugin's virtual test devices, and a microphone switched
// in the middle of a call, heard at the far end: the real server, real webrtcbin on loopback.
#include "agent_test.h"
#include "tone_meter.h"

#include <algorithm>
#include <optional>

using namespace calling;
using namespace std::chrono_literals;
using calling::test::named;
using calling::test::ToneMeter;

namespace {

class DevicesTest : public test::AgentTest {
protected:
    std::shared_ptr<CallAgent> signIn(CallClient& client, const std::string& id, AudioDevices audio = {})
    {
        return AgentTest::signIn(client, id, {.audio = std::move(audio)});
    }
};

}  // namespace

TEST_F(DevicesTest, ListsTheVirtualDevices)
{
    auto devices = newClient().deviceManager();
    auto cameras = devices->getCameraList();
    auto microphones = devices->getMicrophoneList();
    auto speakers = devices->getSpeakerList();
    auto screens = devices->getScreenList();
    auto camera = named(cameras, "Virtual camera 1");
    ASSERT_TRUE(camera) << cameras.size() << " cameras";
    EXPECT_EQ(camera->deviceType, VideoDeviceType::Virtual);
    EXPECT_TRUE(camera->id.starts_with("calling-virtual:")) << camera->id;
    EXPECT_TRUE(named(cameras, "Virtual camera 2"));
    EXPECT_TRUE(named(microphones, "Virtual microphone 440 Hz"));
    EXPECT_TRUE(named(microphones, "Virtual microphone 880 Hz"));
    EXPECT_FALSE(speakers.empty());
    ASSERT_FALSE(screens.empty());
    EXPECT_EQ(screens[0].deviceType, VideoDeviceType::ScreenSharing);
    EXPECT_FALSE(named(cameras, screens[0].name)) << "a screen is not a camera";
    EXPECT_EQ(devices->getPermissionState(PermissionKind::Camera), PermissionState::Granted);
    EXPECT_EQ(devices->getPermissionState(PermissionKind::Microphone), PermissionState::Granted);

    std::optional<Result<Done>> refused;
    devices->setMicrophone(AudioDeviceInfo{"no-such-device", "Nothing"}, [&](Result<Done> result) { refused = result; });
    ASSERT_TRUE(waitFor([&] { return refused.has_value(); }));
    ASSERT_FALSE(refused->ok());
    EXPECT_EQ(refused->error().subCode, 43004);
    EXPECT_FALSE(devices->getMicrophone());
}

TEST_F(DevicesTest, SettingTheMicrophoneMidCallChangesTheToneTheFarEndHears)
{
    std::string aliceId = rest_->createIdentity();
    std::string bobId = rest_->createIdentity();
    CallClient& aliceClient = newClient();
    auto devices = aliceClient.deviceManager();
    auto low = named(devices->getMicrophoneList(), "Virtual microphone 440 Hz");
    auto high = named(devices->getMicrophoneList(), "Virtual microphone 880 Hz");
    ASSERT_TRUE(low && high);
    bool selected = false;
    int selectionEvents = 0;
    auto subscription = devices->onSelectedMicrophoneChanged([&] { selectionEvents++; });
    devices->setMicrophone(*low, [&](Result<Done> result) { selected = result.ok(); });
    ASSERT_TRUE(waitFor([&] { return selected; }));
    EXPECT_EQ(devices->getMicrophone(), low);

    auto bobHears = ToneMeter::create();
    auto alice = signIn(aliceClient, aliceId);
    auto bob = signIn(newClient(), bobId, {.speaker = [bobHears] { return bobHears->makeSink(); }});
    ASSERT_TRUE(alice && bob);
    EXPECT_EQ(alice->deviceManager(), devices);
    std::shared_ptr<Call> answered;
    auto incoming = bob->onIncomingCall([&](std::shared_ptr<IncomingCall> call) {
        call->accept({}, [&](Result<std::shared_ptr<Call>> accepted) {
            if (accepted)
                answered = accepted.value();
        });
    });
    auto outgoing = alice->call({CommunicationUserIdentifier{bobId}});
    ASSERT_TRUE(waitFor([&] { return answered && outgoing->state() == CallState::Connected; }, 15s));
    ASSERT_TRUE(waitFor([&] { return bobHears->dominance(440) > 0.8; })) << bobHears->dominance(440);

    selected = false;
    devices->setMicrophone(*high, [&](Result<Done> result) { selected = result.ok(); });
    ASSERT_TRUE(waitFor([&] { return selected; }));
    EXPECT_TRUE(waitFor([&] { return bobHears->dominance(880) > 0.8; })) << bobHears->dominance(880);
    EXPECT_LT(bobHears->dominance(440), 0.1);
    EXPECT_EQ(selectionEvents, 2);
    EXPECT_EQ(outgoing->state(), CallState::Connected);
}

TEST_F(DevicesTest, SettingTheSpeakerMidCallMovesTheFarEndsAudioThere)
{
    std::string aliceId = rest_->createIdentity();
    std::string bobId = rest_->createIdentity();
    auto bobHears = ToneMeter::create();
    auto alice = signIn(newClient(), aliceId);
    CallClient& bobClient = newClient();
    auto bob = signIn(bobClient, bobId, {.speaker = [bobHears] { return bobHears->makeSink(); }});
    ASSERT_TRUE(alice && bob);
    std::shared_ptr<Call> answered;
    auto incoming = bob->onIncomingCall([&](std::shared_ptr<IncomingCall> call) {
        call->accept({}, [&](Result<std::shared_ptr<Call>> accepted) {
            if (accepted)
                answered = accepted.value();
        });
    });
    auto outgoing = alice->call({CommunicationUserIdentifier{bobId}});
    ASSERT_TRUE(waitFor([&] { return answered && answered->state() == CallState::Connected; }, 15s));
    ASSERT_TRUE(waitFor([&] { return bobHears->received() > 48000; })) << "a second of audio in Bob's first speaker";

    auto speaker = named(bobClient.deviceManager()->getSpeakerList(), "Virtual speaker");
    ASSERT_TRUE(speaker);
    bool selected = false;
    bobClient.deviceManager()->setSpeaker(*speaker, [&](Result<Done> result) { selected = result.ok(); });
    ASSERT_TRUE(waitFor([&] { return selected; }));
    EXPECT_EQ(bobClient.deviceManager()->getSpeaker(), speaker);
    // The first speaker is taken out of the call's pipeline and destroyed; the call goes on.
    EXPECT_TRUE(waitFor([&] { return bobHears->sinksReleased(); }));
    EXPECT_EQ(answered->state(), CallState::Connected);
}
