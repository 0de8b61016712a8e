// segmentd: the customer segmentation service. See README.md.
#include <signal.h>
#include <sys/resource.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/internal/parse.h"
#include "absl/flags/internal/usage.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/log.h"
#include "server/segmentd_server.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "host:port to serve gRPC on (port 0: pick a free one and print it)");
ABSL_FLAG(std::string, redis, "127.0.0.1:6379",
          "Redis address: host:port, tcp://host:port, unix:/path or /path to a socket");
ABSL_FLAG(std::string, tls_cert, "", "PEM certificate chain for TLS (with --tls_key)");
ABSL_FLAG(std::string, tls_key, "", "PEM private key for TLS (with --tls_cert)");
ABSL_FLAG(std::string, operator_key_file, "segmentd-operator.key",
          "file with the operator credential (created with a new random key if missing)");
ABSL_FLAG(absl::Duration, drain_timeout, absl::Seconds(3),
          "on SIGTERM/SIGINT, how long in-flight calls may finish before being cancelled");
ABSL_FLAG(absl::Duration, shutdown_notice, absl::ZeroDuration(),
          "on SIGTERM/SIGINT, how long health says NOT_SERVING while calls are still served, "
          "before new ones are refused and --drain_timeout begins (e.g. 5s behind a load "
          "balancer that polls health)");
ABSL_FLAG(std::string, redis_password_file, "",
          "file holding the Redis password (requirepass, or the ACL user's), sent with AUTH on "
          "every connection; one line. Empty: no AUTH");
ABSL_FLAG(std::string, redis_user, "",
          "Redis ACL user name (Redis 6+), with --redis_password_file. Empty: the default user");
ABSL_FLAG(absl::Duration, redis_startup_timeout, absl::Seconds(10),
          "how long to wait for Redis at start-up");
ABSL_FLAG(int, max_threads, 256,
          "most threads serving sync calls (open Watch and bulk streams hold one each); calls "
          "beyond fail RESOURCE_EXHAUSTED instead of piling up (unary ingest and "
          "CheckEligibility hold no thread while they wait)");
ABSL_FLAG(int, max_watches_per_tenant, 16,
          "most Watch streams one tenant may have open at once (each holds a thread, see "
          "--max_threads); one more fails RESOURCE_EXHAUSTED");
ABSL_FLAG(int, max_watches, 0,
          "most Watch streams open on this replica, all tenants together (below --max_threads: "
          "each holds a thread); each gets a Redis connection of its own pool, so watches never "
          "wait for one nor take those CheckEligibility depends on; one more fails "
          "RESOURCE_EXHAUSTED. 0: 64, or fewer when --max_threads leaves fewer beside one "
          "tenant's streams and one thread for other calls");
ABSL_FLAG(int, max_bulk_streams_per_tenant, 8,
          "most BulkIngest streams one tenant may have open at once (each holds a thread, see "
          "--max_threads); one more fails RESOURCE_EXHAUSTED");
ABSL_FLAG(int, max_target_streams_per_tenant, 8,
          "most StreamTargets calls one tenant may have open at once (each holds a thread while "
          "it lasts, however slowly its client reads, see --max_threads); one more fails "
          "RESOURCE_EXHAUSTED");
ABSL_FLAG(int64_t, change_stream_cap, 1'000'000,
          "membership changes kept per tenant for Watch (older ones are dropped; a Watch "
          "resuming before the oldest kept fails OUT_OF_RANGE)");

ABSL_FLAG(std::string, metrics_listen, "",
          "host:port to serve Prometheus metrics on, at /metrics (plain HTTP, no auth: keep it "
          "on loopback or a scrape-only network; port 0: pick a free one and print it). Empty: "
          "not served");
