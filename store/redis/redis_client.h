// RedisClient: a small pool of blocking hiredis connections to one Redis server.
//
// Every command is an argv vector of binary-safe strings sent with
// redisCommandArgv: user data is never formatted into a command string, so
// keys and values may hold NUL bytes, newlines, braces or any UTF-8.
//
//   RedisClient::Options options;
//   options.address = *RedisAddress::Parse("unix:/run/redis.sock");
//   absl::StatusOr<std::unique_ptr<RedisClient>> client = RedisClient::Create(options);
//   absl::StatusOr<RedisReply> reply = (*client)->Command({"HGET", key, field});
//
// Results. A call returns a non-OK status only when the exchange with Redis
// failed: UNAVAILABLE, with a message naming the address, for connection
// refused or broken, a timeout, or while reconnection is backing off. A Redis
// error reply ("-ERR ...", "-WRONGTYPE ...") is a successful call returning a
// RedisReply of type kError; callers decide what it means, or wrap the call in
// ErrorReplyAsStatus() (redis_reply.h) to map it to INTERNAL /
// FAILED_PRECONDITION / UNAVAILABLE / RESOURCE_EXHAUSTED.
//
// Connections. Up to `pool_size` connections are opened lazily and reused. An
// idle connection is checked (one non-blocking poll) before each use, so one
// the server closed while idle, e.g. across a Redis restart, is replaced
// without failing the call. A connection that fails during a call (I/O error,
// timeout, closed by the server) fails that call and is dropped;
// the next command dials a new one. Dials that fail back off exponentially
// (`initial_backoff` doubling up to `max_backoff`, with jitter): while backing
// off, commands that need a new connection fail fast with UNAVAILABLE instead
// of waiting. So after Redis restarts, the client recovers by itself within
// about one backoff period, without being recreated. A failed command is never
// retried: it may or may not have run (Eval's NOSCRIPT retry is the exception,
// as EVALSHA of an unknown script runs nothing).
//
// Thread-safe: any number of threads may call any method concurrently; each
// call holds one connection for its duration, and waits (at most
// `command_timeout`) for one when all are busy.
#ifndef SEGMENTD_STORE_REDIS_REDIS_CLIENT_H_
#define SEGMENTD_STORE_REDIS_REDIS_CLIENT_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "store/redis/redis_address.h"
#include "store/redis/redis_reply.h"
#include "store/redis/redis_script.h"

namespace segmentd::store::redis {

// One command: the command name and its arguments, each binary-safe.
using RedisCommand = std::vector<std::string>;

class RedisClient {
 public:
  struct Options {
    // Where Redis listens. Default: 127.0.0.1:6379.
    RedisAddress address;
    // Most connections open at once; also the most commands in flight.
    // Default: 4 (Redis runs commands one at a time anyway).
    int pool_size = 4;
    // Longest wait for a new connection to be established. Default: 1 s.
    // (Resolving a host name happens before and is not bounded by it; use an
    // IP address or a Unix socket where that matters.)
    absl::Duration connect_timeout = absl::Seconds(1);
    // Longest wait for one socket read or write of a command (redisSetTimeout),
    // and for a free connection when all are busy. Default: 2 s.
    absl::Duration command_timeout = absl::Seconds(2);
    // Wait after the first failed dial before dialing again. Default: 50 ms.
    absl::Duration initial_backoff = absl::Milliseconds(50);
    // Longest wait between dials, however many failed. Default: 2 s.
    absl::Duration max_backoff = absl::Seconds(2);
    // Growth of the wait after each further failed dial. Default: 2.
    double backoff_multiplier = 2.0;
    // Each wait is scaled by a random factor in [1 - jitter, 1 + jitter], so
    // replicas do not redial in lockstep. In [0, 1]. Default: 0.2.
    double backoff_jitter = 0.2;
    // Credentials sent with AUTH on every new connection, before anything
    // else: `password` alone (requirepass, or the default user), or
    // `username` and `password` (a Redis 6+ ACL user). Default: none (no
    // AUTH). A refused AUTH fails Create with FAILED_PRECONDITION (a
    // configuration error: retrying will not help), and later dials with
    // UNAVAILABLE, like any connection failure. Never logged.
    std::string username;
    std::string password;
  };

  // Validates `options` (INVALID_ARGUMENT naming the field) and opens one
  // connection; returns UNAVAILABLE naming the address if Redis is not
  // reachable. The caller decides whether to keep going without Redis.
  // The first call sets SIGPIPE to ignored when it is at its default (which
  // ends the process): a command Redis closes the connection under then
  // fails UNAVAILABLE instead.
  static absl::StatusOr<std::unique_ptr<RedisClient>> Create(Options options);

  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;
  ~RedisClient();

  // Sends one command, e.g. Command({"SET", key, value}), and returns its reply.
  absl::StatusOr<RedisReply> Command(absl::Span<const std::string> argv);

  // Sends all `commands` on one connection before reading any reply, and
  // returns one reply per command, in order. Not a transaction: other clients'
  // commands may interleave (wrap in MULTI/EXEC for atomicity). On UNAVAILABLE
  // any prefix of the commands may have run. An empty list returns {}.
  absl::StatusOr<std::vector<RedisReply>> Pipeline(
      absl::Span<const RedisCommand> commands);

