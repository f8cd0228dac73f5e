#include "model/dispatcher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

using calling::detail::Dispatcher;
using calling::detail::LibraryThread;

TEST(Dispatcher, RunsWorkInOrderOnTheLibraryThreadNeverInline)
{
    std::mutex mutex;
    std::condition_variable done;
    std::vector<int> order;
    bool onLibraryThread = true;
    {
        LibraryThread thread;
        auto dispatcher = thread.dispatcher();
        // Hold the library thread until both closures are queued: otherwise the first may run, and
        // queue 3, before this thread queues 2.
        std::mutex gateMutex;
        std::condition_variable gateChanged;
        bool gateOpen = false;
        dispatcher->post([&] {
            std::unique_lock lock(gateMutex);
            gateChanged.wait(lock, [&] { return gateOpen; });
        });
        bool ranInline = false;
        dispatcher->post([&, dispatcher] {
            dispatcher->post([&] {
                std::lock_guard lock(mutex);
                order.push_back(3);
                done.notify_all();
            });
            ranInline = order.size() == 3;
            std::lock_guard lock(mutex);
            order.push_back(1);
            onLibraryThread = onLibraryThread && dispatcher->isCurrentThread();
        });
        dispatcher->post([&] {
            std::lock_guard lock(mutex);
            order.push_back(2);
        });
        {
            std::lock_guard lock(gateMutex);
            gateOpen = true;
        }
        gateChanged.notify_all();
        std::unique_lock lock(mutex);
        ASSERT_TRUE(done.wait_for(lock, std::chrono::seconds(10), [&] { return order.size() == 3; }));
        EXPECT_FALSE(ranInline);
    }
    EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
    EXPECT_TRUE(onLibraryThread);
}

TEST(Dispatcher, WorkPostedBeforeTheThreadStopsStillRunsAndLaterWorkIsDropped)
{
    std::atomic<int> ran = 0;
    std::shared_ptr<Dispatcher> dispatcher;
    {
        LibraryThread thread;
        dispatcher = thread.dispatcher();
        for (int i = 0; i < 100; i++)
            dispatcher->post([&] { ran++; });
    }
    EXPECT_EQ(ran.load(), 100);
    dispatcher->post([&] { ran++; });
    EXPECT_EQ(ran.load(), 100);
}
