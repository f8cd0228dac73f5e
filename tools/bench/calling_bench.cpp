// calling-bench: one measurement of one stack per run, as a JSON object on stdout. The runner
// (tools/bench/run.py) starts calling-server, runs each mode for each stack in fresh processes
// and puts the results side by side.
//
//   calling-bench setup    --stack ours|bare --calls N
//   calling-bench latency  --stack ours|bare --seconds S
//   calling-bench cpu      --stack ours|bare --calls N --media audio|av --seconds S
//   calling-bench capacity --stack ours|bare --calls N --seconds S
//
// `ours` needs calling-server's connection string (--connection-string or
// CALLING_CONNECTION_STRING). Exit status 0 with the JSON, 1 when the mode failed (why on
// stderr), 2 for a usage error.
#include "bare_call.h"
#include "main_loop.h"
#include "our_call.h"

#include <glib.h>
#include <gst/gst.h>
#include <json-glib/json-glib.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using namespace bench;

namespace {

struct Settings {
    std::string mode;
    std::string stack = "ours";
    std::string connectionString;
    int calls = 1;
    double seconds = 10;
    double warmup = 2;
    bool video = true;
};

bool waitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout)
{
    return calling::test::iterateUntil(g_main_context_default(), condition, timeout);
}

// Runs the main context for `seconds` whatever happens: a sampling window.
void runFor(double seconds, const std::function<void()>& pump = {})
{
    int64_t end = nowUs() + int64_t(seconds * 1e6);
    calling::test::iterateUntil(
        g_main_context_default(),
        [&] {
            if (pump)
                pump();
            return nowUs() >= end;
        },
        std::chrono::microseconds(int64_t(seconds * 1e6) + 1000000));
}

