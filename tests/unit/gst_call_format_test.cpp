// gst-call's pure parts: the status line it prints per MediaStats sample, and how an end reason or
// an error becomes its exit code (docs/gst-call.md has both; scripts and tests parse them).
#include "exit_codes.h"
#include "status_line.h"

#include <gtest/gtest.h>

using namespace calling;
using namespace gstcall;

namespace {

MediaStreamStats stream(MediaStreamDirection direction, MediaStreamKind kind, std::optional<double> bitrate)
{
    MediaStreamStats stats;
    stats.direction = direction;
    stats.kind = kind;
    stats.bitrate = bitrate;
    return stats;
}

TEST(GstCallStatusLine, CallTime)
{
    EXPECT_EQ(formatCallTime(std::chrono::seconds(0)), "00:00");
    EXPECT_EQ(formatCallTime(std::chrono::seconds(3)), "00:03");
    EXPECT_EQ(formatCallTime(std::chrono::seconds(754)), "12:34");
    EXPECT_EQ(formatCallTime(std::chrono::seconds(3723)), "1:02:03");
}

TEST(GstCallStatusLine, SendThenReceiveWithLossJitterAndTheRoundTripOnTheReceivedStream)
{
    MediaStatsSample sample;
    auto send = stream(MediaStreamDirection::Send, MediaStreamKind::Audio, 32100);
    send.rttInMs = 1.2;
    auto receive = stream(MediaStreamDirection::Receive, MediaStreamKind::Audio, 31840);
    receive.packetsLostFraction = 0.0;
    receive.jitterInMs = 2.4;
    receive.rttInMs = 1.2;
    sample.streams = {send, receive};
    EXPECT_EQ(formatStatusLine(std::chrono::seconds(3), sample),
              "00:03 audio send 32.1 kb/s | audio recv 31.8 kb/s loss 0.0% jitter 2 ms rtt 1 ms");
}

TEST(GstCallStatusLine, UnknownFiguresAreLeftOutOrDashed)
{
    MediaStatsSample sample;
    EXPECT_EQ(formatStatusLine(std::chrono::seconds(1), sample), "00:01 no media yet");
    auto send = stream(MediaStreamDirection::Send, MediaStreamKind::Audio, std::nullopt);
    send.rttInMs = 7;
    send.packetsLostFraction = 0.125;
    sample.streams = {send, stream(MediaStreamDirection::Send, MediaStreamKind::Video, 998000)};
    // Nothing received: the round trip goes with what is sent.
    EXPECT_EQ(formatStatusLine(std::chrono::seconds(1), sample),
              "00:01 audio send - kb/s loss 12.5% rtt 7 ms | video send 998.0 kb/s");
}

TEST(GstCallExitCodes, FromEndReasons)
{
    EXPECT_EQ(exitCodeFor(CallEndReason{0, 0}), kExitOk);
    EXPECT_EQ(exitCodeFor(CallEndReason{0, 4097}), kExitOk);
    EXPECT_EQ(exitCodeFor(CallEndReason{603, 0}), kExitDeclined);
    EXPECT_EQ(exitCodeFor(CallEndReason{487, 10004}), kExitNoAnswer);
    EXPECT_EQ(exitCodeFor(CallEndReason{487, 0}), kExitCancelled);
    EXPECT_EQ(exitCodeFor(CallEndReason{487, 10003}), kExitCancelled);
    EXPECT_EQ(exitCodeFor(CallEndReason{480, 10037}), kExitUnreachable);
    EXPECT_EQ(exitCodeFor(CallEndReason{410, 301005}), kExitConnectionLost);
    EXPECT_EQ(exitCodeFor(CallEndReason{410, 3101}), kExitConnectionLost);
    EXPECT_EQ(exitCodeFor(CallEndReason{495, 4507}), kExitAuth);
    EXPECT_EQ(exitCodeFor(CallEndReason{410, 3100}), kExitFailed);
    EXPECT_EQ(exitCodeFor(CallEndReason{410, 0}), kExitFailed);
}

TEST(GstCallExitCodes, FromErrorsBeforeTheCall)
{
    EXPECT_EQ(exitCodeFor(Error{401, 4507}), kExitAuth);
    EXPECT_EQ(exitCodeFor(Error{401, 0}), kExitAuth);
    EXPECT_EQ(exitCodeFor(Error{408, 40104}), kExitConnectionLost);
    EXPECT_EQ(exitCodeFor(Error{404, 0}), kExitUsage);
    EXPECT_EQ(exitCodeFor(Error{409, 40228}), kExitFailed);
}

}  // namespace
