#ifndef SEGMENTD_SERVER_CONFIG_CONVERT_H_
#define SEGMENTD_SERVER_CONFIG_CONVERT_H_

// Conversion between the API's segmentd.v1.SegmentConfig and the engine's
// engine::SegmentConfig. Absent optional parameters take the engine defaults;
// the stored form is always complete (every parameter set).

#include "absl/status/statusor.h"
#include "engine/config.h"
#include "segmentd/v1/config.pb.h"

namespace segmentd {

// Returns the engine config for `proto` (absent fields: defaults), validated.
// Errors are INVALID_ARGUMENT listing every offending field as
// "<field_prefix><path>: <problem>", e.g. "config.vip.top_percent: ...".
absl::StatusOr<engine::SegmentConfig> ConfigFromProto(const v1::SegmentConfig& proto,
                                                      absl::string_view field_prefix);

// Returns the complete proto form of `config` (every field set).
v1::SegmentConfig ConfigToProto(const engine::SegmentConfig& config);

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_CONFIG_CONVERT_H_
