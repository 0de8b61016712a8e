// SegmentdProcess: the real `segmentd` binary as a child process, for
// end-to-end tests over gRPC.
//
// Each instance owns one segmentd process started with
// `--listen=127.0.0.1:0 --redis=<address> --operator_key_file=<file>`, its
// stderr and stdout appended to a log file in a private temporary directory
// (under $TEST_TMPDIR when set). `Start()` waits, bounded, for the log line
// "listening on port N" and remembers N; `Restart()` starts the binary again on
// the same port with the same operator key file, so channels made before keep
// working once it is back. The destructor kills (SIGKILL) and reaps the child.
//
//   SegmentdProcess::Options options;
//   options.redis_address = redis->unix_address();
//   absl::StatusOr<std::unique_ptr<SegmentdProcess>> segmentd =
//       SegmentdProcess::Start(options);
//   std::shared_ptr<grpc::Channel> channel = (*segmentd)->NewChannel();
//   absl::StatusOr<TenantKeys> keys = CreateTenantWithKeys(
//       *channel, *(*segmentd)->OperatorToken(), "acme");
//   std::unique_ptr<grpc::ClientContext> context = NewContext(keys->write);
//
// The helpers below the class (contexts, tenants, keys, health) are free
// functions over a channel and are thread-safe. The class itself is not:
// drive one instance from one thread. The child is killed if the thread that
// started it exits (PR_SET_PDEATHSIG), so a crashed test leaves nothing behind.
#ifndef SEGMENTD_TESTING_SEGMENTD_PROCESS_H_
#define SEGMENTD_TESTING_SEGMENTD_PROCESS_H_

#include <grpcpp/grpcpp.h>
#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "segmentd/v1/common.pb.h"

namespace segmentd::testing {

class SegmentdProcess {
 public:
  struct Options {
    // The --redis flag, e.g. RedisServer::unix_address(). Required.
    std::string redis_address;
    // The segmentd executable. Default: empty, meaning the Bazel runfile
    // $TEST_SRCDIR/segmentd/server/segmentd (declare
    // `data = ["//server:segmentd"]` in the test).
    std::string binary;
    // The --operator_key_file flag. Default: empty, meaning "operator.key" in
    // the instance's temporary directory. Give two processes the same file to
    // share one operator token.
    std::string operator_key_file;
    // More flags passed as they are, e.g. "--drain_timeout=1s". Default: none.
    std::vector<std::string> extra_flags;
    // How long `Start()`/`Restart()` wait for "listening on port N".
    // Default: 30 s (a loaded 2-core machine can be slow).
    absl::Duration startup_timeout = absl::Seconds(30);
    // How long `Terminate()` waits for the exit after SIGTERM before it falls
    // back to SIGKILL. Default: 15 s (the server drains for 3 s by default).
    absl::Duration shutdown_timeout = absl::Seconds(15);
  };

  // Starts segmentd and waits until it logs its port. Returns NOT_FOUND when
  // the binary is missing, UNAVAILABLE when it exits or stays silent past
  // `startup_timeout` (the message includes the tail of its log).
  static absl::StatusOr<std::unique_ptr<SegmentdProcess>> Start(Options options);

  SegmentdProcess(const SegmentdProcess&) = delete;
  SegmentdProcess& operator=(const SegmentdProcess&) = delete;

  // Kills (SIGKILL) and reaps the child, then removes its directory.
  ~SegmentdProcess();

  // Returns the gRPC port on 127.0.0.1; stable across `Restart()`.
  int port() const { return port_; }
  // Returns "127.0.0.1:<port>".
  std::string address() const;
  // Returns the pid of the running child, or -1 when it is not running.
  pid_t pid() const { return pid_; }
  // Returns true while the child runs (started and not reaped).
  bool running() const { return pid_ > 0; }
  // Returns the path of the log file (every start appends to it).
  const std::string& log_path() const { return log_path_; }
  // Returns the whole log so far.
  std::string Log() const;
  // Returns the port /metrics is served on (with --metrics_listen in
  // `extra_flags`), read from the log; 0 when there is none.
  int MetricsPort() const;
  // Returns the operator token from the operator key file, trimmed.
  absl::StatusOr<std::string> OperatorToken() const;
  // Returns a new insecure channel to address().
  std::shared_ptr<grpc::Channel> NewChannel() const;