double cpuSeconds()
{
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
           double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// A field of /proc/self/status in KiB (VmRSS, VmHWM).
double statusKiB(const char* field)
{
    std::ifstream status("/proc/self/status");
    std::string line;
    std::string prefix = std::string(field) + ":";
    while (std::getline(status, line))
        if (line.rfind(prefix, 0) == 0)
            return std::stod(line.substr(prefix.size()));
    return 0;
}

// Resets VmHWM to the current RSS, so that the peak is the peak of what follows.
void resetPeak()
{
    std::ofstream("/proc/self/clear_refs") << "5";
}

JsonBuilder* builder = nullptr;

void member(const char* name, double value)
{
    json_builder_set_member_name(builder, name);
    json_builder_add_double_value(builder, value);
}

void member(const char* name, const std::string& value)
{
    json_builder_set_member_name(builder, name);
    json_builder_add_string_value(builder, value.c_str());
}

void member(const char* name, const std::vector<double>& values)
{
    json_builder_set_member_name(builder, name);
    json_builder_begin_array(builder);
    for (double value : values)
        json_builder_add_double_value(builder, value);
    json_builder_end_array(builder);
}

int failWith(const std::string& why)
{
    g_printerr("calling-bench: %s\n", why.c_str());
    return 1;
}

// N calls of one stack at once, placed and connected together.
class Calls {
public:
    Calls(const Settings& settings, CallMedia media) : settings_(settings), media_(media)
    {
        if (settings.stack == "ours")
            identities_ = std::make_unique<Identities>(settings.connectionString);
    }

    ~Calls() { end(); }

    // Signs the agents in (ours); not measured.
    bool prepare(int count, std::string* why)
    {
        if (!identities_)
            return true;
        while (int(pairs_.size()) < count) {
            pairs_.push_back(std::make_unique<OurPair>(*identities_, media_));
            if (!pairs_.back()->signIn(why))
                return false;
        }
        return true;
    }

    // Places `count` calls and waits until all are connected (and, with video, until every caller
    // decoded a frame). Returns false, with why, when one failed or did not get there.
    bool place(int count, std::string* why)
    {
        observations_.clear();
        for (int i = 0; i < count; i++)
            observations_.push_back(std::make_unique<CallObservations>());
        for (int i = 0; i < count; i++) {
            if (identities_) {
                pairs_[i]->call(observations_[i].get());
            } else {
                bare_.push_back(std::make_unique<BareCall>(media_, observations_[i].get()));
                bare_.back()->start();
            }
        }
        bool ready = waitFor(
            [&] {
                pump();
                for (int i = 0; i < count; i++) {
                    if (observations_[i]->failed)
                        return true;
                    bool up = identities_ ? pairs_[i]->connected() : bare_[i]->connected();
                    if (!up || (media_.video && !observations_[i]->firstFrameUs))
                        return false;
                }
                return true;
            },
            // Generous: a loaded machine (CI's, say) took 16 s for a process's first call; the
            // wait ends as soon as the calls are up, so a long deadline costs nothing.
            std::chrono::milliseconds(45000 + 2000 * count));
        for (auto& observation : observations_) {
            if (observation->failed) {
                *why = observation->failure;
                return false;
            }
        }
        if (!ready)
            *why = "the calls did not all connect within the deadline";
        return ready;
    }

    void pump()
    {
        for (auto& pair : pairs_)
            pair->pump();
    }

    bool anyFailed(std::string* why) const
    {
        for (auto& observation : observations_)
            if (observation->failed) {
                *why = observation->failure;
                return true;
            }
        return false;
    }

    // Received audio over all calls: RTP packets received and lost, speaker buffers played and
    // dropped late.
    struct Audio {
        double received = 0, lost = 0, played = 0, late = 0;
    };
    Audio audio() const
    {
        Audio total;
        for (size_t i = 0; i < observations_.size(); i++) {
            LossCount loss = identities_ ? pairs_[i]->audioLoss() : bare_[i]->audioLoss();
            total.received += double(loss.received);
            total.lost += double(loss.lost);
            auto [played, late] = observations_[i]->speakerCounts();
            total.played += double(played);
            total.late += double(late);
        }
        return total;
    }

    CallObservations& observations(int i) { return *observations_[i]; }

    // Speaker buffers played and dropped late, over all calls (no statistics request: cheap).
    Audio speakers() const
    {
        Audio total;
        for (auto& observation : observations_) {
            auto [played, late] = observation->speakerCounts();
            total.played += double(played);
            total.late += double(late);
        }
        return total;
    }

    uint64_t videoFrames() const
    {
        uint64_t total = 0;
        for (auto& observation : observations_)
            total += observation->videoFrames;
        return total;
    }

    bool end()
    {
        bool clean = true;
        for (size_t i = 0; i < observations_.size() && identities_; i++)
            clean = pairs_[i]->hangUp() && clean;
        bare_.clear();
        observations_.clear();
        return clean;
    }

    void dropAgents() { pairs_.clear(); }

private:
    const Settings& settings_;
    CallMedia media_;
    std::unique_ptr<Identities> identities_;
    std::vector<std::unique_ptr<OurPair>> pairs_;
    std::vector<std::unique_ptr<BareCall>> bare_;
    std::vector<std::unique_ptr<CallObservations>> observations_;
};

// Call set-up, one call after another with warm agents: call()/create-offer to the caller's first
// decoded frame of the callee's video. The process's first call is reported apart.
int runSetup(const Settings& settings)
{
    Calls calls(settings, {.video = true, .probe = Probe::FirstFrame});
    std::string why;
    if (!calls.prepare(1, &why))
        return failWith(why);
    std::vector<double> times, connected, remoteVideo, viewReady;
    auto since = [](const CallObservations& seen, int64_t atUs) {
        return atUs ? double(atUs - seen.startedUs) / 1000.0 : -1.0;
    };
    for (int i = 0; i < settings.calls; i++) {
        if (!calls.place(1, &why))
            return failWith("call " + std::to_string(i + 1) + ": " + why);
        auto& seen = calls.observations(0);
        times.push_back(since(seen, seen.firstFrameUs));
        connected.push_back(since(seen, seen.connectedUs));
        remoteVideo.push_back(since(seen, seen.remoteVideoUs));
        viewReady.push_back(since(seen, seen.viewReadyUs));
        if (!calls.end())
            return failWith("call " + std::to_string(i + 1) + " did not end");
    }
    member("first_call_ms", times.front());
    member("warm_ms", std::vector<double>(times.begin() + 1, times.end()));
    // Where the time went, per call (the first included; -1: the stage does not apply).
    member("stage_connected_ms", connected);
    member("stage_remote_video_ms", remoteVideo);
    member("stage_view_ready_ms", viewReady);
    return 0;
}

// Glass-to-glass on loopback: one call, the callee's stamped video and tone bursts read back at
// the caller over a window that starts --warmup seconds after the first frame.
int runLatency(const Settings& settings)
{
    Calls calls(settings, {.video = true, .probe = Probe::Latency});
    std::string why;
    if (!calls.prepare(1, &why) || !calls.place(1, &why))
        return failWith(why);
    runFor(settings.warmup, [&] { calls.pump(); });
    auto& seen = calls.observations(0);
    size_t videoFrom = seen.videoLatencyMs.size();
    size_t missedFrom = seen.videoLatencyMs.misses();
    size_t audioFrom = seen.audioLatencyMs.size();
    runFor(settings.seconds, [&] { calls.pump(); });
    // A short window on a busy machine may end before a tone burst (one a second) was heard: it
    // goes on until there are a few samples of each, within a deadline.
    waitFor(
        [&] {
            calls.pump();
            return seen.videoLatencyMs.size() >= videoFrom + 3 && seen.audioLatencyMs.size() >= audioFrom + 3;
        },
        20s);
    if (calls.anyFailed(&why))
        return failWith(why);
    auto video = seen.videoLatencyMs.values();
    auto audio = seen.audioLatencyMs.values();
    video.erase(video.begin(), video.begin() + std::min(videoFrom, video.size()));
    audio.erase(audio.begin(), audio.begin() + std::min(audioFrom, audio.size()));
    if (video.empty() || audio.empty())
        return failWith("no latency read back (" + std::to_string(video.size()) + " video, " +
                        std::to_string(audio.size()) + " audio samples)");
    member("video_ms", video);
    member("video_frames_unread", double(seen.videoLatencyMs.misses() - missedFrom));
    member("audio_ms", audio);
    calls.end();
    return 0;
}

// CPU and memory of N concurrent calls, both ends in this process, over a window that starts
// --warmup seconds after all are connected.
int runCpu(const Settings& settings)
{
    Calls calls(settings, {.video = settings.video, .probe = Probe::Consume});
    std::string why;
    if (!calls.prepare(settings.calls, &why))
        return failWith(why);
    double rssBefore = statusKiB("VmRSS");
    resetPeak();
    if (!calls.place(settings.calls, &why))
        return failWith(why);
    runFor(settings.warmup, [&] { calls.pump(); });
    auto audioStart = calls.speakers();
    uint64_t framesStart = calls.videoFrames();
    double cpuStart = cpuSeconds();
    int64_t wallStart = nowUs();
    runFor(settings.seconds, [&] { calls.pump(); });
    double cpu = cpuSeconds() - cpuStart;
    double wall = double(nowUs() - wallStart) / 1e6;
    uint64_t frames = calls.videoFrames() - framesStart;
    auto audioEnd = calls.speakers();
    double peak = statusKiB("VmHWM");
    if (calls.anyFailed(&why))
        return failWith(why);
    member("media", settings.video ? "av" : "audio");
    member("calls", settings.calls);
    member("window_s", wall);
    member("cpu_s", cpu);
    member("cpu_s_per_call_s", cpu / (wall * settings.calls));
    // What was delivered for that CPU: frames per second per received video stream (two per
    // call), and the speakers' buffers dropped late.
    if (settings.video)
        member("received_fps_per_stream", double(frames) / (wall * 2 * settings.calls));
    member("audio_buffers_late", audioEnd.late - audioStart.late);
    member("audio_buffers_played", audioEnd.played - audioStart.played);
    member("rss_before_kib", rssBefore);
    member("peak_rss_kib", peak);
    member("peak_kib_per_call", (peak - rssBefore) / settings.calls);
    calls.end();
    return 0;
}

// Whether N concurrent audio-only calls carry their audio with under 1% lost or late: received
// RTP packets lost (webrtcbin's inbound statistics, both ends), and speaker buffers dropped for
// arriving more than 20 ms late, over a window that starts --warmup seconds after all connected.
int runCapacity(const Settings& settings)
{
    Calls calls(settings, {.video = false, .probe = Probe::Consume, .stats = true});
    std::string why;
    if (!calls.prepare(settings.calls, &why))
        return failWith(why);
    member("media", "audio");
    member("calls", settings.calls);
    if (!calls.place(settings.calls, &why)) {
        // Calls that cannot all be set up are over capacity: a result, not a failure of the run.
        member("connected", 0);
        member("why", why);
        return 0;
    }
    runFor(settings.warmup, [&] { calls.pump(); });
    auto before = calls.audio();
    runFor(settings.seconds, [&] { calls.pump(); });
    auto after = calls.audio();
    double received = after.received - before.received, lost = after.lost - before.lost;
    double played = after.played - before.played, late = after.late - before.late;
    if (received <= 0 || played <= 0)
        return failWith("no audio was received in the window");
    member("connected", 1);
    member("packets_received", received);
    member("packets_lost", lost);
    member("buffers_played", played);
    member("buffers_late", late);
    member("lost_fraction", lost / (received + lost));
    member("late_fraction", late / (played + late));
    calls.end();
    return 0;
}

}  // namespace

