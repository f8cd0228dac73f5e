#include "model/model.h"

namespace calling {

const char* toString(ParticipantState state)
{
    switch (state) {
    case ParticipantState::Idle: return "Idle";
    case ParticipantState::Connecting: return "Connecting";
    case ParticipantState::Ringing: return "Ringing";
    case ParticipantState::Connected: return "Connected";
    case ParticipantState::Hold: return "Hold";
    case ParticipantState::InLobby: return "InLobby";
    case ParticipantState::EarlyMedia: return "EarlyMedia";
    case ParticipantState::Disconnected: return "Disconnected";
    }
    return "?";
}

detail::ParticipantRef detail::ParticipantRef::create(Shared shared, CommunicationIdentifier identifier)
{
    auto impl = std::make_shared<RemoteParticipant::Impl>(std::move(shared), std::move(identifier));
    return ParticipantRef{RemoteParticipant::Impl::makeHandle(impl), impl};
}

void RemoteParticipant::Impl::clearEvents()
{
    stateChanged.clear();
    displayNameChanged.clear();
    isMutedChanged.clear();
    isSpeakingChanged.clear();
    videoStreamsUpdated.clear();
    screenSharingStreamsUpdated.clear();
    shared.close();
}

RemoteParticipant::RemoteParticipant(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
RemoteParticipant::~RemoteParticipant() = default;

const CommunicationIdentifier& RemoteParticipant::identifier() const { return impl_->identifier; }

std::string RemoteParticipant::displayName() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->displayName;
}

ParticipantState RemoteParticipant::state() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->state;
}

CallEndReason RemoteParticipant::callEndReason() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->endReason;
}

bool RemoteParticipant::isMuted() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->isMuted;
}

bool RemoteParticipant::isSpeaking() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->isSpeaking;
}

std::vector<std::shared_ptr<RemoteVideoStream>> RemoteParticipant::videoStreams() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->videoStreams;
}

std::vector<std::shared_ptr<RemoteVideoStream>> RemoteParticipant::screenSharingStreams() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->screenSharingStreams;
}

void RemoteParticipant::Impl::updateStreams(const std::vector<protocol::StreamInfo>& published)
{
    using Update = CollectionUpdate<std::shared_ptr<RemoteVideoStream>>;
    Update video, screen;
    std::vector<std::pair<std::shared_ptr<RemoteVideoStream::Impl>, bool>> availability;
    std::map<int, detail::StreamRef> next;
    for (const auto& info : published) {
        MediaStreamType type = info.type == protocol::StreamType::ScreenSharing ? MediaStreamType::ScreenSharing
                                                                                : MediaStreamType::Video;
        auto found = streams.find(info.id);
        detail::StreamRef ref;
        std::string msid = info.msid.empty() ? "video_" + std::to_string(info.id) : info.msid;
        if (found != streams.end() && found->second.impl->type == type && found->second.impl->msid == msid) {
            ref = found->second;
            streams.erase(found);
        } else {
            ref.impl = std::make_shared<RemoteVideoStream::Impl>(shared, info.id, type, msid, rawIdOf(identifier), call);
            ref.handle = RemoteVideoStream::Impl::makeHandle(ref.impl);
            (type == MediaStreamType::Video ? video : screen).added.push_back(ref.handle);
        }
        if (ref.available != info.available) {
            ref.available = info.available;
            ref.impl->coreAvailable = info.available;
            // A stream that stopped takes its views with it (ACS disposes them too).
            if (!info.available)
                ref.impl->views.disposeAll();
            availability.emplace_back(ref.impl, info.available);
        }
        next.emplace(info.id, ref);
    }
    for (auto& [id, gone] : streams) {
        gone.impl->coreAvailable = false;
        gone.impl->views.disposeAll();
        (gone.impl->type == MediaStreamType::Video ? video : screen).removed.push_back(gone.handle);
        if (gone.available)
            availability.emplace_back(gone.impl, false);
    }
    streams = std::move(next);
    if (video.added.empty() && video.removed.empty() && screen.added.empty() && screen.removed.empty() &&
        availability.empty())
        return;
    auto self = shared_from_this();
    shared.fire([self, video, screen, availability] {
        {
            std::lock_guard lock(self->mutex);
            for (const auto& pair : {std::make_pair(&video, &self->videoStreams), std::make_pair(&screen, &self->screenSharingStreams)}) {
                for (auto& added : pair.first->added)
                    pair.second->push_back(added);
                for (auto& removed : pair.first->removed)
                    std::erase(*pair.second, removed);
            }
        }
        // Availability first, so that a stream that goes away reads unavailable when removed.
        for (auto& [stream, available] : availability) {
            {
                std::lock_guard lock(stream->mutex);
                stream->isAvailable = available;
            }
            stream->isAvailableChanged.emit();
        }
        if (!video.added.empty() || !video.removed.empty())
            self->videoStreamsUpdated.emit(video);
        if (!screen.added.empty() || !screen.removed.empty())
            self->screenSharingStreamsUpdated.emit(screen);
    });
}

RemoteVideoStream::RemoteVideoStream(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
RemoteVideoStream::~RemoteVideoStream() = default;
int RemoteVideoStream::id() const { return impl_->id; }
MediaStreamType RemoteVideoStream::type() const { return impl_->type; }

bool RemoteVideoStream::isAvailable() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->isAvailable;
}

Subscription RemoteVideoStream::onIsAvailableChanged(std::function<void()> handler)
{
    return impl_->isAvailableChanged.subscribe(std::move(handler));
}

Subscription RemoteParticipant::onStateChanged(std::function<void()> handler) { return impl_->stateChanged.subscribe(std::move(handler)); }
Subscription RemoteParticipant::onDisplayNameChanged(std::function<void()> handler) { return impl_->displayNameChanged.subscribe(std::move(handler)); }
Subscription RemoteParticipant::onIsMutedChanged(std::function<void()> handler) { return impl_->isMutedChanged.subscribe(std::move(handler)); }
Subscription RemoteParticipant::onIsSpeakingChanged(std::function<void()> handler) { return impl_->isSpeakingChanged.subscribe(std::move(handler)); }
Subscription RemoteParticipant::onVideoStreamsUpdated(
    std::function<void(const CollectionUpdate<std::shared_ptr<RemoteVideoStream>>&)> handler)
{
    return impl_->videoStreamsUpdated.subscribe(std::move(handler));
}
Subscription RemoteParticipant::onScreenSharingStreamsUpdated(
    std::function<void(const CollectionUpdate<std::shared_ptr<RemoteVideoStream>>&)> handler)
{
    return impl_->screenSharingStreamsUpdated.subscribe(std::move(handler));
}

}  // namespace calling
