// One run of `gst-call call`, `answer` or `record`: signs in (minting a token through the identity
// API when given a connection string), places or answers one call (`record`: answers it and
// records what it receives with the library's CallRecorder), prints what happens to it, and
// returns the exit code (exit_codes.h).
//
// Everything runs on the main thread: the CallClient calls back on the default GMainContext, which
// run() iterates, and so do the identity API's requests, the timers and the Unix signal handlers.
#pragma once

#include "protocol/connection_string.h"

#include <optional>
#include <string>

namespace gstcall {

struct SessionOptions {
    enum class Mode { Call, Answer, Record };
    Mode mode = Mode::Call;

    // Where and who: a token for `endpoint`, or a connection string to mint one with (for
    // `identity`, or a new identity when it is empty).
    std::string endpoint;
    std::string token;
    std::optional<calling::protocol::ConnectionString> connection;
    std::string identity;
    std::string caFile;
    std::string displayName;

    std::string target;      // call: the callee's raw id
    bool decline = false;    // answer: decline the call instead
    bool muted = false;
    std::string microphone;  // DeviceManager ids; empty: the default
    std::string speaker;
    std::string camera;      // DeviceManager camera id; empty: no video sent
    bool preferH264 = false;  // the call's video is H.264 when the caller prefers it
    std::string output;      // record: the Matroska file to write
    int durationSeconds = 0;  // hang up this long after Connected; 0: never
    int timeoutSeconds = 0;   // give up when not Connected this long after the start; 0: never
    double statsIntervalSeconds = 1;  // status lines; 0: none
};

int runSession(const SessionOptions& options);

// `gst-call devices`: the DeviceManager's lists, one device a line.
int listDevices();

}  // namespace gstcall