  // What Transaction runs once its reads are answered and MULTI accepted:
  // given the replies of `reads`, in order, returns the commands to run
  // atomically, or none.
  using TransactionBody = absl::FunctionRef<absl::StatusOr<std::vector<RedisCommand>>(
      const std::vector<RedisReply>& read_replies)>;

  // An optimistic transaction on one connection: WATCH `watch`, then `reads`
  // and MULTI (one pipeline), then the commands `body` builds from the
  // reads' replies and EXEC (a second pipeline). Returns the replies of those
  // commands, in order (each may be an error reply: Redis runs the rest of a
  // transaction after a command fails, where a script would stop); nullopt
  // when a watched key was written by anyone else after WATCH, so EXEC ran
  // nothing; an empty list when `body` built none (then DISCARD). An error
  // status from `body` is returned as is (after DISCARD). Unlike Command, an
  // error reply to WATCH or MULTI, or one refusing to queue a command
  // (EXECABORT), is a status mapped by RedisErrorToStatus (NOPERM ->
  // FAILED_PRECONDITION, OOM -> RESOURCE_EXHAUSTED, READONLY -> UNAVAILABLE,
  // ...): nothing ran, and a connection Redis left watching or in MULTI is
  // closed rather than pooled. UNAVAILABLE as for Pipeline: the transaction
  // ran entirely or not at all. Why: a script's commands cost Redis more than
  // the same commands in a transaction (four of five kinds 1.6-1.9x in INFO
  // commandstats, plus the script's own Lua work), so writes that need only
  // a version check are cheaper this way.
  absl::StatusOr<std::optional<std::vector<RedisReply>>> Transaction(
      absl::Span<const std::string> watch, absl::Span<const RedisCommand> reads,
      TransactionBody body);

  // Runs `script` with EVALSHA; loads it with SCRIPT LOAD on first use, and
  // again (then retries once) when Redis answers NOSCRIPT, e.g. after a
  // restart or SCRIPT FLUSH. A script that fails to compile or raises an
  // error returns an error reply.
  absl::StatusOr<RedisReply> Eval(const RedisScript& script,
                                  absl::Span<const std::string> keys,
                                  absl::Span<const std::string> args);

  // Returns OK when Redis answers PING with PONG; UNAVAILABLE otherwise
  // (including error replies such as LOADING while Redis reads its AOF).
  absl::Status Ping();

  // Whether `status`, returned by this class, says Redis refused the
  // client's credentials (a refused AUTH; NOAUTH, WRONGPASS or NOPERM), as
  // opposed to Redis being unreachable or not ready: then the operator must
  // act. Such statuses are FAILED_PRECONDITION from Create and UNAVAILABLE
  // once serving, and carry a payload this reads.
  static bool CredentialsRefused(const absl::Status& status);

  // Returns the address this client talks to.
  const RedisAddress& address() const { return options_.address; }

 private:
  class Connection;  // One hiredis context; defined in redis_client.cc.

  explicit RedisClient(Options options);

  // Returns an idle connection, or a newly dialed one when fewer than
  // `pool_size` are open and backoff allows; waits for one to come back when
  // all are busy. Drops idle connections that the server closed.
  absl::StatusOr<std::unique_ptr<Connection>> Acquire() ABSL_LOCKS_EXCLUDED(mu_);
  // Returns `connection` to the pool, or closes it if it failed.
  void Release(std::unique_ptr<Connection> connection) ABSL_LOCKS_EXCLUDED(mu_);
  // Opens a connection with the configured timeouts.
  absl::StatusOr<std::unique_ptr<Connection>> Dial() const;
  // Sends `commands` on `connection` in chunks, appending one reply per
  // command to `replies`. A failure leaves the connection broken.
  static absl::Status RunPipelined(Connection& connection, absl::Span<const RedisCommand> commands,
                                   std::vector<RedisReply>& replies);
  // Loads `script` on `connection` and records its SHA1. Returns the SHA1 or
  // the error reply that SCRIPT LOAD returned.
  absl::StatusOr<RedisReply> LoadScript(Connection& connection,
                                        const RedisScript& script);

  bool ConnectionAvailable() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Unavailable(absl::string_view what) const;
  // "Redis at <address>: <what>", the form of every message of this client.
  std::string Described(absl::string_view what) const;

  const Options options_;

  absl::Mutex mu_;
  // Open connections no call is using, most recently used last.
  std::vector<std::unique_ptr<Connection>> idle_ ABSL_GUARDED_BY(mu_);
  // Connections held by calls, plus dials in progress.
  int in_use_ ABSL_GUARDED_BY(mu_) = 0;
  // No dial starts before this instant (InfinitePast when not backing off).
  absl::Time next_dial_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  // Wait after the next failed dial, before jitter.
  absl::Duration backoff_ ABSL_GUARDED_BY(mu_);
  // Why the last dial failed ("" after a successful one), told to calls that
  // find the client backing off: "AUTH refused" is worth more than "not
  // connected".
  std::string last_dial_error_ ABSL_GUARDED_BY(mu_);
  // Whether that error was a refusal of the credentials (CredentialsRefused).
  bool last_dial_refused_ ABSL_GUARDED_BY(mu_) = false;
  absl::BitGen bitgen_ ABSL_GUARDED_BY(mu_);
};

}  // namespace segmentd::store::redis

#endif  // SEGMENTD_STORE_REDIS_REDIS_CLIENT_H_
