#include "server/targeting/put_segments.h"

#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace segmentd::targeting {

void PutSegments(store::CustomerStore& store, const std::string& tenant, const std::string& id,
                 std::vector<std::string> segments) {
  absl::StatusOr<std::vector<store::CustomerState>> state = store.Read(tenant, {id});
  ASSERT_TRUE(state.ok()) << state.status();
  store::CustomerWrite w;
  w.customer_id = id;
  w.expected_version = (*state)[0].version;
  w.segments = std::move(segments);
  w.changed_at = absl::Now();
  absl::StatusOr<std::vector<bool>> done = store.Write(tenant, {w});
  ASSERT_TRUE(done.ok()) << done.status();
  ASSERT_TRUE((*done)[0]);
}

}  // namespace segmentd::targeting
