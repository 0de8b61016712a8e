#ifndef SEGMENTD_SERVER_TARGETING_PUT_SEGMENTS_H_
#define SEGMENTD_SERVER_TARGETING_PUT_SEGMENTS_H_

#include <string>
#include <vector>

#include "store/customer_store.h"

namespace segmentd::targeting {

// Stores `segments` as the whole membership of customer `id` of `tenant`
// (reading its version first, so it works for new and stored customers),
// changed now. Membership index tests build their populations with it.
// Records a fatal gtest failure when the read or the write fails: call it
// under ASSERT_NO_FATAL_FAILURE where the test must stop there.
void PutSegments(store::CustomerStore& store, const std::string& tenant, const std::string& id,
                 std::vector<std::string> segments);

}  // namespace segmentd::targeting

#endif  // SEGMENTD_SERVER_TARGETING_PUT_SEGMENTS_H_
