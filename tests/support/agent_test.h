// A fixture for tests of the object model against the real calling-server: the server on a free
// loopback port, its REST API for identities and tokens, and CallClients whose callbacks fire on
// the test's own GMainContext, which waitFor() iterates until a condition holds.
#pragma once

#include "main_loop.h"
#include "rest_client.h"
#include "server_process.h"

#include <calling/call_client.h>

#include <gst/gst.h>
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace calling::test {

// The device of a DeviceManager list with this name.
template <typename Info>
std::optional<Info> named(const std::vector<Info>& list, const std::string& name)
{
    for (const auto& info : list)
        if (info.name == name)
            return info;
    return std::nullopt;
}

class AgentTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        gst_init(nullptr, nullptr);
        context_ = g_main_context_new();
        std::string why;
        server_ = ServerProcess::start({}, &why);
        ASSERT_TRUE(server_) << why;
        rest_ = std::make_unique<RestClient>(server_->connection());
    }

    void TearDown() override
    {
        // Calls and agents before their clients, the clients before the server.
        releaseCalls();
        agents_.clear();
        clients_.clear();
        if (server_)
            server_->stop();
        g_main_context_unref(context_);
    }

    // What a test holds of calls goes first in TearDown.
    virtual void releaseCalls() {}

    bool waitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout = std::chrono::seconds(10))
    {
        return iterateUntil(context_, condition, timeout);
    }

    CallClient& newClient()
    {
        clients_.push_back(std::make_unique<CallClient>(
            CallClientOptions{.endpoint = server_->connection().endpoint, .callbackContext = context_}));
        return *clients_.back();
    }

    // An agent of `id` on `client`, or null when it cannot sign in.
    std::shared_ptr<CallAgent> signIn(CallClient& client, const std::string& id, CallAgentOptions options = {})
    {
        std::optional<Result<std::shared_ptr<CallAgent>>> agent;
        client.createCallAgent(CommunicationTokenCredential(rest_->issueToken(id)), std::move(options),
                               [&](Result<std::shared_ptr<CallAgent>> result) { agent = std::move(result); });
        if (!waitFor([&] { return agent.has_value(); }) || !agent->ok())
            return nullptr;
        agents_.push_back(agent->value());
        return agent->value();
    }

    GMainContext* context_ = nullptr;
    std::unique_ptr<ServerProcess> server_;
    std::unique_ptr<RestClient> rest_;
    std::vector<std::unique_ptr<CallClient>> clients_;
    std::vector<std::shared_ptr<CallAgent>> agents_;
};

}  // namespace calling::test
