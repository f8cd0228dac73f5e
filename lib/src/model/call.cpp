#include "model/device_manager_impl.h"
#include "model/model.h"

#include <gst/app/gstappsrc.h>
#include <gst/video/video.h>
#include <gst/gst.h>

GST_DEBUG_CATEGORY_STATIC(call_debug);
#define GST_CAT_DEFAULT call_debug

namespace calling {

namespace {

// How long a call may take from "both sides joined" to connected media before it is given up.
constexpr guint kMediaSetupSeconds = 20;

void initDebug()
{
    static gsize once = 0;
    if (g_once_init_enter(&once)) {
        GST_DEBUG_CATEGORY_INIT(call_debug, "callmodel", 0, "gst-calling: calls of the object model");
        g_once_init_leave(&once, 1);
    }
}

bool inProgress(CallState state)
{
    return state != CallState::None && state != CallState::Disconnecting && state != CallState::Disconnected;
}

ParticipantState participantStateFrom(protocol::ParticipantState state)
{
    switch (state) {
    case protocol::ParticipantState::Ringing:
        return ParticipantState::Ringing;
    case protocol::ParticipantState::Connected:
        return ParticipantState::Connected;
    case protocol::ParticipantState::Hold:
        return ParticipantState::Hold;
    case protocol::ParticipantState::Disconnected:
        return ParticipantState::Disconnected;
    }
    return ParticipantState::Idle;
}

CallEndReason endReasonFrom(const protocol::EndReason& reason)
{
    return CallEndReason{reason.code, reason.subCode, reason.message};
}

}  // namespace

const char* toString(CallState state)
{
    switch (state) {
    case CallState::None: return "None";
    case CallState::Connecting: return "Connecting";
    case CallState::Ringing: return "Ringing";
    case CallState::EarlyMedia: return "EarlyMedia";
    case CallState::Connected: return "Connected";
    case CallState::LocalHold: return "LocalHold";
    case CallState::RemoteHold: return "RemoteHold";
    case CallState::InLobby: return "InLobby";
    case CallState::Disconnecting: return "Disconnecting";
    case CallState::Disconnected: return "Disconnected";
    }
    return "?";
}

std::shared_ptr<Call> Call::Impl::create(detail::Shared shared, std::string id, CallDirection direction)
{
    initDebug();
    auto impl = std::make_shared<Impl>(std::move(shared), std::move(id), direction);
    std::shared_ptr<Call> handle(new Call(impl));
    impl->handle = handle;
    return handle;
}

Call::Call(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
Call::~Call() = default;

const std::string& Call::id() const { return impl_->id; }
CallDirection Call::direction() const { return impl_->direction; }

CallState Call::state() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->state;
}

CallEndReason Call::callEndReason() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->endReason;
}

bool Call::isMuted() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->isMuted;
}

std::vector<std::shared_ptr<RemoteParticipant>> Call::remoteParticipants() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->remoteParticipants;
}

std::vector<std::shared_ptr<LocalVideoStream>> Call::localVideoStreams() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->localVideoStreams;
}

bool Call::isScreenSharingOn() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->isScreenSharingOn;
}

Subscription Call::onLocalVideoStreamsUpdated(
    std::function<void(const CollectionUpdate<std::shared_ptr<LocalVideoStream>>&)> handler)
{
    return impl_->localVideoStreamsUpdated.subscribe(std::move(handler));
}

Subscription Call::onIsScreenSharingOnChanged(std::function<void()> handler)
{
    return impl_->isScreenSharingOnChanged.subscribe(std::move(handler));
}

Subscription Call::onStateChanged(std::function<void()> handler) { return impl_->stateChanged.subscribe(std::move(handler)); }
Subscription Call::onIsMutedChanged(std::function<void()> handler) { return impl_->isMutedChanged.subscribe(std::move(handler)); }
Subscription Call::onRemoteParticipantsUpdated(
    std::function<void(const CollectionUpdate<std::shared_ptr<RemoteParticipant>>&)> handler)
{
    return impl_->remoteParticipantsUpdated.subscribe(std::move(handler));
}

