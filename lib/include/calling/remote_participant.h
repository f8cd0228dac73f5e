// RemoteParticipant: someone else in a call.
//
// Handles are shared: one that is kept after the participant left stays valid and reads as
// Disconnected with its callEndReason. Threads: events fire on the CallClient's callback thread;
// getters are safe from any thread.
#pragma once

#include <calling/call_end_reason.h>
#include <calling/events.h>
#include <calling/identifiers.h>
#include <calling/remote_video_stream.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace calling {

enum class ParticipantState { Idle, Connecting, Ringing, Connected, Hold, InLobby, EarlyMedia, Disconnected };

const char* toString(ParticipantState state);

class RemoteParticipant {
public:
    ~RemoteParticipant();

    const CommunicationIdentifier& identifier() const;
    std::string displayName() const;
    ParticipantState state() const;
    // Meaningful once the participant is Disconnected.
    CallEndReason callEndReason() const;
    bool isMuted() const;
    // From the level of the participant's decoded audio, with hysteresis: true after about 100 ms
    // above -45 dBFS, false after about 600 ms below -55 dBFS.
    bool isSpeaking() const;
    std::vector<std::shared_ptr<RemoteVideoStream>> videoStreams() const;
    std::vector<std::shared_ptr<RemoteVideoStream>> screenSharingStreams() const;

    Subscription onStateChanged(std::function<void()> handler);
    Subscription onDisplayNameChanged(std::function<void()> handler);
    Subscription onIsMutedChanged(std::function<void()> handler);
    Subscription onIsSpeakingChanged(std::function<void()> handler);
    Subscription onVideoStreamsUpdated(
        std::function<void(const CollectionUpdate<std::shared_ptr<RemoteVideoStream>>&)> handler);
    Subscription onScreenSharingStreamsUpdated(
        std::function<void(const CollectionUpdate<std::shared_ptr<RemoteVideoStream>>&)> handler);

    struct Impl;

private:
    friend struct Impl;
    explicit RemoteParticipant(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_;
};

}  // namespace calling
