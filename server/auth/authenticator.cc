#include "server/auth/authenticator.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "server/auth/api_key.h"

namespace segmentd {
namespace {

constexpr absl::string_view kBadKey = "API key is unknown, revoked or wrong";

}  // namespace

bool ScopesAllow(const std::vector<v1::Scope>& scopes, v1::Scope required) {
  if (required == v1::SCOPE_UNSPECIFIED || required == v1::SCOPE_OPERATOR) return false;
  for (v1::Scope held : scopes) {
    if (held == required) return true;
    if (held == v1::SCOPE_ADMIN && (required == v1::SCOPE_READ || required == v1::SCOPE_WRITE)) {
      return true;
    }
  }
  return false;
}

Authenticator::Authenticator(TenantStore* store, Options options)
    : store_(store), options_(std::move(options)) {}

absl::StatusOr<Caller> Authenticator::Authorize(absl::string_view authorization,
                                                v1::Scope required) {
  return *Authorize(authorization, required, /*may_read=*/true);
}

std::optional<absl::StatusOr<Caller>> Authenticator::AuthorizeCached(
    absl::string_view authorization, v1::Scope required) {
  return Authorize(authorization, required, /*may_read=*/false);
}

std::optional<absl::StatusOr<Caller>> Authenticator::Authorize(absl::string_view authorization,
                                                               v1::Scope required, bool may_read) {
  if (authorization.empty()) {
    return absl::UnauthenticatedError(
        "missing credentials: send metadata `authorization: Bearer <API key>`");
  }
  // The scheme is case-insensitive (RFC 7235, section 2.1).
  constexpr absl::string_view kScheme = "Bearer ";
  if (authorization.size() < kScheme.size() ||
      !absl::EqualsIgnoreCase(authorization.substr(0, kScheme.size()), kScheme)) {
    return absl::UnauthenticatedError("authorization metadata must be `Bearer <API key>`");
  }
  const absl::string_view token = authorization.substr(kScheme.size());
  absl::StatusOr<ApiKeyToken> parsed = ParseApiKeyToken(absl::StripAsciiWhitespace(token));
  if (!parsed.ok()) return parsed.status();

  if (parsed->key_id == kOperatorKeyId) {
    if (options_.operator_secret_hash.empty() ||
        !SecretMatchesHash(parsed->secret, options_.operator_secret_hash)) {
      return absl::UnauthenticatedError(kBadKey);
    }
    if (required != v1::SCOPE_OPERATOR && required != v1::SCOPE_ADMIN) {
      return absl::PermissionDeniedError(kOperatorHoldsNoTenantData);
    }
    // The operator's own credential is not in the store, but every call it
    // makes reads or writes tenant records there: an empty store would
    // answer "no tenants" and take new ones that vanish on a restore.
    if (absl::Status lost = options_.store_lost(); !lost.ok()) return lost;
    return Caller{"", parsed->key_id, /*is_operator=*/true};
  }

  if (absl::Status lost = options_.store_lost(); !lost.ok()) return lost;
  std::optional<absl::StatusOr<ApiKeyRecord>> looked_up = LookUp(parsed->key_id, may_read);
  if (!looked_up.has_value()) return std::nullopt;
  const absl::StatusOr<ApiKeyRecord>& record = *looked_up;
  if (absl::IsNotFound(record.status())) return absl::UnauthenticatedError(kBadKey);
  if (absl::IsDataLoss(record.status())) return record.status();
  if (!record.ok()) {
    return absl::UnavailableError(
        absl::StrCat("cannot verify the API key now: ", record.status().message()));
  }
  if (record->revoked_at.has_value() || !SecretMatchesHash(parsed->secret, record->secret_hash)) {
    return absl::UnauthenticatedError(kBadKey);
  }
  if (!ScopesAllow(record->scopes, required)) {
    return absl::PermissionDeniedError(absl::StrCat("API key ", record->key_id, " lacks scope ",
                                                    v1::Scope_Name(required)));
  }
  return Caller{record->tenant_id, record->key_id, /*is_operator=*/false};
}

std::optional<absl::StatusOr<ApiKeyRecord>> Authenticator::LookUp(const std::string& key_id,
                                                                  bool may_read) {
  const absl::Time now = options_.now();
  auto answer = [](const CachedKey& k) -> absl::StatusOr<ApiKeyRecord> {
    if (!k.found) return absl::NotFoundError("no such API key");
    return k.record;
  };
  {
    absl::ReaderMutexLock lock(&mu_);  // Every call takes this path: shared.
    auto it = cache_.find(key_id);
    if (it != cache_.end()) {
      const absl::Duration age = now - it->second.fetched_at;
      if (age < options_.cache_ttl) return answer(it->second);
      // One caller re-reads it; the others go on with the record it
      // replaces, for at most one more cache_ttl.
      if (!may_read && it->second.refreshing && age < 2 * options_.cache_ttl) {
        return answer(it->second);
      }
    }
  }
  if (!may_read) {
    // The caller reads it next (off this thread): mark the re-read begun.
    absl::MutexLock lock(&mu_);
    if (auto it = cache_.find(key_id); it != cache_.end()) it->second.refreshing = true;
    return std::nullopt;
  }
  absl::StatusOr<ApiKeyRecord> record = store_->GetApiKey(key_id);
  if (absl::IsNotFound(record.status())) {
    if (absl::Status store = options_.confirm_store(); absl::IsDataLoss(store)) {
      absl::MutexLock lock(&mu_);
      cache_.erase(key_id);  // as for any other error: nothing known about the key
      return store;
    }
  }
  absl::MutexLock lock(&mu_);
  if (record.ok() || absl::IsNotFound(record.status())) {
    // Unknown ids too (a key id is random: it cannot come to exist later),
    // so that calls with made-up keys cost no store read each; bounded.
    if (cache_.size() >= kMaxCachedKeys && !cache_.contains(key_id)) cache_.clear();
    CachedKey& cached = cache_[key_id];
    cached = CachedKey{record.ok() ? *record : ApiKeyRecord(), now};
    cached.found = record.ok();
  } else {
    cache_.erase(key_id);
  }
  return record;
}

void Authenticator::Forget(absl::string_view key_id) {
  absl::MutexLock lock(&mu_);
  cache_.erase(std::string(key_id));
}

}  // namespace segmentd
