// gst-call's client of calling-server's identity API (docs/identity.md): with a connection string
// it creates an identity and a voip token, or issues a new token for a known identity, the way an
// application's token backend does with the ACS Communication Identity SDK.
//
// Threads: requests run on the thread-default GMainContext of the thread that made the client, and
// complete there. The access key is never printed or logged.
#pragma once

#include <calling/communication_token_credential.h>
#include <calling/result.h>

#include "protocol/connection_string.h"
#include "protocol/glib_ptr.h"

#include <libsoup/soup.h>

#include <functional>
#include <memory>
#include <string>

namespace gstcall {

struct IssuedToken {
    std::string identity;  // raw id, 8:acs:...
    std::string token;
};

class IdentityClient {
public:
    // `caFile`: a PEM file of CA certificates to trust for an https endpoint (empty: the system's).
    IdentityClient(calling::protocol::ConnectionString connection, const std::string& caFile);

    // A voip token for `identity`, or for a new identity when it is empty. Fails with 408/40104
    // when the API cannot be reached, 401/0 when it refuses the access key, and the HTTP status
    // otherwise; the message says what the API said.
    void issueToken(const std::string& identity, std::function<void(calling::Result<IssuedToken>)> done);

private:
    calling::protocol::ConnectionString connection_;
    std::string key_;  // the decoded access key
    calling::protocol::GObjectPtr<SoupSession> session_;
};

// A credential for `identity` (a new identity when empty) from the identity API: its first token
// now, then new ones before each expires, so that a long call goes on. The refresher asks
// `identity` on the thread-default context of the calling thread; once the client is gone it
// refuses (401/4507). `done` gets the credential and the identity's raw id, or the error.
void issueCredential(const std::shared_ptr<IdentityClient>& client, const std::string& identity,
                     std::function<void(calling::Result<std::pair<calling::CommunicationTokenCredential, std::string>>)> done);

}  // namespace gstcall