// Mute, unmute, hold and resume: checked on the library thread, the media changes at once, the
// server is told, and the completion comes with its answer. A refused request is undone. A
// completion still pending when the call ends fails in the call's final callbacks.
void Call::Impl::operate(Completion done, Error refusal, std::function<bool()> allowed,
                         std::function<void(bool undo)> apply, protocol::ClientMessage message)
{
    auto agent = this->agent.lock();
    if (!agent || ending || !allowed()) {
        // Also once the call is over: the caller of a method always hears back.
        if (done)
            shared.complete([done = std::move(done), refusal] { done(refusal); });
        return;
    }
    apply(false);
    uint64_t op = nextOperation++;
    if (done)
        pendingOperations.emplace(op, PendingOperation{std::move(done), refusal});
    auto self = shared_from_this();
    agent->request(std::move(message), [self, op, apply, refusal](Result<Done> result) {
        if (!result && !self->ending)
            apply(true);
        auto pending = self->pendingOperations.extract(op);
        if (!pending)
            return;
        Result<Done> outcome = result ? Result<Done>(Done{})
                                      : Result<Done>(Error{refusal.code, refusal.subCode, result.error().message});
        self->shared.fire([done = std::move(pending.mapped().done), outcome] { done(outcome); });
    });
}

void Call::Impl::setMutedNow(bool muted)
{
    if (pipeline)
        pipeline->setMuted(muted);
    auto self = shared_from_this();
    shared.fire([self, muted] {
        bool changed;
        {
            std::lock_guard lock(self->mutex);
            changed = self->isMuted != muted;
            self->isMuted = muted;
        }
        if (changed)
            self->isMutedChanged.emit();
    });
}

void Call::Impl::setLocalHoldNow(bool held)
{
    localHold = held;
    if (pipeline)
        pipeline->setHeld(held);
    setState(held ? CallState::LocalHold : remoteHold ? CallState::RemoteHold : CallState::Connected);
}

void Call::mute(Completion done)
{
    auto impl = impl_;
    impl->shared.work([impl, done = std::move(done)]() mutable {
        impl->operate(std::move(done), Error{500, 41015, "the call is not in progress"},
                      [impl] { return inProgress(impl->coreState); },
                      [impl](bool undo) { impl->setMutedNow(!undo); },
                      protocol::MuteStateMessage{.callId = impl->id, .muted = true});
    });
}

void Call::unmute(Completion done)
{
    auto impl = impl_;
    impl->shared.work([impl, done = std::move(done)]() mutable {
        impl->operate(std::move(done), Error{400, 41016, "the call is not in progress"},
                      [impl] { return inProgress(impl->coreState); },
                      [impl](bool undo) { impl->setMutedNow(undo); },
                      protocol::MuteStateMessage{.callId = impl->id, .muted = false});
    });
}

void Call::hold(Completion done)
{
    auto impl = impl_;
    impl->shared.work([impl, done = std::move(done)]() mutable {
        impl->operate(std::move(done), Error{500, 41033, "only a connected call can be held"},
                      [impl] { return impl->coreState == CallState::Connected || impl->coreState == CallState::RemoteHold; },
                      [impl](bool undo) { impl->setLocalHoldNow(!undo); },
                      protocol::HoldMessage{.callId = impl->id});
    });
}

void Call::resume(Completion done)
{
    auto impl = impl_;
    impl->shared.work([impl, done = std::move(done)]() mutable {
        impl->operate(std::move(done), Error{500, 41034, "the call is not on hold"},
                      [impl] { return impl->coreState == CallState::LocalHold; },
                      [impl](bool undo) { impl->setLocalHoldNow(undo); },
                      protocol::ResumeMessage{.callId = impl->id});
    });
}

using VideoSlot = detail::CallPipeline::VideoSlot;

