// RedisServer: a real `redis-server` child process for tests.
//
// Each instance owns one redis-server process that listens on a Unix socket in a
// private temporary directory (under $TEST_TMPDIR when set, otherwise /tmp) and,
// optionally, on a TCP port on 127.0.0.1. The data directory survives `Stop()`,
// `Kill()` and `Restart()`, so tests can check what a Redis restart keeps: with
// `appendonly` on and `appendfsync_always`, every acknowledged write survives
// even `Kill()` (SIGKILL). The destructor kills and reaps the child and removes
// the directories.
//
//   RedisServer::Options options;
//   options.appendonly = true;
//   absl::StatusOr<std::unique_ptr<RedisServer>> redis = RedisServer::Start(options);
//   ... connect to (*redis)->socket_path() ...
//   (*redis)->Kill();     // Redis vanishes; clients see UNAVAILABLE.
//   (*redis)->Restart();  // Same socket, same data, answers PING again.
//
// Not thread-safe: drive one instance from one thread (the clients under test
// may of course use the server from any number of threads). On Linux the child
// is killed if the thread that started it exits (PR_SET_PDEATHSIG), so a
// crashed test never leaves a redis-server behind.
#ifndef SEGMENTD_TESTING_REDIS_SERVER_H_
#define SEGMENTD_TESTING_REDIS_SERVER_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace segmentd::testing {

class RedisServer {
 public:
  struct Options {
    // Turns on the append-only file (`appendonly yes`). Default: off, and RDB
    // snapshots are off too, so a restart starts from an empty database.
    bool appendonly = false;
    // With `appendonly`: `appendfsync always` when true (every acknowledged
    // write is on disk), `appendfsync everysec` when false. Default: always.
    bool appendfsync_always = true;
    // Also listens on 127.0.0.1 on a TCP port chosen by binding port 0 first
    // (see `tcp_port()`). Default: Unix socket only (`port 0`).
    bool tcp = false;
    // How long `Start()`/`Restart()` wait for the server to answer PING.
    // Default: 10 s (a loaded 2-core machine can be slow to fork and exec).
    absl::Duration startup_timeout = absl::Seconds(10);
    // How long `Stop()` waits for the process to exit after SIGTERM before it
    // falls back to SIGKILL. Default: 10 s.
    absl::Duration shutdown_timeout = absl::Seconds(10);
    // The redis-server executable: a path, or a name looked up on $PATH (and
    // in /usr/bin, /usr/local/bin). Default: "redis-server".
    std::string binary = "redis-server";
    // More redis-server arguments, appended last (e.g. {"--requirepass",
    // "secret"}). Start-up still waits for an answer to PING: a "NOAUTH"
    // error is an answer.
    std::vector<std::string> extra_args;
  };

  // Starts a redis-server and waits until it answers PING. Returns NOT_FOUND
  // when the binary is missing, UNAVAILABLE when it exits or does not answer
  // within `startup_timeout` (the message includes the tail of its log).
  static absl::StatusOr<std::unique_ptr<RedisServer>> Start(Options options);

  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // Kills (SIGKILL) and reaps the child, then removes its directories.
  ~RedisServer();

  // Returns the Unix socket path; stable across `Restart()`.
  const std::string& socket_path() const { return socket_path_; }
  // Returns "unix:" + socket_path(), the form store/redis addresses accept.
  std::string unix_address() const { return "unix:" + socket_path_; }
  // Returns the TCP port on 127.0.0.1, or 0 unless `Options::tcp` is set.
  // Stable across `Restart()`.
  int tcp_port() const { return tcp_port_; }
  // Returns the data directory (AOF, logs); stable across `Restart()`.
  const std::string& data_dir() const { return data_dir_; }
  // Returns the pid of the running child, or -1 when it is not running.
  pid_t pid() const { return pid_; }
  // Returns true while a child process is running (started and not reaped).
  bool running() const { return pid_ > 0; }

  // Sends SIGTERM (Redis flushes the AOF and exits cleanly) and waits for the
  // child; after `shutdown_timeout` sends SIGKILL. OK when not running.
  absl::Status Stop();
  // Sends SIGKILL and reaps the child: a crash, nothing flushed beyond what
  // `appendfsync` already wrote. OK when not running.
  absl::Status Kill();
  // Starts the server again on the same data directory, socket and TCP port,
  // first stopping it (SIGTERM) if it is running, and waits for PING.
  absl::Status Restart();

 private:
  RedisServer(Options options, std::string binary_path, std::string dir,
              std::string data_dir, std::string socket_dir,
              std::string socket_path, int tcp_port);

  // Forks and execs redis-server, then polls until it answers PING.
  absl::Status Launch();
  // Sends `signal` and waits up to `timeout` for the child to exit.
  // Returns true when it was reaped.
  bool SignalAndWait(int signal, absl::Duration timeout);
  // Returns the last lines of the server's log, for error messages.
  std::string LogTail() const;

  const Options options_;
  const std::string binary_path_;
  const std::string dir_;         // Removed by the destructor.
  const std::string data_dir_;    // Inside dir_.
  const std::string socket_dir_;  // dir_, or a short /tmp dir if dir_ is too long.
  const std::string socket_path_;
  const int tcp_port_;
  pid_t pid_ = -1;
};

}  // namespace segmentd::testing

#endif  // SEGMENTD_TESTING_REDIS_SERVER_H_
