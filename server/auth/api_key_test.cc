#include "server/auth/api_key.h"

#include <gtest/gtest.h>

#include "absl/container/flat_hash_set.h"

namespace segmentd {
namespace {

TEST(ApiKeyTest, FormatThenParseRoundTrips) {
  const ApiKeyToken token = GenerateApiKeyToken();
  EXPECT_EQ(token.key_id.size(), 16u);
  EXPECT_EQ(token.secret.size(), 64u);
  absl::StatusOr<ApiKeyToken> parsed = ParseApiKeyToken(FormatApiKeyToken(token));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->key_id, token.key_id);
  EXPECT_EQ(parsed->secret, token.secret);
}

TEST(ApiKeyTest, OperatorTokenParses) {
  const ApiKeyToken token = GenerateOperatorToken();
  absl::StatusOr<ApiKeyToken> parsed = ParseApiKeyToken(FormatApiKeyToken(token));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->key_id, kOperatorKeyId);
}

TEST(ApiKeyTest, GeneratedTokensAreDistinct) {
  absl::flat_hash_set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    EXPECT_TRUE(seen.insert(FormatApiKeyToken(GenerateApiKeyToken())).second);
  }
}

TEST(ApiKeyTest, MalformedTokensAreUnauthenticated) {
  const std::string good = FormatApiKeyToken(GenerateApiKeyToken());
  const std::string bad[] = {
      "",
      "Bearer x",
      good.substr(3),                       // no prefix
      good.substr(0, good.size() - 1),      // short secret
      good + "0",                           // long secret
      "sd_0123456789abcdef",                // no secret
      "sd_0123456789ABCDEF_" + std::string(64, 'a'),  // upper-case key id
      "sd_0123456789abcdef_" + std::string(64, 'g'),  // non-hex secret
      "sd_someone_" + std::string(64, 'a'),           // unknown key id form
  };
  for (const std::string& token : bad) {
    absl::StatusOr<ApiKeyToken> parsed = ParseApiKeyToken(token);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kUnauthenticated) << token;
  }
}

TEST(ApiKeyTest, ErrorNeverEchoesTheSecret) {
  const std::string token = "sd_0123456789abcdef_" + std::string(63, 'a');
  absl::StatusOr<ApiKeyToken> parsed = ParseApiKeyToken(token);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().message().find(std::string(63, 'a')), absl::string_view::npos);
}

TEST(ApiKeyTest, HashIsSha256) {
  // SHA-256("abc"), FIPS 180-2 appendix B.1.
  EXPECT_EQ(HashSecret("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(ApiKeyTest, SecretMatchesOnlyItsOwnHash) {
  const std::string hash = HashSecret("secret-one");
  EXPECT_TRUE(SecretMatchesHash("secret-one", hash));
  EXPECT_FALSE(SecretMatchesHash("secret-two", hash));
  EXPECT_FALSE(SecretMatchesHash("secret-one", hash.substr(1)));
  EXPECT_FALSE(SecretMatchesHash("secret-one", ""));
}

}  // namespace
}  // namespace segmentd
