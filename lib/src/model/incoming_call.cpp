#include "model/model.h"

namespace calling {

IncomingCall::IncomingCall(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
IncomingCall::~IncomingCall() = default;

const std::string& IncomingCall::id() const { return impl_->id; }
const CallerInfo& IncomingCall::callerInfo() const { return impl_->caller; }

CallEndReason IncomingCall::callEndReason() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->endReason;
}

Subscription IncomingCall::onCallEnded(std::function<void(const CallEndReason&)> handler)
{
    return impl_->callEnded.subscribe(std::move(handler));
}

std::shared_ptr<IncomingCall> IncomingCall::Impl::makeHandle(std::shared_ptr<Impl> impl)
{
    return std::shared_ptr<IncomingCall>(new IncomingCall(std::move(impl)));
}

void IncomingCall::Impl::end(const CallEndReason& reason)
{
    ringing = false;
    auto self = this->self.lock();
    if (!self)
        return;
    bool declinedHere = rejecting;
    shared.fire([self, reason, declinedHere] {
        {
            std::lock_guard lock(self->mutex);
            self->endReason = reason;
        }
        if (declinedHere)
            return;  // reject()'s completion is the last word
        self->callEnded.emit(reason);
        self->callEnded.clear();
        self->shared.close();
    });
}

void IncomingCall::accept(AcceptCallOptions options, std::function<void(Result<std::shared_ptr<Call>>)> done)
{
    auto impl = impl_;
    impl->shared.work([impl, options, done = std::move(done)]() mutable {
        auto agent = impl->agent.lock();
        auto complete = [impl, done = std::move(done)](Result<std::shared_ptr<Call>> result) mutable {
            if (done)
                impl->shared.complete([done = std::move(done), result = std::move(result)] { done(result); });
        };
        if (!agent || !impl->ringing || agent->disposed) {
            complete(Error{400, 41006, "the call is not ringing"});
            return;
        }
        impl->ringing = false;
        agent->incoming.erase(impl->id);

        // Media starts at once, so that the answer is ready as soon as the caller's offer arrives.
        auto handle = Call::Impl::create(agent->shared.child(), impl->id, CallDirection::Incoming);
        auto call = Call::Impl::of(*handle);
        call->agent = agent;
        call->initialize(options.audioOptions.muted);
        agent->addCall(call, handle);
        call->startMedia(agent->options.audio, options.audioOptions.muted, options.videoOptions);
        if (call->ended) {
            // The media could not start: decline rather than answer with nothing.
            agent->send(protocol::RejectMessage{.callId = impl->id});
            complete(Error{410, 0, "the call's media could not start"});
            impl->shared.fire([impl] {
                impl->callEnded.clear();
                impl->shared.close();
            });
            return;
        }
        agent->request(protocol::AcceptMessage{.callId = impl->id, .displayName = agent->options.displayName,
                                               .streams = call->publishedStreams()},
                       [impl, call, handle, complete = std::move(complete)](Result<Done> result) mutable {
                           if (result) {
                               complete(handle);
                           } else {
                               call->finish(CallEndReason{result.error().code, result.error().subCode,
                                                          result.error().message});
                               complete(Error{400, 41006, result.error().message});
                           }
                           // The incoming call is over: it became the call, or it could not.
                           impl->shared.fire([impl] {
                               impl->callEnded.clear();
                               impl->shared.close();
                           });
                       });
        // As for a call placed muted: the server starts every participant unmuted.
        if (options.audioOptions.muted)
            agent->send(protocol::MuteStateMessage{.callId = impl->id, .muted = true});
    });
}

void IncomingCall::reject(Completion done)
{
    auto impl = impl_;
    impl->shared.work([impl, done = std::move(done)]() mutable {
        auto agent = impl->agent.lock();
        if (!agent || !impl->ringing || agent->disposed) {
            if (done)
                impl->shared.complete([done = std::move(done)] { done(Error{400, 41007, "the call is not ringing"}); });
            return;
        }
        // Declined here: the server's callEnded (603/0) only records the reason; the completion is
        // the last callback of this incoming call, not onCallEnded.
        impl->ringing = false;
        impl->rejecting = true;
        agent->request(protocol::RejectMessage{.callId = impl->id},
                       [impl, done = std::move(done)](Result<Done> result) mutable {
                           Result<Done> outcome = result ? Result<Done>(Done{})
                                                         : Result<Done>(Error{400, 41007, result.error().message});
                           impl->shared.fire([impl, done = std::move(done), outcome] {
                               if (done)
                                   done(outcome);
                               impl->callEnded.clear();
                               impl->shared.close();
                           });
                       });
    });
}

}  // namespace calling
