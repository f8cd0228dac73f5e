// Running launch lines in tests: a pipeline built in-process exactly as gst-launch-1.0 builds it
// (Launched, whose bus a test reads), and a process such as gst-launch-1.0 or a pipelines/ script
// (Process, whose output a test reads as it comes). Both are read from the thread-default
// GMainContext of the test that made them.
#pragma once

#include "tone_meter.h"

#include <gio/gio.h>
#include <gst/gst.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace calling::test {

struct CallEnd {
    int code = -1;
    int subCode = -1;
    std::string message;
};

// One launch line's pipeline, and what its bus said, as an application's bus handler sees it. An
// appsink named "out" in the line feeds `meter`.
class Launched {
public:
    explicit Launched(const std::string& description);
    ~Launched();

    Launched(const Launched&) = delete;
    Launched& operator=(const Launched&) = delete;

    bool play();
    // To NULL: callbin hangs up and closes its connection before this returns.
    void stop();
    // A new reference to the element of that name.
    GstElement* element(const char* name) const;
    // Reads the bus.
    void pump();
    bool reached(const std::string& state) const;
    std::string describe() const;

    std::string parseError;
    std::shared_ptr<ToneMeter> meter = ToneMeter::create();
    std::vector<std::string> states;
    std::vector<std::string> peerIds;  // of each call-state message
    std::optional<CallEnd> ended;
    bool eos = false;
    bool endedBeforeEos = false;
    std::string warningMessage;
    std::string errorMessage;
    std::string errorDebug;
    GQuark errorDomain = 0;
    int errorCode = 0;

private:
    void handle(GstMessage* message);

    GstElement* pipeline_ = nullptr;
};

// A process whose stdout and stderr are read line by line as they come. Killed when destroyed, if
// it still runs.
class Process {
public:
    // argv[0] is looked up in PATH. `env` is added to the test's own environment, and
    // GST_PLUGIN_PATH points at the build's plugins (through the tests' registry).
    explicit Process(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {});
    ~Process();

    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    bool said(const std::string& text) const;
    const std::string& output() const;
    // Exited, and everything it wrote was read.
    bool exited() const;
    // The exit status, or -1 while it runs or when a signal ended it.
    int exitStatus() const;
    void signal(int number);

    std::string startError;

private:
    struct State;
    static void readLine(const std::shared_ptr<State>& state);
    static void onLine(GObject* source, GAsyncResult* result, gpointer data);
    static void onExited(GObject* source, GAsyncResult* result, gpointer data);

    std::shared_ptr<State> state_;
    GSubprocess* process_ = nullptr;
};

}  // namespace calling::test
