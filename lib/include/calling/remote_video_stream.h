// RemoteVideoStream: a video or screen-sharing stream a remote participant sends.
//
// Audio-only calls have none: RemoteParticipant::videoStreams() and screenSharingStreams() stay
// empty until video is negotiated (rendering and video calls build on this type).
#pragma once

#include <calling/events.h>

#include <functional>

namespace calling {

enum class MediaStreamType { Video, ScreenSharing };

class RemoteVideoStream {
public:
    virtual ~RemoteVideoStream() = default;
    virtual int id() const = 0;
    virtual MediaStreamType type() const = 0;
    virtual bool isAvailable() const = 0;
    virtual Subscription onAvailabilityChanged(std::function<void()> handler) = 0;
};

}  // namespace calling
