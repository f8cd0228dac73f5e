// Every answer that is not a WebSocket upgrade closes its connection.
//
// libsoup 3.2 (Debian 12's 3.2.3 too) never lets go of a kept-alive connection that the client
// closes while it is idle between requests: the socket stays in CLOSE_WAIT, with its descriptor
// and libsoup's state for it, for the life of the server (fixed in libsoup 3.3 by commit d20c660,
// "server: do not leak idle connections closed by the client"). Each identity API client that
// closed its connection leaked one descriptor, so ten thousand token requests used up half of a
// 20,000 descriptor limit before any agent connected. Connections the server closes itself are
// released; the identity API and the web client's few files do not need keep-alive.
#pragma once

#include <libsoup/soup.h>

namespace calling::server {

inline void closeAfterResponse(SoupServerMessage* message)
{
    soup_message_headers_replace(soup_server_message_get_response_headers(message), "Connection", "close");
}

}  // namespace calling::server
