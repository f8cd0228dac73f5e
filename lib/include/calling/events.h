// The event model of the seed, typed: every property has an `on<Name>Changed` event, every
// collection an `on<Name>Updated` event carrying what was added and removed.
//
//   auto subscription = call->onStateChanged([&] { use(call->state()); });
//   subscription.unsubscribe();   // or let it go out of scope
//
// As in the seed, a property event carries no value: the handler reads the property, which
// returns the value as of that event (the library updates what getters return on the callback
// thread, just before it fires the event). Read the value, then subscribe.
//
// Threads: handlers run on the CallClient's callback thread (see call_client.h), one at a time, in
// the order the changes happened. subscribe() and unsubscribe() are safe from any thread, also from
// inside a handler; a handler unsubscribed before its turn is not called, and unsubscribe() from
// another thread returns only once a run of the handler in progress has finished.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

namespace calling {

// What a collection event carries.
template <typename T>
struct CollectionUpdate {
    std::vector<T> added;
    std::vector<T> removed;
};

// Owns one subscription: destroying it, or calling unsubscribe(), removes the handler.
class [[nodiscard]] Subscription {
public:
    Subscription() = default;
    explicit Subscription(std::function<void()> cancel) : cancel_(std::move(cancel)) {}
    Subscription(Subscription&& other) noexcept : cancel_(std::exchange(other.cancel_, nullptr)) {}
    Subscription& operator=(Subscription&& other) noexcept
    {
        if (this != &other) {
            unsubscribe();
            cancel_ = std::exchange(other.cancel_, nullptr);
        }
        return *this;
    }
    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;
    ~Subscription() { unsubscribe(); }

    void unsubscribe()
    {
        if (auto cancel = std::exchange(cancel_, nullptr))
            cancel();
    }

private:
    std::function<void()> cancel_;
};

// A list of handlers. The library owns the Event and calls emit() on the callback thread.
template <typename... Args>
class Event {
public:
    using Handler = std::function<void(Args...)>;

    Subscription subscribe(Handler handler)
    {
        auto entry = std::make_shared<Entry>(std::move(handler));
        {
            std::lock_guard lock(state_->mutex);
            state_->entries.push_back(entry);
        }
        std::weak_ptr<State> weakState = state_;
        std::weak_ptr<Entry> weakEntry = entry;
        return Subscription([weakState, weakEntry] {
            auto state = weakState.lock();
            auto entry = weakEntry.lock();
            if (!state || !entry)
                return;
            std::unique_lock lock(state->mutex);
            entry->active = false;
            std::erase(state->entries, entry);
            // A handler running on another thread finishes before unsubscribe() returns, so that
            // what it uses may be destroyed right after. From inside a handler, no wait.
            state->finished.wait(lock, [&] { return !entry->runningOn || entry->runningOn == std::this_thread::get_id(); });
        });
    }

    // Calls every handler subscribed now, without holding a lock while they run.
    void emit(Args... args) const
    {
        std::vector<std::shared_ptr<Entry>> snapshot;
        {
            std::lock_guard lock(state_->mutex);
            snapshot = state_->entries;
        }
        for (const auto& entry : snapshot) {
            {
                std::lock_guard lock(state_->mutex);
                if (!entry->active || entry->runningOn)
                    continue;
                entry->runningOn = std::this_thread::get_id();
            }
            entry->handler(args...);
            {
                std::lock_guard lock(state_->mutex);
                entry->runningOn.reset();
            }
            state_->finished.notify_all();
        }
    }

    // Drops every handler; used when an object will never fire again (call ended, agent disposed).
    void clear()
    {
        std::lock_guard lock(state_->mutex);
        for (auto& entry : state_->entries)
            entry->active = false;
        state_->entries.clear();
    }

private:
    struct Entry {
        explicit Entry(Handler handler) : handler(std::move(handler)) {}
        Handler handler;
        bool active = true;
        std::optional<std::thread::id> runningOn;  // set while the handler runs
    };
    struct State {
        std::mutex mutex;
        std::condition_variable finished;
        std::vector<std::shared_ptr<Entry>> entries;
    };
    std::shared_ptr<State> state_ = std::make_shared<State>();
};

}  // namespace calling
