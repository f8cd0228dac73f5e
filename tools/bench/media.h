// The media every stack in the benchmark sends, and what the receiving end measures of it.
//
// Video: a live test picture, 640x480 at 30 fps (videotestsrc, the moving ball). With stamping on,
// each frame carries the moment it left the source (g_get_monotonic_time, in milliseconds, 32
// bits) drawn as black and white blocks in its top rows, and again inverted below them, so that a
// receiver in the same process reads the capture time back from the decoded picture.
//
// Audio: a live 48 kHz mono source. Without bursts, a steady sine (what a microphone sends all the
// time); with bursts, silence broken by a 1 kHz tone of 20 ms every second, whose push times are
// kept so that the receiver can match the tone's onset to the moment it was "spoken".
#pragma once

#include <gst/gst.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

namespace bench {

// Microseconds of the monotonic clock every pipeline of the process shares.
inline int64_t nowUs()
{
    return g_get_monotonic_time();
}

GstElement* makeVideoSource(bool stamped);

// The moments (nowUs) the audio source pushed the start of each tone burst.
class BurstLog {
public:
    void add(int64_t atUs);
    // The latest burst pushed at or before `atUs`, if any within `windowUs`.
    std::optional<int64_t> latestBefore(int64_t atUs, int64_t windowUs) const;

private:
    mutable std::mutex mutex_;
    std::vector<int64_t> pushed_;
};

// `bursts`: null for a steady sine, else the log the tone bursts are written to.
GstElement* makeAudioSource(BurstLog* bursts);

// Latency samples (milliseconds) gathered on streaming threads.
class Samples {
public:
    void add(double value);
    // Something arrived that could not be measured (a frame whose stamp did not read back).
    void miss();
    std::vector<double> values() const;
    size_t size() const;
    size_t misses() const;

private:
    mutable std::mutex mutex_;
    std::vector<double> values_;
    size_t misses_ = 0;
};

// An appsink (floating) that reads the stamp of each decoded frame and adds capture-to-here
// latencies to `out`. `firstFrameUs`, when given, gets the arrival of the first frame.
GstElement* makeStampReader(Samples* out, std::atomic<int64_t>* firstFrameUs);

// An appsink (floating) that plays audio in real time (sync) and adds, for each tone onset it
// hears, the time since the matching burst left the source.
GstElement* makeOnsetDetector(const BurstLog* bursts, Samples* out);

// An appsink (floating) that only notes the arrival of the first frame: for set-up runs.
GstElement* makeFirstFrameSink(std::atomic<int64_t>* firstFrameUs);

// A sink that consumes in real time (fakesink sync=true), as a view or speaker that shows or plays
// does. `firstUs`, when given, gets the arrival of the first buffer; `count`, when given, counts
// the buffers (so that CPU figures can be read against the frames each stack really delivered:
// a loaded machine drops frames, and a frame not encoded costs nothing).
GstElement* makeRealTimeSink(std::atomic<int64_t>* firstUs = nullptr, std::atomic<uint64_t>* count = nullptr);

// Encoder settings callbin uses, so that every GStreamer stack sends the same bits.
void configureOpusLikeCallbin(GstElement* opusenc);
void configureVp8LikeCallbin(GstElement* vp8enc);

}  // namespace bench
