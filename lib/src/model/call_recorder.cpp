// Recording a call (calling/call_recorder.h): the recorder's core waits on the library thread for
// the far end to join, then hooks a RecordingBranch to the remote streams' tees of the call's
// pipeline; the call's end, or stop(), finalises the file there, before the pipeline goes.
#include <calling/call_recorder.h>

#include "model/model.h"

#include <gst/gst.h>

GST_DEBUG_CATEGORY_STATIC(call_recorder_debug);
#define GST_CAT_DEFAULT call_recorder_debug

namespace calling {

namespace {

// How long finalising a file may hold the library thread: the queued media is written at disk
// speed, and the mux's index with it; this bounds a stuck branch, not a normal one.
constexpr auto kFinaliseTimeout = std::chrono::seconds(5);

void initDebug()
{
    static gsize once = 0;
    if (g_once_init_enter(&once)) {
        GST_DEBUG_CATEGORY_INIT(call_recorder_debug, "callrecorder", 0, "gst-calling: call recordings");
        g_once_init_leave(&once, 1);
    }
}

}  // namespace

void Call::Impl::startRecorders()
{
    // A copy: a recording that cannot start leaves the list.
    for (auto recorder : std::vector(recorders))
        if (!recorder->branch && !recorder->over)
            recorder->begin(*this);
}

void Call::Impl::updateRecorders()
{
    for (auto& recorder : recorders)
        if (recorder->branch)
            recorder->onStreams(*this);
}

namespace {

// Whether the participant's published stream is available now.
bool streamAvailable(Call::Impl& callCore, const RecordedTrack& track)
{
    auto participant = callCore.participants.find(track.participantId);
    if (participant == callCore.participants.end())
        return false;
    auto stream = participant->second.impl->streams.find(track.streamId);
    return stream != participant->second.impl->streams.end() && stream->second.available;
}

}  // namespace

void CallRecorder::Impl::onStreams(Call::Impl& callCore)
{
    for (size_t i = 0; i < tracks.size(); ++i) {
        if (tracks[i].kind != MediaStreamKind::Video)
            continue;
        bool now = streamAvailable(callCore, tracks[i]);
        if (now && !available[i]) {
            GST_INFO("video stream %d of %s is back: asking for a keyframe", tracks[i].streamId,
                     tracks[i].participantId.c_str());
            branch->requestKeyframe(i);
        }
        available[i] = now;
    }
}

void CallRecorder::Impl::begin(Call::Impl& callCore)
{
    if (!callCore.pipeline)
        return;
    std::vector<detail::RecordingBranch::Track> branchTracks;
    tracks.clear();
    for (auto& [rawId, participant] : callCore.participants) {
        if (GstElement* tee = callCore.pipeline->remoteAudio(rawId)) {
            branchTracks.push_back({.tee = tee, .video = false, .description = "audio of " + rawId});
            tracks.push_back({.kind = MediaStreamKind::Audio, .codecName = "OPUS", .participantId = rawId});
        }
    }
    for (auto& [rawId, participant] : callCore.participants) {
        for (auto& [streamId, stream] : participant.impl->streams) {
            GstElement* tee = callCore.pipeline->remoteVideo(rawId, stream.impl->msid);
            if (!tee)
                continue;
            branchTracks.push_back({.tee = tee, .video = true,
                                    .description = "video stream " + std::to_string(streamId) + " of " + rawId});
            tracks.push_back({.kind = MediaStreamKind::Video, .codecName = "VP8", .participantId = rawId,
                              .streamId = streamId});
        }
    }
    auto started = detail::RecordingBranch::start(callCore.pipeline->bin(), path, branchTracks);
    if (!started) {
        GST_WARNING("recording %s failed: %s", path.c_str(), started.error().message.c_str());
        complete(started.error());
        // The call goes on without the recording.
        std::erase(callCore.recorders, shared_from_this());
        return;
    }
    branch = std::move(started).value();
    available.clear();
    for (const auto& track : tracks)
        available.push_back(track.kind == MediaStreamKind::Video && streamAvailable(callCore, track));
    GST_INFO("recording call %s into %s, %zu tracks", callCore.id.c_str(), path.c_str(), tracks.size());
}

void CallRecorder::Impl::end(std::optional<CallEndReason> reason)
{
    if (over)
        return;
    if (!branch) {
        complete(reason ? Error{412, 41071, "the call ended before the far end joined: nothing was recorded"}
                        : Error{500, 0, "stopped before anything was recorded"});
        return;
    }
    auto written = branch->finish(std::chrono::duration_cast<std::chrono::milliseconds>(kFinaliseTimeout));
    for (size_t i = 0; i < tracks.size() && i < branch->counts().size(); ++i) {
        const auto& count = branch->counts()[i];
        tracks[i].frames = count.buffers;
        if (!count.codec.empty())
            tracks[i].codecName = count.codec;
        tracks[i].duration = std::chrono::duration_cast<std::chrono::milliseconds>(count.last - count.first);
    }
    branch.reset();  // the branch leaves the pipeline; the file is closed
    if (!written) {
        complete(written.error());
        return;
    }
    Recording recording{.path = path};
    for (size_t index : written.value())
        recording.tracks.push_back(tracks[index]);
    GST_INFO("recording %s finalised, %zu tracks", path.c_str(), recording.tracks.size());
    complete(std::move(recording));
}

void CallRecorder::Impl::complete(Result<Recording> result)
{
    over = true;
    auto done = std::exchange(finished, nullptr);
    if (done)
        shared.fire([done, result = std::move(result)] { done(result); });
}

CallRecorder::CallRecorder(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
CallRecorder::~CallRecorder() = default;

void CallRecorder::stop()
{
    impl_->shared.work([impl = impl_] {
        if (impl->over)
            return;
        impl->end();
        if (auto callCore = impl->call.lock())
            std::erase(callCore->recorders, impl);
    });
}

std::shared_ptr<CallRecorder> recordCall(const std::shared_ptr<Call>& call, CallRecorderOptions options,
                                         std::function<void(Result<Recording>)> finished)
{
    initDebug();
    auto callImpl = Call::Impl::of(*call);
    auto impl = std::make_shared<CallRecorder::Impl>(callImpl->shared.child(), callImpl, std::move(options.path),
                                                     std::move(finished));
    callImpl->shared.work([impl, callImpl] {
        if (callImpl->ended || callImpl->ending) {
            impl->complete(Error{412, 41071, "the call is over"});
            return;
        }
        callImpl->recorders.push_back(impl);
        if (callImpl->peerJoined)
            impl->begin(*callImpl);
    });
    return std::shared_ptr<CallRecorder>(new CallRecorder(impl));
}

}  // namespace calling
