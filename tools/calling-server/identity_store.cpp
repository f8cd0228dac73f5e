#include "identity_store.h"

#include <glib.h>
#include <sqlite3.h>

namespace calling::server {
namespace {

constexpr const char* kSchema = R"sql(
PRAGMA journal_mode = WAL;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS identities (
    id TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,
    token_generation INTEGER NOT NULL DEFAULT 0,
    last_token_issued_at INTEGER,
    deleted_at INTEGER
);
)sql";

struct StatementFinalize {
    void operator()(sqlite3_stmt* statement) const { sqlite3_finalize(statement); }
};
using Statement = std::unique_ptr<sqlite3_stmt, StatementFinalize>;

Statement prepare(sqlite3* db, const char* sql)
{
    sqlite3_stmt* statement = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &statement, nullptr) != SQLITE_OK) {
        g_warning("SQLite prepare failed: %s", sqlite3_errmsg(db));
        return nullptr;
    }
    return Statement(statement);
}

void bindText(sqlite3_stmt* statement, int index, std::string_view text)
{
    sqlite3_bind_text(statement, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
}

}  // namespace

Result<std::unique_ptr<IdentityStore>> IdentityStore::open(const std::string& path)
{
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        nullptr) != SQLITE_OK) {
        std::string message = "cannot open identity database " + path + ": " + sqlite3_errmsg(db);
        sqlite3_close(db);
        return Error{500, 0, message};
    }
    std::unique_ptr<IdentityStore> store(new IdentityStore(db));
    sqlite3_busy_timeout(db, 5000);
    char* error = nullptr;
    if (sqlite3_exec(db, kSchema, nullptr, nullptr, &error) != SQLITE_OK) {
        std::string message = "cannot set up identity database " + path + ": " + (error ? error : "");
        sqlite3_free(error);
        return Error{500, 0, message};
    }

    Statement select = prepare(db, "SELECT value FROM meta WHERE key = 'resource_id'");
    if (select && sqlite3_step(select.get()) == SQLITE_ROW) {
        store->resourceId_ = reinterpret_cast<const char*>(sqlite3_column_text(select.get(), 0));
    } else {
        g_autofree char* uuid = g_uuid_string_random();
        store->resourceId_ = uuid;
        Statement insert = prepare(db, "INSERT INTO meta (key, value) VALUES ('resource_id', ?1)");
        if (!insert)
            return Error{500, 0, std::string("cannot write identity database: ") + sqlite3_errmsg(db)};
        bindText(insert.get(), 1, store->resourceId_);
        if (sqlite3_step(insert.get()) != SQLITE_DONE)
            return Error{500, 0, std::string("cannot write identity database: ") + sqlite3_errmsg(db)};
    }
    return store;
}

IdentityStore::IdentityStore(sqlite3* db) : db_(db) {}

IdentityStore::~IdentityStore()
{
    sqlite3_close_v2(db_);
}

Result<std::string> IdentityStore::createIdentity(int64_t nowUnix)
{
    g_autofree char* uuid = g_uuid_string_random();
    std::string id = "8:acs:" + resourceId_ + "_" + uuid;
    Statement insert = prepare(db_, "INSERT INTO identities (id, created_at) VALUES (?1, ?2)");
    if (!insert)
        return Error{500, 0, "identity database error"};
    bindText(insert.get(), 1, id);
    sqlite3_bind_int64(insert.get(), 2, nowUnix);
    if (sqlite3_step(insert.get()) != SQLITE_DONE)
        return Error{500, 0, std::string("identity database error: ") + sqlite3_errmsg(db_)};
    return id;
}

std::optional<IdentityStore::Identity> IdentityStore::find(std::string_view id) const
{
    Statement select = prepare(
        db_, "SELECT token_generation, last_token_issued_at FROM identities WHERE id = ?1 AND deleted_at IS NULL");
    if (!select)
        return std::nullopt;
    bindText(select.get(), 1, id);
    if (sqlite3_step(select.get()) != SQLITE_ROW)
        return std::nullopt;
    Identity identity{std::string(id), sqlite3_column_int64(select.get(), 0), std::nullopt};
    if (sqlite3_column_type(select.get(), 1) != SQLITE_NULL)
        identity.lastTokenIssuedAt = sqlite3_column_int64(select.get(), 1);
    return identity;
}

std::optional<int64_t> IdentityStore::tokenGeneration(std::string_view id) const
{
    auto identity = find(id);
    if (!identity)
        return std::nullopt;
    return identity->generation;
}

bool IdentityStore::updateLive(const char* sql, std::string_view id, std::optional<int64_t> value)
{
    Statement update = prepare(db_, sql);
    if (!update)
        return false;
    bindText(update.get(), 1, id);
    if (value)
        sqlite3_bind_int64(update.get(), 2, *value);
    if (sqlite3_step(update.get()) != SQLITE_DONE) {
        g_warning("identity database update failed: %s", sqlite3_errmsg(db_));
        return false;
    }
    return sqlite3_changes(db_) == 1;
}

bool IdentityStore::recordTokenIssued(std::string_view id, int64_t nowUnix)
{
    return updateLive("UPDATE identities SET last_token_issued_at = ?2 WHERE id = ?1 AND deleted_at IS NULL", id,
                      nowUnix);
}

bool IdentityStore::revokeTokens(std::string_view id)
{
    return updateLive("UPDATE identities SET token_generation = token_generation + 1 "
                      "WHERE id = ?1 AND deleted_at IS NULL",
                      id, std::nullopt);
}

bool IdentityStore::deleteIdentity(std::string_view id, int64_t nowUnix)
{
    return updateLive("UPDATE identities SET deleted_at = ?2, token_generation = token_generation + 1 "
                      "WHERE id = ?1 AND deleted_at IS NULL",
                      id, nowUnix);
}

}  // namespace calling::server
