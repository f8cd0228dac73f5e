// Waiting in tests: iterate a GMainContext (the one the code under test calls back on) until a
// condition holds or a deadline passes. Never a fixed sleep: the wait ends as soon as it can.
#pragma once

#include <glib.h>

#include <chrono>
#include <functional>

namespace calling::test {

// Returns whether `condition` became true within `timeout`. The context is iterated at least every
// 20 ms, so that conditions fed by other threads (streaming threads, processes) are seen promptly.
inline bool iterateUntil(GMainContext* context, const std::function<bool()>& condition,
                         std::chrono::microseconds timeout = std::chrono::seconds(10))
{
    gint64 deadline = g_get_monotonic_time() + std::chrono::microseconds(timeout).count();
    while (!condition()) {
        if (g_get_monotonic_time() >= deadline)
            return false;
        GSource* tick = g_timeout_source_new(20);
        g_source_set_callback(tick, [](gpointer) { return G_SOURCE_REMOVE; }, nullptr, nullptr);
        g_source_attach(tick, context);
        g_main_context_iteration(context, TRUE);
        g_source_destroy(tick);
        g_source_unref(tick);
    }
    return true;
}

}  // namespace calling::test
