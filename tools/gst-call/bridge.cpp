#include "bridge.h"

#include "console.h"
#include "exit_codes.h"
#include "identity_client.h"

#include "protocol/glib_ptr.h"

#include <calling/call_client.h>
#include <calling/local_video_stream.h>
#include <calling/renderer.h>

#include <glib-unix.h>
#include <gst/gst.h>

#include <unistd.h>

#include <array>
#include <csignal>
#include <cstdio>
#include <memory>
#include <vector>

namespace gstcall {

using namespace calling;

namespace {

// An inter element on a channel; the library takes over the reference.
ElementFactory inter(const char* factory, std::string channel)
{
    return [factory, channel] {
        GstElement* element = gst_element_factory_make(factory, nullptr);
        if (element)
            g_object_set(element, "channel", channel.c_str(), nullptr);
        return element;
    };
}

class Bridge {
public:
    explicit Bridge(const BridgeOptions& options) : options_(options) {}

    int run()
    {
        loop_ = g_main_loop_new(nullptr, FALSE);
        // Channel names are process-wide: the pid keeps two bridges of one process apart (tests).
        std::string prefix = "gst-call-bridge-" + std::to_string(getpid()) + "-";
        for (int i = 0; i < 2; ++i) {
            Side& side = sides_[i];
            side.name = i == 0 ? "a" : "b";
            std::string own = prefix + side.name, other = prefix + (i == 0 ? "b" : "a");
            // This side's caller is heard and seen on its own channels; it gets the other's.
            CallClientOptions clientOptions{.endpoint = options_.endpoint,
                                            .callbackContext = g_main_context_default(),
                                            .tlsCaFile = options_.caFile};
            side.audio.microphone = inter("interaudiosrc", other + "-audio");
            side.audio.speaker = inter("interaudiosink", own + "-audio");
            side.client = std::make_unique<CallClient>(clientOptions);
            side.ownVideo = own + "-video";
            side.picture = std::make_shared<LocalVideoStream>(
                VideoDeviceInfo{.id = "gst-call-bridge:" + other, .name = "the other caller's picture"},
                inter("intervideosrc", other + "-video"));
        }
        guint interrupt = g_unix_signal_add(SIGINT, onSignal, this);
        guint terminate = g_unix_signal_add(SIGTERM, onSignal, this);
        for (Side& side : sides_)
            start(side, side.name == "a" ? options_.tokenA : options_.tokenB,
                  side.name == "a" ? options_.identityA : options_.identityB);
        if (!finished_)
            g_main_loop_run(loop_);
        g_source_remove(interrupt);
        g_source_remove(terminate);
        timers_.clear();
        for (Side& side : sides_) {
            side.views.clear();
            side.renderers.clear();
            side.subscriptions.clear();
            side.call.reset();
            side.picture.reset();
            side.agent.reset();
        }
        for (Side& side : sides_)
            side.client.reset();
        g_main_loop_unref(loop_);
        return exitCode_;
    }

private:
    struct Side {
        std::string name;
        std::unique_ptr<CallClient> client;
        std::shared_ptr<IdentityClient> identity;
        std::shared_ptr<CallAgent> agent;
        std::shared_ptr<Call> call;
        std::shared_ptr<LocalVideoStream> picture;
        std::string ownVideo;
        AudioDevices audio;
        std::vector<Subscription> subscriptions;
        std::vector<std::unique_ptr<Renderer>> renderers;
        std::vector<std::shared_ptr<RendererView>> views;
        bool ended = false;
        CallState lastState = CallState::None;
    };