std::optional<Error> Call::Impl::send(VideoSlot slot, std::shared_ptr<LocalVideoStream> stream)
{
    GstElement* input = pipeline ? pipeline->videoInput(slot) : nullptr;
    if (!input)
        return Error{400, 41025, "the call is not in progress"};
    auto appsrc = detail::RefPtr<GstElement>::ref(input);
    // On the capture's streaming thread: the frame goes into this call's pipeline, nothing more.
    // It is stamped with this pipeline's running time: its own timestamps belong to the capture's
    // pipeline, which starts again from 0 when a stopped stream is sent again, and timestamps going
    // back make the encoder drop every frame until they catch up (as long as video was sent before).
    auto consumer = stream->impl()->addConsumer([appsrc](GstSample* sample) {
        GstBuffer* buffer = gst_sample_get_buffer(sample);
        GstClockTime now = gst_element_get_current_running_time(appsrc.get());
        if (!buffer || !GST_CLOCK_TIME_IS_VALID(now)) {
            gst_app_src_push_sample(GST_APP_SRC(appsrc.get()), sample);
            return;
        }
        GstBuffer* restamped = gst_buffer_copy(buffer);  // shallow: the frame's memory is shared
        GST_BUFFER_PTS(restamped) = now;
        GST_BUFFER_DTS(restamped) = now;
        auto frame =
            detail::RefPtr<GstSample>::adopt(gst_sample_new(restamped, gst_sample_get_caps(sample), nullptr, nullptr));
        gst_buffer_unref(restamped);
        gst_app_src_push_sample(GST_APP_SRC(appsrc.get()), frame.get());
    });
    if (!consumer)
        return consumer.error();
    // The encoder's state goes on from before a stop: the far end's depayloader, which lost track
    // meanwhile, would wait for the next keyframe. Ask for one with the first frame (the source
    // queues the event in front of its next buffer).
    // (A request with a running time: GstVideoEncoder 1.22 may ignore one without.)
    gst_element_send_event(input, gst_video_event_new_downstream_force_key_unit(
                                      GST_CLOCK_TIME_NONE, GST_CLOCK_TIME_NONE,
                                      gst_element_get_current_running_time(input), TRUE, 0));
    (slot == VideoSlot::Camera ? camera : screen) = Sending{stream, consumer.value()};
    if (slot == VideoSlot::Camera)
        cameraPublished = true;
    auto self = shared_from_this();
    shared.fire([self, stream, slot] {
        CollectionUpdate<std::shared_ptr<LocalVideoStream>> update;
        update.added.push_back(stream);
        {
            std::lock_guard lock(self->mutex);
            self->localVideoStreams.push_back(stream);
            if (slot == VideoSlot::Screen)
                self->isScreenSharingOn = true;
        }
        self->localVideoStreamsUpdated.emit(update);
        if (slot == VideoSlot::Screen)
            self->isScreenSharingOnChanged.emit();
    });
    return std::nullopt;
}

void Call::Impl::stopSending(VideoSlot slot)
{
    Sending stopped = std::exchange(slot == VideoSlot::Camera ? camera : screen, Sending{});
    if (!stopped.stream)
        return;
    stopped.stream->impl()->removeConsumer(stopped.consumer);
    auto self = shared_from_this();
    shared.fire([self, stream = stopped.stream, slot] {
        CollectionUpdate<std::shared_ptr<LocalVideoStream>> update;
        update.removed.push_back(stream);
        {
            std::lock_guard lock(self->mutex);
            std::erase(self->localVideoStreams, stream);
            if (slot == VideoSlot::Screen)
                self->isScreenSharingOn = false;
        }
        self->localVideoStreamsUpdated.emit(update);
        if (slot == VideoSlot::Screen)
            self->isScreenSharingOnChanged.emit();
    });
}