int main(int argc, char** argv)
{
    Settings settings;
    g_autofree char* stack = nullptr;
    g_autofree char* media = nullptr;
    g_autofree char* connection = nullptr;
    int calls = 1;
    double seconds = 10;
    double warmup = 2;
    GOptionEntry entries[] = {
        {"stack", 0, 0, G_OPTION_ARG_STRING, &stack, "ours (the library, through calling-server) or bare (two webrtcbins)", "STACK"},
        {"calls", 0, 0, G_OPTION_ARG_INT, &calls, "Calls: one after another (setup) or at once (cpu, capacity)", "N"},
        {"seconds", 0, 0, G_OPTION_ARG_DOUBLE, &seconds, "Length of the measuring window", "S"},
        {"warmup", 0, 0, G_OPTION_ARG_DOUBLE, &warmup, "Seconds from the calls connecting to the window (default 2)", "S"},
        {"media", 0, 0, G_OPTION_ARG_STRING, &media, "cpu: audio (audio only) or av (Opus + VP8 640x480 30 fps)", "MEDIA"},
        {"connection-string", 0, 0, G_OPTION_ARG_STRING, &connection,
         "calling-server's connection string [env: CALLING_CONNECTION_STRING]", "TEXT"},
        {},
    };
    g_autoptr(GOptionContext) context = g_option_context_new("setup|latency|cpu|capacity");
    g_option_context_add_main_entries(context, entries, nullptr);
    g_option_context_add_group(context, gst_init_get_option_group());
    g_autoptr(GError) error = nullptr;
    if (!g_option_context_parse(context, &argc, &argv, &error) || argc != 2) {
        g_printerr("calling-bench: %s\n", error ? error->message : "give one mode: setup, latency, cpu or capacity");
        return 2;
    }
    settings.mode = argv[1];
    settings.stack = stack ? stack : "ours";
    settings.calls = calls;
    settings.seconds = seconds;
    settings.warmup = warmup;
    settings.video = !media || g_str_equal(media, "av");
    const char* fromEnvironment = g_getenv("CALLING_CONNECTION_STRING");
    settings.connectionString = connection ? connection : fromEnvironment ? fromEnvironment : "";
    if (settings.stack != "ours" && settings.stack != "bare") {
        g_printerr("calling-bench: --stack is ours or bare\n");
        return 2;
    }
    if (settings.stack == "ours" && settings.connectionString.empty()) {
        g_printerr("calling-bench: --stack ours needs calling-server's connection string\n");
        return 2;
    }
    if (calls < 1 || (settings.mode == "setup" && calls < 2)) {
        g_printerr("calling-bench: --calls must be at least 1 (2 for setup: the first is reported apart)\n");
        return 2;
    }

    builder = json_builder_new();
    json_builder_begin_object(builder);
    member("mode", settings.mode);
    member("stack", settings.stack);
    int status = 2;
    if (settings.mode == "setup")
        status = runSetup(settings);
    else if (settings.mode == "latency")
        status = runLatency(settings);
    else if (settings.mode == "cpu")
        status = runCpu(settings);
    else if (settings.mode == "capacity")
        status = runCapacity(settings);
    else
        g_printerr("calling-bench: unknown mode %s\n", settings.mode.c_str());
    json_builder_end_object(builder);
    if (status == 0) {
        g_autoptr(JsonGenerator) generator = json_generator_new();
        g_autoptr(JsonNode) root = json_builder_get_root(builder);
        json_generator_set_root(generator, root);
        g_autofree char* text = json_generator_to_data(generator, nullptr);
        printf("%s\n", text);
        fflush(stdout);
    }
    g_object_unref(builder);
    return status;
}