    static gboolean onSignal(gpointer data)
    {
        auto* self = static_cast<Bridge*>(data);
        if (self->interrupted_) {
            complain("interrupted again: leaving without waiting for the hang ups");
            self->finish(kExitInterrupted);
        } else {
            self->interrupted_ = true;
            say("interrupted: hanging up");
            self->hangUpAll();
        }
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

    void fail(const std::string& message, int code)
    {
        complain(message);
        if (exitCode_ == kExitOk)
            exitCode_ = code;
        hangUpAll();
    }

    void start(Side& side, const std::string& token, const std::string& identity)
    {
        if (!token.empty()) {
            signIn(side, CommunicationTokenCredential(token));
            return;
        }
        side.identity = std::make_shared<IdentityClient>(*options_.connection, options_.caFile);
        issueCredential(side.identity, identity, [this, &side](auto issued) {
            if (finished_)
                return;
            if (!issued)
                return fail("cannot get a token from the identity API: " + describe(issued.error()),
                            exitCodeFor(issued.error()));
            signIn(side, std::move(issued->first));
        });
    }

    void signIn(Side& side, CommunicationTokenCredential credential)
    {
        side.client->createCallAgent(
            std::move(credential), {.displayName = options_.displayName, .audio = side.audio},
            [this, &side](Result<std::shared_ptr<CallAgent>> agent) {
                if (finished_)
                    return;
                if (!agent)
                    return fail("cannot sign in to " + options_.endpoint + ": " + describe(agent.error()),
                                exitCodeFor(agent.error()));
                side.agent = agent.value();
                say("identity " + side.name + ": " + rawIdOf(side.agent->identifier()));
                side.subscriptions.push_back(side.agent->onIncomingCall(
                    [this, &side](std::shared_ptr<IncomingCall> incoming) { onIncoming(side, incoming); }));
                if (sides_[0].agent && sides_[1].agent)
                    say("waiting: for a call to each identity");
            });
    }

    void onIncoming(Side& side, const std::shared_ptr<IncomingCall>& incoming)
    {
        std::string caller = rawIdOf(incoming->callerInfo().identifier);
        if (side.call || hangingUp_) {
            say("declined " + side.name + ": " + caller + " (busy)");
            incoming->reject();
            return;
        }
        say("incoming " + side.name + ": " + caller);
        AcceptCallOptions options;
        options.videoOptions.localVideoStreams = {side.picture};
        incoming->accept(options, [this, &side](Result<std::shared_ptr<Call>> accepted) {
            if (finished_)
                return;
            if (!accepted) {
                complain("cannot answer on " + side.name + ": " + describe(accepted.error()));
                return;  // the identity waits for another call
            }
            follow(side, accepted.value());
        });
    }

    void follow(Side& side, const std::shared_ptr<Call>& call)
    {
        side.call = call;
        side.subscriptions.push_back(call->onStateChanged([this, &side] { onState(side); }));
        for (const auto& participant : call->remoteParticipants())
            watch(side, participant);
        side.subscriptions.push_back(call->onRemoteParticipantsUpdated(
            [this, &side](const CollectionUpdate<std::shared_ptr<RemoteParticipant>>& update) {
                for (const auto& participant : update.added)
                    watch(side, participant);
            }));
        onState(side);
    }

    // The caller's camera, whenever it is available, goes to this side's video channel.
    void watch(Side& side, const std::shared_ptr<RemoteParticipant>& participant)
    {
        for (const auto& stream : participant->videoStreams())
            watchStream(side, stream);
        side.subscriptions.push_back(participant->onVideoStreamsUpdated(
            [this, &side](const CollectionUpdate<std::shared_ptr<RemoteVideoStream>>& update) {
                for (const auto& stream : update.added)
                    watchStream(side, stream);
            }));
    }

    void watchStream(Side& side, const std::shared_ptr<RemoteVideoStream>& stream)
    {
        auto renderer = std::make_unique<Renderer>(stream);
        Renderer* raw = renderer.get();
        side.renderers.push_back(std::move(renderer));
        auto show = [this, &side, raw, stream] {
            if (!stream->isAvailable())
                return;  // its views went with it; a new one comes when it is back
            CreateViewOptions options;
            options.scalingMode = ScalingMode::Fit;
            options.width = 640;
            options.height = 480;
            options.sink = inter("intervideosink", side.ownVideo);
            raw->createView(options, [this, &side](Result<std::shared_ptr<RendererView>> view) {
                if (view)
                    side.views.push_back(view.value());
                else
                    complain("cannot pass on " + side.name + "'s video: " + describe(view.error()));
            });
        };
        side.subscriptions.push_back(stream->onIsAvailableChanged(show));
        show();
    }

    void onState(Side& side)
    {
        CallState state = side.call->state();
        if (state == side.lastState)
            return;
        side.lastState = state;
        say("state " + side.name + ": " + toString(state));
        if (state != CallState::Disconnected)
            return;
        side.ended = true;
        CallEndReason reason = side.call->callEndReason();
        say("ended " + side.name + ": " + std::to_string(reason.code) + "/" + std::to_string(reason.subCode) +
            (reason.message.empty() ? "" : " " + reason.message));
        if (!hangingUp_ && !interrupted_ && exitCode_ == kExitOk)
            exitCode_ = exitCodeFor(reason);
        // One call alone is no bridge: the other goes too.
        hangUpAll();
    }

    void hangUpAll()
    {
        hangingUp_ = true;
        bool waiting = false;
        for (Side& side : sides_) {
            if (side.call && !side.ended) {
                waiting = true;
                if (side.call->state() != CallState::Disconnecting)
                    side.call->hangUp();
            }
        }
        if (!waiting)
            finish(exitCode_);
    }

    const BridgeOptions options_;
    GMainLoop* loop_ = nullptr;
    std::array<Side, 2> sides_;
    std::vector<protocol::SourcePtr> timers_;
    bool interrupted_ = false;
    bool hangingUp_ = false;
    bool finished_ = false;
    int exitCode_ = kExitOk;
};

}  // namespace

int runBridge(const BridgeOptions& options)
{
    Bridge bridge(options);
    return bridge.run();
}

}  // namespace gstcall
