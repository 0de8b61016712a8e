#include "server/auth/authenticator.h"

#include <gtest/gtest.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "server/auth/api_key.h"
#include "server/tenants/memory_tenant_store.h"

namespace segmentd {
namespace {

using v1::SCOPE_ADMIN;
using v1::SCOPE_OPERATOR;
using v1::SCOPE_READ;
using v1::SCOPE_WRITE;

// A store whose reads can be switched to fail, as Redis does when it is down.
class FlakyStore : public MemoryTenantStore {
 public:
  absl::StatusOr<ApiKeyRecord> GetApiKey(absl::string_view key_id) override {
    ++reads;
    if (down) return absl::UnavailableError("redis down");
    if (emptied) return absl::NotFoundError("no such API key");
    return MemoryTenantStore::GetApiKey(key_id);
  }
  bool down = false;
  bool emptied = false;  // as after a FLUSHALL
  int reads = 0;
};

class AuthenticatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(store_.CreateTenant({"acme", "Acme", absl::UnixEpoch()}).ok());
    ASSERT_TRUE(store_.CreateTenant({"globex", "Globex", absl::UnixEpoch()}).ok());
    operator_token_ = GenerateOperatorToken();
    Authenticator::Options options;
    options.operator_secret_hash = HashSecret(operator_token_.secret);
    options.now = [this] { return now_; };
    options.store_lost = [this] { return lost_; };
    options.confirm_store = [this] { return confirmed_; };
    auth_ = std::make_unique<Authenticator>(&store_, options);
  }

  // Creates a key of `tenant` with `scopes` and returns its "Bearer ..." header.
  std::string NewKey(const std::string& tenant, std::vector<v1::Scope> scopes) {
    ApiKeyToken token = GenerateApiKeyToken();
    ApiKeyRecord record{token.key_id, tenant, "test", std::move(scopes),
                        HashSecret(token.secret), now_, std::nullopt};
    EXPECT_TRUE(store_.CreateApiKey(record).ok());
    last_key_id_ = token.key_id;
    return absl::StrCat("Bearer ", FormatApiKeyToken(token));
  }

