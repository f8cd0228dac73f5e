// From webrtcbin's statistics to MediaStatsSamples: the pure part of the MediaStats feature, with
// no threads and no pipeline, so that unit tests feed it structures of their own.
//
// The input is what callbin's "get-stats" answers (webrtcbin's, GStreamer 1.22): a structure whose
// fields are RTCStats structures named by type. What is used, and why:
//   outbound-rtp         ssrc, kind, bytes-sent, packets-sent: one per SSRC sent. webrtcbin also
//                        lists the retransmission (RTX) SSRCs here; a stream's own SSRC is the one
//                        a "codec" entry names (callbin's encoders), the rest are ignored.
//   inbound-rtp          ssrc, kind, bytes-received, packets-received, packets-lost, jitter (s). The
//                        SSRC the far end retransmits on (RTX) is listed too; a 1:1 call receives
//                        one stream per kind, the busiest SSRC of that kind.
//   remote-inbound-rtp   the far end's receiver report on a sent SSRC (local-id): packets-lost,
//                        fraction-lost, round-trip-time (s), jitter (s) when present. webrtcbin
//                        1.22 keeps one report block per remote source, often the one on the RTX
//                        SSRC, so the round-trip time is taken from any report of the same kind
//                        (it belongs to the path, which a bundled call shares).
//   codec                mime-type ("audio/OPUS"), ssrc.
// Bitrates are payload bytes over time between two readings, by each entry's `timestamp` (ms).
#pragma once

#include <calling/media_stats.h>

#include <gst/gst.h>

#include <cstdint>
#include <map>
#include <utility>

namespace calling::detail {

class MediaStatsComputer {
public:
    // The sample for this reading; remembers it for the next one's rates.
    MediaStatsSample next(const GstStructure* stats);

private:
    struct Previous {
        double timestampInMs = 0;
        uint64_t bytes = 0;
        uint64_t packets = 0;
        int64_t lost = 0;
    };
    std::map<std::pair<MediaStreamDirection, uint32_t>, Previous> previous_;
};

}  // namespace calling::detail
