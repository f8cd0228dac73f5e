// Identities, revocations and deletions, kept in SQLite in the state dir so they survive a restart.
#pragma once

#include "protocol/access_token.h"

#include <calling/result.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

struct sqlite3;

namespace calling::server {

class IdentityStore final : public protocol::IdentityDirectory {
public:
    // Opens or creates `path`; errors carry code 500.
    static Result<std::unique_ptr<IdentityStore>> open(const std::string& path);
    ~IdentityStore() override;

    // The resource id in every identity id ("8:acs:<resourceId>_<uuid>"), chosen once per database.
    const std::string& resourceId() const { return resourceId_; }

    Result<std::string> createIdentity(int64_t nowUnix);

    struct Identity {
        std::string id;
        int64_t generation = 0;
        std::optional<int64_t> lastTokenIssuedAt;
    };
    // Live identities only: nullopt for unknown and deleted ones.
    std::optional<Identity> find(std::string_view id) const;
    std::optional<int64_t> tokenGeneration(std::string_view id) const override;

    // Each returns false when the identity is unknown or deleted.
    bool recordTokenIssued(std::string_view id, int64_t nowUnix);
    bool revokeTokens(std::string_view id);
    bool deleteIdentity(std::string_view id, int64_t nowUnix);

private:
    explicit IdentityStore(sqlite3* db);
    bool updateLive(const char* sql, std::string_view id, std::optional<int64_t> value);

    sqlite3* db_;
    std::string resourceId_;
};

}  // namespace calling::server
