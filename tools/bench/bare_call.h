// The baseline anyone would hand-write instead of the library: two webrtcbins wired back to back
// in one pipeline of this process, the offer, answer and ICE candidates handed over directly (no
// server), webrtcbin's default settings except max-bundle, the same encoders and settings as
// callbin. Each side sends Opus (and VP8 640x480 at 30 fps when video is on) and decodes what
// it receives. Side A is the caller: set-up is from A's create-offer to A's first decoded frame
// of B's video.
#pragma once

#include "media.h"

#include <gst/gst.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace bench {

enum class Probe { FirstFrame, Latency, Consume };

struct CallMedia {
    bool video = true;
    // FirstFrame: A notes its first decoded frame of B (appsink, no sync);
    // Latency: B sends stamped video and tone bursts; A reads the stamps and detects onsets;
    // Consume: every end plays what it receives in real time (fakesink sync=true), as an app does.
    Probe probe = Probe::FirstFrame;
    // Collect received-audio statistics during the call (the capacity mode); off elsewhere, so
    // that polling statistics costs no stack CPU the others do not pay.
    bool stats = false;
};

// What one call observed, at the caller (A).
struct CallObservations {
    std::atomic<int64_t> startedUs{0};     // create-offer (bare) or call() (ours)
    std::atomic<int64_t> firstFrameUs{0};  // first decoded video frame of the callee
    // Stages of the set-up at the caller, for telling where its time goes: the peer connection
    // connected (ICE and DTLS done), the callee's video stream there (bare: webrtcbin's pad;
    // ours: the RemoteVideoStream available), and (ours) its view made.
    std::atomic<int64_t> connectedUs{0};
    std::atomic<int64_t> remoteVideoUs{0};
    std::atomic<int64_t> viewReadyUs{0};
    // Video frames that reached the (real-time) sinks of both ends, in the Consume probe.
    std::atomic<uint64_t> videoFrames{0};
    std::atomic<bool> failed{false};
    std::string failure;
    Samples videoLatencyMs;
    Samples audioLatencyMs;
    BurstLog bursts;
    ~CallObservations();
    // The fakesinks that play received audio (both ends), kept to read how many buffers they
    // dropped for arriving late.
    void keepSpeaker(GstElement* sink);
    // Buffers played and buffers dropped late by the speakers, so far.
    std::pair<uint64_t, uint64_t> speakerCounts() const;

private:
    mutable std::mutex speakersMutex_;
    std::vector<GstElement*> speakers_;
};

// A sink that plays received audio in real time, as a sound card does: a buffer more than 20 ms
// late is dropped (and counted). Registered with `observations` when given.
GstElement* makeSpeaker(CallObservations* observations);

// Loss of received RTP audio at both ends of a call, from webrtcbin's inbound-rtp statistics.
struct LossCount {
    uint64_t received = 0;
    int64_t lost = 0;
};

class BareCall {
public:
    BareCall(CallMedia media, CallObservations* observations);
    ~BareCall();
    BareCall(const BareCall&) = delete;
    BareCall& operator=(const BareCall&) = delete;

    // Builds the pipeline and sets it PLAYING; negotiation follows on webrtcbin's threads.
    bool start();
    // Both peer connections connected (DTLS done).
    bool connected() const;
    // Received audio at both ends so far; blocks on webrtcbin's get-stats.
    LossCount audioLoss() const;
    void stop();

private:
    static void onNegotiationNeeded(GstElement* webrtc, gpointer self);
    static void onOfferCreated(GstPromise* promise, gpointer self);
    static void onAnswerCreated(GstPromise* promise, gpointer self);
    static void onIceCandidate(GstElement* webrtc, guint mline, const char* candidate, gpointer self);
    static void onPadAdded(GstElement* webrtc, GstPad* pad, gpointer self);
    bool addSender(GstElement* webrtc, bool stamped);
    void fail(const std::string& why);

    CallMedia media_;
    CallObservations* observations_;
    GstElement* pipeline_ = nullptr;
    GstElement* a_ = nullptr;
    GstElement* b_ = nullptr;
    bool offered_ = false;
};

}  // namespace bench
