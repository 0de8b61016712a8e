// Reading and writing SegmentConfig parameters by field path
// ("frequent_buyer.min_orders"), for `segctl config get|set|preview`.
#ifndef SEGMENTD_CLIENTS_SEGCTL_CONFIG_PATHS_H_
#define SEGMENTD_CLIENTS_SEGCTL_CONFIG_PATHS_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "segmentd/v1/config.pb.h"

namespace segmentd::segctl {

// Sets the parameter at `path` of `config` from text: booleans true/false,
// integers, decimals, strings as they are (valid UTF-8 only: protobuf cannot
// send anything else); `primary_priority` takes a comma-separated list.
// INVALID_ARGUMENT naming the path when it does not exist, names a message
// rather than a parameter, or the value does not parse; `config` is then
// unchanged.
absl::Status SetConfigPath(const std::string& path, const std::string& value,
                           v1::SegmentConfig* config);

// For a parameter that is one of several alternatives (a oneof, e.g.
// big_spender's threshold_amount and threshold_store_aov_multiple), the path
// of the group they form ("big_spender.threshold"); "" for any other path.
std::string AlternativesOf(const std::string& path);

// Returns every parameter set in `config` as (path, value text), in field order.
std::vector<std::pair<std::string, std::string>> FlattenConfig(const v1::SegmentConfig& config);

}  // namespace segmentd::segctl

#endif  // SEGMENTD_CLIENTS_SEGCTL_CONFIG_PATHS_H_
