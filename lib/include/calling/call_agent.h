// CallAgent: one identity signed in to calling-server; places calls and receives them.
//
// One agent holds one connection to the server however many calls it has. It re-authenticates
// that connection whenever its credential refreshes the token; calls are not interrupted.
//
// Losing that connection (the server gone, the network down) ends the agent's calls and ringing
// incoming calls at once with 410/3101; the far side's calls end after the server's grace window
// with 410/301005. The agent does not reconnect: from then on call() gives a call that ends with
// 410/3100. An application that wants to go on creates a new agent (after disposing this one).
//
// Threads: events and completions fire on the CallClient's callback thread; methods are safe from
// any thread. Ownership: the application holds the agent; its calls refer to it weakly. dispose()
// ends every call (the far sides see 0/0) and, once its completion fired, no callback of the agent
// or of its calls fires again. Letting go of the last handle disposes the agent too.
#pragma once

#include <calling/audio_devices.h>
#include <calling/call.h>
#include <calling/device_manager.h>
#include <calling/events.h>
#include <calling/identifiers.h>
#include <calling/incoming_call.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace calling {

struct StartCallOptions {
    AudioOptions audioOptions;
    VideoOptions videoOptions;
};

class CallAgent {
public:
    ~CallAgent();

    // Places a call and returns it at once, in state Connecting. Failures (an unsupported target,
    // the callee not reachable, ...) end the call with the documented end reason.
    std::shared_ptr<Call> call(const std::vector<CommunicationIdentifier>& targets, StartCallOptions options = {});

    // The calls in progress (not yet Disconnected).
    std::vector<std::shared_ptr<Call>> calls() const;
    Subscription onCallsUpdated(std::function<void(const CollectionUpdate<std::shared_ptr<Call>>&)> handler);

    // An incoming call rings this agent.
    Subscription onIncomingCall(std::function<void(std::shared_ptr<IncomingCall>)> handler);

    // The CallClient's device manager.
    std::shared_ptr<DeviceManager> deviceManager() const;

    const std::string& displayName() const;
    // This agent's identity.
    const CommunicationUserIdentifier& identifier() const;

    void dispose(std::function<void()> done = {});

    struct Impl;

private:
    friend struct Impl;
    explicit CallAgent(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_;
};

}  // namespace calling
