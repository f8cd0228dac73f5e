// gst-call's exit codes: how the call ended, for scripts. docs/gst-call.md has the table; keep
// them in step.
#pragma once

#include <calling/call_end_reason.h>
#include <calling/result.h>

namespace gstcall {

enum ExitCode : int {
    kExitOk = 0,              // ended normally: hung up by either side (0/0, 0/4097), Ctrl-C, --duration
    kExitFailed = 1,          // anything else: media or setup failed (410/0, 410/3100), unexpected errors
    kExitUsage = 2,           // bad command line: unknown command or option, bad raw id, connection string, device
    kExitAuth = 3,            // the token or the access key was refused (401/4507), or the token expired (495/4507)
    kExitDeclined = 4,        // the callee declined (603/0)
    kExitNoAnswer = 5,        // nobody answered (487/10004), or --timeout passed first
    kExitUnreachable = 6,     // the callee is not connected anywhere (480/10037)
    kExitConnectionLost = 7,  // calling-server unreachable (408/40104) or lost (410/3101), the far end lost (410/301005)
    kExitCancelled = 8,       // a call being answered ended before it connected: the caller cancelled (487/0), or
                              // another endpoint of the identity answered (487/10003)
    kExitInterrupted = 130,   // a second Ctrl-C while hanging up: left without waiting
};

// The exit code for a call that ended with `reason`.
ExitCode exitCodeFor(const calling::CallEndReason& reason);
// The exit code for a request that failed before there was a call (signing in, the identity API).
ExitCode exitCodeFor(const calling::Error& error);

}  // namespace gstcall