std::vector<protocol::StreamInfo> Call::Impl::publishedStreams() const
{
    std::vector<protocol::StreamInfo> streams;
    if (cameraPublished)
        streams.push_back({.id = detail::CallPipeline::streamIdOf(VideoSlot::Camera), .type = protocol::StreamType::Video,
                           .available = camera.stream != nullptr});
    if (screen.stream)
        streams.push_back({.id = detail::CallPipeline::streamIdOf(VideoSlot::Screen),
                           .type = protocol::StreamType::ScreenSharing, .available = true});
    return streams;
}

void Call::Impl::publishStreams(Completion done, Error refusal)
{
    auto agentCore = agent.lock();
    auto self = shared_from_this();
    auto complete = [self, done = std::move(done)](Result<Done> result) mutable {
        if (done)
            self->shared.complete([done = std::move(done), result] { done(result); });
    };
    if (!agentCore)
        return complete(refusal);
    agentCore->request(protocol::StreamsMessage{.callId = id, .streams = publishedStreams()},
                       [complete = std::move(complete), refusal](Result<Done> result) mutable {
                           complete(result ? Result<Done>(Done{})
                                           : Result<Done>(Error{refusal.code, refusal.subCode, result.error().message}));
                       });
}

void Call::startVideo(std::shared_ptr<LocalVideoStream> stream, Completion done)
{
    auto impl = impl_;
    impl->shared.work([impl, stream, done = std::move(done)]() mutable {
        auto fail = [&](Error error) {
            if (done)
                impl->shared.complete([done = std::move(done), error] { done(error); });
        };
        if (!stream || stream->mediaStreamType() != MediaStreamType::Video)
            return fail(Error{400, 41025, "startVideo takes a camera stream"});
        if (impl->ending || !inProgress(impl->coreState))
            return fail(Error{400, 41025, "the call is not in progress"});
        if (impl->camera.stream)
            return fail(Error{400, 41027, "video is sent already"});
        if (auto error = impl->send(VideoSlot::Camera, stream))
            return fail(*error);
        impl->publishStreams(std::move(done), Error{400, 41025, "the server refused the stream"});
    });
}

void Call::stopVideo(std::shared_ptr<LocalVideoStream> stream, Completion done)
{
    auto impl = impl_;
    impl->shared.work([impl, stream, done = std::move(done)]() mutable {
        auto fail = [&](Error error) {
            if (done)
                impl->shared.complete([done = std::move(done), error] { done(error); });
        };
        if (!impl->camera.stream)
            return fail(Error{400, 41030, "no video is sent"});
        if (impl->camera.stream != stream)
            return fail(Error{400, 41032, "this stream is not the one sent"});
        impl->stopSending(VideoSlot::Camera);
        impl->publishStreams(std::move(done), Error{400, 41030, "the server refused the change"});
    });
}

void Call::startScreenSharing(Completion done)
{
    auto impl = impl_;
    impl->shared.work([impl, done = std::move(done)]() mutable {
        auto fail = [&](Error error) {
            if (done)
                impl->shared.complete([done = std::move(done), error] { done(error); });
        };
        if (impl->ending || !inProgress(impl->coreState))
            return fail(Error{412, 41071, "the call is not in progress"});
        if (impl->screen.stream)
            return fail(Error{400, 41035, "the screen is shared already"});
        auto agentCore = impl->agent.lock();
        auto screens = agentCore && agentCore->deviceManager ? agentCore->deviceManager->getScreenList()
                                                             : std::vector<VideoDeviceInfo>{};
        if (screens.empty())
            return fail(Error{412, 43013, "there is no screen to share"});
        if (auto error = impl->send(VideoSlot::Screen, std::make_shared<LocalVideoStream>(screens.front())))
            return fail(*error);
        impl->publishStreams(std::move(done), Error{400, 41035, "the server refused the stream"});
    });
}

void Call::stopScreenSharing(Completion done)
{
    auto impl = impl_;
    impl->shared.work([impl, done = std::move(done)]() mutable {
        if (!impl->screen.stream) {
            if (done)
                impl->shared.complete([done = std::move(done)] { done(Error{400, 41041, "the screen is not shared"}); });
            return;
        }
        impl->stopSending(VideoSlot::Screen);
        impl->publishStreams(std::move(done), Error{400, 41041, "the server refused the change"});
    });
}

