// calling-bench-server: load on calling-server, from the outside. Starts the real server binary,
// opens many authenticated agent WebSockets and measures the server's resident memory per agent,
// then runs 1:1 call set-ups (signalling only, browser-sized SDP) between pairs of those agents and
// measures set-ups per second, set-up latency and the server's CPU time per set-up.
//
//   calling-bench-server --calling-server PATH [--agents N] [--setups N] [--concurrency N] [--smoke]
//
// Prints one JSON object on stdout; progress and failures go to stderr. Exits 1 when anything
// fails (a refused request, an `error` from the server, an unexpected end reason, a stall or a
// deadline), 2 on bad options.
#include "load.h"
#include "load_thread.h"
#include "sdp.h"
#include "server_process.h"

#include <glib-unix.h>
#include <glib.h>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace {

using bench::Load;
using bench::LoadThread;
using bench::ServerProcess;

// Identity API requests in flight: enough to keep the server busy without queueing in it.
constexpr int kIdentityWindow = 16;
// Agents between the upgrade request and their welcome. Agents authenticate in the upgrade
// request, so the server's cap of 256 connections waiting for an `auth` message does not apply;
// this keeps the accept queue and the server's handshake work bounded all the same.
constexpr int kConnectWindow = 128;
// A phase that makes no progress for this long has stalled; waiting longer would not help.
constexpr int64_t kStallMs = 30000;
// Deadlines of the phases that slow down with the number of agents on a loaded machine: with the
// stall check above, they only end runs that progress, however slowly, for too long.
constexpr int64_t kConnectTimeoutMs = 30 * 60 * 1000;
constexpr int64_t kSetupTimeoutMs = 30 * 60 * 1000;

int usage(const std::string& message)
{
    g_printerr("calling-bench-server: %s (see --help)\n", message.c_str());
    return 2;
}

int failure(const std::string& message)
{
    g_printerr("calling-bench-server: FAILED: %s\n", message.c_str());
    return 1;
}

double percentile(std::vector<double> values, double fraction)
{
    if (values.empty())
        return 0;
    std::sort(values.begin(), values.end());
    // Nearest rank.
    auto rank = static_cast<std::size_t>(std::ceil(fraction * double(values.size())));
    return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
}

// Lets descriptors beyond the default 1024 be opened, here and in the server started from here:
// every agent is a socket on both sides.
std::string raiseDescriptorLimit(int agents)
{
    struct rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
        return "cannot read RLIMIT_NOFILE";
    if (limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &limit) != 0)
            return "cannot raise RLIMIT_NOFILE to " + std::to_string(limit.rlim_max);
    }
    // Each process needs one descriptor per agent plus its own few dozen.
    if (limit.rlim_cur != RLIM_INFINITY && rlim_t(agents) + 64 > limit.rlim_cur)
        return std::to_string(agents) + " agents need more descriptors than RLIMIT_NOFILE's hard limit " +
               std::to_string(limit.rlim_max) + " allows";
    return {};
}

// Set by SIGINT and SIGTERM, so that an interrupted run still stops the server it started.
bool interrupted = false;

// One thread's part of the load.
struct Share {
    int agents = 0;
    int setups = 0;
    int concurrency = 0;
};

// The loads of all threads: agents, pairs, set-ups and concurrency shared out evenly (a pair never
// spans two threads), figures summed.
class Loads {
public:
    Loads(const calling::protocol::ConnectionString& connection, int threads, int agents, int setups,
          int concurrency)
    {
        int pairs = agents / 2;
        threads = std::clamp(threads, 1, pairs);
        for (int i = 0; i < threads; ++i) {
            auto share = [&](int total) { return total / threads + (i < total % threads ? 1 : 0); };
            shares_.push_back(Share{2 * share(pairs), share(setups), std::max(1, share(concurrency))});
            threads_.push_back(std::make_unique<LoadThread>(connection));
        }
    }

    std::size_t size() const { return threads_.size(); }

