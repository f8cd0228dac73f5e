// The per-connection message rate limit's arithmetic, on explicit times.
#include "token_bucket.h"

#include <gtest/gtest.h>

using calling::server::TokenBucket;

namespace {

constexpr int64_t kStartMs = 5'000'000;

int takeAll(TokenBucket& bucket, int64_t nowMs, int attempts)
{
    int taken = 0;
    for (int i = 0; i < attempts; ++i)
        taken += bucket.take(nowMs) ? 1 : 0;
    return taken;
}

TEST(TokenBucket, StartsFullWithTheBurst)
{
    TokenBucket bucket(200, 400, kStartMs);
    EXPECT_EQ(takeAll(bucket, kStartMs, 1000), 400);
    EXPECT_FALSE(bucket.take(kStartMs));
}

TEST(TokenBucket, RefillsAtTheRate)
{
    TokenBucket bucket(200, 400, kStartMs);
    takeAll(bucket, kStartMs, 400);
    EXPECT_FALSE(bucket.take(kStartMs + 4));
    EXPECT_TRUE(bucket.take(kStartMs + 5)) << "one token every 5 ms";
    EXPECT_FALSE(bucket.take(kStartMs + 5));
    EXPECT_EQ(takeAll(bucket, kStartMs + 1005, 1000), 200) << "200 a second";
}

TEST(TokenBucket, NeverHoldsMoreThanTheBurst)
{
    TokenBucket bucket(200, 400, kStartMs);
    takeAll(bucket, kStartMs, 10);
    EXPECT_EQ(takeAll(bucket, kStartMs + 3'600'000, 1000), 400);
}

TEST(TokenBucket, SustainedTrafficAtTheRateIsNeverRefused)
{
    TokenBucket bucket(200, 400, kStartMs);
    for (int64_t ms = 0; ms < 10'000; ms += 5)
        ASSERT_TRUE(bucket.take(kStartMs + ms)) << ms;
}

TEST(TokenBucket, TimeGoingBackwardsAddsNothing)
{
    TokenBucket bucket(200, 400, kStartMs);
    takeAll(bucket, kStartMs, 400);
    EXPECT_FALSE(bucket.take(kStartMs - 1000));
    EXPECT_FALSE(bucket.take(kStartMs + 4));
    EXPECT_TRUE(bucket.take(kStartMs + 5));
}

}  // namespace
