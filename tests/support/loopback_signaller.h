// A CallSignaller test double that wires two callbins back to back in one process: what one side
// sends (send_sdp, send_ice) comes out of the other side as "session-description" and "handle-ice",
// from the peer's id, on a GMainContext the test iterates. It relays; it does not imitate
// webrtcbin or calling-server. Messages for a side that is not started (its callbin below PAUSED)
// are dropped, as a real server drops them for a participant who left.
#pragma once

#include "protocol/call_signaller.h"

#include "gstreamer/ref_ptr.h"

#include <string>

G_BEGIN_DECLS

#define CALL_TYPE_LOOPBACK_SIGNALLER (call_loopback_signaller_get_type())
G_DECLARE_FINAL_TYPE(CallLoopbackSignaller, call_loopback_signaller, CALL, LOOPBACK_SIGNALLER, GObject)

G_END_DECLS

namespace calling::test {

struct LoopbackPair {
    detail::RefPtr<CallSignaller> a;
    detail::RefPtr<CallSignaller> b;
};

// `a` speaks as `idA` and `b` as `idB`; both deliver on `context`.
LoopbackPair makeLoopbackPair(const std::string& idA, const std::string& idB, GMainContext* context);

// How many descriptions and candidates the side has sent; whether it is started.
struct LoopbackCounts {
    unsigned sdpSent = 0;
    unsigned iceSent = 0;
    bool started = false;
};
LoopbackCounts loopbackCounts(CallSignaller*);

}  // namespace calling::test
