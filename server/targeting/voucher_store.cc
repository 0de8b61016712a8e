#include "server/targeting/voucher_store.h"

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "server/field_error.h"
#include "server/steady_clock.h"
#include "server/targeting/arms.h"
#include "server/targeting/expression.h"
#include "store/redis/redis_reply.h"
#include "store/redis/redis_script.h"
#include "store/tenant_keys.h"
#include "store/tenant_presence.h"

namespace segmentd::targeting {
namespace {

using store::redis::ErrorReplyAsStatus;
using store::redis::RedisReply;
using store::redis::RedisScript;

using store::ValidateTenant;

std::string HashKey(absl::string_view t) {
  return absl::StrCat(store::TenantKeyPrefix(t), "vouchers");
}
std::string IdsKey(absl::string_view t) {
  return absl::StrCat(store::TenantKeyPrefix(t), "voucherids");
}
std::string VersionKey(absl::string_view t) {
  return absl::StrCat(store::TenantKeyPrefix(t), "vouchersv");
}

absl::Status Unexpected(const RedisReply& reply, absl::string_view what) {
  return absl::InternalError(absl::StrCat("unexpected reply to ", what, ": ", reply.DebugString()));
}

// KEYS[1] hash, [2] id zset, [3] version, [4] the tenant's presence key
// (store/tenant_presence.h); ARGV[1] id, [2] bytes, [3] max.
// Returns 1 when stored, 0 when the tenant is full, kTenantAbsentReply when
// the presence key is gone.
const RedisScript& PutScript() {
  static const RedisScript* const script = new RedisScript(R"lua(
    if redis.call('EXISTS', KEYS[4]) == 0 then return -4 end
    if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 and
       redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then
      return 0
    end
    redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
    redis.call('ZADD', KEYS[2], 0, ARGV[1])
    redis.call('INCR', KEYS[3])
    return 1
  )lua");
  return *script;
}

// KEYS[1] to [3] as PutScript's; ARGV[1] id. Returns 1 when deleted, 0 when absent.
// Frees memory (the version INCR does not grow it): runs while Redis is over
// its maxmemory too, so an operator can delete targets to get under it.
const RedisScript& DeleteScript() {
  static const RedisScript* const script = new RedisScript(R"lua(#!lua flags=allow-oom
    if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
    redis.call('ZREM', KEYS[2], ARGV[1])
    redis.call('INCR', KEYS[3])
    return 1
  )lua");
  return *script;
}

}  // namespace

absl::Status ValidateVoucherId(absl::string_view voucher_id, absl::string_view field) {
  if (voucher_id.empty() || voucher_id.size() > kMaxVoucherIdBytes) {
    return FieldError(field, absl::StrCat("must be 1-", kMaxVoucherIdBytes, " bytes"));
  }
  return absl::OkStatus();
}

absl::Status ValidateVoucherTarget(const v1::VoucherTarget& target, absl::string_view field) {
  absl::Status s = ValidateVoucherId(target.voucher_id(), absl::StrCat(field, ".voucher_id"));
  if (s.ok()) s = ValidateExpression(target.expression(), absl::StrCat(field, ".expression"));
  if (s.ok()) s = ValidateArms(target.arms(), absl::StrCat(field, ".arms"));
  return s;
}

absl::StatusOr<v1::VoucherTarget> DecodeStoredTarget(absl::string_view bytes,
                                                     absl::string_view voucher_id) {
  const std::string what =
      absl::StrCat("stored voucher target \"", absl::CEscape(voucher_id), "\"");
  v1::VoucherTarget target;
  if (!target.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError(absl::StrCat(what, " does not parse"));
  }
  if (target.voucher_id() != voucher_id) {
    return absl::DataLossError(absl::StrCat(what, " is the target of another voucher id"));
  }
  if (absl::Status s = ValidateVoucherTarget(target, "target"); !s.ok()) {
    return absl::DataLossError(absl::StrCat(what, " is not valid: ", s.message()));
  }
  return target;
}

VoucherStore::VoucherStore(store::redis::RedisClient* client, Options options)
    : client_(client), options_(options) {}

absl::Status VoucherStore::Put(absl::string_view tenant, const v1::VoucherTarget& target) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  if (absl::Status s = ValidateVoucherId(target.voucher_id(), "voucher_id"); !s.ok()) return s;
  auto put = [&] {
    return ErrorReplyAsStatus(client_->Eval(
        PutScript(),
        {HashKey(tenant), IdsKey(tenant), VersionKey(tenant), store::TenantPresenceKey(tenant)},
        {target.voucher_id(), target.SerializeAsString(), absl::StrCat(options_.max_vouchers)}));
  };
  absl::StatusOr<RedisReply> reply = store::UnlessTenantAbsent(put(), client_, tenant, put);
  ForgetKnownVersion(tenant);  // Whatever the outcome: a failed call may have landed.
  if (!reply.ok()) return reply.status();
  if (!reply->is_integer()) return Unexpected(*reply, "put script");
  if (reply->integer() == 0) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the tenant already has ", options_.max_vouchers,
                     " voucher targets (the most allowed); delete one first"));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::VoucherTarget> VoucherStore::Get(absl::string_view tenant,
                                                    absl::string_view voucher_id) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  if (absl::Status s = ValidateVoucherId(voucher_id, "voucher_id"); !s.ok()) return s;
  absl::StatusOr<std::string> version = CurrentVersion(tenant);
  if (!version.ok()) return version.status();
  return GetAt(tenant, voucher_id, *version);
}

