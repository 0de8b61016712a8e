#ifndef SEGMENTD_SERVER_AUTH_AUTHENTICATOR_H_
#define SEGMENTD_SERVER_AUTH_AUTHENTICATOR_H_

#include <functional>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "segmentd/v1/common.pb.h"
#include "server/tenants/tenant_store.h"

namespace segmentd {

// Why the operator credential is refused a call on tenant data.
inline constexpr char kOperatorHoldsNoTenantData[] =
    "the operator credential manages tenants and keys; use a tenant API key for tenant data";

// Who is calling, once authenticated.
struct Caller {
  // Empty for the operator, who belongs to no tenant.
  std::string tenant_id;
  std::string key_id;
  bool is_operator = false;
};

// Decides whether a request's `authorization` metadata may call a method that
// requires a scope. Thread-safe.
//
// Rules: no or malformed credential -> UNAUTHENTICATED; unknown key, wrong secret
// or revoked key -> UNAUTHENTICATED (one message for all, so a caller learns
// nothing about which keys exist); a valid key lacking the scope ->
// PERMISSION_DENIED; the key store unreachable -> UNAVAILABLE (never a guess);
// the key store known to have lost its data -> its error (Options::store_lost).
// SCOPE_ADMIN implies read and write. The operator passes SCOPE_OPERATOR and
// SCOPE_ADMIN checks (tenant-bound admin calls then check the tenant themselves)
// but holds no tenant, so tenant data calls (read/write) refuse it.
//
// Verified keys (and unknown key ids) are cached for `cache_ttl` to keep a
// store round trip off every call: a revocation made through another replica
// takes effect here within that time, or twice it while a re-read of the key
// is under way (AuthorizeCached's callers go on with the record it replaces
// meanwhile, one of them re-reading); Forget() makes it immediate on this
// replica.
class Authenticator {
 public:
  struct Options {
    // Hash (HashSecret) of the operator token's secret; empty: no operator.
    std::string operator_secret_hash;
    // How long a verified key record is trusted without re-reading the store.
    absl::Duration cache_ttl = absl::Seconds(2);
    // OK while the key store holds its data; otherwise its error (DATA_LOSS
    // once Redis lost segmentd's data, StoreProbe), which every tenant key
    // and the operator are refused with: such a store holds no key ("unknown
    // key" would send callers looking for a credential problem) and no
    // tenant. Default: always OK.
    std::function<absl::Status()> store_lost = [] { return absl::OkStatus(); };
    // Asked when the store says a key does not exist, before that is
    // believed: store_lost lags a loss by up to a probe interval, and a key
    // read from a store emptied meanwhile (a FLUSHALL) is "unknown" too. Its
    // DATA_LOSS is answered instead, and the absence is not cached (a
    // reviewer's open Watch ended UNAUTHENTICATED "API key is unknown" just
    // after a FLUSHALL, as if its key had been revoked). Default: OK.
    std::function<absl::Status()> confirm_store = [] { return absl::OkStatus(); };
    // The time source; tests inject a fake.
    std::function<absl::Time()> now = [] { return absl::Now(); };
  };

  // `store` must outlive the authenticator.
  Authenticator(TenantStore* store, Options options);

  // Authenticates `authorization` (the metadata value, e.g. "Bearer sd_..."; empty
  // when absent) and checks it holds `required`.
  absl::StatusOr<Caller> Authorize(absl::string_view authorization, v1::Scope required);

  // Authorize without a store read: nullopt when the answer needs one (the
  // key is not cached, or its record is older than `cache_ttl`). For gRPC's
  // callback threads, which must never wait on the store: a hung Redis would
  // hold them all, and every callback method (the health check among them)
  // with them.
  std::optional<absl::StatusOr<Caller>> AuthorizeCached(absl::string_view authorization,
                                                        v1::Scope required);

  // Drops any cached record of `key_id`.
  void Forget(absl::string_view key_id);

 private:
  struct CachedKey {
    ApiKeyRecord record;
    absl::Time fetched_at;
    bool found = true;        // false: the store has no such key
    bool refreshing = false;  // a caller is re-reading it (LookUp)
  };
  static constexpr size_t kMaxCachedKeys = 65536;

  // Authorize, reading the store only when `may_read` (else nullopt).
  std::optional<absl::StatusOr<Caller>> Authorize(absl::string_view authorization,
                                                  v1::Scope required, bool may_read);
  // The key's record: cached, or read when `may_read` (else nullopt).
  std::optional<absl::StatusOr<ApiKeyRecord>> LookUp(const std::string& key_id, bool may_read);

  TenantStore* const store_;
  const Options options_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, CachedKey> cache_ ABSL_GUARDED_BY(mu_);
};

// Returns true when a key holding `scopes` may call a method requiring `required`.
bool ScopesAllow(const std::vector<v1::Scope>& scopes, v1::Scope required);

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_AUTH_AUTHENTICATOR_H_
