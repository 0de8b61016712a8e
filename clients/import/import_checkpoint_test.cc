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
  c.destination = ImportDestination("127.0.0.1:50051", "sd_0123456789abcdef_secretpart");
  EXPECT_EQ(c.destination, "127.0.0.1:50051 key 0123456789abcdef");  // never the secret
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
  // Another tenant's key, or another server: not this import.
  other = c;
  other.destination = ImportDestination("127.0.0.1:50051", "sd_fedcba9876543210_x");
  EXPECT_FALSE(read->SameImport(other));
  other.destination = ImportDestination("10.0.0.1:50051", "sd_0123456789abcdef_secretpart");
  EXPECT_FALSE(read->SameImport(other));
}

// A record of a segctl that did not record the destination is read, but
// resumes nothing: it cannot say which tenant its orders went to.
TEST(ImportCheckpointTest, ARecordWithoutDestinationIsNoImportToResume) {
  const std::string path = TempPath("old");
  std::ofstream(path) << "segctl-import-checkpoint 1\nsource=x.csv\nsource_bytes=10\n"
                         "mapping=cdnow\norders_acked=5\nlast_line=6\ncomplete=0\n";
  absl::StatusOr<ImportCheckpoint> read = ReadCheckpoint(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->orders_acked, 5);
  ImportCheckpoint now = *read;
  now.destination = ImportDestination("127.0.0.1:50051", "sd_0123456789abcdef_s");
  EXPECT_FALSE(read->SameImport(now));
}

TEST(ImportCheckpointTest, MissingAndGarbage) {
  EXPECT_EQ(ReadCheckpoint(TempPath("none")).status().code(), absl::StatusCode::kNotFound);
  const std::string path = TempPath("garbage");
  std::ofstream(path) << "hello\n";
  EXPECT_EQ(ReadCheckpoint(path).status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace segmentd::clients
