#include "session.h"

#include "console.h"
#include "exit_codes.h"
#include "identity_client.h"
#include "status_line.h"

#include "protocol/glib_ptr.h"

#include <calling/call_client.h>
#include <calling/call_recorder.h>
#include <calling/local_video_stream.h>
#include <calling/media_stats.h>

#include <glib-unix.h>
#include <gst/gst.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <functional>
#include <memory>
#include <vector>

namespace gstcall {

using namespace calling;

namespace {

// How long a hang up may take (the server's answer) before gst-call leaves anyway.
constexpr auto kHangUpGrace = std::chrono::seconds(10);

std::optional<AudioDeviceInfo> findDevice(const std::vector<AudioDeviceInfo>& devices, const std::string& id)
{
    for (const auto& device : devices)
        if (device.id == id)
            return device;
    return std::nullopt;
}

class Session {
public:
    explicit Session(const SessionOptions& options) : options_(options) {}

    int run()
    {
        loop_ = g_main_loop_new(nullptr, FALSE);
        client_ = std::make_unique<CallClient>(CallClientOptions{.endpoint = options_.endpoint,
                                                                 .callbackContext = g_main_context_default(),
                                                                 .tlsCaFile = options_.caFile});
        if (selectDevices()) {
            guint interrupt = g_unix_signal_add(SIGINT, onSignal, this);
            guint terminate = g_unix_signal_add(SIGTERM, onSignal, this);
            start();
            if (!finished_)
                g_main_loop_run(loop_);
            g_source_remove(interrupt);
            g_source_remove(terminate);
        }
        // What the library calls back is dropped first, then the client goes: it hangs up what
        // is left, closes the connection and joins its thread.
        timers_.clear();
        recorder_.reset();
        collector_.reset();
        subscriptions_.clear();
        call_.reset();
        camera_.reset();
        incoming_.reset();
        agent_.reset();
        client_.reset();
        g_main_loop_unref(loop_);
        return exitCode_;
    }

private:
    static gboolean onSignal(gpointer data)
    {
        static_cast<Session*>(data)->interrupt();
        return G_SOURCE_CONTINUE;
    }

    void finish(int code)
    {
        if (finished_)
            return;
        finished_ = true;
        exitCode_ = code;
        g_main_loop_quit(loop_);
    }

    // --microphone and --speaker name DeviceManager devices; an unknown id is a usage error.
    bool selectDevices()
    {
        auto devices = client_->deviceManager();
        struct Choice {
            const char* option;
            const std::string& id;
            std::vector<AudioDeviceInfo> list;
            bool microphone;
        };
        for (const Choice& choice : {Choice{"--microphone", options_.microphone, devices->getMicrophoneList(), true},
                                     Choice{"--speaker", options_.speaker, devices->getSpeakerList(), false}}) {
            if (choice.id.empty())
                continue;
            auto device = findDevice(choice.list, choice.id);
            if (!device) {
                complain(std::string("no such device for ") + choice.option + ": " + choice.id +
                         "\nTry 'gst-call devices' for the list.");
                exitCode_ = kExitUsage;
                return false;
            }
            if (choice.microphone)
                devices->setMicrophone(*device);
            else
                devices->setSpeaker(*device);
        }
        if (!options_.camera.empty()) {
            for (const auto& camera : devices->getCameraList())
                if (camera.id == options_.camera)
                    camera_ = std::make_shared<LocalVideoStream>(camera);
            if (!camera_) {
                complain("no such device for --camera: " + options_.camera + "\nTry 'gst-call devices' for the list.");
                exitCode_ = kExitUsage;
                return false;
            }
        }
        return true;
    }

    VideoOptions videoOptions() const
    {
        VideoOptions video;
        if (camera_)
            video.localVideoStreams.push_back(camera_);
        if (options_.preferH264)
            video.preferredCodec = VideoCodec::H264;
        return video;
    }

    void start()
    {
        if (!options_.token.empty()) {
            signIn(CommunicationTokenCredential(options_.token));
            return;
        }
        identity_ = std::make_shared<IdentityClient>(*options_.connection, options_.caFile);
        issueCredential(identity_, options_.identity, [this](auto issued) {
            if (finished_)
                return;
            if (!issued) {
                complain("cannot get a token from the identity API: " + describe(issued.error()));
                finish(exitCodeFor(issued.error()));
                return;
            }
            signIn(std::move(issued->first));
        });
    }

    void signIn(CommunicationTokenCredential credential)
    {
        client_->createCallAgent(std::move(credential), {.displayName = options_.displayName},
                                 [this](Result<std::shared_ptr<CallAgent>> agent) {
            if (finished_)
                return;
            if (!agent) {
                complain("cannot sign in to " + options_.endpoint + ": " + describe(agent.error()));
                finish(exitCodeFor(agent.error()));
                return;
            }
            agent_ = agent.value();
            say("identity: " + rawIdOf(agent_->identifier()));
            if (options_.mode == SessionOptions::Mode::Call)
                place();
            else
                wait();
        });
    }