    // Runs `work` on every thread with its load and its share.
    void each(const std::function<void(Load&, const Share&)>& work)
    {
        for (std::size_t i = 0; i < threads_.size(); ++i)
            threads_[i]->post([work, share = shares_[i]](Load& load) { work(load, share); });
    }

    int sum(int (Load::*counter)() const)
    {
        int total = 0;
        for (auto& thread : threads_)
            total += (thread->load().*counter)();
        return total;
    }

    bool all(bool (Load::*done)() const)
    {
        return std::all_of(threads_.begin(), threads_.end(), [&](auto& thread) { return (thread->load().*done)(); });
    }

    // The first failure of any load; empty when none failed.
    std::string failure()
    {
        if (interrupted)
            return "interrupted";
        for (auto& thread : threads_) {
            if (thread->load().failed())
                return thread->load().failure();
        }
        return {};
    }

    void stopping()
    {
        for (auto& thread : threads_)
            thread->load().stopping();
    }

    // Once every load's set-ups finished.
    std::vector<double> setupMilliseconds()
    {
        std::vector<double> all;
        for (auto& thread : threads_) {
            const auto& some = thread->load().setupMilliseconds();
            all.insert(all.end(), some.begin(), some.end());
        }
        return all;
    }

private:
    std::vector<Share> shares_;
    std::vector<std::unique_ptr<LoadThread>> threads_;
};

// Waits for one phase: until `done()`, a failure of the load, the server's exit, a stall (the
// progress count unchanged for kStallMs) or the deadline. Prints progress every second.
std::string waitFor(const char* phase, Loads& loads, ServerProcess& server, int64_t timeoutMs,
                    const std::function<bool()>& done, const std::function<int()>& progress, int total)
{
    gint64 start = g_get_monotonic_time();
    gint64 lastReport = start;
    gint64 lastProgressAt = start;
    int lastProgress = progress();
    std::string why;
    bench::iterateUntil(
        [&] {
            gint64 now = g_get_monotonic_time();
            int count = progress();
            if (count != lastProgress) {
                lastProgress = count;
                lastProgressAt = now;
            }
            if (now - lastReport >= G_USEC_PER_SEC) {
                lastReport = now;
                g_printerr("calling-bench-server: %s %d/%d (%.0f s)\n", phase, count, total,
                           double(now - start) / G_USEC_PER_SEC);
            }
            if (done())
                return true;
            if (std::string failure = loads.failure(); !failure.empty())
                why = failure;
            else if (!server.running())
                why = "calling-server exited; its log ends:\n" + server.logTail();
            else if (now - lastProgressAt > kStallMs * 1000)
                why = std::string(phase) + " stalled at " + std::to_string(count) + "/" + std::to_string(total) +
                      " for " + std::to_string(kStallMs / 1000) + " s";
            return !why.empty();
        },
        timeoutMs);
    if (why.empty() && !done())
        why = std::string(phase) + " did not finish within " + std::to_string(timeoutMs / 1000) + " s (" +
              std::to_string(progress()) + "/" + std::to_string(total) + ")";
    return why;
}

struct Figures {
    int64_t rssStart = 0;
    int64_t rssIdle = 0;
    int64_t rssLoaded = 0;
    int64_t rssEnd = 0;
    double identitySeconds = 0;
    double connectSeconds = 0;
    double setupSeconds = 0;
    int64_t serverCpuMs = 0;
    int64_t benchCpuMs = 0;
};

