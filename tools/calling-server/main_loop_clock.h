// The real clock: GLib's wall clock and timeout sources on the thread-default main context of the
// thread that constructs it. Pending timers are cancelled when it is destroyed.
#pragma once

#include "clock.h"

#include "protocol/glib_ptr.h"

#include <map>

namespace calling::server {

class MainLoopClock final : public Clock {
public:
    MainLoopClock();
    ~MainLoopClock() override;
    MainLoopClock(const MainLoopClock&) = delete;
    MainLoopClock& operator=(const MainLoopClock&) = delete;

    int64_t nowUnixMs() const override;
    TimerId startTimer(int64_t delayMs, std::function<void()> fire) override;
    void cancelTimer(TimerId id) override;

private:
    struct Timer {
        protocol::SourcePtr source;
        std::function<void()> fire;
    };
    static gboolean onTimeout(gpointer data);

    protocol::MainContextPtr context_;
    std::map<TimerId, Timer> timers_;
    TimerId lastId_ = 0;
};

}  // namespace calling::server
