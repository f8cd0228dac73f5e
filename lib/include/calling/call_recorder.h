// Recording a call to a file: a native extension of this library. The ACS Calling SDK records on
// the service (Call Recording of Call Automation); a headless agent here records what it receives
// itself, in its own call's pipeline:
//
//   auto recorder = calling::recordCall(call, {.path = "call.mkv"}, [](calling::Result<calling::Recording> done) {
//       // the file is complete (or done.error() says why not)
//   });
//   ...
//   recorder->stop();  // or let the call end: either finalises the file
//
// The file is Matroska: the far end's audio (Opus) and each video stream it publishes (VP8, or
// H.264 when the call negotiated it; see VideoOptions), written as they arrive, without
// transcoding; it starts at 0. Its tracks are fixed when the recording starts, as soon as the far
// end has joined the call (the streams it publishes are known then, before any media flows): a
// recording started earlier waits for that moment, and a stream published only later is not
// recorded. A track whose stream stops (video off) and starts again
// has a gap there; a track that never had data is left out. Recording costs memory while a
// recorded video stream is off (what the other tracks carry waits for it: about 4 kB/s of Opus).
//
// The file is finalised (its index written, so it is seekable, and its duration) when stop() is
// called or the call ends, however it ends: hung up by either side, the far end gone (after the
// server's grace window), the connection lost. `finished` fires once then, before the call's
// Disconnected event when the call's end finalised it. An application that exits on a signal
// should hang up (or stop()) and wait for `finished` before it leaves.
//
// Errors (`finished`): 412/41071 the call is over (or ends before the far end joined); 500/0 the
// file cannot be written, nothing arrived to record, or the file could not be finalised (the
// message says which).
//
// Threads: `finished` runs on the CallClient's callback thread, like every event of the library;
// the file is written on GStreamer's streaming threads and finalised on the library thread.
// Methods are safe from any thread. Ownership: the application holds the recorder; the recorder
// holds its call weakly. Letting go of the last handle does not stop the recording (the call's end
// does); `finished` still fires.
#pragma once

#include <calling/media_stats.h>
#include <calling/result.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace calling {

class Call;

struct CallRecorderOptions {
    // The file to write (created, or truncated).
    std::string path;
};

// One track of a finished recording.
struct RecordedTrack {
    MediaStreamKind kind = MediaStreamKind::Audio;
    std::string codecName;      // "OPUS", "VP8", "H264"
    std::string participantId;  // the raw id of the participant whose stream it is
    int streamId = 0;           // a video track: the participant's published stream id
    // What was written: video frames or audio packets, and the time from the first to the last.
    uint64_t frames = 0;
    std::chrono::milliseconds duration{0};
};

struct Recording {
    std::string path;
    std::vector<RecordedTrack> tracks;  // audio first
};

class CallRecorder {
public:
    ~CallRecorder();

    // Ends the recording and finalises the file; `finished` fires when it is complete. Nothing
    // happens when the recording is over already.
    void stop();

    struct Impl;

private:
    friend std::shared_ptr<CallRecorder> recordCall(const std::shared_ptr<Call>&, CallRecorderOptions,
                                                    std::function<void(Result<Recording>)>);
    explicit CallRecorder(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_;
};

// Starts recording what `call` receives into `options.path`; `finished` fires once, on the
// callback thread, when the file is complete or the recording failed.
std::shared_ptr<CallRecorder> recordCall(const std::shared_ptr<Call>& call, CallRecorderOptions options,
                                         std::function<void(Result<Recording>)> finished);

}  // namespace calling
