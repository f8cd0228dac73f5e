// The status line gst-call prints once a second during a call, from a MediaStats sample:
//
//   00:03 audio send 32.1 kb/s | audio recv 31.8 kb/s loss 0.0% jitter 2 ms rtt 1 ms
//
// the call time (since Connected), then each stream: kind, direction, bitrate ("-" before there
// are two readings), and what is known of loss and jitter (for a sent stream, as the far end
// reports them). The round-trip time is the path's: it is shown with the received streams, or with
// the sent ones when nothing is received.
#pragma once

#include <calling/media_stats.h>

#include <chrono>
#include <string>

namespace gstcall {

// "MM:SS", or "H:MM:SS" from an hour on.
std::string formatCallTime(std::chrono::seconds elapsed);
std::string formatStatusLine(std::chrono::seconds elapsed, const calling::MediaStatsSample& sample);

}  // namespace gstcall
