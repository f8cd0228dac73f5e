// A token bucket: `ratePerSecond` tokens a second on average, at most `burst` at once. Time is
// passed in (monotonic milliseconds), so that it is tested without waiting.
#pragma once

#include <cstdint>

namespace calling::server {

class TokenBucket {
public:
    // Starts full.
    TokenBucket(double ratePerSecond, double burst, int64_t nowMs);

    // Takes a token if there is one at `nowMs`; false when the bucket is empty. Time going
    // backwards adds nothing.
    bool take(int64_t nowMs);

private:
    double ratePerMs_;
    double burst_;
    double tokens_;
    int64_t lastMs_;
};

}  // namespace calling::server