absl::StatusOr<v1::VoucherTarget> VoucherStore::GetAt(absl::string_view tenant,
                                                      absl::string_view voucher_id,
                                                      const std::string& version) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  if (absl::Status s = ValidateVoucherId(voucher_id, "voucher_id"); !s.ok()) return s;
  {
    absl::MutexLock lock(&mu_);
    if (const Cached* cached = CacheAt(tenant, version); cached != nullptr) {
      auto it = cached->by_id.find(voucher_id);
      if (it != cached->by_id.end()) return *it->second;
    }
  }
  absl::StatusOr<RedisReply> reply = ErrorReplyAsStatus(
      client_->Command({"HGET", HashKey(tenant), std::string(voucher_id)}));
  if (!reply.ok()) return reply.status();
  if (reply->is_nil()) {
    return absl::NotFoundError(absl::StrCat("voucher_id: no target registered under \"",
                                            voucher_id, "\""));
  }
  if (!reply->is_string()) return Unexpected(*reply, "HGET");
  absl::StatusOr<v1::VoucherTarget> target = DecodeStoredTarget(reply->str(), voucher_id);
  if (!target.ok()) return target.status();
  // Cached under `version` even if a Put landed between the two reads: only
  // callers whose own version read overlapped that Put can be served it.
  absl::MutexLock lock(&mu_);
  if (Cached* cached = CacheAt(tenant, version); cached != nullptr) {
    cached->by_id[voucher_id] = std::make_shared<const v1::VoucherTarget>(*target);
  }
  return target;
}

absl::StatusOr<std::string> VoucherStore::CurrentVersion(absl::string_view tenant) {
  CoalescedRead<std::string>* read;
  {
    absl::MutexLock lock(&mu_);
    std::unique_ptr<CoalescedRead<std::string>>& slot = versions_[tenant];
    if (slot == nullptr) {
      slot = std::make_unique<CoalescedRead<std::string>>(
          [this, t = std::string(tenant)] { return ReadVersion(t); });
    }
    read = slot.get();
  }
  return read->Get();
}

absl::StatusOr<std::string> VoucherStore::ReadVersion(absl::string_view tenant) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  uint64_t writes_before;
  {
    absl::MutexLock lock(&mu_);
    writes_before = known_[tenant].local_writes;
  }
  const absl::Duration sent = SteadyNow();
  absl::StatusOr<RedisReply> reply =
      ErrorReplyAsStatus(client_->Command({"GET", VersionKey(tenant)}));
  if (!reply.ok()) return reply.status();
  std::string version = "0";
  if (!reply->is_nil()) {
    if (!reply->is_string()) return Unexpected(*reply, "GET");
    version = reply->str();
  }
  absl::MutexLock lock(&mu_);
  KnownVersion& known = known_[tenant];
  // A Put or Delete through this store that returned meanwhile may have
  // landed after this read was served: then it proves nothing.
  if (known.local_writes == writes_before && (!known.sent.has_value() || sent > *known.sent)) {
    known.version = version;
    known.sent = sent;
  }
  return version;
}

std::optional<std::string> VoucherStore::VersionKnownWithin(absl::string_view tenant,
                                                            absl::Duration max_age) {
  absl::ReaderMutexLock lock(&mu_);  // On every default check: shared.
  auto it = known_.find(tenant);
  if (it == known_.end() || !it->second.sent.has_value() ||
      SteadyNow() - *it->second.sent > max_age) {
    return std::nullopt;
  }
  return it->second.version;
}

void VoucherStore::ForgetKnownVersion(absl::string_view tenant) {
  absl::MutexLock lock(&mu_);
  KnownVersion& known = known_[tenant];
  ++known.local_writes;
  known.sent.reset();
}

VoucherStore::Cached* VoucherStore::CacheAt(absl::string_view tenant,
                                            const std::string& version) {
  // Any other version replaces the entry, older ones included: a version can
  // go back (a failover to a replica that lost writes, a restore) and then be
  // reached again by different writes, so "older" proves nothing. Callers
  // holding different versions at once only cost each other cache misses.
  Cached& cached = cache_[tenant];
  if (cached.version != version) cached = Cached{version, nullptr, {}};
  return &cached;
}