void Call::hangUp(HangUpOptions options, Completion done)
{
    auto impl = impl_;
    impl->shared.work([impl, options, done = std::move(done)]() mutable {
        if (impl->ended) {
            // Already over: complete at once, after the final events, which were queued before.
            if (done)
                impl->shared.complete([done = std::move(done)] { done(Done{}); });
            return;
        }
        if (done)
            impl->hangUpWaiters.push_back(std::move(done));
        if (impl->ending)
            return;
        impl->ending = true;
        impl->setState(CallState::Disconnecting);
        auto agent = impl->agent.lock();
        if (!agent)
            return impl->finish(CallEndReason{0, 0, "Call ended"});
        // The server answers with callEnded (0/0), which finishes the call; a failed request
        // (the connection is gone) finishes it here.
        agent->request(protocol::HangUpMessage{.callId = impl->id, .forEveryone = options.forEveryone},
                       [impl](Result<Done> result) {
                           if (!result)
                               impl->finish(CallEndReason{0, 0, "Call ended"});
                       });
    });
}

void Call::Impl::setState(CallState next)
{
    if (coreState == next || coreState == CallState::Disconnected)
        return;
    GST_INFO("call %s: %s -> %s", id.c_str(), toString(coreState), toString(next));
    coreState = next;
    auto self = shared_from_this();
    shared.fire([self, next] {
        {
            std::lock_guard lock(self->mutex);
            self->state = next;
        }
        self->stateChanged.emit();
    });
}

void Call::Impl::startMedia(const AudioDevices& configured, bool muted, const VideoOptions& video)
{
    auto self = shared_from_this();
    auto agentCore = agent.lock();
    // The DeviceManager's selection wins over the agent's configured devices, and calls follow it.
    AudioDevices devices = configured;
    if (auto manager = agentCore ? agentCore->devices : nullptr) {
        using Kind = detail::DeviceEntry::Kind;
        if (auto id = manager->selected(Kind::Microphone))
            devices.microphone = [manager, id = *id] { return manager->createElement(id, Kind::Microphone); };
        if (auto id = manager->selected(Kind::Speaker))
            devices.speaker = [manager, id = *id] { return manager->createElement(id, Kind::Speaker); };
        std::weak_ptr<Impl> weakCall = self;
        manager->selectionListeners[this] = [weakCall, manager](Kind kind) {
            auto call = weakCall.lock();
            if (!call || !call->pipeline)
                return;
            if (auto id = manager->selected(kind); id && kind == Kind::Microphone)
                call->pipeline->setMicrophone(manager->createElement(*id, kind));
            else if (id && kind == Kind::Speaker)
                call->pipeline->setSpeaker(manager->createElement(*id, kind));
        };
        devicesListening = manager;
    }
    auto outbox = std::make_shared<detail::SignallerOutbox>();
    std::weak_ptr<Impl> weak = self;
    // webrtcbin's threads: hand over to the library thread, which owns the connection.
    outbox->sdp = [weak, library = shared.library()](const std::string& peerId, const std::string& type,
                                                     const std::string& sdp) {
        library->post([weak, peerId, type, sdp] {
            auto self = weak.lock();
            auto agent = self ? self->agent.lock() : nullptr;
            if (!agent || self->ended)
                return;
            agent->send(protocol::SdpMessage{.callId = self->id, .to = peerId,
                                             .description = {.type = type, .sdp = sdp}});
        });
    };
    outbox->ice = [weak, library = shared.library()](const std::string& peerId, unsigned mline,
                                                     const std::string& candidate) {
        library->post([weak, peerId, mline, candidate] {
            auto self = weak.lock();
            auto agent = self ? self->agent.lock() : nullptr;
            if (!agent || self->ended)
                return;
            agent->send(protocol::IceMessage{.callId = self->id, .to = peerId,
                                             .candidate = {.sdpMLineIndex = mline, .candidate = candidate}});
        });
    };
    signaller = detail::RefPtr<CallConnectionSignaller>::adopt(detail::newConnectionSignaller(outbox));

    detail::CallPipeline::Events events;
    events.level = [weak](const std::string& padName, double rmsDb) {
        if (auto self = weak.lock())
            self->onLevel(padName, rmsDb);
    };
    events.connection = [weak](bool connected) {
        if (auto self = weak.lock())
            self->onMediaConnection(connected);
    };
    events.failed = [weak](const std::string& message) {
        if (auto self = weak.lock())
            self->finish(CallEndReason{410, 0, "Media failed: " + message}, true);
    };
    // callbin's video-codecs: its offers list them in this order; its answers take the offer's first.
    const char* videoCodecs = video.preferredCodec == VideoCodec::H264 ? "h264,vp8" : "vp8,h264";
    auto created = detail::CallPipeline::create(id, devices, CALL_SIGNALLER(signaller.get()), muted,
                                                std::move(events), shared.library()->context(), videoCodecs);
    if (!created) {
        finish(CallEndReason{410, 0, created.error().message}, true);
        return;
    }
    pipeline = std::move(created).value();
    for (const auto& stream : video.localVideoStreams) {
        if (!stream)
            continue;
        VideoSlot slot = stream->mediaStreamType() == MediaStreamType::ScreenSharing ? VideoSlot::Screen : VideoSlot::Camera;
        if ((slot == VideoSlot::Camera ? camera : screen).stream)
            continue;  // one stream per slot
        // A device that cannot start leaves the call without that video, not without the call.
        if (auto error = send(slot, stream))
            GST_WARNING("call %s starts without video: %s", id.c_str(), error->message.c_str());
    }
}

