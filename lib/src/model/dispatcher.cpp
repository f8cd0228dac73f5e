#include "model/dispatcher.h"

#include <utility>

namespace calling::detail {

std::shared_ptr<Dispatcher> Dispatcher::create(GMainContext* context)
{
    return std::shared_ptr<Dispatcher>(new Dispatcher(context));
}

Dispatcher::Dispatcher(GMainContext* context) : context_(g_main_context_ref(context)) {}

Dispatcher::~Dispatcher()
{
    close();
    g_main_context_unref(context_);
}

void Dispatcher::post(std::function<void()> work)
{
    std::lock_guard lock(mutex_);
    if (closed_)
        return;
    queue_.push_back(std::move(work));
    if (source_)
        return;
    // The source holds a strong reference, so a Dispatcher lives until its queue has drained.
    source_ = g_idle_source_new();
    g_source_set_priority(source_, G_PRIORITY_DEFAULT);
    g_source_set_callback(source_, drain, new std::shared_ptr<Dispatcher>(shared_from_this()),
                          [](gpointer data) { delete static_cast<std::shared_ptr<Dispatcher>*>(data); });
    g_source_attach(source_, context_);
}

void Dispatcher::close()
{
    std::deque<std::function<void()>> dropped;
    GSource* source = nullptr;
    {
        std::unique_lock lock(mutex_);
        closed_ = true;
        dropped.swap(queue_);
        source = std::exchange(source_, nullptr);
        // A closure running on another thread finishes first: after close(), nothing runs.
        if (!isCurrentThread())
            idle_.wait(lock, [&] { return !running_; });
    }
    // Outside the lock: destroying the source releases its reference to this Dispatcher, and the
    // dropped closures' captures may post again.
    if (source) {
        g_source_destroy(source);
        g_source_unref(source);
    }
}

gboolean Dispatcher::drain(gpointer data)
{
    auto self = *static_cast<std::shared_ptr<Dispatcher>*>(data);
    // One closure per dispatch keeps other sources of the context (I/O, timers) flowing.
    std::function<void()> work;
    {
        std::lock_guard lock(self->mutex_);
        if (self->queue_.empty()) {
            if (self->source_) {
                g_source_unref(self->source_);
                self->source_ = nullptr;
            }
            return G_SOURCE_REMOVE;
        }
        work = std::move(self->queue_.front());
        self->queue_.pop_front();
        self->running_ = true;
    }
    work();
    work = nullptr;  // its captures go while still "running"
    {
        std::lock_guard lock(self->mutex_);
        self->running_ = false;
    }
    self->idle_.notify_all();
    return G_SOURCE_CONTINUE;
}

LibraryThread::LibraryThread()
    : context_(g_main_context_new()), loop_(g_main_loop_new(context_, FALSE))
{
    dispatcher_ = Dispatcher::create(context_);
    thread_ = g_thread_new("calling", [](gpointer data) -> gpointer {
        auto* self = static_cast<LibraryThread*>(data);
        g_main_context_push_thread_default(self->context_);
        g_main_loop_run(self->loop_);
        g_main_context_pop_thread_default(self->context_);
        return nullptr;
    }, this);
}

LibraryThread::~LibraryThread()
{
    // Quit from inside the loop, after what was queued before; what is posted later is dropped
    // there too, so that nothing queued for this thread is destroyed on another.
    GMainLoop* loop = loop_;
    std::weak_ptr<Dispatcher> weak = dispatcher_;
    dispatcher_->post([loop, weak] {
        if (auto dispatcher = weak.lock())
            dispatcher->close();
        g_main_loop_quit(loop);
    });
    g_thread_join(thread_);
    dispatcher_->close();
    g_main_loop_unref(loop_);
    g_main_context_unref(context_);
}

}  // namespace calling::detail
