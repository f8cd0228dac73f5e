// IncomingCall: a call ringing this agent, handed out by CallAgent::onIncomingCall.
//
// It rings until accept() or reject(), or until it ends otherwise (the caller cancelled: 487/0;
// accepted on another endpoint of the same identity: 487/10003; nobody answered in time:
// 487/10004), which fires onCallEnded with the reason.
//
// Threads: events and completions fire on the CallClient's callback thread; methods are safe from
// any thread. No callback fires after onCallEnded or after the completion of accept()/reject().
#pragma once

#include <calling/call.h>
#include <calling/call_end_reason.h>
#include <calling/events.h>
#include <calling/identifiers.h>
#include <calling/result.h>

#include <functional>
#include <memory>
#include <string>

namespace calling {

struct CallerInfo {
    CommunicationIdentifier identifier;
    std::string displayName;
};

struct AcceptCallOptions {
    AudioOptions audioOptions;
    VideoOptions videoOptions;
};

class IncomingCall {
public:
    ~IncomingCall();

    const std::string& id() const;
    const CallerInfo& callerInfo() const;
    // Meaningful after onCallEnded.
    CallEndReason callEndReason() const;

    // Joins the call; completes with the Call (state Connecting, then Connected once the media
    // connects). Fails with 400/41006 when the call no longer rings.
    void accept(AcceptCallOptions options, std::function<void(Result<std::shared_ptr<Call>>)> done);
    // Declines: the caller's call ends with 603/0, and callEndReason() reads 603/0 once `done` runs
    // (onCallEnded does not fire for a call declined here). Fails with 400/41007 when the call no
    // longer rings.
    void reject(Completion done = {});

    Subscription onCallEnded(std::function<void(const CallEndReason&)> handler);

    struct Impl;

private:
    friend struct Impl;
    explicit IncomingCall(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_;
};

}  // namespace calling
