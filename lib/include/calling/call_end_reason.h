// Why a call, or a participant's part in it, ended: the ACS code/subCode pairs.
//
//   0/0         ended by the local participant (or, in a 1:1 call, the other side hung up)
//   0/4097      hung up for everyone by another participant
//   603/0       declined by the callee
//   487/0       cancelled by the caller before an answer
//   487/10003   accepted on another endpoint of the same identity
//   487/10004   not answered in time
//   480/10037   the callee could not be reached (no connected endpoint)
//   410/301005  the other side's connection was lost past the server's grace window
//   495/4507    the access token expired and was not refreshed
// and from this side:
//   410/3100    setup failed: the agent was not connected or disposed, or the media did not connect
//               within 20 s of both sides joining
//   410/3101    the connection to calling-server was lost
//   410/0       the call's media (its pipeline) failed; the message says how
//
// docs/protocol.md has the full table, with who gets which reason.
#pragma once

#include <string>

namespace calling {

struct CallEndReason {
    int code = 0;
    int subCode = 0;
    std::string message;

    bool operator==(const CallEndReason& other) const { return code == other.code && subCode == other.subCode; }
};

}  // namespace calling
