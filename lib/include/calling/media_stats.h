// Media statistics of a call: the ACS SDK's MediaStats feature. Where the ACS web SDK writes
//
//   const collector = call.feature(Features.MediaStats).createCollector(options);
//   collector.on('sampleReported', sample => ...);
//
// this library writes
//
//   auto collector = calling::createMediaStatsCollector(call, {.sampleInterval = std::chrono::seconds(1)});
//   auto subscription = collector->onSampleReported([](const calling::MediaStatsSample& sample) { ... });
//
// Each sample describes every RTP stream of the call's peer connection, sent and received: its
// bitrate over the last interval, packet loss, jitter and round-trip time, from webrtcbin's
// statistics (W3C RTCStats). Samples come once per interval from the moment the call's media
// exists (placing or accepting a call starts it) until the call ends or the collector is disposed.
//
// Threads: onSampleReported handlers run on the CallClient's callback thread, like every event of
// the library; the statistics are gathered on the library thread and webrtcbin's own thread,
// never on a streaming thread. Methods are safe from any thread. Ownership: the application holds
// the collector; it holds its call weakly. Letting go of the last handle disposes it. Nothing
// fires after the call's final events (Disconnected) or after dispose() returned.
#pragma once

#include <calling/events.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace calling {

class Call;

enum class MediaStreamDirection { Send, Receive };
enum class MediaStreamKind { Audio, Video };

const char* toString(MediaStreamDirection direction);
const char* toString(MediaStreamKind kind);

// One RTP stream of the call, as of one sample.
struct MediaStreamStats {
    MediaStreamDirection direction = MediaStreamDirection::Send;
    MediaStreamKind kind = MediaStreamKind::Audio;
    // The codec's MIME subtype as negotiated ("OPUS", "VP8"); empty when webrtcbin does not say.
    std::string codecName;
    uint32_t ssrc = 0;
    // Payload bits per second over the interval since the previous sample; none in the first
    // sample the stream appears in (nothing to measure against yet).
    std::optional<double> bitrate;
    // Packets sent or received since the stream began.
    uint64_t packets = 0;
    // Packets lost since the stream began: for a received stream as counted here, for a sent
    // stream as the far end reports in RTCP. None when the far end has not reported on it.
    std::optional<int64_t> packetsLost;
    // The fraction (0 to 1) of packets lost: for a received stream over the interval since the
    // previous sample (since the stream began, in its first sample); for a sent stream as in the
    // far end's last RTCP report.
    std::optional<double> packetsLostFraction;
    // Interarrival jitter in milliseconds: measured here for a received stream, reported by the
    // far end (RTCP) for a sent one.
    std::optional<double> jitterInMs;
    // Round-trip time in milliseconds, from RTCP sender and receiver reports. It belongs to the
    // path: in a bundled call every stream shares it, so received streams carry the one measured
    // for the streams sent. None until the first RTCP round trip (a few seconds into the call).
    std::optional<double> rttInMs;
};

struct MediaStatsSample {
    // When webrtcbin took the statistics, in milliseconds of the pipeline's clock: only
    // differences between samples mean something.
    double timestampInMs = 0;
    // Sent streams first, then received ones; audio before video within each.
    std::vector<MediaStreamStats> streams;

    // The first stream of that direction and kind, if any.
    const MediaStreamStats* find(MediaStreamDirection direction, MediaStreamKind kind) const;
};

struct MediaStatsCollectorOptions {
    // How often a sample is reported (the ACS SDK's sampleReported fires every second).
    std::chrono::milliseconds sampleInterval{1000};
};

class MediaStatsCollector {
public:
    ~MediaStatsCollector();  // disposes

    Subscription onSampleReported(std::function<void(const MediaStatsSample&)> handler);
    // Stops sampling and drops every handler: none is called after this returned, except one that
    // was already running on the callback thread (unsubscribe a Subscription to wait for it).
    void dispose();

    struct Impl;

private:
    friend std::shared_ptr<MediaStatsCollector> createMediaStatsCollector(const std::shared_ptr<Call>&,
                                                                          MediaStatsCollectorOptions);
    explicit MediaStatsCollector(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_;
};

// Starts collecting the call's media statistics. A collector of a call that already ended
// reports nothing.
std::shared_ptr<MediaStatsCollector> createMediaStatsCollector(const std::shared_ptr<Call>& call,
                                                               MediaStatsCollectorOptions options = {});

}  // namespace calling
