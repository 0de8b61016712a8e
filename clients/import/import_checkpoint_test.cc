#include "clients/import/import_checkpoint.h"

#include <cstdlib>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace segmentd::clients {
namespace {

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/" + name;
}

TEST(ImportCheckpointTest, RoundTrip) {
  const std::string path = TempPath("cp");
  ImportCheckpoint c;
  c.source = "/data/x.csv";
  c.source_bytes = 1234;
  c.mapping = "csv customer_id=1,placed_at=2:%Y-%m-%d %H:%M,amount=3";
  c.orders_acked = 5000;
  c.last_line = 5123;
  c.complete = true;
  ASSERT_TRUE(WriteCheckpoint(path, c).ok());
  absl::StatusOr<ImportCheckpoint> read = ReadCheckpoint(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(read->SameImport(c));
  EXPECT_EQ(read->orders_acked, 5000);
  EXPECT_EQ(read->last_line, 5123);
  EXPECT_TRUE(read->complete);
  ImportCheckpoint other = c;
  other.source_bytes = 1;
  EXPECT_FALSE(read->SameImport(other));
}

TEST(ImportCheckpointTest, MissingAndGarbage) {
  EXPECT_EQ(ReadCheckpoint(TempPath("none")).status().code(), absl::StatusCode::kNotFound);
  const std::string path = TempPath("garbage");
  std::ofstream(path) << "hello\n";
  EXPECT_EQ(ReadCheckpoint(path).status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace segmentd::clients