void Call::Impl::onServerMessage(const protocol::ServerMessage& message)
{
    if (ended)
        return;
    if (auto* update = std::get_if<protocol::ParticipantUpdatedMessage>(&message)) {
        onParticipant(update->participant);
    } else if (auto* sdp = std::get_if<protocol::RemoteSdpMessage>(&message)) {
        if (signaller)
            call_signaller_emit_session_description(CALL_SIGNALLER(signaller.get()), sdp->from.c_str(),
                                                    sdp->description.type.c_str(), sdp->description.sdp.c_str());
    } else if (auto* ice = std::get_if<protocol::RemoteIceMessage>(&message)) {
        if (signaller)
            call_signaller_emit_handle_ice(CALL_SIGNALLER(signaller.get()), ice->from.c_str(),
                                           ice->candidate.sdpMLineIndex, ice->candidate.candidate.c_str());
    } else if (auto* endedMessage = std::get_if<protocol::CallEndedMessage>(&message)) {
        finish(endReasonFrom(endedMessage->reason));
    }
}

void Call::Impl::onParticipant(const protocol::ParticipantInfo& info)
{
    auto self = shared_from_this();
    auto found = participants.find(info.rawId);
    detail::ParticipantRef ref;
    bool added = false;
    if (found == participants.end()) {
        if (info.state == protocol::ParticipantState::Disconnected)
            return;  // never seen, already gone
        ref = detail::ParticipantRef::create(shared.child(), identifierFromRawId(info.rawId));
        ref.impl->call = weak_from_this();
        participants.emplace(info.rawId, ref);
        added = true;
    } else {
        ref = found->second;
    }
    auto participant = ref.handle;
    auto participantImpl = ref.impl;

    ParticipantState state = participantStateFrom(info.state);
    CallEndReason reason = info.endReason ? endReasonFrom(*info.endReason) : CallEndReason{};
    bool removed = state == ParticipantState::Disconnected;
    if (removed)
        participants.erase(info.rawId);

    // The participant's own view and events, then the call's collection.
    shared.fire([participantImpl, info, state, reason] {
        bool nameChanged, stateChanged, mutedChanged;
        {
            std::lock_guard lock(participantImpl->mutex);
            nameChanged = participantImpl->displayName != info.displayName;
            stateChanged = participantImpl->state != state;
            mutedChanged = participantImpl->isMuted != info.isMuted;
            participantImpl->displayName = info.displayName;
            participantImpl->state = state;
            participantImpl->isMuted = info.isMuted;
            if (state == ParticipantState::Disconnected)
                participantImpl->endReason = reason;
        }
        if (nameChanged)
            participantImpl->displayNameChanged.emit();
        if (mutedChanged)
            participantImpl->isMutedChanged.emit();
        if (stateChanged)
            participantImpl->stateChanged.emit();
    });
    // A participant that left publishes nothing any more.
    participantImpl->updateStreams(removed ? std::vector<protocol::StreamInfo>{} : info.streams);
    updateRecorders();
    if (added || removed) {
        shared.fire([self, participant, added] {
            CollectionUpdate<std::shared_ptr<RemoteParticipant>> update;
            {
                std::lock_guard lock(self->mutex);
                if (added) {
                    self->remoteParticipants.push_back(participant);
                    update.added.push_back(participant);
                } else {
                    std::erase(self->remoteParticipants, participant);
                    update.removed.push_back(participant);
                }
            }
            self->remoteParticipantsUpdated.emit(update);
        });
    }
    if (removed) {
        // Nothing about a participant that left fires again.
        shared.fire([participantImpl] { participantImpl->clearEvents(); });
        return;
    }

    // The call's state follows the other side.
    if (info.state == protocol::ParticipantState::Ringing && direction == CallDirection::Outgoing &&
        coreState == CallState::Connecting)
        setState(CallState::Ringing);
    bool joinedNow = (info.state == protocol::ParticipantState::Connected ||
                      info.state == protocol::ParticipantState::Hold) && !peerJoined;
    if (joinedNow) {
        peerJoined = true;
        // Its published streams are known now, before any media flows: the tracks of a recording.
        startRecorders();
        if (direction == CallDirection::Outgoing && signaller)
            call_signaller_emit_session_requested(CALL_SIGNALLER(signaller.get()), info.rawId.c_str(),
                                                  info.displayName.c_str());
        if (!mediaConnected && !setupTimer) {
            setupTimer.reset(g_timeout_source_new_seconds(kMediaSetupSeconds));
            std::weak_ptr<Impl> weak = self;
            g_source_set_callback(setupTimer.get(), [](gpointer data) -> gboolean {
                auto* weakSelf = static_cast<std::weak_ptr<Impl>*>(data);
                if (auto self = weakSelf->lock(); self && !self->mediaConnected)
                    self->finish(CallEndReason{410, 3100, "Setup failed: the media did not connect"}, true);
                return G_SOURCE_REMOVE;
            }, new std::weak_ptr<Impl>(weak), [](gpointer data) { delete static_cast<std::weak_ptr<Impl>*>(data); });
            g_source_attach(setupTimer.get(), shared.library()->context());
        }
    }
    remoteHold = info.state == protocol::ParticipantState::Hold;
    if (mediaConnected && !ending) {
        if (localHold)
            setState(CallState::LocalHold);
        else
            setState(remoteHold ? CallState::RemoteHold : CallState::Connected);
    }
}

