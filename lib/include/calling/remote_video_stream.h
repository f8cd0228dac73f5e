// RemoteVideoStream: a video or screen-sharing stream a remote participant publishes.
//
// A participant's streams are in RemoteParticipant::videoStreams() (camera) and
// screenSharingStreams(); each is there as long as the participant publishes it, and isAvailable()
// says whether it is being sent now (it follows the far end's startVideo/stopVideo and
// startScreenSharing/stopScreenSharing). Audio-only calls have none.
//
// Threads: getters are safe from any thread; onIsAvailableChanged fires on the CallClient's
// callback thread. Handles are shared and stay valid after the stream went away.
#pragma once

#include <calling/events.h>

#include <functional>
#include <memory>

namespace calling {

enum class MediaStreamType { Video, ScreenSharing };

class RemoteVideoStream {
public:
    ~RemoteVideoStream();

    int id() const;
    MediaStreamType type() const;
    bool isAvailable() const;
    Subscription onIsAvailableChanged(std::function<void()> handler);

    struct Impl;

private:
    friend struct Impl;
    explicit RemoteVideoStream(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_;
};

}  // namespace calling
