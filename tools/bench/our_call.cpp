#include "our_call.h"

#include "identity_client.h"
#include "main_loop.h"

#include <calling/call_agent.h>
#include <calling/communication_token_credential.h>

#include <chrono>

using namespace calling;
using namespace std::chrono_literals;

namespace bench {
namespace {

bool waitOnDefault(const std::function<bool()>& condition, std::chrono::milliseconds timeout)
{
    return calling::test::iterateUntil(g_main_context_default(), condition, timeout);
}

}  // namespace

struct Identities::Impl {
    std::string endpoint;
    std::unique_ptr<gstcall::IdentityClient> client;
};

Identities::Identities(const std::string& connectionString) : impl_(std::make_unique<Impl>())
{
    auto parsed = protocol::parseConnectionString(connectionString);
    if (parsed) {
        impl_->endpoint = parsed.value().endpoint;
        impl_->client = std::make_unique<gstcall::IdentityClient>(parsed.value(), "");
    }
}

Identities::~Identities() = default;

const std::string& Identities::endpoint() const
{
    return impl_->endpoint;
}

bool Identities::issue(std::string* identity, std::string* token, std::string* why)
{
    if (!impl_->client) {
        *why = "not a connection string";
        return false;
    }
    std::optional<Result<gstcall::IssuedToken>> issued;
    impl_->client->issueToken("", [&](Result<gstcall::IssuedToken> result) { issued = std::move(result); });
    if (!waitOnDefault([&] { return issued.has_value(); }, 20s) || !issued->ok()) {
        *why = issued ? issued->error().message : "the identity API did not answer";
        return false;
    }
    *identity = issued->value().identity;
    *token = issued->value().token;
    return true;
}

struct OurPair::End {
    std::unique_ptr<CallClient> client;
    std::shared_ptr<CallAgent> agent;
    std::string identity;
    std::shared_ptr<LocalVideoStream> camera;
    std::shared_ptr<Call> call;
    std::optional<Subscription> incoming;
    std::unique_ptr<Renderer> renderer;
    std::shared_ptr<RendererView> view;
    bool viewRequested = false;
    std::shared_ptr<MediaStatsCollector> stats;
    std::optional<Subscription> sampled;
    LossCount loss;
};

OurPair::OurPair(Identities& identities, CallMedia media)
    : identities_(identities), media_(media), caller_(std::make_unique<End>()), callee_(std::make_unique<End>())
{
}

OurPair::~OurPair()
{
    for (End* end : {caller_.get(), callee_.get()}) {
        end->sampled.reset();
        if (end->stats)
            end->stats->dispose();
        end->view.reset();
        end->renderer.reset();
        end->incoming.reset();
        end->call.reset();
    }
    for (End* end : {caller_.get(), callee_.get()}) {
        if (!end->agent)
            continue;
        bool disposed = false;
        end->agent->dispose([&] { disposed = true; });
        waitOnDefault([&] { return disposed; }, 10s);
        end->agent.reset();
    }
    caller_.reset();
    callee_.reset();
}

GstElement* OurPair::callerVideoSink()
{
    if (!observations_)
        return makeRealTimeSink();
    switch (media_.probe) {
    case Probe::FirstFrame:
        return makeFirstFrameSink(&observations_->firstFrameUs);
    case Probe::Latency:
        return makeStampReader(&observations_->videoLatencyMs, &observations_->firstFrameUs);
    case Probe::Consume:
        break;
    }
    return makeRealTimeSink(&observations_->firstFrameUs, &observations_->videoFrames);
}

GstElement* OurPair::callerSpeaker()
{
    if (observations_ && media_.probe == Probe::Latency)
        return makeOnsetDetector(&observations_->bursts, &observations_->audioLatencyMs);
    return makeSpeaker(observations_);
}

bool OurPair::signIn(std::string* why)
{
    bool latency = media_.probe == Probe::Latency;
    for (End* end : {caller_.get(), callee_.get()}) {
        std::string token;
        if (!identities_.issue(&end->identity, &token, why))
            return false;
        end->client = std::make_unique<CallClient>(
            CallClientOptions{.endpoint = identities_.endpoint(), .callbackContext = g_main_context_default()});
        CallAgentOptions options;
        options.displayName = end == caller_.get() ? "bench caller" : "bench callee";
        bool stamped = end == callee_.get() && latency;
        if (end == caller_.get()) {
            options.audio.microphone = [] { return makeAudioSource(nullptr); };
            options.audio.speaker = [this] { return callerSpeaker(); };
        } else {
            options.audio.microphone = [this, stamped]() -> GstElement* {
                return makeAudioSource(stamped && observations_ ? &observations_->bursts : nullptr);
            };
            options.audio.speaker = [this] { return makeSpeaker(observations_); };
        }
        if (media_.video)
            end->camera = std::make_shared<LocalVideoStream>(
                VideoDeviceInfo{.id = "bench:test-picture", .name = "Benchmark test picture"},
                [stamped] { return makeVideoSource(stamped); });
        std::optional<Result<std::shared_ptr<CallAgent>>> agent;
        end->client->createCallAgent(CommunicationTokenCredential(token), std::move(options),
                                     [&](Result<std::shared_ptr<CallAgent>> result) { agent = std::move(result); });
        if (!waitOnDefault([&] { return agent.has_value(); }, 20s) || !agent->ok()) {
            *why = agent ? "sign-in failed: " + agent->error().message : "sign-in did not complete";
            return false;
        }
        end->agent = agent->value();
    }
    // The callee answers every call at once, with its camera when the call has video.
    End* callee = callee_.get();
    callee->incoming = callee->agent->onIncomingCall([this, callee](std::shared_ptr<IncomingCall> incoming) {
        AcceptCallOptions options;
        if (callee->camera)
            options.videoOptions.localVideoStreams = {callee->camera};
        incoming->accept(options, [this, callee](Result<std::shared_ptr<Call>> accepted) {
            if (accepted) {
                callee->call = accepted.value();
            } else if (observations_ && !observations_->failed.exchange(true)) {
                observations_->failure = "accept failed: " + accepted.error().message;
            }
        });
    });
    return true;
}

void OurPair::call(CallObservations* observations)
{
    observations_ = observations;
    for (End* end : {caller_.get(), callee_.get()}) {
        end->view.reset();
        end->renderer.reset();
        end->viewRequested = false;
        end->call.reset();
        end->loss = {};
    }
    StartCallOptions options;
    if (caller_->camera)
        options.videoOptions.localVideoStreams = {caller_->camera};
    observations->startedUs = nowUs();
    caller_->call = caller_->agent->call({CommunicationUserIdentifier{callee_->identity}}, options);
}

void OurPair::makeView(End& end)
{
    if (!media_.video || !end.call || end.viewRequested)
        return;
    auto participants = end.call->remoteParticipants();
    if (participants.empty())
        return;
    auto streams = participants[0]->videoStreams();
    if (streams.empty() || !streams[0]->isAvailable())
        return;
    end.viewRequested = true;
    bool atCaller = &end == caller_.get();
    if (atCaller && observations_)
        observations_->remoteVideoUs = nowUs();
    end.renderer = std::make_unique<Renderer>(streams[0]);
    CreateViewOptions options;
    if (&end == caller_.get())
        options.sink = [this] { return callerVideoSink(); };
    else
        options.sink = [this] {
            return makeRealTimeSink(nullptr, observations_ ? &observations_->videoFrames : nullptr);
        };
    End* at = &end;
    end.renderer->createView(options, [this, at](Result<std::shared_ptr<RendererView>> made) {
        if (made) {
            at->view = made.value();
            if (at == caller_.get() && observations_)
                observations_->viewReadyUs = nowUs();
        }
        else if (observations_ && !observations_->failed.exchange(true))
            observations_->failure = "createView failed: " + made.error().message;
    });
}

void OurPair::pump()
{
    // pump() runs right after each dispatch on the callback context, so this is when the
    // application learns of the state change.
    if (observations_ && caller_->call && caller_->call->state() == CallState::Connected && !observations_->connectedUs)
        observations_->connectedUs = nowUs();
    for (End* end : {caller_.get(), callee_.get()}) {
        makeView(*end);
        if (media_.stats && end->call && !end->stats) {
            // Loss and lateness of received audio, for the capacity mode.
            end->stats = createMediaStatsCollector(end->call, {.sampleInterval = 1000ms});
            end->sampled = end->stats->onSampleReported([end](const MediaStatsSample& sample) {
                if (auto* audio = sample.find(MediaStreamDirection::Receive, MediaStreamKind::Audio)) {
                    end->loss.received = audio->packets;
                    end->loss.lost = audio->packetsLost.value_or(0);
                }
            });
        }
    }
}

bool OurPair::connected() const
{
    return caller_->call && callee_->call && caller_->call->state() == CallState::Connected &&
           callee_->call->state() == CallState::Connected;
}

LossCount OurPair::audioLoss() const
{
    LossCount total;
    for (const End* end : {caller_.get(), callee_.get()}) {
        total.received += end->loss.received;
        total.lost += end->loss.lost;
    }
    return total;
}

bool OurPair::hangUp()
{
    auto caller = caller_->call;
    if (caller)
        caller->hangUp();
    bool ended = waitOnDefault(
        [&] {
            pump();
            bool callerEnded = !caller || caller->state() == CallState::Disconnected;
            bool calleeEnded = !callee_->call || callee_->call->state() == CallState::Disconnected;
            return callerEnded && calleeEnded;
        },
        15s);
    for (End* end : {caller_.get(), callee_.get()}) {
        end->sampled.reset();
        if (end->stats)
            end->stats->dispose();
        end->stats.reset();
        end->view.reset();
        end->renderer.reset();
        end->call.reset();
    }
    observations_ = nullptr;
    return ended;
}

}  // namespace bench
