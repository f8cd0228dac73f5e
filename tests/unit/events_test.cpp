#include <calling/events.h>

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using calling::CollectionUpdate;
using calling::Event;
using calling::Subscription;

TEST(Events, EveryHandlerRunsInSubscriptionOrder)
{
    Event<int> event;
    std::vector<std::string> calls;
    auto first = event.subscribe([&](int value) { calls.push_back("first " + std::to_string(value)); });
    auto second = event.subscribe([&](int value) { calls.push_back("second " + std::to_string(value)); });
    event.emit(7);
    EXPECT_EQ(calls, (std::vector<std::string>{"first 7", "second 7"}));
}

TEST(Events, UnsubscribeAndDestructionRemoveTheHandler)
{
    Event<> event;
    int calls = 0;
    auto kept = event.subscribe([&] { calls++; });
    {
        auto scoped = event.subscribe([&] { calls += 100; });
    }
    kept.unsubscribe();
    event.emit();
    EXPECT_EQ(calls, 0);
}

TEST(Events, AHandlerUnsubscribedByAnEarlierHandlerIsNotCalled)
{
    Event<> event;
    Subscription second;
    int secondCalls = 0;
    auto first = event.subscribe([&] { second.unsubscribe(); });
    second = event.subscribe([&] { secondCalls++; });
    event.emit();
    EXPECT_EQ(secondCalls, 0);
}

TEST(Events, SubscribingFromAHandlerTakesEffectFromTheNextEmit)
{
    Event<> event;
    std::vector<Subscription> added;
    int lateCalls = 0;
    auto first = event.subscribe([&] { added.push_back(event.subscribe([&] { lateCalls++; })); });
    event.emit();
    EXPECT_EQ(lateCalls, 0);
    event.emit();
    EXPECT_EQ(lateCalls, 1);
}

TEST(Events, ClearStopsEveryHandlerAndOutlivedSubscriptionsAreHarmless)
{
    Subscription subscription;
    int calls = 0;
    {
        Event<> event;
        subscription = event.subscribe([&] { calls++; });
        event.clear();
        event.emit();
    }
    subscription.unsubscribe();  // the event is gone
    EXPECT_EQ(calls, 0);
}

TEST(Events, CollectionUpdatesCarryAddedAndRemoved)
{
    Event<const CollectionUpdate<int>&> event;
    CollectionUpdate<int> seen;
    auto subscription = event.subscribe([&](const CollectionUpdate<int>& update) { seen = update; });
    event.emit({{1, 2}, {3}});
    EXPECT_EQ(seen.added, (std::vector<int>{1, 2}));
    EXPECT_EQ(seen.removed, (std::vector<int>{3}));
}

TEST(Events, AHandlerCanUnsubscribeItselfWithoutWaitingForItself)
{
    Event<> event;
    Subscription self;
    int calls = 0;
    self = event.subscribe([&] {
        calls++;
        self.unsubscribe();
    });
    event.emit();
    event.emit();
    EXPECT_EQ(calls, 1);
}

TEST(Events, UnsubscribeFromAnotherThreadReturnsAfterTheRunningHandler)
{
    Event<> event;
    std::mutex mutex;
    std::condition_variable changed;
    bool entered = false, release = false, finished = false;
    auto subscription = event.subscribe([&] {
        std::unique_lock lock(mutex);
        entered = true;
        changed.notify_all();
        changed.wait(lock, [&] { return release; });
        finished = true;
    });
    std::thread emitter([&] { event.emit(); });
    {
        std::unique_lock lock(mutex);
        changed.wait(lock, [&] { return entered; });
    }
    std::thread unsubscriber([&] {
        subscription.unsubscribe();
        std::lock_guard lock(mutex);
        EXPECT_TRUE(finished) << "unsubscribe() returned while the handler still ran";
    });
    {
        std::lock_guard lock(mutex);
        release = true;
        changed.notify_all();
    }
    unsubscriber.join();
    emitter.join();
}