    void place()
    {
        auto call = agent_->call({identifierFromRawId(options_.target)},
                                 {.audioOptions = {.muted = options_.muted}, .videoOptions = videoOptions()});
        startTimeout("not connected");
        follow(call);
    }

    void wait()
    {
        say("waiting: for an incoming call");
        startTimeout("no call connected");
        subscriptions_.push_back(agent_->onIncomingCall([this](std::shared_ptr<IncomingCall> incoming) {
            std::string caller = rawIdOf(incoming->callerInfo().identifier);
            std::string name = incoming->callerInfo().displayName;
            if (incoming_ || call_) {
                // One call at a time: a second caller hears that this side is busy.
                say("declined: " + caller + " (busy)");
                incoming->reject();
                return;
            }
            incoming_ = incoming;
            say("incoming: " + caller + (name.empty() ? "" : " \"" + name + "\""));
            if (options_.decline) {
                incoming->reject([this, caller](Result<Done> rejected) {
                    if (!rejected) {
                        complain("cannot decline: " + describe(rejected.error()));
                        finish(exitCodeFor(incoming_->callEndReason()));
                        return;
                    }
                    say("declined: " + caller);
                    finish(kExitOk);
                });
                return;
            }
            incoming->accept({.audioOptions = {.muted = options_.muted}, .videoOptions = videoOptions()},
                             [this](Result<std::shared_ptr<Call>> accepted) {
                if (finished_)
                    return;
                if (!accepted) {
                    // It stopped ringing first: the caller cancelled, or another endpoint answered.
                    CallEndReason reason = incoming_->callEndReason();
                    complain("cannot answer: " + describe(accepted.error()));
                    printEnd(reason);
                    finish(reason.code != 0 ? exitCodeFor(reason) : exitCodeFor(accepted.error()));
                    return;
                }
                follow(accepted.value());
                if (options_.mode == SessionOptions::Mode::Record)
                    record(accepted.value());
            });
        }));
    }

    // The library records; it finalises the file when the call ends, however it ends, before the
    // call's Disconnected (which ends the run), so the file is complete when gst-call exits.
    void record(const std::shared_ptr<Call>& call)
    {
        say("recording: " + options_.output);
        recorder_ = recordCall(call, {.path = options_.output}, [this](Result<Recording> done) {
            if (!done) {
                complain("the recording failed: " + describe(done.error()));
                recordingFailed_ = true;
                // Nothing to stay for: a recorder that cannot record hangs up.
                if (call_ && call_->state() != CallState::Disconnected)
                    hangUp();
                return;
            }
            std::string tracks;
            for (const auto& track : done->tracks) {
                auto seconds = std::chrono::duration<double>(track.duration).count();
                char figures[96];
                std::snprintf(figures, sizeof figures, " %s %llu %s %.1f s", track.codecName.c_str(),
                              static_cast<unsigned long long>(track.frames),
                              track.kind == MediaStreamKind::Video ? "frames" : "packets", seconds);
                tracks += (tracks.empty() ? "" : ",") + std::string(" ") + toString(track.kind) + figures;
            }
            say("recorded: " + done->path + (tracks.empty() ? "" : " |" + tracks));
        });
    }

    void startTimeout(const char* what)
    {
        if (options_.timeoutSeconds <= 0)
            return;
        timers_.push_back(after(std::chrono::seconds(options_.timeoutSeconds), [this, what] {
            if (connectedAt_ || finished_)
                return;
            say(std::string("timeout: ") + what + " within " + std::to_string(options_.timeoutSeconds) + " s");
            timedOut_ = true;
            if (call_)
                hangUp();
            else
                finish(kExitNoAnswer);
        }));
    }

    void follow(std::shared_ptr<Call> call)
    {
        call_ = call;
        lastState_ = call->state();
        say(std::string("state: ") + toString(lastState_));
        subscriptions_.push_back(call->onStateChanged([this] { onStateChanged(); }));
        // Who is in the call: those there already (an answered call has its caller), then those who come.
        for (const auto& participant : call->remoteParticipants())
            sayParticipant(*participant);
        subscriptions_.push_back(call->onRemoteParticipantsUpdated(
            [](const CollectionUpdate<std::shared_ptr<RemoteParticipant>>& update) {
                for (const auto& participant : update.added)
                    sayParticipant(*participant);
            }));
        if (options_.statsIntervalSeconds > 0) {
            auto interval = std::chrono::milliseconds(std::lround(options_.statsIntervalSeconds * 1000));
            collector_ = createMediaStatsCollector(call, {.sampleInterval = std::max(interval, std::chrono::milliseconds(100))});
            subscriptions_.push_back(collector_->onSampleReported([this](const MediaStatsSample& sample) {
                onSample(sample);
            }));
        }
        if (lastState_ == CallState::Disconnected) {
            // Over before it was handed out (the agent was gone): no event will come.
            printEnd(call->callEndReason());
            finish(exitCodeFor(call->callEndReason()));
        }
    }

