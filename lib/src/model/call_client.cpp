#include "model/device_manager_impl.h"
#include "model/model.h"

#include <gst/gst.h>

#include <condition_variable>
#include <cstdlib>

namespace calling {

struct CallClient::Impl {
    CallClientOptions options;
    std::unique_ptr<detail::LibraryThread> thread = std::make_unique<detail::LibraryThread>();
    std::shared_ptr<detail::Dispatcher> callbacks;
    detail::Shared shared;
    std::shared_ptr<DeviceManager::Impl> devices;
    std::shared_ptr<DeviceManager> deviceManager;

    // Library thread only.
    std::set<std::string> identities;  // one agent per identity
    std::vector<std::weak_ptr<CallAgent::Impl>> agents;
    // Connections waiting for their welcome, owned here so that closing the client ends them.
    std::map<protocol::SignallingClient*, std::unique_ptr<protocol::SignallingClient>> connecting;
    bool closing = false;

    explicit Impl(CallClientOptions clientOptions)
        : options(std::move(clientOptions)),
          // A dispatcher of its own even on the library thread, so that closing it drops every
          // callback still queued when the client goes.
          callbacks(detail::Dispatcher::create(options.callbackContext ? options.callbackContext : thread->context())),
          shared(thread->dispatcher(), callbacks),
          devices(DeviceManager::Impl::create(shared.child())),
          deviceManager(DeviceManager::Impl::makeHandle(devices))
    {
    }
};

CallClient::CallClient(CallClientOptions options)
{
    gst_init(nullptr, nullptr);
    impl_ = std::make_shared<Impl>(std::move(options));
    // The device list is there when the constructor returns: the monitor's first probe runs now,
    // on the library thread, and this thread waits for it.
    std::mutex mutex;
    std::condition_variable condition;
    bool started = false;
    auto impl = impl_;
    impl->thread->dispatcher()->post([&, impl] {
        impl->devices->start(impl->thread->context());
        std::lock_guard lock(mutex);
        started = true;
        condition.notify_all();
    });
    std::unique_lock lock(mutex);
    condition.wait(lock, [&] { return started; });
}

CallClient::~CallClient()
{
    if (impl_->thread->dispatcher()->isCurrentThread()) {
        // Joining the library thread from itself cannot work; hanging silently would be worse.
        g_critical("calling::CallClient destroyed from its own library thread (from a callback): not allowed");
        std::abort();
    }
    impl_->callbacks->close();
    // Dispose the agents on the library thread and wait for it: their pipelines stop there.
    std::mutex mutex;
    std::condition_variable condition;
    bool disposed = false;
    auto impl = impl_;
    impl->thread->dispatcher()->post([&, impl] {
        impl->closing = true;
        impl->connecting.clear();
        impl->devices->stop();
        for (auto& weak : impl->agents)
            if (auto agent = weak.lock())
                agent->dispose({});
        impl->agents.clear();
        std::lock_guard lock(mutex);
        disposed = true;
        condition.notify_all();
    });
    {
        std::unique_lock lock(mutex);
        condition.wait(lock, [&] { return disposed; });
    }
    // Runs what is queued on the library thread, joins it; work posted later is dropped.
    impl_->thread.reset();
}

void CallClient::createCallAgent(CommunicationTokenCredential credential, CallAgentOptions options,
                                 std::function<void(Result<std::shared_ptr<CallAgent>>)> done)
{
    auto impl = impl_;
    auto token = detail::tokenCacheOf(credential);
    auto complete = [impl, done = std::move(done)](Result<std::shared_ptr<CallAgent>> result) {
        if (done)
            impl->shared.fire([done, result = std::move(result)] { done(result); });
    };
    impl->shared.work([impl, token, options = std::move(options), complete]() mutable {
        token->get([impl, token, options = std::move(options), complete](Result<std::string> got) mutable {
            // The token may come from the application's refresher, on any thread.
            impl->shared.work([impl, token, options = std::move(options), complete, got = std::move(got)]() mutable {
                if (!got)
                    return complete(got.error());
                protocol::SignallingOptions connectOptions;
                connectOptions.endpoint = impl->options.endpoint;
                connectOptions.token = got.value();
                connectOptions.tlsCaFile = impl->options.tlsCaFile;
                auto owned = std::make_unique<protocol::SignallingClient>(impl->thread->context());
                protocol::SignallingClient* connecting = owned.get();
                impl->connecting.emplace(connecting, std::move(owned));
                connecting->connect(connectOptions, [impl, token, options = std::move(options), complete, connecting](
                                                        Result<protocol::WelcomeMessage> welcome) mutable {
                        auto node = impl->connecting.extract(connecting);
                        if (!node || impl->closing)
                            return;  // the client is going away
                        auto client = std::move(node.mapped());
                        if (!welcome) {
                            // Not destroyed from inside its own callback.
                            impl->shared.work([doomed = std::make_shared<decltype(client)>(std::move(client))] {});
                            return complete(welcome.error());
                        }
                        std::string identity = client->welcome().identity;
                        if (impl->identities.contains(identity)) {
                            client->close();
                            return complete(Error{409, 40228, "this CallClient already has an agent for " + identity});
                        }
                        auto agent = std::make_shared<CallAgent::Impl>(impl->shared.child(), token, std::move(options));
                        agent->devices = impl->devices;
                        agent->deviceManager = impl->deviceManager;
                        agent->attach(std::move(client));
                        impl->identities.insert(identity);
                        std::weak_ptr<Impl> weakClient = impl;
                        agent->onDisposed = [weakClient, identity] {
                            if (auto client = weakClient.lock())
                                client->identities.erase(identity);
                        };
                        impl->agents.push_back(agent);
                        complete(CallAgent::Impl::makeHandle(agent));
                    });
            });
        });
    });
}

std::shared_ptr<DeviceManager> CallClient::deviceManager() const
{
    return impl_->deviceManager;
}

}  // namespace calling
