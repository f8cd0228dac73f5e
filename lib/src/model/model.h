// The insides of the object model: the Impl behind each public class.
//
// Every Impl has two halves:
//  - its core, touched only on the library thread (call control, the connection, the pipeline);
//  - its view, what the public getters return, guarded by the Impl's mutex and written only on the
//    callback thread, right before the event that announces the change fires. A handler therefore
//    reads the value as of its event, and events fire in the order the changes happened.
// The core reaches the callback thread only through Shared::fire(), which drops everything once
// the object has closed (hangUp completed, call ended, agent disposed).
//
// Ownership: CallClient::Impl owns the library thread and (weakly) its agents. An agent's core owns
// its calls and ringing incoming calls until they end; a call refers back to its agent weakly.
// Participants are owned by their call and shared with the application.
#pragma once

#include <calling/call.h>
#include <calling/call_agent.h>
#include <calling/call_client.h>
#include <calling/call_recorder.h>
#include <calling/device_manager.h>
#include <calling/incoming_call.h>
#include <calling/local_video_stream.h>
#include <calling/remote_participant.h>
#include <calling/renderer.h>

#include "media/call_pipeline.h"
#include "media/recording_branch.h"
#include "media/speaking_detector.h"
#include "media/video_capture.h"
#include "media/view_branch.h"
#include "model/connection_signaller.h"
#include "model/dispatcher.h"
#include "model/token_cache.h"
#include "protocol/glib_ptr.h"
#include "protocol/messages.h"
#include "protocol/signalling_client.h"
#include "gstreamer/ref_ptr.h"

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace calling {

namespace detail {

// What every Impl shares: the two dispatchers, and the switches that close its callbacks. An
// object closes its own switch when it ends; a child (a call of an agent, a participant of a
// call) is also closed by its parents' switches.
class Shared {
public:
    Shared(std::shared_ptr<Dispatcher> library, std::shared_ptr<Dispatcher> callbacks)
        : library_(std::move(library)), callbacks_(std::move(callbacks)), closed_{std::make_shared<bool>(false)}
    {
    }

    // The same dispatchers, with a switch of its own under this one's.
    Shared child() const
    {
        Shared child = *this;
        child.closed_.push_back(std::make_shared<bool>(false));
        return child;
    }

    // Runs on the library thread.
    void work(std::function<void()> work) const { library_->post(std::move(work)); }
    // Runs on the callback thread, unless this object or a parent closes first.
    void fire(std::function<void()> callback) const { post(closed_, std::move(callback)); }
    // For completions: runs even when this object closed, unless a parent closed.
    void complete(std::function<void()> callback) const
    {
        post({closed_.begin(), closed_.end() - 1}, std::move(callback));
    }
    // Called on the callback thread: from here on nothing more fires.
    void close() const { *closed_.back() = true; }

    const std::shared_ptr<Dispatcher>& library() const { return library_; }

private:
    void post(std::vector<std::shared_ptr<bool>> switches, std::function<void()> callback) const
    {
        callbacks_->post([switches = std::move(switches), callback = std::move(callback)] {
            for (const auto& closed : switches)
                if (*closed)
                    return;
            callback();
        });
    }

    std::shared_ptr<Dispatcher> library_;
    std::shared_ptr<Dispatcher> callbacks_;
    // Read and written on the callback thread only; the last one is this object's own.
    std::vector<std::shared_ptr<bool>> closed_;
};

class AgentCore;

}  // namespace detail

struct RendererView::Impl {
    mutable std::mutex mutex;
    ScalingMode mode = ScalingMode::Crop;
    bool mirrored = false;
    bool disposed = false;
    std::unique_ptr<detail::ViewBranch> branch;  // null once disposed
    detail::RefPtr<GstElement> target;
    std::shared_ptr<LocalVideoStream::Impl> local;  // a preview's stream, which counts its views

    // Takes the branch down; any thread but the pipeline's streaming threads. Idempotent.
    void dispose();
    static std::shared_ptr<RendererView> makeHandle(std::shared_ptr<Impl> impl)
    {
        return std::shared_ptr<RendererView>(new RendererView(std::move(impl)));
    }
};

namespace detail {
// The views of one stream, so that they go when the stream goes.
struct ViewList {
    std::mutex mutex;
    std::vector<std::weak_ptr<RendererView::Impl>> views;
    StreamSize size;  // as the newest view saw it

    void add(const std::shared_ptr<RendererView::Impl>& view);
    void disposeAll();
    StreamSize currentSize();
};
}  // namespace detail

// A LocalVideoStream's insides: its device, and the capture while something uses it.
struct LocalVideoStream::Impl {
    explicit Impl(VideoDeviceInfo source, std::function<GstElement*()> element = {});

    // Starts the capture on first use: a call's consumer (frames pushed on the capture's thread).
    Result<int> addConsumer(detail::VideoCapture::Consumer consumer);
    void removeConsumer(int id);
    // A local preview branch in the capture.
    Result<std::unique_ptr<detail::ViewBranch>> attachView(const detail::ViewSettings& settings);
    void detachView(std::unique_ptr<detail::ViewBranch> branch);
    Result<Done> switchSource(const VideoDeviceInfo& next);
    // The Shared of the DeviceManager that lists the device (its callback thread), if any.
    std::optional<detail::Shared> shared() const;

    mutable std::mutex mutex;
    VideoDeviceInfo source;
    std::weak_ptr<DeviceManager::Impl> devices;  // the manager that listed the device
    const std::function<GstElement*()> element;  // the application's source instead of a device
    std::unique_ptr<detail::VideoCapture> capture;
    int users = 0;  // consumers and views
    detail::ViewList views;

private:
    Result<detail::VideoCapture*> acquire();  // under mutex
    void release();                           // under mutex
};

struct RemoteVideoStream::Impl {
    Impl(detail::Shared shared, int id, MediaStreamType type, std::string msid, std::string participantId,
         std::weak_ptr<Call::Impl> call)
        : shared(std::move(shared)), id(id), type(type), msid(std::move(msid)), participantId(std::move(participantId)),
          call(std::move(call))
    {
    }
    const detail::Shared shared;
    const int id;
    const MediaStreamType type;
    const std::string msid;           // of the m-line that carries it: how its media is found
    const std::string participantId;  // raw id
    const std::weak_ptr<Call::Impl> call;
    detail::ViewList views;
    std::atomic<bool> coreAvailable = false;  // written on the library thread, where views are made
    // View.
    mutable std::mutex mutex;
    bool isAvailable = false;
    Event<> isAvailableChanged;

    static std::shared_ptr<RemoteVideoStream> makeHandle(std::shared_ptr<Impl> impl)
    {
        return std::shared_ptr<RemoteVideoStream>(new RemoteVideoStream(std::move(impl)));
    }
    static std::shared_ptr<Impl> of(const RemoteVideoStream& stream) { return stream.impl_; }
};

namespace detail {
struct StreamRef {
    std::shared_ptr<RemoteVideoStream> handle;
    std::shared_ptr<RemoteVideoStream::Impl> impl;
    bool available = false;  // core copy
};
}  // namespace detail

struct RemoteParticipant::Impl : std::enable_shared_from_this<RemoteParticipant::Impl> {
    Impl(detail::Shared shared, CommunicationIdentifier identifier) : shared(std::move(shared)), identifier(std::move(identifier)) {}

    detail::Shared shared;
    const CommunicationIdentifier identifier;
    std::weak_ptr<Call::Impl> call;
    // Core.
    detail::SpeakingDetector speaking;
    std::map<int, detail::StreamRef> streams;  // by id, as the participant publishes them
    // Applies the participant's published streams (library thread): fires what changed.
    void updateStreams(const std::vector<protocol::StreamInfo>& published);

    // View.
    mutable std::mutex mutex;
    std::string displayName;
    ParticipantState state = ParticipantState::Idle;
    CallEndReason endReason;
    bool isMuted = false;
    bool isSpeaking = false;
    std::vector<std::shared_ptr<RemoteVideoStream>> videoStreams;
    std::vector<std::shared_ptr<RemoteVideoStream>> screenSharingStreams;

    Event<> stateChanged;
    Event<> displayNameChanged;
    Event<> isMutedChanged;
    Event<> isSpeakingChanged;
    Event<const CollectionUpdate<std::shared_ptr<RemoteVideoStream>>&> videoStreamsUpdated;
    Event<const CollectionUpdate<std::shared_ptr<RemoteVideoStream>>&> screenSharingStreamsUpdated;

    void clearEvents();
    static std::shared_ptr<RemoteParticipant> makeHandle(std::shared_ptr<Impl> impl)
    {
        return std::shared_ptr<RemoteParticipant>(new RemoteParticipant(std::move(impl)));
    }
};

namespace detail {
// A participant as its call's core holds it: the application's handle and its Impl.
struct ParticipantRef {
    std::shared_ptr<RemoteParticipant> handle;
    std::shared_ptr<RemoteParticipant::Impl> impl;

    static ParticipantRef create(Shared shared, CommunicationIdentifier identifier);
};
}  // namespace detail

struct Call::Impl : std::enable_shared_from_this<Call::Impl> {
    Impl(detail::Shared shared, std::string id, CallDirection direction)
        : shared(std::move(shared)), id(std::move(id)), direction(direction)
    {
    }

    detail::Shared shared;
    const std::string id;
    const CallDirection direction;
    std::weak_ptr<Call> handle;
    std::weak_ptr<detail::AgentCore> agent;

    // Core (library thread).
    bool localHold = false;
    bool remoteHold = false;
    bool peerJoined = false;      // the server has the other side Connected
    bool mediaConnected = false;  // webrtcbin's peer connection is connected
    bool ending = false;
    bool ended = false;
    CallState coreState = CallState::None;
    std::map<std::string, detail::ParticipantRef> participants;  // by raw id, while in the call
    std::unique_ptr<detail::CallPipeline> pipeline;
    std::weak_ptr<DeviceManager::Impl> devicesListening;  // told of a new microphone
    detail::RefPtr<CallConnectionSignaller> signaller;
    std::vector<Completion> hangUpWaiters;
    // What this side sends, per slot: the stream and its consumer id in the stream's capture.
    struct Sending {
        std::shared_ptr<LocalVideoStream> stream;
        int consumer = -1;
    };
    Sending camera;
    Sending screen;
    bool cameraPublished = false;  // once video was sent, the camera stream stays, unavailable when off
    struct PendingOperation {
        Completion done;
        Error refusal;
    };
    std::map<uint64_t, PendingOperation> pendingOperations;  // mute, hold, ... waiting for the server
    uint64_t nextOperation = 0;
    protocol::SourcePtr setupTimer;
    // Recordings of this call (call_recorder.cpp): started once the far end joined, finalised
    // before the pipeline goes.
    std::vector<std::shared_ptr<CallRecorder::Impl>> recorders;

    // View.
    mutable std::mutex mutex;
    CallState state = CallState::None;
    CallEndReason endReason;
    bool isMuted = false;
    bool isScreenSharingOn = false;
    std::vector<std::shared_ptr<RemoteParticipant>> remoteParticipants;
    std::vector<std::shared_ptr<LocalVideoStream>> localVideoStreams;

    Event<> stateChanged;
    Event<> isMutedChanged;
    Event<> isScreenSharingOnChanged;
    Event<const CollectionUpdate<std::shared_ptr<RemoteParticipant>>&> remoteParticipantsUpdated;
    Event<const CollectionUpdate<std::shared_ptr<LocalVideoStream>>&> localVideoStreamsUpdated;

    static std::shared_ptr<Call> create(detail::Shared shared, std::string id, CallDirection direction);
    static std::shared_ptr<Impl> of(const Call& call) { return call.impl_; }
    // The state a new call starts in, before it is handed out (no event: nobody can listen yet).
    void initialize(bool muted);
    void initializeEnded(const CallEndReason& reason);

    // Core operations.
    void setState(CallState state);
    void operate(Completion done, Error refusal, std::function<bool()> allowed, std::function<void(bool undo)> apply,
                 protocol::ClientMessage message);
    void setMutedNow(bool muted);
    void setLocalHoldNow(bool held);
    void startMedia(const AudioDevices& devices, bool muted, const VideoOptions& video = {});
    // Starts or stops sending `stream` in the slot (library thread); fires localVideoStreams and
    // isScreenSharingOn changes. The error, if the stream cannot start.
    std::optional<Error> send(detail::CallPipeline::VideoSlot slot, std::shared_ptr<LocalVideoStream> stream);
    void stopSending(detail::CallPipeline::VideoSlot slot);
    // The streams this side publishes now (protocol `streams`).
    std::vector<protocol::StreamInfo> publishedStreams() const;
    void publishStreams(Completion done, Error refusal);
    void onServerMessage(const protocol::ServerMessage& message);
    void onParticipant(const protocol::ParticipantInfo& info);
    void onLevel(const std::string& participantId, double rmsDb);
    void onMediaConnection(bool connected);
    // The far end joined: recordings waiting for it start; streams changed: recordings hear of
    // it (call_recorder.cpp).
    void startRecorders();
    void updateRecorders();
    // Ends the call locally with `reason`: stops media, then Disconnected (and nothing fires after).
    // `tellServer`: the call ends for a reason of this side (media failed, setup timed out), so the
    // server is told with a hangUp.
    void finish(const CallEndReason& reason, bool tellServer = false);
};

// A recording of a call (calling/call_recorder.h). Its core lives on the library thread and is held
// by the call's core (`recorders`) until the recording ends.
struct CallRecorder::Impl : std::enable_shared_from_this<CallRecorder::Impl> {
    Impl(detail::Shared shared, std::weak_ptr<Call::Impl> call, std::string path,
         std::function<void(Result<Recording>)> finished)
        : shared(std::move(shared)), call(std::move(call)), path(std::move(path)), finished(std::move(finished))
    {
    }

    detail::Shared shared;  // a child of the call's
    const std::weak_ptr<Call::Impl> call;
    const std::string path;
    std::function<void(Result<Recording>)> finished;  // fired once, then dropped

    // Core (library thread).
    std::unique_ptr<detail::RecordingBranch> branch;
    std::vector<RecordedTrack> tracks;  // as given to the branch
    std::vector<bool> available;        // per track: whether its stream was available when last seen
    bool over = false;

    // The far end joined (or had): builds the branch on the call's pipeline.
    void begin(Call::Impl& callCore);
    // A participant's published streams changed: a recorded video stream available again gets a
    // keyframe request, so its track goes on decodable right after the gap.
    void onStreams(Call::Impl& callCore);
    // Finalises the file (when begun) and fires `finished`; `reason`: the call ended with it.
    void end(std::optional<CallEndReason> reason = std::nullopt);
    void complete(Result<Recording> result);
};

struct IncomingCall::Impl {
    Impl(detail::Shared shared, std::string id, CallerInfo caller)
        : shared(std::move(shared)), id(std::move(id)), caller(std::move(caller))
    {
    }

    detail::Shared shared;
    const std::string id;
    const CallerInfo caller;
    std::weak_ptr<detail::AgentCore> agent;

    std::weak_ptr<Impl> self;

    // Core.
    bool ringing = true;
    bool rejecting = false;  // reject() was called: the end is reported by its completion

    // View.
    mutable std::mutex mutex;
    CallEndReason endReason;
    Event<const CallEndReason&> callEnded;

    // Ringing ended without an answer from this endpoint: callEnded fires, then nothing more.
    void end(const CallEndReason& reason);
    static std::shared_ptr<IncomingCall> makeHandle(std::shared_ptr<Impl> impl);
};

namespace detail {

// The agent's core: its connection, its calls, token refresh. Library thread only, except where said.
class AgentCore : public std::enable_shared_from_this<AgentCore> {
public:
    AgentCore(Shared shared, std::shared_ptr<TokenCache> token, CallAgentOptions options);

    Shared shared;
    const std::shared_ptr<TokenCache> token;
    const CallAgentOptions options;
    std::shared_ptr<DeviceManager::Impl> devices;
    std::shared_ptr<DeviceManager> deviceManager;
    CommunicationUserIdentifier identity;
    std::unique_ptr<protocol::SignallingClient> connection;
    std::function<void()> onDisposed;  // tells the client the identity is free again

    std::map<std::string, std::shared_ptr<Call::Impl>> calls;
    std::map<std::string, std::shared_ptr<IncomingCall::Impl>> incoming;
    bool disposed = false;
    // disposed, for other threads: a call placed on a disposed agent is over at once.
    std::atomic<bool> disposedForCallers = false;

    // Views.
    mutable std::mutex mutex;
    std::vector<std::shared_ptr<Call>> callHandles;
    Event<const CollectionUpdate<std::shared_ptr<Call>>&> callsUpdated;
    Event<std::shared_ptr<IncomingCall>> incomingCall;

    void attach(std::unique_ptr<protocol::SignallingClient> connection);
    // Sends a request; `done` runs on the library thread with the server's ack or error.
    void request(protocol::ClientMessage message, std::function<void(Result<Done>)> done);
    void send(protocol::ClientMessage message);
    void addCall(const std::shared_ptr<Call::Impl>& call, const std::shared_ptr<Call>& handle);
    void removeCall(const std::string& callId);
    void dispose(std::function<void()> done);

private:
    void onMessage(const protocol::ServerMessage& message);
    void onClosed(const protocol::CloseReason& reason);
    void scheduleRefresh(int64_t delaySeconds);
    void refreshNow();

    protocol::SourcePtr refreshTimer_;
};

}  // namespace detail

// The agent's core is its Impl; the public class only forwards.
struct CallAgent::Impl : detail::AgentCore {
    using AgentCore::AgentCore;
    static std::shared_ptr<CallAgent> makeHandle(std::shared_ptr<Impl> impl)
    {
        return std::shared_ptr<CallAgent>(new CallAgent(std::move(impl)));
    }
};

}  // namespace calling