    void onStateChanged()
    {
        CallState state = call_->state();
        if (state == lastState_)
            return;
        lastState_ = state;
        say(std::string("state: ") + toString(state));
        if (state == CallState::Connected && !connectedAt_) {
            connectedAt_ = std::chrono::steady_clock::now();
            if (options_.durationSeconds > 0)
                timers_.push_back(after(std::chrono::seconds(options_.durationSeconds), [this] {
                    say("duration: " + std::to_string(options_.durationSeconds) + " s reached");
                    hangUp();
                }));
        }
        if (state == CallState::Disconnected) {
            CallEndReason reason = call_->callEndReason();
            printEnd(reason);
            int code = timedOut_ && reason.code == 0 ? kExitNoAnswer : exitCodeFor(reason);
            // A call that ended well with a recording that failed did not do its job.
            finish(code == kExitOk && recordingFailed_ ? kExitFailed : code);
        }
    }

    static void sayParticipant(const RemoteParticipant& participant)
    {
        std::string name = participant.displayName();
        say("participant: " + rawIdOf(participant.identifier()) + (name.empty() ? "" : " \"" + name + "\""));
    }

    static void printEnd(const CallEndReason& reason)
    {
        say("ended: " + std::to_string(reason.code) + "/" + std::to_string(reason.subCode) +
            (reason.message.empty() ? "" : " " + reason.message));
    }

    void onSample(const MediaStatsSample& sample)
    {
        CallState state = call_ ? call_->state() : CallState::None;
        bool inCall = state == CallState::Connected || state == CallState::LocalHold || state == CallState::RemoteHold;
        if (!connectedAt_ || !inCall)
            return;
        auto elapsed = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - *connectedAt_);
        say(formatStatusLine(elapsed, sample));
    }

    void hangUp()
    {
        if (hangingUp_ || !call_)
            return;
        hangingUp_ = true;
        call_->hangUp();
        // The call's Disconnected ends the run; should the server never answer, leave anyway.
        timers_.push_back(after(kHangUpGrace, [this] {
            complain("the hang up did not complete; leaving");
            finish(kExitFailed);
        }));
    }

    void interrupt()
    {
        if (interrupted_) {
            complain("interrupted again: leaving without waiting for the hang up");
            finish(kExitInterrupted);
            return;
        }
        interrupted_ = true;
        if (call_ && call_->state() != CallState::Disconnected) {
            say("interrupted: hanging up");
            hangUp();
            return;
        }
        say("interrupted");
        finish(kExitOk);
    }

    const SessionOptions options_;
    GMainLoop* loop_ = nullptr;
    std::unique_ptr<CallClient> client_;
    std::shared_ptr<IdentityClient> identity_;
    std::shared_ptr<CallAgent> agent_;
    std::shared_ptr<IncomingCall> incoming_;
    std::shared_ptr<Call> call_;
    std::shared_ptr<MediaStatsCollector> collector_;
    std::shared_ptr<LocalVideoStream> camera_;
    std::shared_ptr<CallRecorder> recorder_;
    bool recordingFailed_ = false;
    std::vector<Subscription> subscriptions_;
    std::vector<protocol::SourcePtr> timers_;
    std::optional<std::chrono::steady_clock::time_point> connectedAt_;
    CallState lastState_ = CallState::None;
    bool hangingUp_ = false;
    bool interrupted_ = false;
    bool timedOut_ = false;
    bool finished_ = false;
    int exitCode_ = kExitFailed;
};

}  // namespace

int runSession(const SessionOptions& options)
{
    Session session(options);
    return session.run();
}

int listDevices()
{
    CallClient client({});
    auto devices = client.deviceManager();
    auto audio = [](const char* kind, const std::vector<AudioDeviceInfo>& list) {
        for (const auto& device : list)
            say(std::string(kind) + "  " + device.id + "  " + device.name + (device.isSystemDefault ? " (default)" : ""));
    };
    auto video = [](const char* kind, const std::vector<VideoDeviceInfo>& list) {
        for (const auto& device : list)
            say(std::string(kind) + "  " + device.id + "  " + device.name);
    };
    audio("microphone", devices->getMicrophoneList());
    audio("speaker   ", devices->getSpeakerList());
    video("camera    ", devices->getCameraList());
    video("screen    ", devices->getScreenList());
    return kExitOk;
}

}  // namespace gstcall
