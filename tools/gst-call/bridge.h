// `gst-call bridge`: two agents, one per identity, each answering one call; each caller hears and
// sees the other. The media crosses between the two calls' pipelines through GStreamer's inter
// elements, in this process:
//
//   call A's speaker: interaudiosink "…-a-audio"  ──▶  call B's microphone: interaudiosrc "…-a-audio"
//   call A's remote video: a RendererView into intervideosink "…-a-video"
//                                                 ──▶  call B's LocalVideoStream from intervideosrc "…-a-video"
//
// and the same from B to A. Until a caller's media comes, the other hears silence and sees black.
// When either call ends, the other is hung up; Ctrl-C (SIGINT) or SIGTERM hangs up both.
//
// Threads: everything on the main thread, as in session.h: both CallClients call back on the
// default GMainContext, which run() iterates.
#pragma once

#include "protocol/connection_string.h"

#include <optional>
#include <string>

namespace gstcall {

struct BridgeOptions {
    std::string endpoint;
    std::optional<calling::protocol::ConnectionString> connection;  // to mint the tokens
    std::string tokenA, tokenB;                                       // or these
    std::string identityA, identityB;  // with a connection string: mint for these, not new ones
    std::string caFile;
    std::string displayName;
};

int runBridge(const BridgeOptions& options);

}  // namespace gstcall
