// Config mode: times UpdateConfig on a loaded tenant, end to end (the server
// returns once every customer's new membership is written), and the
// background work on next changes it leaves.
#ifndef SEGMENTD_TESTS_LOAD_CONFIG_MODE_H_
#define SEGMENTD_TESTS_LOAD_CONFIG_MODE_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "segmentd/v1/config.grpc.pb.h"
#include "tests/load/load_client.h"

namespace segmentd::load {

// For each of options.config_changes: reads the config, then changes the
// parameter by one (up, or down when already >= 10) and back again, timing
// each UpdateConfig and, after it, how long until no next change is left to
// the background. Prints both and one JSON line per update. An entry
// "preset:<NAME>" (e.g. preset:FAST_FOOD) applies that preset instead, then
// stores the replaced config again (one full UpdateConfig).
absl::Status RunConfig(const LoadOptions& options);

// One step of the whole-number rule parameter `path` ("<block>.<field>", as
// in --config_changes): its current value and the value one step away.
struct ConfigStep {
  std::string path;
  uint32_t from = 0;
  uint32_t to = 0;
};
absl::StatusOr<ConfigStep> NextConfigStep(v1::ConfigService::Stub& stub,
                                          const LoadOptions& options, const std::string& path);

// Applies `step` through UpdateConfig (update mask of its path) and reports
// the call's time; with `wait_for_schedule`, then waits until no next change
// is left to the background and reports that time too.
absl::Status ApplyConfigStep(v1::ConfigService::Stub& stub, const LoadOptions& options,
                             const ConfigStep& step, bool wait_for_schedule);

}  // namespace segmentd::load

#endif  // SEGMENTD_TESTS_LOAD_CONFIG_MODE_H_
