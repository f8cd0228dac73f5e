// Canned session descriptions of the size real agents exchange: an offer like a browser's with
// audio and two video m-lines (camera and screen sharing, as the library's agents always offer) and
// every codec a browser lists, and its answer. calling-server relays SDP without reading it, so
// only the size and the characters matter to the load (JSON escaping of CRLF, parsing, copying).
#pragma once

#include <string>

namespace bench {

// `sessionId` goes into the o= line so that each call's description differs, as real ones do.
std::string offerSdp(unsigned long long sessionId);
std::string answerSdp(unsigned long long sessionId);

}  // namespace bench