// The three phases; returns why the run failed, or an empty string.
std::string measure(ServerProcess& server, Loads& loads, int agents, int setups, Figures& figures)
{
    int threads = static_cast<int>(loads.size());
    figures.rssStart = server.residentBytes();
    gint64 phaseStart = g_get_monotonic_time();
    loads.each([threads](Load& load, const Share& share) {
        load.createIdentities(share.agents, std::max(1, kIdentityWindow / threads));
    });
    if (auto why = waitFor(
            "identities", loads, server, 60000 + int64_t(agents) * 20, [&] { return loads.all(&Load::identitiesDone); },
            [&] { return loads.sum(&Load::identitiesCreated); }, agents);
        !why.empty())
        return why;
    figures.identitySeconds = double(g_get_monotonic_time() - phaseStart) / G_USEC_PER_SEC;

    // After the identity API's work, so that the difference is the connections' alone.
    figures.rssIdle = server.residentBytes();
    phaseStart = g_get_monotonic_time();
    loads.each([threads](Load& load, const Share&) { load.connectAgents(std::max(1, kConnectWindow / threads)); });
    if (auto why = waitFor(
            "agents", loads, server, kConnectTimeoutMs, [&] { return loads.all(&Load::agentsDone); },
            [&] { return loads.sum(&Load::agentsWelcomed); }, agents);
        !why.empty())
        return why;
    figures.connectSeconds = double(g_get_monotonic_time() - phaseStart) / G_USEC_PER_SEC;
    figures.rssLoaded = server.residentBytes();
    if (figures.rssStart < 0 || figures.rssIdle < 0 || figures.rssLoaded < 0)
        return "cannot read the server's VmRSS from /proc";
    g_printerr("calling-bench-server: %d agents connected in %.1f s; server VmRSS %.1f -> %.1f MiB\n", agents,
               figures.connectSeconds, double(figures.rssIdle) / 1048576, double(figures.rssLoaded) / 1048576);

    int64_t serverCpuStart = server.cpuMilliseconds();
    int64_t benchCpuStart = bench::cpuMilliseconds("self");
    phaseStart = g_get_monotonic_time();
    loads.each([](Load& load, const Share& share) { load.runSetups(share.setups, share.concurrency); });
    if (auto why = waitFor(
            "set-ups", loads, server, kSetupTimeoutMs, [&] { return loads.all(&Load::setupsFinished); },
            [&] { return loads.sum(&Load::setupsDone); }, setups);
        !why.empty())
        return why;
    figures.setupSeconds = double(g_get_monotonic_time() - phaseStart) / G_USEC_PER_SEC;
    int64_t serverCpuEnd = server.cpuMilliseconds();
    figures.serverCpuMs = serverCpuEnd - serverCpuStart;
    figures.benchCpuMs = bench::cpuMilliseconds("self") - benchCpuStart;
    figures.rssEnd = server.residentBytes();
    if (serverCpuStart < 0 || serverCpuEnd < 0)
        return "cannot read the server's CPU time from /proc";
    return {};
}

}  // namespace

