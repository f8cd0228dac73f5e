// MediaStatsComputer: webrtcbin's statistics (as callbin's get-stats answers, GStreamer 1.22) to
// samples. The readings are shaped like real ones, RTX SSRCs and receive-side codec entries
// without a MIME type included.
#include "media/media_stats.h"

#include <gst/gst.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <tuple>
#include <vector>

using namespace calling;

namespace {

using StructurePtr = std::unique_ptr<GstStructure, decltype(&gst_structure_free)>;

// A get-stats reply: each entry (a structure string) becomes a field named by its id.
StructurePtr reading(const std::vector<std::string>& entries)
{
    StructurePtr stats(gst_structure_new_empty("application/x-webrtc-stats"), gst_structure_free);
    for (const auto& text : entries) {
        GstStructure* entry = gst_structure_from_string(text.c_str(), nullptr);
        EXPECT_NE(entry, nullptr) << text;
        if (!entry)
            continue;
        std::string id = gst_structure_get_string(entry, "id");
        gst_structure_set(stats.get(), id.c_str(), GST_TYPE_STRUCTURE, entry, nullptr);
        gst_structure_free(entry);
    }
    return stats;
}

std::string at(double timestampMs)
{
    return ", timestamp=(double)" + std::to_string(timestampMs);
}

// What callbin's webrtcbin lists for a 1:1 audio call: the Opus SSRC it sends (named by the send
// codec), an RTX SSRC beside it, the far end's receiver report on the RTX SSRC only, the stream it
// receives and the far end's RTX SSRC beside that.
std::vector<std::string> audioCall(double timestampMs, uint64_t bytesSent, uint64_t packetsSent,
                                   uint64_t bytesReceived, uint64_t packetsReceived, int64_t packetsLost,
                                   double jitterSeconds = 0.002, double rttSeconds = 0.015)
{
    return {
        "codec, id=(string)codec-stats-sink_0, payload-type=(uint)96, clock-rate=(uint)48000, ssrc=(uint)1111, "
        "mime-type=(string)audio/OPUS, codec-type=(string)encode" + at(timestampMs),
        "codec, id=(string)codec-stats-src_0" + at(timestampMs),
        "outbound-rtp, id=(string)rtp-outbound-stream-stats_1111, ssrc=(uint)1111, codec-id=(string)codec-stats-src_0, "
        "kind=(string)audio, bytes-sent=(guint64)" + std::to_string(bytesSent) +
            ", packets-sent=(guint64)" + std::to_string(packetsSent) + at(timestampMs),
        "outbound-rtp, id=(string)rtp-outbound-stream-stats_2222, ssrc=(uint)2222, codec-id=(string)codec-stats-src_0, "
        "kind=(string)audio, bytes-sent=(guint64)583, packets-sent=(guint64)7, "
        "remote-id=(string)rtp-remote-inbound-stream-stats_2222" + at(timestampMs),
        "remote-inbound-rtp, id=(string)rtp-remote-inbound-stream-stats_2222, "
        "local-id=(string)rtp-outbound-stream-stats_2222, ssrc=(uint)2222, codec-id=(string)codec-stats-src_0, "
        "kind=(string)audio, packets-lost=(gint64)-1, fraction-lost=(double)0, round-trip-time=(double)" +
            std::to_string(rttSeconds) + at(timestampMs),
        "inbound-rtp, id=(string)rtp-inbound-stream-stats_3333, ssrc=(uint)3333, codec-id=(string)codec-stats-src_0, "
        "kind=(string)audio, packets-received=(guint64)" + std::to_string(packetsReceived) +
            ", packets-lost=(gint64)" + std::to_string(packetsLost) + ", jitter=(double)" +
            std::to_string(jitterSeconds) + ", bytes-received=(guint64)" + std::to_string(bytesReceived) +
            at(timestampMs),
        "inbound-rtp, id=(string)rtp-inbound-stream-stats_6666, ssrc=(uint)6666, codec-id=(string)codec-stats-src_0, "
        "kind=(string)audio, packets-received=(guint64)3, bytes-received=(guint64)250, jitter=(double)0" +
            at(timestampMs),
        "remote-outbound-rtp, id=(string)rtp-remote-outbound-stream-stats_3333, ssrc=(uint)3333, "
        "bytes-sent=(uint)42980, packets-sent=(uint)523" + at(timestampMs),
        "transport, id=(string)transport-stats_webrtcdtlstransport0" + at(timestampMs),
    };
}

class MediaStatsTest : public ::testing::Test {
protected:
    void SetUp() override { gst_init(nullptr, nullptr); }
    detail::MediaStatsComputer computer;
};

TEST_F(MediaStatsTest, NothingToReportWithoutACall)
{
    EXPECT_TRUE(computer.next(nullptr).streams.empty());
    EXPECT_TRUE(computer.next(reading({}).get()).streams.empty());
}

TEST_F(MediaStatsTest, BitrateIsPayloadBitsOverTheTimeBetweenReadings)
{
    MediaStatsSample first = computer.next(reading(audioCall(10000, 40000, 500, 30000, 400, 0)).get());
    ASSERT_EQ(first.streams.size(), 2u) << "RTX SSRCs are not streams of their own";
    EXPECT_FALSE(first.streams[0].bitrate) << "nothing to measure against yet";
    EXPECT_FALSE(first.streams[1].bitrate);

    // 4000 bytes more sent and 4100 more received over 1000 ms.
    MediaStatsSample second = computer.next(reading(audioCall(11000, 44000, 550, 34100, 450, 0)).get());
    EXPECT_DOUBLE_EQ(second.timestampInMs, 11000);
    const MediaStreamStats* send = second.find(MediaStreamDirection::Send, MediaStreamKind::Audio);
    const MediaStreamStats* receive = second.find(MediaStreamDirection::Receive, MediaStreamKind::Audio);
    ASSERT_TRUE(send && receive);
    ASSERT_TRUE(send->bitrate && receive->bitrate);
    EXPECT_DOUBLE_EQ(*send->bitrate, 32000);
    EXPECT_DOUBLE_EQ(*receive->bitrate, 32800);
    EXPECT_EQ(send->ssrc, 1111u);
    EXPECT_EQ(send->packets, 550u);
    EXPECT_EQ(receive->ssrc, 3333u);
    EXPECT_EQ(receive->packets, 450u);
    EXPECT_EQ(send->codecName, "OPUS");
    EXPECT_EQ(receive->codecName, "OPUS") << "the receive codec entry has no MIME type: the kind's codec";

    // Half a second later: the rate is per second, whatever the interval.
    MediaStatsSample third = computer.next(reading(audioCall(11500, 46000, 575, 36100, 475, 0)).get());
    EXPECT_DOUBLE_EQ(*third.find(MediaStreamDirection::Send, MediaStreamKind::Audio)->bitrate, 32000);
}

TEST_F(MediaStatsTest, JitterAndRoundTripTimeInMilliseconds)
{
    MediaStatsSample sample = computer.next(reading(audioCall(10000, 40000, 500, 30000, 400, 0, 0.0025, 0.012)).get());
    const MediaStreamStats* send = sample.find(MediaStreamDirection::Send, MediaStreamKind::Audio);
    const MediaStreamStats* receive = sample.find(MediaStreamDirection::Receive, MediaStreamKind::Audio);
    ASSERT_TRUE(send && receive);
    ASSERT_TRUE(receive->jitterInMs);
    EXPECT_DOUBLE_EQ(*receive->jitterInMs, 2.5);
    // webrtcbin kept the far end's report on the RTX SSRC: its round trip is the path's, for both.
    ASSERT_TRUE(send->rttInMs && receive->rttInMs);
    EXPECT_DOUBLE_EQ(*send->rttInMs, 12);
    EXPECT_DOUBLE_EQ(*receive->rttInMs, 12);
    EXPECT_FALSE(send->packetsLost) << "the far end reported on the RTX SSRC, not on this one";
    EXPECT_FALSE(send->jitterInMs);
}

TEST_F(MediaStatsTest, NoRoundTripTimeBeforeTheFirstReport)
{
    std::vector<std::string> entries = audioCall(10000, 40000, 500, 30000, 400, 0);
    std::erase_if(entries, [](const std::string& entry) { return entry.starts_with("remote-inbound-rtp"); });
    MediaStatsSample sample = computer.next(reading(entries).get());
    ASSERT_EQ(sample.streams.size(), 2u);
    EXPECT_FALSE(sample.streams[0].rttInMs);
    EXPECT_FALSE(sample.streams[1].rttInMs);
}

TEST_F(MediaStatsTest, ReceiveLossIsTheFractionLostSinceThePreviousReading)
{
    MediaStatsSample first = computer.next(reading(audioCall(10000, 40000, 500, 30000, 390, 10)).get());
    const MediaStreamStats* receive = first.find(MediaStreamDirection::Receive, MediaStreamKind::Audio);
    ASSERT_TRUE(receive && receive->packetsLostFraction);
    EXPECT_DOUBLE_EQ(*receive->packetsLostFraction, 10.0 / 400) << "since the stream began, in its first sample";
    EXPECT_EQ(receive->packetsLost, 10);

    // 95 received and 5 more lost since.
    MediaStatsSample second = computer.next(reading(audioCall(11000, 44000, 550, 34000, 485, 15)).get());
    receive = second.find(MediaStreamDirection::Receive, MediaStreamKind::Audio);
    ASSERT_TRUE(receive && receive->packetsLostFraction);
    EXPECT_DOUBLE_EQ(*receive->packetsLostFraction, 0.05);
    EXPECT_EQ(receive->packetsLost, 15);

    // Nothing lost since.
    MediaStatsSample third = computer.next(reading(audioCall(12000, 48000, 600, 38000, 535, 15)).get());
    EXPECT_DOUBLE_EQ(*third.find(MediaStreamDirection::Receive, MediaStreamKind::Audio)->packetsLostFraction, 0);
}

TEST_F(MediaStatsTest, TheFarEndsReportOnASentStreamGivesItsLossAndJitter)
{
    std::vector<std::string> entries = audioCall(10000, 40000, 500, 30000, 400, 0);
    entries.push_back(
        "remote-inbound-rtp, id=(string)rtp-remote-inbound-stream-stats_1111, "
        "local-id=(string)rtp-outbound-stream-stats_1111, ssrc=(uint)1111, kind=(string)audio, "
        "packets-lost=(gint64)12, fraction-lost=(double)0.03125, round-trip-time=(double)0.015, jitter=(double)0.004" +
        at(10000));
    MediaStatsSample sample = computer.next(reading(entries).get());
    const MediaStreamStats* send = sample.find(MediaStreamDirection::Send, MediaStreamKind::Audio);
    ASSERT_TRUE(send);
    EXPECT_EQ(send->packetsLost, 12);
    ASSERT_TRUE(send->packetsLostFraction);
    EXPECT_DOUBLE_EQ(*send->packetsLostFraction, 0.03125);
    ASSERT_TRUE(send->jitterInMs);
    EXPECT_DOUBLE_EQ(*send->jitterInMs, 4);
}

TEST_F(MediaStatsTest, WithoutACodecNamingAnSsrcTheBusiestOfAKindIsTheStream)
{
    std::vector<std::string> entries = audioCall(10000, 40000, 500, 30000, 400, 0);
    std::erase_if(entries, [](const std::string& entry) { return entry.find("codec-stats-sink_0") != std::string::npos; });
    MediaStatsSample sample = computer.next(reading(entries).get());
    const MediaStreamStats* send = sample.find(MediaStreamDirection::Send, MediaStreamKind::Audio);
    ASSERT_TRUE(send);
    EXPECT_EQ(send->ssrc, 1111u);
    EXPECT_EQ(sample.streams.size(), 2u);
}

TEST_F(MediaStatsTest, AudioAndVideoBothWaysInOrder)
{
    std::vector<std::string> entries = audioCall(10000, 40000, 500, 30000, 400, 0);
    entries.push_back("codec, id=(string)codec-stats-sink_1, payload-type=(uint)104, clock-rate=(uint)90000, "
                      "ssrc=(uint)4444, mime-type=(string)video/VP8, codec-type=(string)encode" + at(10000));
    entries.push_back("outbound-rtp, id=(string)rtp-outbound-stream-stats_4444, ssrc=(uint)4444, kind=(string)video, "
                      "bytes-sent=(guint64)900000, packets-sent=(guint64)900" + at(10000));
    entries.push_back("inbound-rtp, id=(string)rtp-inbound-stream-stats_5555, ssrc=(uint)5555, kind=(string)video, "
                      "bytes-received=(guint64)800000, packets-received=(guint64)800, packets-lost=(gint64)0, "
                      "jitter=(double)0.001" + at(10000));
    MediaStatsSample sample = computer.next(reading(entries).get());
    ASSERT_EQ(sample.streams.size(), 4u);
    EXPECT_EQ(sample.streams[0].direction, MediaStreamDirection::Send);
    EXPECT_EQ(sample.streams[0].kind, MediaStreamKind::Audio);
    EXPECT_EQ(sample.streams[1].direction, MediaStreamDirection::Send);
    EXPECT_EQ(sample.streams[1].kind, MediaStreamKind::Video);
    EXPECT_EQ(sample.streams[1].codecName, "VP8");
    EXPECT_EQ(sample.streams[2].direction, MediaStreamDirection::Receive);
    EXPECT_EQ(sample.streams[2].kind, MediaStreamKind::Audio);
    EXPECT_EQ(sample.streams[3].direction, MediaStreamDirection::Receive);
    EXPECT_EQ(sample.streams[3].kind, MediaStreamKind::Video);
    EXPECT_EQ(sample.streams[3].codecName, "VP8");
    // The audio report's round trip is the path's: video streams get it too.
    ASSERT_TRUE(sample.streams[3].rttInMs);
    EXPECT_DOUBLE_EQ(*sample.streams[3].rttInMs, 15);
}

// webrtcbin 1.22 bundles the streams and writes one transceiver's kind ("audio") and codec-id on
// every entry, as in this reading of a real video call: the SSRC tells the kind, through the codec
// that names it (sent streams) or its RTP source's clock rate (received ones).
TEST_F(MediaStatsTest, InABundledCallTheSsrcTellsTheKindNotTheKindField)
{
    auto source = [](uint32_t ssrc, int clockRate) {
        return gst_structure_new("application/x-rtp-source-stats", "ssrc", G_TYPE_UINT, ssrc, "clock-rate", G_TYPE_INT,
                                 clockRate, nullptr);
    };
    auto videoCall = [&](double timestampMs, uint64_t videoBytesSent, uint64_t videoBytesReceived) -> StructurePtr {
        std::vector<std::string> entries = audioCall(timestampMs, 40000, 500, 30000, 400, 0);
        entries.push_back("codec, id=(string)codec-stats-sink_1, payload-type=(uint)104, clock-rate=(uint)90000, "
                          "ssrc=(uint)4444, mime-type=(string)video/VP8, codec-type=(string)encode" + at(timestampMs));
        entries.push_back("outbound-rtp, id=(string)rtp-outbound-stream-stats_4444, ssrc=(uint)4444, "
                          "codec-id=(string)codec-stats-src_0, kind=(string)audio, bytes-sent=(guint64)" +
                          std::to_string(videoBytesSent) + ", packets-sent=(guint64)900" + at(timestampMs));
        entries.push_back("inbound-rtp, id=(string)rtp-inbound-stream-stats_5555, ssrc=(uint)5555, "
                          "codec-id=(string)codec-stats-src_0, kind=(string)audio, bytes-received=(guint64)" +
                          std::to_string(videoBytesReceived) +
                          ", packets-received=(guint64)800, packets-lost=(gint64)0, jitter=(double)0.001" +
                          at(timestampMs));
        StructurePtr stats = reading(entries);
        for (auto [id, ssrc, clockRate] : {std::tuple{"rtp-inbound-stream-stats_5555", 5555u, 90000},
                                           std::tuple{"rtp-inbound-stream-stats_3333", 3333u, 48000}}) {
            GstStructure* entry = nullptr;
            gst_structure_get(stats.get(), id, GST_TYPE_STRUCTURE, &entry, nullptr);
            EXPECT_NE(entry, nullptr);
            if (!entry)
                continue;
            GstStructure* nested = source(ssrc, clockRate);
            gst_structure_set(entry, "gst-rtpsource-stats", GST_TYPE_STRUCTURE, nested, nullptr);
            gst_structure_set(stats.get(), id, GST_TYPE_STRUCTURE, entry, nullptr);
            gst_structure_free(nested);
            gst_structure_free(entry);
        }
        return stats;
    };
    computer.next(videoCall(10000, 900000, 800000).get());
    MediaStatsSample sample = computer.next(videoCall(11000, 1025000, 900000).get());
    auto* videoSent = sample.find(MediaStreamDirection::Send, MediaStreamKind::Video);
    auto* audioSent = sample.find(MediaStreamDirection::Send, MediaStreamKind::Audio);
    auto* videoReceived = sample.find(MediaStreamDirection::Receive, MediaStreamKind::Video);
    auto* audioReceived = sample.find(MediaStreamDirection::Receive, MediaStreamKind::Audio);
    ASSERT_TRUE(videoSent && audioSent && videoReceived && audioReceived) << sample.streams.size() << " streams";
    EXPECT_EQ(videoSent->ssrc, 4444u);
    EXPECT_EQ(audioSent->ssrc, 1111u);
    EXPECT_EQ(videoReceived->ssrc, 5555u);
    EXPECT_EQ(audioReceived->ssrc, 3333u);
    ASSERT_TRUE(videoSent->bitrate && videoReceived->bitrate);
    EXPECT_DOUBLE_EQ(*videoSent->bitrate, 1000000);  // 125,000 bytes in a second
    EXPECT_DOUBLE_EQ(*videoReceived->bitrate, 800000);
}

TEST_F(MediaStatsTest, AStreamThatWentAwayStartsAfreshWhenItComesBack)
{
    (void)computer.next(reading(audioCall(10000, 40000, 500, 30000, 400, 0)).get());
    std::vector<std::string> withoutReceive = audioCall(11000, 44000, 550, 0, 0, 0);
    std::erase_if(withoutReceive, [](const std::string& entry) { return entry.starts_with("inbound-rtp"); });
    MediaStatsSample gap = computer.next(reading(withoutReceive).get());
    EXPECT_FALSE(gap.find(MediaStreamDirection::Receive, MediaStreamKind::Audio));
    MediaStatsSample back = computer.next(reading(audioCall(12000, 48000, 600, 38000, 500, 0)).get());
    const MediaStreamStats* receive = back.find(MediaStreamDirection::Receive, MediaStreamKind::Audio);
    ASSERT_TRUE(receive);
    EXPECT_FALSE(receive->bitrate) << "not measured against a reading from before the gap";
    EXPECT_TRUE(back.find(MediaStreamDirection::Send, MediaStreamKind::Audio)->bitrate);
}

TEST_F(MediaStatsTest, NamesForPeople)
{
    EXPECT_STREQ(toString(MediaStreamDirection::Send), "send");
    EXPECT_STREQ(toString(MediaStreamDirection::Receive), "receive");
    EXPECT_STREQ(toString(MediaStreamKind::Audio), "audio");
    EXPECT_STREQ(toString(MediaStreamKind::Video), "video");
}

}  // namespace
