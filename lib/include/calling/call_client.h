// CallClient: the entry point. It owns the library's thread and creates CallAgents.
//
//   calling::CallClient client({.endpoint = "http://127.0.0.1:8080/"});
//   client.createCallAgent(credential, {.displayName = "Alice"}, [](calling::Result<std::shared_ptr<calling::CallAgent>> agent) {
//       if (!agent) { report(agent.error()); return; }
//       auto call = agent.value()->call({calling::CommunicationUserIdentifier{"8:acs:..."}}, {});
//   });
//
// Threads. The client runs one thread of its own (the "library thread"), with its own GMainContext:
// the connection to calling-server, call control and every call's pipeline control run there.
// Every callback of the library (completions and events) fires on one thread, the callback thread:
// the library thread itself, or the thread that iterates `options.callbackContext` when given one.
// Callbacks fire one at a time, in order. Public methods of every class are safe to call from any
// thread, including from callbacks; none of them blocks on the network.
//
// Ownership. The application owns the CallClient. Destroying it disposes its agents (their calls
// end with 0/0 on the far side) and joins the library thread; no callback fires afterwards. Do not
// destroy it from a callback.
#pragma once

#include <calling/call_agent.h>
#include <calling/communication_token_credential.h>
#include <calling/device_manager.h>
#include <calling/result.h>

#include <functional>
#include <memory>
#include <string>

typedef struct _GMainContext GMainContext;

namespace calling {

struct CallClientOptions {
    // calling-server's endpoint as in its connection string, e.g. "http://127.0.0.1:8080/".
    std::string endpoint;
    // Where callbacks fire; null: on the library thread. The client holds a reference.
    GMainContext* callbackContext = nullptr;
    // A PEM file of CA certificates to trust for an https endpoint, besides the system's.
    std::string tlsCaFile;
};

struct CallAgentOptions {
    std::string displayName;
    // Audio devices of this agent's calls (devices and their selection come with the DeviceManager).
    AudioDevices audio;
};

class CallClient {
public:
    explicit CallClient(CallClientOptions options);
    ~CallClient();
    CallClient(const CallClient&) = delete;
    CallClient& operator=(const CallClient&) = delete;

    // Connects an agent for the credential's identity to calling-server. Fails with 401/4507 for a
    // bad token, 408/40104 when the server cannot be reached, 409/40228 when this client already has
    // an agent for that identity.
    void createCallAgent(CommunicationTokenCredential credential, CallAgentOptions options,
                         std::function<void(Result<std::shared_ptr<CallAgent>>)> done);

    // The devices calls use; one per client.
    std::shared_ptr<DeviceManager> deviceManager() const;

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace calling