int main(int argc, char** argv)
{
    g_autofree char* serverBinary = nullptr;
    gint agents = 10000;
    gint setups = 3000;
    gint concurrency = 200;
    gint threads = 4;
    gboolean smoke = FALSE;
    GOptionEntry entries[] = {
        {"calling-server", 0, 0, G_OPTION_ARG_FILENAME, &serverBinary, "The calling-server binary to start (required)",
         "PATH"},
        {"agents", 'a', 0, G_OPTION_ARG_INT, &agents, "Agent connections to open and keep open [default 10000]", "N"},
        {"setups", 's', 0, G_OPTION_ARG_INT, &setups, "Call set-ups to run between pairs of agents [default 3000]",
         "N"},
        {"concurrency", 'c', 0, G_OPTION_ARG_INT, &concurrency, "Call set-ups under way at once [default 200]", "N"},
        {"threads", 't', 0, G_OPTION_ARG_INT, &threads,
         "Threads of the load generator, each with its own share of the agents and set-ups [default 4]", "N"},
        {"smoke", 0, 0, G_OPTION_ARG_NONE, &smoke,
         "Small numbers (50 agents, 50 set-ups, 10 at once, 2 threads) for a quick check; overrides the four above", nullptr},
        {}};
    g_autoptr(GOptionContext) context = g_option_context_new("- load on calling-server: agents and call set-ups");
    g_option_context_set_description(
        context,
        "Starts calling-server on a free loopback port, creates identities and tokens through its identity API,\n"
        "keeps --agents authenticated WebSockets open and measures the server's memory per agent (VmRSS),\n"
        "then runs --setups call set-ups (invite, ringing, accept, SDP offer and answer of browser size,\n"
        "hang up) between pairs of agents. Prints one JSON object on stdout; progress goes to stderr.");
    g_option_context_add_main_entries(context, entries, nullptr);
    g_autoptr(GError) error = nullptr;
    if (!g_option_context_parse(context, &argc, &argv, &error))
        return usage(error->message);
    if (argc > 1)
        return usage(std::string("unexpected argument '") + argv[1] + "'");
    if (!serverBinary)
        return usage("--calling-server is required");
    if (smoke) {
        agents = 50;
        setups = 50;
        concurrency = 10;
        threads = 2;
    }
    if (agents < 2 || agents % 2 != 0)
        return usage("--agents must be an even number, at least 2 (calls go between pairs)");
    if (setups < 1 || concurrency < 1 || threads < 1)
        return usage("--setups, --concurrency and --threads must be at least 1");

    if (std::string why = raiseDescriptorLimit(agents); !why.empty())
        return failure(why);

    for (int signal : {SIGINT, SIGTERM}) {
        g_unix_signal_add(
            signal,
            [](gpointer) -> gboolean {
                interrupted = true;
                return G_SOURCE_CONTINUE;
            },
            nullptr);
    }
    auto started = ServerProcess::start(serverBinary);
    if (!started)
        return failure(started.error().message);
    ServerProcess& server = *started.value();
    g_printerr("calling-bench-server: calling-server runs at %s\n", server.authority().c_str());
    Loads loads(server.connection(), threads, agents, setups, concurrency);
    Figures figures;
    std::string why = measure(server, loads, agents, setups, figures);
    // Stopped while the loads still exist: their threads see the connections close meanwhile.
    loads.stopping();
    int status = server.stop();
    if (!why.empty())
        return failure(why);
    if (status != 0)
        return failure("calling-server did not stop cleanly on SIGTERM (exit status " + std::to_string(status) +
                       ", -1: killed after the deadline)");

    std::vector<double> latencies = loads.setupMilliseconds();
    std::printf("{\"agents\":%d,\"server_rss_start_bytes\":%" G_GINT64_FORMAT
                ",\"server_rss_idle_bytes\":%" G_GINT64_FORMAT ",\"server_rss_loaded_bytes\":%" G_GINT64_FORMAT
                ",\"bytes_per_agent\":%.0f,\"identity_seconds\":%.2f,\"connect_seconds\":%.2f,"
                "\"setups\":%d,\"concurrency\":%d,\"setup_seconds\":%.2f,\"setups_per_second\":%.1f,"
                "\"setup_ms_p50\":%.2f,\"setup_ms_p95\":%.2f,\"setup_ms_max\":%.2f,"
                "\"server_cpu_ms_per_setup\":%.3f,\"bench_cpu_ms_per_setup\":%.3f,"
                "\"server_rss_after_setups_bytes\":%" G_GINT64_FORMAT
                ",\"sdp_offer_bytes\":%zu,\"sdp_answer_bytes\":%zu}\n",
                agents, figures.rssStart, figures.rssIdle, figures.rssLoaded,
                double(figures.rssLoaded - figures.rssIdle) / agents, figures.identitySeconds, figures.connectSeconds,
                setups, std::min(concurrency, agents / 2), figures.setupSeconds, setups / figures.setupSeconds,
                percentile(latencies, 0.5), percentile(latencies, 0.95), percentile(latencies, 1.0),
                double(figures.serverCpuMs) / setups, double(figures.benchCpuMs) / setups, figures.rssEnd,
                bench::offerSdp(0).size(), bench::answerSdp(0).size());
    return 0;
}
