// segmentd_load: load generator for the issue 4 benchmarks (bulk import,
// event-to-membership latency, config update) and the issue 5/6 ones
// (eligibility, target resolution, insights). See docs/benchmarks.md and
// scripts/bench.sh.
//
//   segmentd_load --mode=setup --operator_key_file=op.key --tenant=bench --key_file=bench.key
//   segmentd_load --mode=bulk --key_file=bench.key --customers=100000 --streams=4 --batch=1000
//   segmentd_load --mode=verify --key_file=bench.key --customers=100000
//   segmentd_load --mode=latency --key_file=bench.key --customers=100000 --rate=10000 --duration=10s
//   segmentd_load --mode=latency --key_file=bench.key --customers=100000 --rate=200
//       --background_rate=9800   # (one command) single-event latency under 10k events/s,
//                                # most of them streamed
//   segmentd_load --mode=latency --key_file=bench.key --event=activity --rate=200
//       --background_rate=9800 --background_streams=4
//       --background_event=order,activity,engagement,cart   # (one command) other kinds
//   segmentd_load --mode=config --key_file=bench.key --customers=100000
//   segmentd_load --mode=eligibility --key_file=bench.key --customers=100000 --callers=32 --duration=5s
//   segmentd_load --mode=targets --key_file=bench.key --customers=100000 --repetitions=20
//   segmentd_load --mode=insights --key_file=bench.key --customers=100000 --hot_rate=500
//   segmentd_load --mode=transitions --key_file=bench.key --transitions=1000 --duration=10s
// (eligibility, targets, insights: issues 5 and 6; --segmentd_pid / --redis_pid
// add those processes' CPU per phase.)
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "tests/load/bulk_mode.h"
#include "tests/load/config_mode.h"
#include "tests/load/eligibility_mode.h"
#include "tests/load/insights_mode.h"
#include "tests/load/latency_mode.h"
#include "tests/load/load_client.h"
#include "tests/load/setup_mode.h"
#include "tests/load/targets_mode.h"
#include "tests/load/transitions_mode.h"
#include "tests/load/verify_mode.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "segmentd host:port");
ABSL_FLAG(std::string, key_file, "", "file with an API key of the tenant (admin scope)");
ABSL_FLAG(std::string, mode, "bulk",
          "setup | bulk | verify | latency | config | eligibility | targets | insights | "
          "transitions");
ABSL_FLAG(int64_t, customers, 100000, "customers of the generated population");
ABSL_FLAG(int32_t, streams, 4, "bulk: parallel BulkIngest streams");
ABSL_FLAG(int32_t, batch, 1000, "bulk: events per request (<= 1000)");
ABSL_FLAG(int32_t, window, 2, "bulk: unacknowledged requests per stream");
ABSL_FLAG(int32_t, verify_sample, 1000,
          "bulk: customers compared with the engine after the import (0: none)");
ABSL_FLAG(double, rate, 10000, "latency: calls per second");
ABSL_FLAG(std::string, event, "order",
          "latency: order (PlaceOrder) | activity (RecordActivity) | engagement "
          "(RecordEngagement, a new message sent) | cart (UpdateCart)");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10), "latency: measured duration");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(1), "latency: unmeasured lead-in at the rate");
ABSL_FLAG(int32_t, threads, 2, "latency: client connections and completion threads");
ABSL_FLAG(int32_t, max_in_flight, 1000,
          "latency: calls in flight at which the server counts as saturated and the run stops");
ABSL_FLAG(int32_t, callers, 32, "eligibility: concurrent callers of the closed loop");
ABSL_FLAG(int32_t, rounds, 3, "eligibility: health/eligibility phase pairs");
ABSL_FLAG(int32_t, repetitions, 20, "targets: calls per timed count (streams: a quarter)");
ABSL_FLAG(double, background_rate, 0,
          "latency: events/s streamed through BulkIngest while the probes run (0: none)");
ABSL_FLAG(std::string, background_event, "order",
          "latency: the background streams' events: order | activity | engagement | cart, or a "
          "comma-separated list of them, given to the streams in turn");
ABSL_FLAG(int32_t, background_streams, 2, "latency: BulkIngest streams the background load uses");
ABSL_FLAG(int32_t, background_batch, 50, "latency: events per background BulkIngest request");
ABSL_FLAG(int32_t, background_window, 8,
          "latency: unacknowledged background requests before the stream waits");
ABSL_FLAG(double, hot_rate, 500,
          "insights: hot-path calls/s, half CheckEligibility and half PlaceOrder");
ABSL_FLAG(int32_t, transitions, 1000,
          "transitions: customers whose membership falls due by time, spread over --duration");
ABSL_FLAG(int32_t, segmentd_pid, 0, "eligibility/targets/insights: report its CPU per phase");
ABSL_FLAG(int32_t, redis_pid, 0, "eligibility/targets/insights: report its CPU per phase");
ABSL_FLAG(std::string, transitions_config_change, "",
          "transitions: a rule parameter (as in --config_changes) changed one step right before "
          "the customers are registered, without waiting for the next changes it leaves to the "
          "background, so that transitions fall due while they are recomputed; changed back after");
