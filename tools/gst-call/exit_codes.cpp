#include "exit_codes.h"

namespace gstcall {

ExitCode exitCodeFor(const calling::CallEndReason& reason)
{
    switch (reason.code) {
    case 0:
        return kExitOk;
    case 603:
        return kExitDeclined;
    case 487:
        return reason.subCode == 10004 ? kExitNoAnswer : kExitCancelled;
    case 480:
        return kExitUnreachable;
    case 495:
        return kExitAuth;
    case 410:
        if (reason.subCode == 3101 || reason.subCode == 301005)
            return kExitConnectionLost;
        return kExitFailed;
    default:
        return kExitFailed;
    }
}

ExitCode exitCodeFor(const calling::Error& error)
{
    switch (error.code) {
    case 401:
    case 403:
    case 495:
        return kExitAuth;
    case 408:
        return kExitConnectionLost;
    case 400:
    case 404:
        return kExitUsage;  // the identity API found the input bad (an unknown identity)
    default:
        return kExitFailed;
    }
}

}  // namespace gstcall