  // Sends SIGTERM and waits for the exit; after `shutdown_timeout` sends
  // SIGKILL and returns DEADLINE_EXCEEDED. Returns the exit code (128 + signal
  // number when a signal ended it). FAILED_PRECONDITION when not running.
  absl::StatusOr<int> Terminate();
  // Sends SIGKILL and reaps the child: a crash. OK when not running.
  absl::Status Kill();
  // Starts the binary again on the same port, operator key file and flags,
  // first killing it (SIGKILL) if it is still running, and waits for the port.
  absl::Status Restart();

 private:
  SegmentdProcess(Options options, std::string binary, std::string dir);

  // Forks and execs segmentd with --listen=127.0.0.1:<listen_port>, then polls
  // the log (from its current end) for the port line.
  absl::Status Launch(int listen_port);
  // Returns the last lines of the log, for error messages.
  std::string LogTail() const;

  const Options options_;
  const std::string binary_;
  const std::string dir_;  // Removed by the destructor.
  const std::string log_path_;
  const std::string operator_key_file_;
  pid_t pid_ = -1;
  int port_ = 0;
};

// Returns the Bazel runfile path of the segmentd binary.
std::string DefaultSegmentdBinary();

// Returns `status` as an absl::Status (same code and message).
absl::Status FromGrpc(const grpc::Status& status);

// Returns a client context carrying `authorization: Bearer <bearer>` (none when
// `bearer` is empty) and a deadline `timeout` from now.
std::unique_ptr<grpc::ClientContext> NewContext(const std::string& bearer,
                                                absl::Duration timeout = absl::Seconds(20));

// Creates tenant `tenant_id` with the operator token.
absl::Status CreateTenant(grpc::Channel& channel, const std::string& operator_token,
                          const std::string& tenant_id);

// Creates an API key of `tenant_id` with `scopes` (authorized by `bearer`: the
// operator token or an admin key of the tenant) and returns its secret.
absl::StatusOr<std::string> CreateApiKey(grpc::Channel& channel, const std::string& bearer,
                                         const std::string& tenant_id,
                                         const std::vector<v1::Scope>& scopes);

// CreateApiKey's key, with its id (what RevokeApiKey names).
struct CreatedKey {
  std::string key_id;
  std::string secret;
};
absl::StatusOr<CreatedKey> CreateApiKeyWithId(grpc::Channel& channel, const std::string& bearer,
                                              const std::string& tenant_id,
                                              const std::vector<v1::Scope>& scopes);

// Revokes key `key_id` of `tenant_id` (authorized by `bearer`, as above).
absl::Status RevokeApiKey(grpc::Channel& channel, const std::string& bearer,
                          const std::string& tenant_id, const std::string& key_id);

// The secrets of three keys of one tenant.
struct TenantKeys {
  std::string tenant_id;
  std::string admin;  // SCOPE_ADMIN (implies read and write)
  std::string write;  // SCOPE_WRITE only
  std::string read;   // SCOPE_READ only
};

// Creates `tenant_id` and one admin, one write and one read key.
absl::StatusOr<TenantKeys> CreateTenantWithKeys(grpc::Channel& channel,
                                                const std::string& operator_token,
                                                const std::string& tenant_id);

// The serving status of grpc.health.v1.Health/Check for `service` ("" for the
// server), as the enum number of HealthCheckResponse.ServingStatus:
// 1 SERVING, 2 NOT_SERVING. Returns the call's error when it fails.
inline constexpr int kServing = 1;
inline constexpr int kNotServing = 2;
absl::StatusOr<int> CheckHealth(grpc::Channel& channel, const std::string& service,
                                absl::Duration timeout = absl::Seconds(5));

// Returns `t` as a protobuf Timestamp, truncated to milliseconds (the
// precision segmentd keeps).
google::protobuf::Timestamp ToTimestamp(absl::Time t);
// Returns the instant of `ts`.
absl::Time FromTimestamp(const google::protobuf::Timestamp& ts);

// Polls `condition` every `interval` until it returns true or `timeout`
// passes; returns whether it became true. For readiness and eventual changes
// only, never to let time pass.
template <typename Condition>
bool PollUntil(Condition condition, absl::Duration timeout,
               absl::Duration interval = absl::Milliseconds(50)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    if (condition()) return true;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(interval);
  }
}

}  // namespace segmentd::testing

#endif  // SEGMENTD_TESTING_SEGMENTD_PROCESS_H_
