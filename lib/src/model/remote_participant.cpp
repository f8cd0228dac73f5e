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

// Audio-only calls: no video streams yet.
std::vector<std::shared_ptr<RemoteVideoStream>> RemoteParticipant::videoStreams() const { return {}; }
std::vector<std::shared_ptr<RemoteVideoStream>> RemoteParticipant::screenSharingStreams() const { return {}; }

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