absl::Status VoucherStore::Delete(absl::string_view tenant, absl::string_view voucher_id) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  if (absl::Status s = ValidateVoucherId(voucher_id, "voucher_id"); !s.ok()) return s;
  absl::StatusOr<RedisReply> reply = ErrorReplyAsStatus(
      client_->Eval(DeleteScript(), {HashKey(tenant), IdsKey(tenant), VersionKey(tenant)},
                    {std::string(voucher_id)}));
  ForgetKnownVersion(tenant);  // Whatever the outcome: a failed call may have landed.
  if (!reply.ok()) return reply.status();
  if (!reply->is_integer()) return Unexpected(*reply, "delete script");
  if (reply->integer() == 0) {
    return absl::NotFoundError(absl::StrCat("voucher_id: no target registered under \"",
                                            voucher_id, "\""));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> VoucherStore::IdsAfter(absl::string_view tenant,
                                                                absl::string_view after,
                                                                int limit) {
  const std::string from = after.empty() ? "-" : absl::StrCat("(", after);
  absl::StatusOr<RedisReply> reply = ErrorReplyAsStatus(client_->Command(
      {"ZRANGEBYLEX", IdsKey(tenant), from, "+", "LIMIT", "0", absl::StrCat(limit)}));
  if (!reply.ok()) return reply.status();
  if (!reply->is_array()) return Unexpected(*reply, "ZRANGEBYLEX");
  std::vector<std::string> ids;
  for (const RedisReply& id : reply->elements()) ids.push_back(id.str());
  return ids;
}

absl::StatusOr<std::vector<v1::VoucherTarget>> VoucherStore::ReadTargets(
    absl::string_view tenant, const std::vector<std::string>& ids) {
  std::vector<v1::VoucherTarget> targets;
  if (ids.empty()) return targets;
  std::vector<std::string> hmget = {"HMGET", HashKey(tenant)};
  hmget.insert(hmget.end(), ids.begin(), ids.end());
  absl::StatusOr<RedisReply> reply = ErrorReplyAsStatus(client_->Command(hmget));
  if (!reply.ok()) return reply.status();
  if (!reply->is_array() || reply->elements().size() != ids.size()) {
    return Unexpected(*reply, "HMGET");
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    const RedisReply& value = reply->elements()[i];
    if (value.is_nil()) continue;  // Deleted between the two commands.
    absl::StatusOr<v1::VoucherTarget> target = DecodeStoredTarget(value.str(), ids[i]);
    if (!target.ok()) return target.status();
    targets.push_back(*std::move(target));
  }
  return targets;
}

absl::StatusOr<VoucherPage> VoucherStore::List(absl::string_view tenant, int page_size,
                                               absl::string_view page_token) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  // A token is the last id listed after a fixed marker, so that one made up
  // (or a word that happens to be base64) is refused rather than read as a
  // place to start.
  constexpr absl::string_view kTokenMarker = "vt1:";
  std::string decoded;
  absl::string_view after;
  if (!page_token.empty()) {
    if (absl::WebSafeBase64Unescape(page_token, &decoded)) after = decoded;
    if (!absl::ConsumePrefix(&after, kTokenMarker) || after.empty() ||
        after.size() > kMaxVoucherIdBytes) {
      return FieldError("page_token", "not a token ListVoucherTargets returned");
    }
  }
  absl::StatusOr<std::vector<std::string>> ids = IdsAfter(tenant, after, page_size + 1);
  if (!ids.ok()) return ids.status();
  VoucherPage page;
  const bool more = static_cast<int>(ids->size()) > page_size;
  if (more) ids->resize(page_size);
  absl::StatusOr<std::vector<v1::VoucherTarget>> targets = ReadTargets(tenant, *ids);
  if (!targets.ok()) return targets.status();
  page.targets = *std::move(targets);
  if (more && !ids->empty()) {
    page.next_page_token = absl::WebSafeBase64Escape(absl::StrCat(kTokenMarker, ids->back()));
  }
  return page;
}

absl::StatusOr<std::shared_ptr<const std::vector<v1::VoucherTarget>>> VoucherStore::All(
    absl::string_view tenant) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  absl::StatusOr<std::string> v = CurrentVersion(tenant);
  if (!v.ok()) return v.status();
  {
    absl::MutexLock lock(&mu_);
    const Cached* cached = CacheAt(tenant, *v);
    if (cached != nullptr && cached->targets != nullptr) return cached->targets;
  }
  // Read the version again after the ids: if it moved meanwhile, the result is
  // still served (it is at least as new as `v`) but not cached under `v`.
  auto all = std::make_shared<std::vector<v1::VoucherTarget>>();
  std::string after;
  while (true) {
    absl::StatusOr<std::vector<std::string>> ids = IdsAfter(tenant, after, options_.read_page);
    if (!ids.ok()) return ids.status();
    absl::StatusOr<std::vector<v1::VoucherTarget>> targets = ReadTargets(tenant, *ids);
    if (!targets.ok()) return targets.status();
    for (v1::VoucherTarget& t : *targets) all->push_back(std::move(t));
    if (static_cast<int>(ids->size()) < options_.read_page) break;
    after = ids->back();
  }
  absl::StatusOr<std::string> again = CurrentVersion(tenant);
  if (!again.ok()) return again.status();
  if (*again == *v) {
    absl::MutexLock lock(&mu_);
    if (Cached* cached = CacheAt(tenant, *v); cached != nullptr) cached->targets = all;
  }
  return std::shared_ptr<const std::vector<v1::VoucherTarget>>(std::move(all));
}

}  // namespace segmentd::targeting