void Call::Impl::onMediaConnection(bool connected)
{
    if (ended || ending)
        return;
    if (connected) {
        mediaConnected = true;
        setupTimer.reset();
        if (peerJoined)
            setState(localHold ? CallState::LocalHold : remoteHold ? CallState::RemoteHold : CallState::Connected);
    }
    // A lost peer connection is not the end by itself: the server ends the call (410/301005) when
    // the other side does not come back within its grace window.
}

void Call::Impl::onLevel(const std::string& participantId, double rmsDb)
{
    if (auto found = participants.find(participantId); found != participants.end()) {
        auto pimpl = found->second.impl;
        if (!pimpl->speaking.addLevel(rmsDb))
            return;
        bool speaking = pimpl->speaking.isSpeaking();
        shared.fire([pimpl, speaking] {
            {
                std::lock_guard lock(pimpl->mutex);
                pimpl->isSpeaking = speaking;
            }
            pimpl->isSpeakingChanged.emit();
        });
        return;
    }
}

void Call::Impl::finish(const CallEndReason& reason, bool tellServer)
{
    if (ended)
        return;
    ended = true;
    ending = true;
    GST_INFO("call %s ended: %d/%d %s", id.c_str(), reason.code, reason.subCode, reason.message.c_str());
    if (auto agentCore = agent.lock(); agentCore && tellServer)
        agentCore->send(protocol::HangUpMessage{.callId = id});
    setupTimer.reset();
    if (signaller)
        detail::detachConnectionSignaller(signaller.get());
    if (auto manager = devicesListening.lock())
        manager->selectionListeners.erase(this);
    for (VideoSlot slot : {VideoSlot::Camera, VideoSlot::Screen}) {
        Sending stopped = std::exchange(slot == VideoSlot::Camera ? camera : screen, Sending{});
        if (stopped.stream)
            stopped.stream->impl()->removeConsumer(stopped.consumer);
    }
    for (auto& [rawId, participant] : participants)
        for (auto& [streamId, stream] : participant.impl->streams)
            stream.impl->views.disposeAll();
    // Recordings are finalised while the pipeline still plays (their completions fire before
    // Disconnected); then the pipeline goes to NULL before anything else goes.
    for (auto& recorder : std::exchange(recorders, {}))
        recorder->end(reason);
    pipeline.reset();
    signaller.reset();

    // Participants still in the call leave with the call.
    std::vector<std::shared_ptr<RemoteParticipant::Impl>> leaving;
    for (auto& [rawId, participant] : participants)
        leaving.push_back(participant.impl);
    participants.clear();

    if (coreState != CallState::Disconnecting)
        setState(CallState::Disconnecting);
    coreState = CallState::Disconnected;
    auto self = shared_from_this();
    auto waiters = std::exchange(hangUpWaiters, {});
    auto operations = std::exchange(pendingOperations, {});
    shared.fire([self, reason, leaving, waiters, operations] {
        for (auto& pimpl : leaving) {
            {
                std::lock_guard lock(pimpl->mutex);
                pimpl->state = ParticipantState::Disconnected;
                pimpl->endReason = reason;
            }
            pimpl->stateChanged.emit();
            pimpl->clearEvents();
        }
        CollectionUpdate<std::shared_ptr<RemoteParticipant>> update;
        {
            std::lock_guard lock(self->mutex);
            update.removed = std::exchange(self->remoteParticipants, {});
            self->localVideoStreams.clear();
            self->isScreenSharingOn = false;
            self->endReason = reason;
            self->state = CallState::Disconnected;
        }
        if (!update.removed.empty())
            self->remoteParticipantsUpdated.emit(update);
        self->stateChanged.emit();
        for (auto& waiter : waiters)
            waiter(Done{});
        for (auto& [op, pending] : operations)
            pending.done(Error{pending.refusal.code, pending.refusal.subCode, "the call ended"});
        // From here on nothing of this call fires.
        self->stateChanged.clear();
        self->isMutedChanged.clear();
        self->remoteParticipantsUpdated.clear();
        self->localVideoStreamsUpdated.clear();
        self->isScreenSharingOnChanged.clear();
        self->shared.close();
    });
    if (auto agentCore = agent.lock())
        agentCore->removeCall(id);
}

}  // namespace calling

namespace calling {

void Call::Impl::initializeEnded(const CallEndReason& reason)
{
    ended = true;
    ending = true;
    coreState = CallState::Disconnected;
    std::lock_guard lock(mutex);
    state = CallState::Disconnected;
    endReason = reason;
}

void Call::Impl::initialize(bool muted)
{
    coreState = CallState::Connecting;
    std::lock_guard lock(mutex);
    state = CallState::Connecting;
    isMuted = muted;
}

}  // namespace calling
