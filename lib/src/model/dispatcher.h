// Runs closures on the thread that iterates a GMainContext, one at a time, in the order they were
// posted. The library's threading model rests on it: work goes to the library thread through one
// Dispatcher, callbacks to the callback thread through another.
#pragma once

#include <glib.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>

namespace calling::detail {

class Dispatcher : public std::enable_shared_from_this<Dispatcher> {
public:
    static std::shared_ptr<Dispatcher> create(GMainContext* context);
    ~Dispatcher();

    // Queues `work`; never runs it inline, so a caller holding state mid-update is never re-entered.
    // After close(), posted work is dropped.
    void post(std::function<void()> work);
    // Drops what is queued and everything posted later. From another thread, it also waits for a
    // closure that is running to finish.
    void close();

    GMainContext* context() const { return context_; }
    bool isCurrentThread() const { return g_main_context_is_owner(context_); }

private:
    explicit Dispatcher(GMainContext* context);
    static gboolean drain(gpointer self);

    GMainContext* context_;
    std::mutex mutex_;
    std::deque<std::function<void()>> queue_;
    GSource* source_ = nullptr;  // attached while the queue is not empty
    bool closed_ = false;
    bool running_ = false;  // a closure runs now
    std::condition_variable idle_;
};

// The library's own thread: a GMainContext iterated by a thread the client owns.
class LibraryThread {
public:
    LibraryThread();
    ~LibraryThread();  // stops the loop after what is queued has run, then joins
    LibraryThread(const LibraryThread&) = delete;
    LibraryThread& operator=(const LibraryThread&) = delete;

    GMainContext* context() const { return context_; }
    const std::shared_ptr<Dispatcher>& dispatcher() const { return dispatcher_; }

private:
    GMainContext* context_;
    GMainLoop* loop_;
    GThread* thread_;
    std::shared_ptr<Dispatcher> dispatcher_;
};

}  // namespace calling::detail