ABSL_FLAG(
    std::vector<std::string>, config_changes, {"frequent_buyer.min_orders"},
    "config: comma-separated rule parameters (<block>.<field>, e.g. "
    "loyal_customer.min_orders) each changed one step and back, or preset:<NAME> (e.g. "
    "preset:FAST_FOOD) applied and the replaced config stored back, or preview:<NAME>: "
    "PreviewConfig of a preset (or of the stored config: preview:STORED) timed, nothing stored");
ABSL_FLAG(uint64_t, seed, 1, "generator seed");
ABSL_FLAG(std::string, operator_key_file, "", "setup: the segmentd operator key file");
ABSL_FLAG(std::string, tenant, "bench", "setup: tenant to create");
ABSL_FLAG(int, extra_tenants, 0,
          "setup: also create this many tenants without customers (<tenant>-idle-<i>)");
ABSL_FLAG(int, loaded_tenants, 0,
          "setup: of the extra tenants, this many get a key and a query that loads their "
          "membership index");

namespace {

// Returns the first line of `path`, trimmed, or "" when unreadable.
std::string ReadKey(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return std::string(absl::StripAsciiWhitespace(line));
}

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "segmentd_load: %s\n", status.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("segmentd_load --mode=setup|bulk|verify|latency|config|eligibility|targets|insights|"
      "transitions ...");
  absl::ParseCommandLine(argc, argv);
  const std::string mode = absl::GetFlag(FLAGS_mode);

  segmentd::load::LoadOptions options;
  options.target = absl::GetFlag(FLAGS_target);
  if (mode == "setup") {
    const std::string token = ReadKey(absl::GetFlag(FLAGS_operator_key_file));
    if (token.empty()) return Fail(absl::InvalidArgumentError("--operator_key_file: empty"));
    if (absl::GetFlag(FLAGS_key_file).empty()) {
      return Fail(absl::InvalidArgumentError("--key_file: required"));
    }
    absl::Status s = segmentd::load::RunSetup(
        options.target, token, absl::GetFlag(FLAGS_tenant), absl::GetFlag(FLAGS_key_file),
        absl::GetFlag(FLAGS_extra_tenants), absl::GetFlag(FLAGS_loaded_tenants));
    return s.ok() ? 0 : Fail(s);
  }

  options.key = ReadKey(absl::GetFlag(FLAGS_key_file));
  if (options.key.empty()) return Fail(absl::InvalidArgumentError("--key_file: empty or unreadable"));
  options.customers = absl::GetFlag(FLAGS_customers);
  options.streams = absl::GetFlag(FLAGS_streams);
  options.batch = absl::GetFlag(FLAGS_batch);
  options.window = absl::GetFlag(FLAGS_window);
  options.verify_sample = absl::GetFlag(FLAGS_verify_sample);
  options.rate = absl::GetFlag(FLAGS_rate);
  options.event = absl::GetFlag(FLAGS_event);
  options.duration = absl::GetFlag(FLAGS_duration);
  options.warmup = absl::GetFlag(FLAGS_warmup);
  options.threads = absl::GetFlag(FLAGS_threads);
  options.max_in_flight = absl::GetFlag(FLAGS_max_in_flight);
  options.seed = absl::GetFlag(FLAGS_seed);
  options.callers = absl::GetFlag(FLAGS_callers);
  options.rounds = absl::GetFlag(FLAGS_rounds);
  options.repetitions = absl::GetFlag(FLAGS_repetitions);
  options.background_rate = absl::GetFlag(FLAGS_background_rate);
  options.background_event = absl::GetFlag(FLAGS_background_event);
  options.background_streams = absl::GetFlag(FLAGS_background_streams);
  options.background_batch = absl::GetFlag(FLAGS_background_batch);
  options.background_window = absl::GetFlag(FLAGS_background_window);
  options.hot_rate = absl::GetFlag(FLAGS_hot_rate);
  options.transitions = absl::GetFlag(FLAGS_transitions);
  options.config_changes = absl::GetFlag(FLAGS_config_changes);
  options.transitions_config_change = absl::GetFlag(FLAGS_transitions_config_change);
  options.segmentd_pid = absl::GetFlag(FLAGS_segmentd_pid);
  options.redis_pid = absl::GetFlag(FLAGS_redis_pid);

  absl::Status status;
  if (mode == "bulk") {
    status = segmentd::load::RunBulk(options);
    if (status.ok() && options.verify_sample > 0) {
      // The StatisticsMover publishes new cut-offs every 500 ms; give it a
      // few passes so the server's statistics cover the whole import.
      absl::SleepFor(absl::Seconds(2));
      status = segmentd::load::RunVerify(options);
    }
  } else if (mode == "verify") {
    status = segmentd::load::RunVerify(options);
  } else if (mode == "latency") {
    status = segmentd::load::RunLatency(options);
  } else if (mode == "config") {
    status = segmentd::load::RunConfig(options);
  } else if (mode == "eligibility") {
    status = segmentd::load::RunEligibility(options);
  } else if (mode == "targets") {
    status = segmentd::load::RunTargets(options);
  } else if (mode == "insights") {
    status = segmentd::load::RunInsights(options);
  } else if (mode == "transitions") {
    status = segmentd::load::RunTransitions(options);
  } else {
    status = absl::InvalidArgumentError(absl::StrCat("--mode: unknown mode ", mode));
  }
  return status.ok() ? 0 : Fail(status);
}
