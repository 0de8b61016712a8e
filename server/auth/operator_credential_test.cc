#include "server/auth/operator_credential.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

namespace segmentd {
namespace {

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/" + name;
}

TEST(OperatorCredentialTest, CreatesOnceThenReadsTheSameToken) {
  const std::string path = TempPath("operator-create.key");
  std::remove(path.c_str());
  absl::StatusOr<ApiKeyToken> first = LoadOrCreateOperatorToken(path);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->key_id, kOperatorKeyId);
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  absl::StatusOr<ApiKeyToken> second = LoadOrCreateOperatorToken(path);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->secret, first->secret);
}

TEST(OperatorCredentialTest, RejectsAFileWithoutAnOperatorToken) {
  const std::string path = TempPath("operator-bad.key");
  std::ofstream(path) << "sd_0123456789abcdef_" << std::string(64, 'a') << "\n";
  EXPECT_EQ(LoadOrCreateOperatorToken(path).status().code(), absl::StatusCode::kInvalidArgument);
  std::ofstream(path) << "hello\n";
  EXPECT_EQ(LoadOrCreateOperatorToken(path).status().code(), absl::StatusCode::kInvalidArgument);
}

// Both name the flag and are usage errors (INVALID_ARGUMENT: segmentd exits 2).
TEST(OperatorCredentialTest, UnwritableDirectoryFails) {
  absl::StatusOr<ApiKeyToken> token = LoadOrCreateOperatorToken("/nonexistent-dir/operator.key");
  EXPECT_EQ(token.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(token.status().message().find("operator_key_file"), absl::string_view::npos)
      << token.status();
  EXPECT_EQ(LoadOrCreateOperatorToken("").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace segmentd