ABSL_FLAG(absl::Duration, eligibility_max_staleness, absl::Milliseconds(250),
          "how old the membership behind a default CheckEligibility (CONSISTENCY_MINIMIZE_LATENCY) "
          "may be; the in-memory index normally trails Redis by about a millisecond, and a check "
          "it cannot answer within this bound waits for a fully consistent read instead. 0: "
          "every check is fully consistent");

namespace {

// The exit status while Abseil parses the command line, -1 otherwise.
// Abseil's parser reports an unknown flag or a malformed value and calls
// std::exit(1); segmentd's status for a flag no server can run with is 2
// (README, Exit status), so this turns that exit into 2.
std::atomic<int> parse_exit_status{-1};

void ExitAsParseFailure() {
  const int status = parse_exit_status.load();
  if (status < 0) return;
  std::fflush(nullptr);
  std::_Exit(status);
}

// Parses the flags; a usage error exits 2, --help and the like print and
// exit 0 (Abseil's own ParseCommandLine exits 1 for both).
std::vector<char*> ParseFlags(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "segmentd --listen=HOST:PORT --redis=ADDRESS [--tls_cert=... --tls_key=...]");
  // --help lists this file's flags (Abseil's default looks for a file named
  // after the program, and segmentd's live in main.cc).
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view file) {
    return absl::EndsWith(file, "server/main.cc");
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  absl::SetFlagsUsageConfig(usage);
  std::atexit(ExitAsParseFailure);
  parse_exit_status = 2;
  std::vector<char*> positional = absl::flags_internal::ParseCommandLineImpl(
      argc, argv, absl::flags_internal::ArgvListAction::kRemoveParsedArgs,
      absl::flags_internal::UsageFlagsAction::kIgnoreUsage,
      absl::flags_internal::OnUndefinedFlag::kAbortIfUndefined);
  parse_exit_status = -1;
  // --help=S, --helpon=S and --helpmatch=S matching no flag: Abseil prints
  // "No flags matched." and exits as for any help, but the word asked about
  // is a mistake (a misspelt flag name, say), a usage error as an unknown flag is.
  if (absl::flags_internal::GetFlagsHelpMode() == absl::flags_internal::HelpMode::kMatch) {
    const std::string substr = absl::flags_internal::GetFlagsHelpMatchSubstr();
    bool matched = substr.empty();
    for (const auto& [name, flag] : absl::GetAllFlags()) {
      // What Abseil's --helpmatch looks in (absl/flags/internal/usage.cc).
      matched = matched || absl::StrContains(flag->Name(), substr) ||
                absl::StrContains(flag->Filename(), substr) ||
                absl::StrContains(flag->Help(), substr);
    }
    if (!matched) {
      segmentd::LogError(absl::StrCat("no flag's name, file or help mentions \"", substr,
                                      "\" (--helpfull lists every flag)"));
      std::exit(2);
    }
  }
  if (absl::flags_internal::HandleUsageFlags(std::cout, absl::ProgramUsageMessage()) != -1) {
    std::cout.flush();
    std::exit(0);
  }
  return positional;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<char*> positional = ParseFlags(argc, argv);
  if (positional.size() > 1) {
    // Everything segmentd takes is a flag: a stray word is a mistake (a
    // misspelt "--flag value" pair, say) better said than ignored.
    segmentd::LogError(absl::StrCat("unexpected argument \"", positional[1],
                                    "\": segmentd takes flags only (--help lists them)"));
    return 2;
  }
  // Debian's Abseil is built without NDEBUG, which turns on mutex deadlock
  // detection: a lock-order graph updated on every acquisition, a few percent
  // of the hot paths' CPU (seen in perf). Tests keep it; the server drops it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  // Every loaded tenant's index tail holds a Redis connection, beside the
  // clients' sockets: lift the open-file limit to what the system allows (a
  // service manager's soft limit is often 1024), as servers commonly do.
  if (rlimit files; getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &files) != 0) {
      segmentd::LogError("could not raise the open-file limit to its hard limit");
    }
  }

  // Block the stop signals in every thread (gRPC's included, which inherit the
  // mask) so that only the sigwait below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  if (absl::GetFlag(FLAGS_shutdown_notice) < absl::ZeroDuration()) {
    segmentd::LogError(absl::StrCat("--shutdown_notice: must not be negative, got ",
                                    absl::FormatDuration(absl::GetFlag(FLAGS_shutdown_notice))));
    return 2;
  }
  if (absl::GetFlag(FLAGS_drain_timeout) < absl::ZeroDuration()) {
    segmentd::LogError(absl::StrCat("--drain_timeout: must not be negative, got ",
                                    absl::FormatDuration(absl::GetFlag(FLAGS_drain_timeout))));
    return 2;
  }
  segmentd::SegmentdServer::Options options;
  options.listen_address = absl::GetFlag(FLAGS_listen);
  absl::StatusOr<segmentd::store::redis::RedisAddress> redis =
      segmentd::store::redis::RedisAddress::Parse(absl::GetFlag(FLAGS_redis));
  if (!redis.ok()) {
    segmentd::LogError(absl::StrCat("--redis: ", redis.status().message()));
    return 2;
  }
  options.redis = *redis;
  options.tls_cert_file = absl::GetFlag(FLAGS_tls_cert);
  options.tls_key_file = absl::GetFlag(FLAGS_tls_key);
  options.operator_key_file = absl::GetFlag(FLAGS_operator_key_file);
  options.redis_startup_timeout = absl::GetFlag(FLAGS_redis_startup_timeout);
  options.redis_password_file = absl::GetFlag(FLAGS_redis_password_file);
  options.redis_username = absl::GetFlag(FLAGS_redis_user);
  options.change_stream_cap = absl::GetFlag(FLAGS_change_stream_cap);
  options.eligibility_max_staleness = absl::GetFlag(FLAGS_eligibility_max_staleness);
  options.max_threads = absl::GetFlag(FLAGS_max_threads);
  options.max_watches_per_tenant = absl::GetFlag(FLAGS_max_watches_per_tenant);
  options.max_watches = absl::GetFlag(FLAGS_max_watches);
  options.max_bulk_streams_per_tenant = absl::GetFlag(FLAGS_max_bulk_streams_per_tenant);
  options.max_target_streams_per_tenant = absl::GetFlag(FLAGS_max_target_streams_per_tenant);
  options.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);

  absl::StatusOr<std::unique_ptr<segmentd::SegmentdServer>> server =
      segmentd::SegmentdServer::Start(options);
  if (!server.ok()) {
    segmentd::LogError(absl::StrCat("cannot start: ", server.status().ToString()));
    // A flag no server can run with (segmentd's own validation, a file or
    // address a flag names that cannot be used) is a usage error, as those
    // refused above are; anything else (Redis unreachable, a port in use) is
    // a failure to start.
    return server.status().code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
  }
  // Before the gRPC line: whoever waits for that one finds this one too.
  if ((*server)->metrics_port() != 0) {
    segmentd::LogInfo(absl::StrCat("metrics on port ", (*server)->metrics_port(), " (/metrics)"));
  }
  // Scripts and tests wait for this line to learn the port.
  segmentd::LogInfo(absl::StrCat("segmentd listening on port ", (*server)->port(), " (",
                                 options.listen_address, ", ",
                                 options.tls_cert_file.empty() ? "plaintext" : "TLS", "; redis ",
                                 options.redis.ToString(), ")"));

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  segmentd::LogInfo(absl::StrCat("received signal ", signal_number, ": draining"));
  (*server)->Shutdown(absl::GetFlag(FLAGS_drain_timeout), absl::GetFlag(FLAGS_shutdown_notice));
  // The background threads end with the server (a membership-index tail
  // finishes its read of the stream first: up to 1 s for an idle tenant's),
  // so "stopped" is said once they have.
  server->reset();
  segmentd::LogInfo("stopped");
  return 0;
}
