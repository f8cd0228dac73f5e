#include "token_bucket.h"

#include <algorithm>

namespace calling::server {

TokenBucket::TokenBucket(double ratePerSecond, double burst, int64_t nowMs)
    : ratePerMs_(ratePerSecond / 1000.0), burst_(burst), tokens_(burst), lastMs_(nowMs)
{
}

bool TokenBucket::take(int64_t nowMs)
{
    if (nowMs > lastMs_) {
        tokens_ = std::min(burst_, tokens_ + static_cast<double>(nowMs - lastMs_) * ratePerMs_);
        lastMs_ = nowMs;
    }
    if (tokens_ < 1.0)
        return false;
    tokens_ -= 1.0;
    return true;
}

}  // namespace calling::server
