// A Load on a thread of its own, with a GMainContext of its own. GLib's main loop visits every
// source of its context and polls every descriptor on each iteration, so one context holding all
// the agents' sockets costs the load generator time in proportion to the number of agents for
// every message it handles: at ten thousand agents that, not the server, would bound the figures.
// Splitting the agents over a few contexts divides that cost.
#pragma once

#include "load.h"

#include <glib.h>

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>

namespace bench {

class LoadThread {
public:
    // Starts the thread and makes its Load there.
    explicit LoadThread(calling::protocol::ConnectionString connection);
    // Stops the thread's loop and destroys the Load on its thread.
    ~LoadThread();
    LoadThread(const LoadThread&) = delete;
    LoadThread& operator=(const LoadThread&) = delete;

    // Runs `work` on the thread, with its Load.
    void post(std::function<void(Load&)> work);
    // For what Load lets other threads read (counters, failures) and do (stopping()).
    Load& load() { return *load_; }

private:
    static gpointer run(gpointer self);

    calling::protocol::ConnectionString connection_;
    GMainContext* context_ = nullptr;
    GMainLoop* loop_ = nullptr;
    GThread* thread_ = nullptr;
    std::unique_ptr<Load> load_;
    std::mutex lock_;
    std::condition_variable ready_;
    bool started_ = false;
};

}  // namespace bench