  FlakyStore store_;
  ApiKeyToken operator_token_;
  absl::Time now_ = absl::FromUnixSeconds(1'700'000'000);
  std::unique_ptr<Authenticator> auth_;
  std::string last_key_id_;
  absl::Status lost_;
  absl::Status confirmed_;
};

TEST_F(AuthenticatorTest, MissingCredentialIsUnauthenticated) {
  EXPECT_EQ(auth_->Authorize("", SCOPE_READ).status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(AuthenticatorTest, NonBearerIsUnauthenticated) {
  const std::string header = NewKey("acme", {SCOPE_READ});
  EXPECT_EQ(auth_->Authorize(header.substr(7), SCOPE_READ).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(auth_->Authorize("Basic abc", SCOPE_READ).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(auth_->Authorize("Bearer", SCOPE_READ).status().code(),
            absl::StatusCode::kUnauthenticated);
}

// RFC 7235: the scheme is case-insensitive.
TEST_F(AuthenticatorTest, TheSchemeIsCaseInsensitive) {
  const std::string header = NewKey("acme", {SCOPE_READ});
  for (const char* scheme : {"Bearer ", "bearer ", "BEARER ", "bEaReR "}) {
    EXPECT_TRUE(auth_->Authorize(absl::StrCat(scheme, header.substr(7)), SCOPE_READ).ok())
        << scheme;
  }
}

TEST_F(AuthenticatorTest, ValidKeyNamesItsTenant) {
  const std::string header = NewKey("acme", {SCOPE_READ});
  absl::StatusOr<Caller> caller = auth_->Authorize(header, SCOPE_READ);
  ASSERT_TRUE(caller.ok()) << caller.status();
  EXPECT_EQ(caller->tenant_id, "acme");
  EXPECT_EQ(caller->key_id, last_key_id_);
  EXPECT_FALSE(caller->is_operator);
}

TEST_F(AuthenticatorTest, UnknownKeyIsUnauthenticated) {
  const std::string header = absl::StrCat("Bearer ", FormatApiKeyToken(GenerateApiKeyToken()));
  EXPECT_EQ(auth_->Authorize(header, SCOPE_READ).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(AuthenticatorTest, WrongSecretIsUnauthenticated) {
  std::string header = NewKey("acme", {SCOPE_READ});
  header.back() = header.back() == 'a' ? 'b' : 'a';
  EXPECT_EQ(auth_->Authorize(header, SCOPE_READ).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(AuthenticatorTest, ScopesAreChecked) {
  const std::string reader = NewKey("acme", {SCOPE_READ});
  const std::string writer = NewKey("acme", {SCOPE_WRITE});
  const std::string admin = NewKey("acme", {SCOPE_ADMIN});
  EXPECT_TRUE(auth_->Authorize(reader, SCOPE_READ).ok());
  EXPECT_EQ(auth_->Authorize(reader, SCOPE_WRITE).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(auth_->Authorize(reader, SCOPE_ADMIN).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(auth_->Authorize(writer, SCOPE_READ).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(auth_->Authorize(writer, SCOPE_WRITE).ok());
  EXPECT_TRUE(auth_->Authorize(admin, SCOPE_READ).ok());
  EXPECT_TRUE(auth_->Authorize(admin, SCOPE_WRITE).ok());
  EXPECT_TRUE(auth_->Authorize(admin, SCOPE_ADMIN).ok());
  EXPECT_EQ(auth_->Authorize(admin, SCOPE_OPERATOR).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(AuthenticatorTest, UnspecifiedScopeFailsClosed) {
  const std::string admin = NewKey("acme", {SCOPE_ADMIN});
  EXPECT_EQ(auth_->Authorize(admin, v1::SCOPE_UNSPECIFIED).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(AuthenticatorTest, OperatorManagesButHoldsNoTenantData) {
  const std::string header = absl::StrCat("Bearer ", FormatApiKeyToken(operator_token_));
  absl::StatusOr<Caller> caller = auth_->Authorize(header, SCOPE_OPERATOR);
  ASSERT_TRUE(caller.ok()) << caller.status();
  EXPECT_TRUE(caller->is_operator);
  EXPECT_TRUE(caller->tenant_id.empty());
  EXPECT_TRUE(auth_->Authorize(header, SCOPE_ADMIN).ok());
  EXPECT_EQ(auth_->Authorize(header, SCOPE_READ).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(auth_->Authorize(header, SCOPE_WRITE).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(AuthenticatorTest, WrongOperatorSecretIsUnauthenticated) {
  const std::string header = absl::StrCat("Bearer ", FormatApiKeyToken(GenerateOperatorToken()));
  EXPECT_EQ(auth_->Authorize(header, SCOPE_OPERATOR).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(AuthenticatorTest, RevokedKeyStopsWorkingAfterForgetOrTtl) {
  const std::string header = NewKey("acme", {SCOPE_READ});
  const std::string key_id = last_key_id_;
  ASSERT_TRUE(auth_->Authorize(header, SCOPE_READ).ok());
  ASSERT_TRUE(store_.RevokeApiKey("acme", key_id, now_).ok());
  // Within the cache TTL the cached record still answers...
  EXPECT_TRUE(auth_->Authorize(header, SCOPE_READ).ok());
  // ...until the TTL passes,
  now_ += absl::Seconds(3);
  EXPECT_EQ(auth_->Authorize(header, SCOPE_READ).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(AuthenticatorTest, ForgetDropsTheCachedRecordAtOnce) {
  const std::string header = NewKey("acme", {SCOPE_READ});
  const std::string key_id = last_key_id_;
  ASSERT_TRUE(auth_->Authorize(header, SCOPE_READ).ok());
  ASSERT_TRUE(store_.RevokeApiKey("acme", key_id, now_).ok());
  auth_->Forget(key_id);
  EXPECT_EQ(auth_->Authorize(header, SCOPE_READ).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(AuthenticatorTest, CacheSparesTheStore) {
  const std::string header = NewKey("acme", {SCOPE_READ});
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(auth_->Authorize(header, SCOPE_READ).ok());
  EXPECT_EQ(store_.reads, 1);
}

// AuthorizeCached never reads the store: it answers from a record younger
// than the TTL, or what needs no record at all, and otherwise says so.
TEST_F(AuthenticatorTest, AuthorizeCachedAnswersOnlyWithoutAStoreRead) {
  const std::string header = NewKey("acme", {SCOPE_READ});
  EXPECT_FALSE(auth_->AuthorizeCached(header, SCOPE_READ).has_value());
  EXPECT_EQ(store_.reads, 0);
  ASSERT_TRUE(auth_->Authorize(header, SCOPE_READ).ok());
  std::optional<absl::StatusOr<Caller>> cached = auth_->AuthorizeCached(header, SCOPE_READ);
  ASSERT_TRUE(cached.has_value());
  ASSERT_TRUE(cached->ok()) << cached->status();
  EXPECT_EQ((*cached)->tenant_id, "acme");
  cached = auth_->AuthorizeCached(header, SCOPE_WRITE);
  ASSERT_TRUE(cached.has_value());
  EXPECT_EQ(cached->status().code(), absl::StatusCode::kPermissionDenied);
  cached = auth_->AuthorizeCached("Basic x", SCOPE_READ);  // refused before any record
  ASSERT_TRUE(cached.has_value());
  EXPECT_EQ(cached->status().code(), absl::StatusCode::kUnauthenticated);
  now_ += absl::Seconds(3);  // past the TTL
  EXPECT_FALSE(auth_->AuthorizeCached(header, SCOPE_READ).has_value());
  EXPECT_EQ(store_.reads, 1);
}

// Past the TTL, the first cached-only caller is told to re-read (and does,
// off its thread); the others meanwhile go on with the record it replaces,
// for at most one more TTL. Unknown key ids are cached too.
TEST_F(AuthenticatorTest, OneCallerReReadsAStaleKeyWhileTheOthersGoOn) {
  const std::string header = NewKey("acme", {SCOPE_READ});
  ASSERT_TRUE(auth_->Authorize(header, SCOPE_READ).ok());
  now_ += absl::Seconds(3);                                              // past the 2 s TTL
  EXPECT_FALSE(auth_->AuthorizeCached(header, SCOPE_READ).has_value());  // this one re-reads
  std::optional<absl::StatusOr<Caller>> meanwhile = auth_->AuthorizeCached(header, SCOPE_READ);
  ASSERT_TRUE(meanwhile.has_value());
  EXPECT_TRUE(meanwhile->ok());
  now_ += absl::Seconds(2);  // past twice the TTL: no longer
  EXPECT_FALSE(auth_->AuthorizeCached(header, SCOPE_READ).has_value());
  ASSERT_TRUE(auth_->Authorize(header, SCOPE_READ).ok());  // the re-read
  EXPECT_TRUE(auth_->AuthorizeCached(header, SCOPE_READ).has_value());
  EXPECT_EQ(store_.reads, 2);

  const std::string unknown =
      absl::StrCat("Bearer ", FormatApiKeyToken(GenerateApiKeyToken()));  // never stored
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(auth_->Authorize(unknown, SCOPE_READ).status().code(),
              absl::StatusCode::kUnauthenticated);
  }
  EXPECT_EQ(store_.reads, 3);  // one read for the unknown id
}

TEST_F(AuthenticatorTest, StoreDownIsUnavailableNotAGuess) {
  const std::string header = NewKey("acme", {SCOPE_READ});
  store_.down = true;
  EXPECT_EQ(auth_->Authorize(header, SCOPE_READ).status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(AuthenticatorTest, AStoreThatLostItsDataRefusesTenantKeysWithThatError) {
  const std::string header = NewKey("acme", {SCOPE_READ});
  ASSERT_TRUE(auth_->Authorize(header, SCOPE_READ).ok());  // now cached
  lost_ = absl::DataLossError("Redis no longer holds this segmentd's data");
  absl::StatusOr<Caller> caller = auth_->Authorize(header, SCOPE_READ);
  EXPECT_EQ(caller.status().code(), absl::StatusCode::kDataLoss) << caller.status();
  // Nor the operator: its calls read and write tenant records in the store.
  const std::string op = absl::StrCat("Bearer ", FormatApiKeyToken(operator_token_));
  EXPECT_EQ(auth_->Authorize(op, SCOPE_OPERATOR).status().code(), absl::StatusCode::kDataLoss);
  // A wrong operator secret is still just wrong.
  EXPECT_EQ(auth_->Authorize("Bearer " + FormatApiKeyToken(GenerateOperatorToken()), SCOPE_OPERATOR)
                .status()
                .code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(AuthenticatorTest, AKeyGoneWithTheStoresDataIsDataLossNotUnknown) {
  // The store emptied before its probe noticed: store_lost still OK, the key
  // reads as absent, and the confirmation says what happened.
  const std::string header = NewKey("acme", {SCOPE_READ});
  store_.emptied = true;
  confirmed_ = absl::DataLossError("Redis no longer holds this segmentd's data");
  absl::StatusOr<Caller> caller = auth_->Authorize(header, SCOPE_READ);
  EXPECT_EQ(caller.status().code(), absl::StatusCode::kDataLoss) << caller.status();
  // Not cached as unknown: once the store is confirmed intact, the absence
  // is believed (and then cached).
  confirmed_ = absl::OkStatus();
  EXPECT_EQ(auth_->Authorize(header, SCOPE_READ).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(ScopesAllowTest, Table) {
  EXPECT_FALSE(ScopesAllow({}, SCOPE_READ));
  EXPECT_TRUE(ScopesAllow({SCOPE_READ, SCOPE_WRITE}, SCOPE_WRITE));
  EXPECT_FALSE(ScopesAllow({SCOPE_WRITE}, SCOPE_ADMIN));
  EXPECT_FALSE(ScopesAllow({SCOPE_ADMIN}, SCOPE_OPERATOR));
}

}  // namespace
}  // namespace segmentd
