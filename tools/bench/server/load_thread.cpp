#include "load_thread.h"

namespace bench {

LoadThread::LoadThread(calling::protocol::ConnectionString connection)
    : connection_(std::move(connection)), context_(g_main_context_new()), loop_(g_main_loop_new(context_, FALSE))
{
    thread_ = g_thread_new("load", run, this);
    std::unique_lock lock(lock_);
    ready_.wait(lock, [this] { return started_; });
}

LoadThread::~LoadThread()
{
    g_main_loop_quit(loop_);
    g_thread_join(thread_);
    g_main_loop_unref(loop_);
    g_main_context_unref(context_);
}

gpointer LoadThread::run(gpointer data)
{
    auto* self = static_cast<LoadThread*>(data);
    // libsoup attaches a session's I/O to the thread-default context of the thread that made it.
    g_main_context_push_thread_default(self->context_);
    {
        std::lock_guard lock(self->lock_);
        self->load_ = std::make_unique<Load>(self->connection_);
        self->started_ = true;
    }
    self->ready_.notify_one();
    g_main_loop_run(self->loop_);
    // On this thread, where its sessions and sockets belong; the context is not iterated again, so
    // nothing still pending calls back into it.
    self->load_.reset();
    g_main_context_pop_thread_default(self->context_);
    return nullptr;
}

void LoadThread::post(std::function<void(Load&)> work)
{
    struct Posted {
        LoadThread* thread;
        std::function<void(Load&)> work;
    };
    g_main_context_invoke_full(
        context_, G_PRIORITY_DEFAULT,
        [](gpointer data) {
            auto* posted = static_cast<Posted*>(data);
            posted->work(*posted->thread->load_);
            return G_SOURCE_REMOVE;
        },
        new Posted{this, std::move(work)}, [](gpointer data) { delete static_cast<Posted*>(data); });
}

}  // namespace bench
