// A recording of a call: a branch of the call's pipeline that writes remote streams, as they
// arrive (Opus and VP8, no transcoding), as the tracks of one Matroska file:
//
//   tee (per remote stream) ─▶ queue ─▶ matroskamux (offset-to-zero) ─▶ filesink
//
// matroskamux in GStreamer 1.22 collects its pads (GstCollectPads): it writes nothing until every
// linked pad has data or EOS, and it refuses pads once it has started. So every track is requested
// at start, and the queues are unbounded in time and size: a track whose stream stops (video off)
// holds the mux back, and what the other tracks carry meanwhile waits in memory (Opus is about
// 4 kB/s) instead of being dropped; the track's next frame, or EOS, lets it all out. A video track
// drops frames until its first keyframe, and asks the sender for one, so the file decodes from
// its first frame.
//
// finish() ends the recording: it unhooks every track from its tee, drops the tracks that never
// had data (their caps are unknown, and the mux has not started without them), sends EOS into the
// others and waits, bounded, for EOS at the file. The file is then complete: matroskamux has
// written its index (cues) and rewritten its header with the duration.
//
// Threads: start(), finish() and the destructor run on the library thread; the pad probes run on
// streaming threads and only touch the shared, locked progress.
#pragma once

#include <calling/result.h>

#include "gstreamer/ref_ptr.h"

#include <gst/gst.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace calling::detail {

class RecordingBranch {
public:
    struct Track {
        GstElement* tee = nullptr;  // the remote stream's tee, in `bin`
        bool video = false;
        std::string description;     // for logs and the summary: "audio of 8:acs:..."
    };

    // Builds the branch in `bin` (a playing pipeline) and hooks it to the tracks' tees. Fails
    // with 500/0 when the file cannot be opened or the elements cannot be made.
    static Result<std::unique_ptr<RecordingBranch>> start(GstBin* bin, const std::string& path,
                                                          const std::vector<Track>& tracks);
    // Asks the sender of a video track for a keyframe (a stream that starts again after a gap).
    void requestKeyframe(size_t track);
    // Ends the recording and waits up to `timeout` for the file to be complete. Returns the
    // indices (in start()'s `tracks`) of the tracks written, those that had data, or an error when
    // nothing was recorded or the file was not finished in time. Call once.
    Result<std::vector<size_t>> finish(std::chrono::milliseconds timeout);
    ~RecordingBranch();  // takes the branch's elements out of the pipeline

    // What a track took in: buffers (video frames, audio packets) and the span of their
    // timestamps. Valid after finish().
    struct TrackCount {
        uint64_t buffers = 0;
        std::chrono::nanoseconds first{0};
        std::chrono::nanoseconds last{0};
        // The codec as SDP names it ("OPUS", "VP8", "H264"), from the caps of the first buffer.
        std::string codec;
    };
    const std::vector<TrackCount>& counts() const { return counts_; }

    struct Progress;

private:
    RecordingBranch() = default;

    struct Hooked {
        Track track;
        RefPtr<GstElement> queue;
        RefPtr<GstPad> teePad;
        RefPtr<GstPad> muxPad;
    };
    RefPtr<GstBin> bin_;
    RefPtr<GstElement> mux_;
    RefPtr<GstElement> sink_;
    std::vector<Hooked> hooked_;
    std::vector<TrackCount> counts_;
    std::shared_ptr<Progress> progress_;
    bool finished_ = false;
};

}  // namespace calling::detail
