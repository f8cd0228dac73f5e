#include "main_loop_clock.h"

#include <glib.h>

#include <algorithm>

namespace calling::server {
namespace {

struct TimerRef {
    MainLoopClock* clock;
    Clock::TimerId id;
};

}  // namespace

MainLoopClock::MainLoopClock() : context_(g_main_context_ref_thread_default()) {}

MainLoopClock::~MainLoopClock() = default;

int64_t MainLoopClock::nowUnixMs() const
{
    return g_get_real_time() / 1000;
}

Clock::TimerId MainLoopClock::startTimer(int64_t delayMs, std::function<void()> fire)
{
    TimerId id = ++lastId_;
    auto delay = static_cast<guint>(std::clamp<int64_t>(delayMs, 0, G_MAXUINT));
    protocol::SourcePtr source(g_timeout_source_new(delay));
    g_source_set_callback(source.get(), onTimeout, new TimerRef{this, id},
                          [](gpointer data) { delete static_cast<TimerRef*>(data); });
    g_source_attach(source.get(), context_.get());
    timers_[id] = Timer{std::move(source), std::move(fire)};
    return id;
}

void MainLoopClock::cancelTimer(TimerId id)
{
    timers_.erase(id);
}

gboolean MainLoopClock::onTimeout(gpointer data)
{
    auto* ref = static_cast<TimerRef*>(data);
    MainLoopClock* clock = ref->clock;
    auto found = clock->timers_.find(ref->id);
    if (found == clock->timers_.end())
        return G_SOURCE_REMOVE;
    // Forget the timer before firing: `fire` may start or cancel timers, and `ref` goes with the
    // source once this dispatch is over.
    std::function<void()> fire = std::move(found->second.fire);
    clock->timers_.erase(found);
    fire();
    return G_SOURCE_REMOVE;
}

}  // namespace calling::server
