// The time and the timers call control runs on, behind an interface so that unit tests drive it
// with a fake clock instead of waiting.
#pragma once

#include <cstdint>
#include <functional>

namespace calling::server {

class Clock {
public:
    using TimerId = uint64_t;  // never 0, so 0 can mean "no timer"

    virtual ~Clock() = default;

    // Wall-clock time in Unix milliseconds: token expiry times are Unix seconds.
    virtual int64_t nowUnixMs() const = 0;
    // Calls `fire` once, `delayMs` from now (at once for delays <= 0), from the main loop: never
    // from inside startTimer().
    virtual TimerId startTimer(int64_t delayMs, std::function<void()> fire) = 0;
    // Cancelling a timer that fired or was cancelled does nothing.
    virtual void cancelTimer(TimerId id) = 0;
};

}  // namespace calling::server
