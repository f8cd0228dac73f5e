// Call: one call of a CallAgent, placed (CallAgent::call) or accepted (IncomingCall::accept).
//
// A call is a GStreamer pipeline the library builds from the calling plugin's elements: the
// microphone, Opus, `callbin` (webrtcbin inside), and per remote participant a decoder and the
// speaker. Media flows peer to peer; calling-server only relays the signalling.
//
// States, in the order a call goes through them:
//   placed:   None → Connecting → Ringing → Connected → Disconnecting → Disconnected
//   accepted: None → Connecting → Connected → Disconnecting → Disconnected
// with LocalHold (this side held) and RemoteHold (the other side held) while Connected. EarlyMedia
// and InLobby belong to group and phone calls and are not entered by 1:1 calls.
//
// Threads: events and completions fire on the CallClient's callback thread; methods are safe from
// any thread. Once the call reached Disconnected (its onStateChanged handlers ran, then the
// completions of hangUp() and of requests still pending), no event of this call fires again; a
// method called after that still completes, with its error (or, for hangUp(), at once).
#pragma once

#include <calling/call_end_reason.h>
#include <calling/events.h>
#include <calling/local_video_stream.h>
#include <calling/remote_participant.h>
#include <calling/result.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace calling {

enum class CallState { None, Connecting, Ringing, EarlyMedia, Connected, LocalHold, RemoteHold, InLobby, Disconnecting, Disconnected };
enum class CallDirection { Incoming, Outgoing };

const char* toString(CallState state);

struct AudioOptions {
    // Start the call with the microphone muted.
    bool muted = false;
};

enum class VideoCodec { VP8, H264 };

struct VideoOptions {
    // Video to send from the start: at most one camera stream and one screen stream.
    std::vector<std::shared_ptr<LocalVideoStream>> localVideoStreams;
    // The codec this side prefers; the other one (VP8 or H.264, openh264's constrained baseline)
    // is still accepted. Placing a call, the offer lists the preferred codec first, and the far
    // end sends and receives the first one of the offer it can. Accepting a call, the caller's
    // preference decides and this one is not consulted. Both directions of a call use the same
    // codec; it is fixed when the call is connected and stays for its whole length, whatever
    // video starts or stops later.
    VideoCodec preferredCodec = VideoCodec::VP8;
};

struct HangUpOptions {
    // End the call for every participant (they see 0/4097), not only for this agent.
    bool forEveryone = false;
};

using Completion = std::function<void(Result<Done>)>;

class Call {
public:
    ~Call();

    const std::string& id() const;
    CallDirection direction() const;
    CallState state() const;
    // Meaningful once the call is Disconnected.
    CallEndReason callEndReason() const;
    bool isMuted() const;
    std::vector<std::shared_ptr<RemoteParticipant>> remoteParticipants() const;
    // What this side sends: the camera stream, and the screen's while screen sharing is on.
    std::vector<std::shared_ptr<LocalVideoStream>> localVideoStreams() const;
    bool isScreenSharingOn() const;

    // Mute sends silence (the far side sees isMuted); unmute sends the microphone again.
    // Fail with 500/41015 and 400/41016 when the call is not in progress.
    void mute(Completion done = {});
    void unmute(Completion done = {});
    // Hold stops sending and playing media until resume(); the far side sees the participant on Hold.
    // Fail with 500/41033 and 500/41034 when the call is not Connected (hold) or not held (resume).
    void hold(Completion done = {});
    void resume(Completion done = {});
    // Sends a camera stream (the far side's stream becomes available) / stops it (unavailable; its
    // views there are disposed). Nothing is renegotiated: every call can carry a camera and a
    // screen. Fail with 400/41025 for no stream, a screen stream or a call not in progress,
    // 400/41027 when a camera stream is sent already, 400/41030 (stop) when none is, 400/41032
    // when another stream is, and with the stream's device errors (412/43000, 412/43013, ...).
    void startVideo(std::shared_ptr<LocalVideoStream> stream, Completion done = {});
    void stopVideo(std::shared_ptr<LocalVideoStream> stream, Completion done = {});
    // Shares the first screen of DeviceManager::getScreenList(): the far side sees a stream of type
    // ScreenSharing, apart from the camera, which goes away on stop. Fail with 400/41035 when
    // sharing already, 400/41041 (stop) when not, 412/41071 when the call is not in progress and
    // 412/43013 when there is no screen.
    void startScreenSharing(Completion done = {});
    void stopScreenSharing(Completion done = {});

    // Ends the call for this agent (for everyone with forEveryone). Completes once the call is
    // Disconnected; no callback of this call fires after `done`.
    void hangUp(HangUpOptions options = {}, Completion done = {});

    Subscription onStateChanged(std::function<void()> handler);
    Subscription onIsMutedChanged(std::function<void()> handler);
    Subscription onRemoteParticipantsUpdated(
        std::function<void(const CollectionUpdate<std::shared_ptr<RemoteParticipant>>&)> handler);
    Subscription onLocalVideoStreamsUpdated(
        std::function<void(const CollectionUpdate<std::shared_ptr<LocalVideoStream>>&)> handler);
    Subscription onIsScreenSharingOnChanged(std::function<void()> handler);

    struct Impl;

private:
    friend struct Impl;
    explicit Call(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_;
};

}  // namespace calling
