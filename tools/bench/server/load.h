// The load on calling-server: identities and tokens from its identity API, then many agents, each
// one authenticated WebSocket (Authorization: Bearer) kept open, then 1:1 call set-ups between
// pairs of them, all from this one process on the thread-default GMainContext.
//
// Agents are raw libsoup WebSockets on one shared SoupSession, speaking the protocol through the
// library's message layer (serialize/parseServerMessage), rather than the library's
// SignallingClient: that one holds a SoupSession, a timeout source and request bookkeeping per
// agent, which at ten thousand agents costs this process memory and CPU that the server under test
// shares the machine with.
//
// Every phase completes asynchronously; failed() says whether anything went wrong, and why, the
// first time: a refused request or token, an `error` from the server, an unexpected end reason or a
// connection the server closed.
//
// Threads: a Load lives on the thread that made it and its thread-default context, where every
// method but the counters, failed(), failure() and stopping() must be called. Those may be read
// from any thread, so that one thread can watch several loads, each on a thread of its own.
#pragma once

#include "protocol/connection_string.h"
#include "protocol/glib_ptr.h"
#include "protocol/messages.h"

#include <libsoup/soup.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace bench {

class Load {
public:
    explicit Load(calling::protocol::ConnectionString connection);
    ~Load();
    Load(const Load&) = delete;
    Load& operator=(const Load&) = delete;

    bool failed() const { return failed_; }
    std::string failure() const;

    // Creates `count` identities, each with a voip token, at most `window` requests at a time.
    void createIdentities(int count, int window);
    int identitiesCreated() const { return identitiesCreated_; }
    bool identitiesDone() const { return identitiesCreated_ == identitiesWanted_; }

    // Opens one agent connection per identity, at most `window` of them between the upgrade
    // request and the server's `welcome`.
    void connectAgents(int window);
    int agentsWelcomed() const { return welcomed_; }
    bool agentsDone() const { return connecting_ && welcomed_ == identitiesWanted_; }

    // Runs `count` call set-ups, `concurrency` at a time, each between its own pair of agents:
    // invite, ringing, accept, SDP offer and answer relayed, hang up, both sides ended.
    void runSetups(int count, int concurrency);
    int setupsDone() const { return setupsDone_; }
    bool setupsFinished() const { return setupsDone_ == setupsWanted_; }
    // Invite sent to answer received by the caller, in milliseconds, one per set-up; complete once
    // setupsFinished().
    const std::vector<double>& setupMilliseconds() const { return setupMs_; }

    // From now on connections that close are expected (the server is being stopped).
    void stopping() { stopping_ = true; }

private:
    struct Agent {
        Load* load = nullptr;
        int index = 0;
        std::string identity;
        std::string token;
        std::string endpointId;
        calling::protocol::GObjectPtr<SoupWebsocketConnection> socket;
    };
    struct Call {
        Agent* caller = nullptr;
        Agent* callee = nullptr;
        int pair = 0;
        unsigned long long session = 0;
        gint64 invitedUs = 0;
        bool answered = false;
        bool callerEnded = false;
        bool calleeEnded = false;
    };

    void fail(std::string why);
    void requestIdentity();
    void connectNext();
    void received(Agent& agent, std::string_view text);
    void handle(Agent& agent, const calling::protocol::ServerMessage& message);
    void send(Agent& agent, const calling::protocol::ClientMessage& message);
    void startCall();
    std::string nextRequestId();

    static void onIdentity(GObject* source, GAsyncResult* result, gpointer self);
    static void onConnected(GObject* source, GAsyncResult* result, gpointer agent);
    static void onSocketMessage(SoupWebsocketConnection*, gint type, GBytes* bytes, gpointer agent);
    static void onSocketClosed(SoupWebsocketConnection*, gpointer agent);

    calling::protocol::ConnectionString connection_;
    std::string key_;  // decoded access key
    std::string host_;  // host:port, as the Host header and the request signature have it
    calling::protocol::GObjectPtr<SoupSession> http_;
    calling::protocol::GObjectPtr<SoupSession> sockets_;
    mutable std::mutex failureLock_;
    std::string failure_;
    std::atomic<bool> failed_ = false;
    std::atomic<bool> stopping_ = false;
    uint64_t requestCounter_ = 0;

    std::vector<std::unique_ptr<Agent>> agents_;
    std::atomic<int> identitiesCreated_ = 0;
    std::atomic<int> identitiesWanted_ = -1;  // -1: not asked yet
    int identitiesRequested_ = 0;
    int identitiesPending_ = 0;
    int identityWindow_ = 0;

    std::atomic<bool> connecting_ = false;
    int connectWindow_ = 0;
    int connectNext_ = 0;
    std::atomic<int> welcomed_ = 0;

    std::unordered_map<std::string, Call> calls_;
    std::deque<int> freePairs_;
    std::atomic<int> setupsWanted_ = -1;  // -1: not asked yet
    int setupsStarted_ = 0;
    std::atomic<int> setupsDone_ = 0;
    std::vector<double> setupMs_;
};

}  // namespace bench
