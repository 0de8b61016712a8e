#include "server/grpc_status.h"

#include <gtest/gtest.h>

namespace segmentd {
namespace {

TEST(ToGrpcStatusTest, OkStaysOk) { EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok()); }

TEST(ToGrpcStatusTest, KeepsCodeAndMessage) {
  const std::pair<absl::Status, grpc::StatusCode> cases[] = {
      {absl::InvalidArgumentError("order.amount: must be >= 0"), grpc::INVALID_ARGUMENT},
      {absl::UnauthenticatedError("no key"), grpc::UNAUTHENTICATED},
      {absl::PermissionDeniedError("scope"), grpc::PERMISSION_DENIED},
      {absl::UnavailableError("redis"), grpc::UNAVAILABLE},
      {absl::NotFoundError("x"), grpc::NOT_FOUND},
      {absl::AbortedError("version"), grpc::ABORTED},
      {absl::UnimplementedError("later"), grpc::UNIMPLEMENTED},
  };
  for (const auto& [in, code] : cases) {
    grpc::Status out = ToGrpcStatus(in);
    EXPECT_EQ(out.error_code(), code) << in;
    EXPECT_EQ(out.error_message(), in.message());
  }
}

}  // namespace
}  // namespace segmentd
