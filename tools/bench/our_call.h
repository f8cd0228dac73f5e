// Our stack, as an application uses it: two CallClients signed in to the real calling-server
// (identities and tokens from its identity API, as a token backend gets them), the callee
// answering every incoming call with the same media the bare baseline sends (the library's own
// encoders; the sources are the benchmark's, given as the agents' microphone and the calls'
// application-source LocalVideoStream), and each end rendering the other's video into a view
// whose target is the benchmark's sink. Set-up is from CallAgent::call() at the caller to its
// first decoded frame of the callee's video.
//
// Threads: everything here runs on the thread that iterates the default GMainContext (the
// CallClients' callback context); only the sinks' callbacks run on streaming threads.
#pragma once

#include "bare_call.h"

#include <calling/call_client.h>
#include <calling/media_stats.h>
#include <calling/renderer.h>

#include <memory>
#include <optional>
#include <string>

namespace bench {

// Identities and tokens from calling-server's identity API.
class Identities {
public:
    explicit Identities(const std::string& connectionString);
    ~Identities();
    const std::string& endpoint() const;
    // A new identity and its voip token; false when the API did not answer.
    bool issue(std::string* identity, std::string* token, std::string* why);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// One caller and one callee agent, signed in once; they place calls one after another (or the
// pair holds one call at a time, for the concurrent modes).
class OurPair {
public:
    OurPair(Identities& identities, CallMedia media);
    ~OurPair();

    // Signs both agents in (not part of any measured time).
    bool signIn(std::string* why);
    // Places a call from the caller; what it observes goes to `observations`.
    void call(CallObservations* observations);
    // To be called whenever the main context dispatched something: makes the views of streams
    // that became available.
    void pump();
    bool connected() const;
    // Hangs up and waits for both ends to be Disconnected.
    bool hangUp();
    // Received audio at both ends, from the library's media statistics.
    LossCount audioLoss() const;

private:
    struct End;
    void makeView(End& end);
    GstElement* callerVideoSink();
    GstElement* callerSpeaker();

    Identities& identities_;
    CallMedia media_;
    CallObservations* observations_ = nullptr;
    std::unique_ptr<End> caller_;
    std::unique_ptr<End> callee_;
};

}  // namespace bench
