// The MediaStats feature on a real call: the real calling-server, two agents in this process, each
// call a real pipeline with callbin and webrtcbin over loopback, Opus at 32 kb/s both ways.
#include "agent_test.h"

#include <calling/media_stats.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

using namespace calling;
using namespace std::chrono_literals;

namespace {

struct Party {
    std::string id;
    std::shared_ptr<CallAgent> agent;
    std::vector<std::shared_ptr<IncomingCall>> ringing;
    Subscription incomingSubscription;
};

class MediaStatsCallTest : public test::AgentTest {
protected:
    void releaseCalls() override { parties_.clear(); }

    Party& addParty(const std::string& name)
    {
        auto party = std::make_unique<Party>();
        party->id = rest_->createIdentity();
        party->agent = signIn(newClient(), party->id, {.displayName = name});
        EXPECT_TRUE(party->agent);
        Party* raw = party.get();
        if (raw->agent)
            raw->incomingSubscription =
                raw->agent->onIncomingCall([raw](std::shared_ptr<IncomingCall> call) { raw->ringing.push_back(call); });
        parties_.push_back(std::move(party));
        return *raw;
    }

    std::vector<std::unique_ptr<Party>> parties_;
};

// callbin sends Opus at 32 kb/s: payload bytes only, so a little under or over with DTX and FEC.
// Right after the media connects a sample can be well over (what queued while DTLS completed
// goes out at once), so the test waits for a sample that is in range rather than taking the first.
bool opusRate(const std::optional<double>& bitrate)
{
    return bitrate && *bitrate > 20000 && *bitrate < 60000;
}

bool audioFlowsBothWays(const MediaStatsSample& sample)
{
    auto* send = sample.find(MediaStreamDirection::Send, MediaStreamKind::Audio);
    auto* receive = sample.find(MediaStreamDirection::Receive, MediaStreamKind::Audio);
    return send && receive && opusRate(send->bitrate) && opusRate(receive->bitrate) && send->rttInMs;
}

std::string describe(const MediaStatsSample& sample)
{
    std::string text;
    for (const auto& stream : sample.streams) {
        text += std::string(toString(stream.kind)) + " " + toString(stream.direction) + " " + stream.codecName +
                " bitrate=" + (stream.bitrate ? std::to_string(*stream.bitrate) : "-") +
                " packets=" + std::to_string(stream.packets) +
                " rtt=" + (stream.rttInMs ? std::to_string(*stream.rttInMs) : "-") +
                " jitter=" + (stream.jitterInMs ? std::to_string(*stream.jitterInMs) : "-") + "; ";
    }
    return text;
}

TEST_F(MediaStatsCallTest, ACallReportsOpusBitrateBothWaysAndARoundTripTime)
{
    Party& alice = addParty("Alice");
    Party& bob = addParty("Bob");
    ASSERT_TRUE(alice.agent && bob.agent);

    auto outgoing = alice.agent->call({CommunicationUserIdentifier{bob.id}});
    // Created at once, before there is any media: it reports once the call has a pipeline.
    auto collector = createMediaStatsCollector(outgoing, {.sampleInterval = 500ms});
    std::vector<MediaStatsSample> samples;
    auto subscription = collector->onSampleReported([&](const MediaStatsSample& sample) { samples.push_back(sample); });

    ASSERT_TRUE(waitFor([&] { return !bob.ringing.empty(); }));
    std::optional<Result<std::shared_ptr<Call>>> accepted;
    bob.ringing[0]->accept({}, [&](Result<std::shared_ptr<Call>> call) { accepted = std::move(call); });
    ASSERT_TRUE(waitFor([&] { return accepted && accepted->ok() && outgoing->state() == CallState::Connected; }, 15s));

    // RTCP reports (hence the round trip) take a few seconds to come.
    ASSERT_TRUE(waitFor([&] { return !samples.empty() && audioFlowsBothWays(samples.back()); }, 20s))
        << (samples.empty() ? "no sample" : describe(samples.back()));
    const MediaStatsSample& sample = samples.back();
    auto* send = sample.find(MediaStreamDirection::Send, MediaStreamKind::Audio);
    auto* receive = sample.find(MediaStreamDirection::Receive, MediaStreamKind::Audio);
    EXPECT_EQ(send->codecName, "OPUS");
    EXPECT_EQ(receive->codecName, "OPUS");
    EXPECT_GT(send->packets, 0u);
    EXPECT_GT(receive->packets, 0u);
    ASSERT_TRUE(send->rttInMs);
    EXPECT_GE(*send->rttInMs, 0);
    EXPECT_LT(*send->rttInMs, 500) << "loopback";
    ASSERT_TRUE(receive->jitterInMs);
    EXPECT_LT(*receive->jitterInMs, 100);
    ASSERT_TRUE(receive->packetsLostFraction);
    EXPECT_LT(*receive->packetsLostFraction, 0.05) << "loopback";
    EXPECT_FALSE(sample.find(MediaStreamDirection::Send, MediaStreamKind::Video)) << "an audio call";
    // Samples come at the interval, by webrtcbin's clock.
    ASSERT_GE(samples.size(), 2u);
    double spacing = samples[samples.size() - 1].timestampInMs - samples[samples.size() - 2].timestampInMs;
    EXPECT_GT(spacing, 250);
    EXPECT_LT(spacing, 1500);

    // After the call ended nothing more comes.
    bool hungUp = false;
    outgoing->hangUp({}, [&](Result<Done>) { hungUp = true; });
    ASSERT_TRUE(waitFor([&] { return hungUp; }));
    size_t reported = samples.size();
    EXPECT_FALSE(waitFor([&] { return samples.size() > reported; }, 1500ms)) << "a sample after the call ended";
}

TEST_F(MediaStatsCallTest, NothingIsReportedAfterDispose)
{
    Party& alice = addParty("Alice");
    Party& bob = addParty("Bob");
    ASSERT_TRUE(alice.agent && bob.agent);
    auto outgoing = alice.agent->call({CommunicationUserIdentifier{bob.id}});
    auto collector = createMediaStatsCollector(outgoing, {.sampleInterval = 200ms});
    size_t reported = 0;
    auto subscription = collector->onSampleReported([&](const MediaStatsSample&) { ++reported; });
    ASSERT_TRUE(waitFor([&] { return !bob.ringing.empty(); }));
    // Ringing: the caller's pipeline exists (no streams yet), so samples come.
    ASSERT_TRUE(waitFor([&] { return reported >= 2; }));
    collector->dispose();
    size_t atDispose = reported;
    EXPECT_FALSE(waitFor([&] { return reported > atDispose; }, 1s)) << "a sample after dispose()";
}

}  // namespace
