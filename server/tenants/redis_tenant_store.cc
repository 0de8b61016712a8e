#include "server/tenants/redis_tenant_store.h"

#include <algorithm>
#include <iterator>
#include <optional>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "store/redis/redis_reply.h"
#include "store/redis/redis_script.h"
#include "store/tenant_keys.h"

namespace segmentd {
namespace {

using store::redis::ErrorReplyAsStatus;
using store::redis::RedisReply;
using store::redis::RedisScript;

std::string TenantKey(absl::string_view tenant_id) { return absl::StrCat("sd:tenant:", tenant_id); }
std::string ApiKeyKey(absl::string_view key_id) { return absl::StrCat("sd:key:", key_id); }
std::string TenantKeysKey(absl::string_view tenant_id) {
  return absl::StrCat(store::TenantKeyPrefix(tenant_id), "keys");
}

std::string Millis(absl::Time t) { return absl::StrCat(absl::ToUnixMillis(t)); }

// KEYS: tenants set, tenant hash, the tenant's presence key. ARGV: tenant
// id, display name, created ms.
const RedisScript& CreateTenantScript() {
  static const RedisScript* const script = new RedisScript(R"lua(
    if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
    redis.call('HSET', KEYS[2], 'display_name', ARGV[2], 'created_ms', ARGV[3])
    redis.call('SET', KEYS[3], '1')
    return 1
  )lua");
  return *script;
}

// KEYS: tenants set, key hash, tenant's key index. ARGV: tenant, key id, name,
// scopes, hash, created ms. Returns -1 when the tenant is missing, 0 when the key
// id exists, 1 when stored.
const RedisScript& CreateApiKeyScript() {
  static const RedisScript* const script = new RedisScript(R"lua(
    if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then return -1 end
    if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
    redis.call('HSET', KEYS[2], 'tenant', ARGV[1], 'name', ARGV[3], 'scopes', ARGV[4],
               'hash', ARGV[5], 'created_ms', ARGV[6])
    redis.call('ZADD', KEYS[3], ARGV[6], ARGV[2])
    return 1
  )lua");
  return *script;
}

// KEYS: key hash. ARGV: tenant, revoked ms. Returns 0 when the key is missing or
// belongs to another tenant, 1 otherwise (a first revocation time is kept).
const RedisScript& RevokeApiKeyScript() {
  static const RedisScript* const script = new RedisScript(R"lua(
    if redis.call('HGET', KEYS[1], 'tenant') ~= ARGV[1] then return 0 end
    redis.call('HSETNX', KEYS[1], 'revoked_ms', ARGV[2])
    return 1
  )lua");
  return *script;
}

// Returns field -> value of an HGETALL reply.
absl::flat_hash_map<std::string, std::string> FieldMap(const RedisReply& reply) {
  absl::flat_hash_map<std::string, std::string> fields;
  const auto& e = reply.elements();
  for (size_t i = 0; i + 1 < e.size(); i += 2) fields[e[i].str()] = e[i + 1].str();
  return fields;
}

absl::StatusOr<absl::Time> ParseMillis(const std::string& text, absl::string_view what) {
  int64_t ms = 0;
  if (!absl::SimpleAtoi(text, &ms)) {
    return absl::DataLossError(absl::StrCat("stored ", what, " is not a number"));
  }
  return absl::FromUnixMillis(ms);
}

absl::StatusOr<ApiKeyRecord> DecodeApiKey(absl::string_view key_id, const RedisReply& reply) {
  auto fields = FieldMap(reply);
  if (fields.empty()) return absl::NotFoundError(absl::StrCat("no key ", key_id));
  ApiKeyRecord record;
  record.key_id = std::string(key_id);
  record.tenant_id = fields["tenant"];
  record.name = fields["name"];
  record.secret_hash = fields["hash"];
  for (absl::string_view part : absl::StrSplit(fields["scopes"], ',', absl::SkipEmpty())) {
    int value = 0;
    if (!absl::SimpleAtoi(part, &value) || !v1::Scope_IsValid(value)) {
      return absl::DataLossError(absl::StrCat("key ", key_id, " has a corrupt scope list"));
    }
    record.scopes.push_back(static_cast<v1::Scope>(value));
  }
  absl::StatusOr<absl::Time> created = ParseMillis(fields["created_ms"], "created_ms");
  if (!created.ok()) return created.status();
  record.created_at = *created;
  if (auto it = fields.find("revoked_ms"); it != fields.end()) {
    absl::StatusOr<absl::Time> revoked = ParseMillis(it->second, "revoked_ms");
    if (!revoked.ok()) return revoked.status();
    record.revoked_at = *revoked;
  }
  return record;
}

absl::StatusOr<TenantRecord> DecodeTenant(absl::string_view tenant_id, const RedisReply& reply) {
  auto fields = FieldMap(reply);
  if (fields.empty()) return absl::NotFoundError(absl::StrCat("no tenant ", tenant_id));
  absl::StatusOr<absl::Time> created = ParseMillis(fields["created_ms"], "created_ms");
  if (!created.ok()) return created.status();
  return TenantRecord{std::string(tenant_id), fields["display_name"], *created};
}

}  // namespace

absl::Status RedisTenantStore::CreateTenant(const TenantRecord& tenant) {
  absl::StatusOr<RedisReply> reply = ErrorReplyAsStatus(client_->Eval(
      CreateTenantScript(),
      {kTenantsKey, TenantKey(tenant.tenant_id), store::TenantPresenceKey(tenant.tenant_id)},
      {tenant.tenant_id, tenant.display_name, Millis(tenant.created_at)}));
  if (!reply.ok()) return reply.status();
  if (reply->integer() == 0) {
    return absl::AlreadyExistsError(absl::StrCat("tenant ", tenant.tenant_id, " already exists"));
  }
  return absl::OkStatus();
}

absl::StatusOr<TenantRecord> RedisTenantStore::GetTenant(absl::string_view tenant_id) {
  absl::StatusOr<RedisReply> reply =
      ErrorReplyAsStatus(client_->Command({"HGETALL", TenantKey(tenant_id)}));
  if (!reply.ok()) return reply.status();
  return DecodeTenant(tenant_id, *reply);
}

absl::StatusOr<std::vector<std::string>> RedisTenantStore::ListTenantIds() {
  // SSCAN pages rather than one SMEMBERS: the background passes list every
  // tenant several times a second, and SMEMBERS of 5,000 ids already held
  // Redis 1.2 ms (of 50,000, past the 5 ms no command may take).
  std::vector<std::string> sorted;
  std::string cursor = "0";
  do {
    absl::StatusOr<RedisReply> page =
        ErrorReplyAsStatus(client_->Command({"SSCAN", kTenantsKey, cursor, "COUNT", "1000"}));
    if (!page.ok()) return page.status();
    std::optional<store::redis::SscanPage> ids = store::redis::SscanPageOf(*page);
    if (!ids.has_value()) return absl::InternalError("SSCAN of the tenant set: unexpected reply");
    cursor = std::move(ids->cursor);
    sorted.insert(sorted.end(), std::make_move_iterator(ids->members.begin()),
                  std::make_move_iterator(ids->members.end()));
  } while (cursor != "0");
  // SSCAN may return an id twice.
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  return sorted;
}

absl::StatusOr<std::vector<TenantRecord>> RedisTenantStore::ListTenants() {
  absl::StatusOr<std::vector<std::string>> sorted = ListTenantIds();
  if (!sorted.ok()) return sorted.status();
  std::vector<store::redis::RedisCommand> commands;
  for (const std::string& id : *sorted) commands.push_back({"HGETALL", TenantKey(id)});
  absl::StatusOr<std::vector<RedisReply>> replies = client_->Pipeline(commands);
  if (!replies.ok()) return replies.status();
  std::vector<TenantRecord> tenants;
  for (size_t i = 0; i < sorted->size(); ++i) {
    absl::StatusOr<TenantRecord> tenant = DecodeTenant((*sorted)[i], (*replies)[i]);
    if (!tenant.ok()) return tenant.status();
    tenants.push_back(*std::move(tenant));
  }
  return tenants;
}

absl::Status RedisTenantStore::CreateApiKey(const ApiKeyRecord& key) {
  std::vector<std::string> scopes;
  for (v1::Scope scope : key.scopes) scopes.push_back(absl::StrCat(static_cast<int>(scope)));
  absl::StatusOr<RedisReply> reply = ErrorReplyAsStatus(client_->Eval(
      CreateApiKeyScript(), {kTenantsKey, ApiKeyKey(key.key_id), TenantKeysKey(key.tenant_id)},
      {key.tenant_id, key.key_id, key.name, absl::StrJoin(scopes, ","), key.secret_hash,
       Millis(key.created_at)}));
  if (!reply.ok()) return reply.status();
  if (reply->integer() == -1) return absl::NotFoundError(absl::StrCat("no tenant ", key.tenant_id));
  if (reply->integer() == 0) {
    return absl::AlreadyExistsError(absl::StrCat("key ", key.key_id, " already exists"));
  }
  return absl::OkStatus();
}

absl::StatusOr<ApiKeyRecord> RedisTenantStore::GetApiKey(absl::string_view key_id) {
  absl::StatusOr<RedisReply> reply =
      ErrorReplyAsStatus(client_->Command({"HGETALL", ApiKeyKey(key_id)}));
  if (!reply.ok()) return reply.status();
  return DecodeApiKey(key_id, *reply);
}

absl::StatusOr<std::vector<ApiKeyRecord>> RedisTenantStore::ListApiKeys(
    absl::string_view tenant_id) {
  absl::StatusOr<RedisReply> ids =
      ErrorReplyAsStatus(client_->Command({"ZRANGE", TenantKeysKey(tenant_id), "0", "-1"}));
  if (!ids.ok()) return ids.status();
  std::vector<store::redis::RedisCommand> commands;
  for (const RedisReply& id : ids->elements()) commands.push_back({"HGETALL", ApiKeyKey(id.str())});
  absl::StatusOr<std::vector<RedisReply>> replies = client_->Pipeline(commands);
  if (!replies.ok()) return replies.status();
  std::vector<ApiKeyRecord> keys;
  for (size_t i = 0; i < commands.size(); ++i) {
    absl::StatusOr<ApiKeyRecord> key = DecodeApiKey(ids->elements()[i].str(), (*replies)[i]);
    if (!key.ok()) return key.status();
    keys.push_back(*std::move(key));
  }
  return keys;
}

absl::StatusOr<ApiKeyRecord> RedisTenantStore::RevokeApiKey(absl::string_view tenant_id,
                                                            absl::string_view key_id,
                                                            absl::Time at) {
  absl::StatusOr<RedisReply> reply = ErrorReplyAsStatus(client_->Eval(
      RevokeApiKeyScript(), {ApiKeyKey(key_id)}, {std::string(tenant_id), Millis(at)}));
  if (!reply.ok()) return reply.status();
  if (reply->integer() == 0) {
    return absl::NotFoundError(absl::StrCat("tenant ", tenant_id, " has no key ", key_id));
  }
  return GetApiKey(key_id);
}

}  // namespace segmentd
