#include "store/redis/redis_client.h"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/base/call_once.h"
#include "absl/cleanup/cleanup.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"

namespace segmentd::store::redis {

namespace {

// Marks a status as a refusal of the client's credentials.
constexpr absl::string_view kCredentialsRefused = "segmentd.redis/credentials-refused";

// Writing to a connection Redis has closed (CLIENT KILL, a restart, a request
// it refuses midway) raises SIGPIPE, whose default action ends the process,
// and hiredis writes with write(2), which cannot be told not to. So the first
// client makes the process ignore SIGPIPE, unless the program chose a
// disposition of its own: the write then fails with EPIPE, a broken
// connection like any other (segmentd was seen dying of it when Redis
// dropped its connections mid-command).
void IgnoreSigpipeUnlessHandled() {
  static absl::once_flag once;
  absl::call_once(once, [] {
    struct sigaction current = {};
    if (sigaction(SIGPIPE, nullptr, &current) == 0 && (current.sa_flags & SA_SIGINFO) == 0 &&
        current.sa_handler == SIG_DFL) {
      signal(SIGPIPE, SIG_IGN);
    }
  });
}

absl::Status WithCredentialsRefused(absl::Status status) {
  status.SetPayload(kCredentialsRefused, absl::Cord("1"));
  return status;
}

// Whether a Redis error reply refuses the client's credentials.
bool RefusesCredentials(absl::string_view error) {
  return absl::StartsWith(error, "NOAUTH") || absl::StartsWith(error, "WRONGPASS") ||
         absl::StartsWith(error, "NOPERM");
}

// Pipelines are written and read in chunks of this many commands, which
// bounds the memory of both the output buffer here and the replies Redis
// queues for us.
constexpr size_t kPipelineChunk = 1024;

RedisReply FromHiredis(const redisReply& reply) {
  switch (reply.type) {
    case REDIS_REPLY_NIL:
      return RedisReply::Nil();
    case REDIS_REPLY_INTEGER:
      return RedisReply::Integer(reply.integer);
    case REDIS_REPLY_STRING:
      return RedisReply::String(std::string(reply.str, reply.len));
    case REDIS_REPLY_STATUS:
      return RedisReply::Status(std::string(reply.str, reply.len));
    case REDIS_REPLY_ERROR:
      return RedisReply::Error(std::string(reply.str, reply.len));
    case REDIS_REPLY_ARRAY: {
      std::vector<RedisReply> elements;
      elements.reserve(reply.elements);
      for (size_t i = 0; i < reply.elements; ++i) {
        elements.push_back(FromHiredis(*reply.element[i]));
      }
      return RedisReply::Array(std::move(elements));
    }
  }
  return RedisReply::Error(absl::StrCat("unknown hiredis reply type ", reply.type));
}

absl::Status RejectEmpty(absl::Span<const RedisCommand> commands) {
  for (size_t i = 0; i < commands.size(); ++i) {
    if (commands[i].empty()) {
      return absl::InvalidArgumentError(absl::StrCat("empty Redis command at pipeline index ", i));
    }
  }
  return absl::OkStatus();
}

}  // namespace

// One blocking hiredis connection. Not thread-safe: used by one call at a time.
class RedisClient::Connection {
 public:
  Connection(redisContext* context, std::string address)
      : context_(context), address_(std::move(address)) {}
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() { redisFree(context_); }

  // Returns true once an I/O error happened; the connection is then unusable.
  bool broken() const { return context_->err != 0; }
  // Makes the pool drop this connection: its state on the server (an
  // unfinished MULTI, a WATCH) is not what the next caller expects.
  void MarkBroken() {
    if (context_->err == 0) context_->err = REDIS_ERR_OTHER;
  }

  // Returns true if the server closed this idle connection (or sent something
  // unasked): an idle RESP2 connection has nothing to read.
  bool ClosedByPeer() const {
    pollfd fd = {context_->fd, POLLIN, 0};
    return poll(&fd, 1, 0) != 0;
  }

  // Queues one command in the output buffer.
  absl::Status Append(absl::Span<const std::string> argv) {
    std::vector<const char*> args;
    std::vector<size_t> lengths;
    args.reserve(argv.size());
    lengths.reserve(argv.size());
    for (const std::string& arg : argv) {
      args.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    if (redisAppendCommandArgv(context_, static_cast<int>(argv.size()),
                               args.data(), lengths.data()) != REDIS_OK) {
      return IoError("cannot queue command");
    }
    return absl::OkStatus();
  }

  // Flushes the output buffer if needed and reads the next reply.
  absl::StatusOr<RedisReply> Read() {
    void* raw = nullptr;
    errno = 0;
    if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) {
      if (raw != nullptr) freeReplyObject(raw);
      return IoError("command failed");
    }
    RedisReply reply = FromHiredis(*static_cast<redisReply*>(raw));
    freeReplyObject(raw);
    return reply;
  }

  absl::StatusOr<RedisReply> Run(absl::Span<const std::string> argv) {
    if (absl::Status status = Append(argv); !status.ok()) return status;
    return Read();
  }

 private:
  absl::Status IoError(absl::string_view what) {
    const bool timed_out = context_->err == REDIS_ERR_IO &&
                           (errno == EAGAIN || errno == EWOULDBLOCK);
    // Mark the connection broken even when hiredis did not: after a failed
    // exchange its reply stream can no longer be trusted.
    MarkBroken();
    return absl::UnavailableError(absl::StrCat(
        "Redis at ", address_, ": ", what, timed_out ? " (timed out)" : "",
        ": ", context_->errstr[0] != '\0' ? context_->errstr : "unknown error"));
  }

  redisContext* const context_;
  const std::string address_;
};

absl::StatusOr<std::unique_ptr<RedisClient>> RedisClient::Create(Options options) {
  IgnoreSigpipeUnlessHandled();
  auto invalid = [](absl::string_view message) {
    return absl::InvalidArgumentError(
        absl::StrCat("RedisClient::Options: ", message));
  };
  const RedisAddress& address = options.address;
  if (address.is_unix() ? address.path().empty() : address.host().empty()) {
    return invalid(absl::StrCat("address \"", address.ToString(), "\" is empty"));
  }
  if (!address.is_unix() && (address.port() < 1 || address.port() > 65535)) {
    return invalid(absl::StrCat("address \"", address.ToString(),
                                "\" has a port outside 1..65535"));
  }
  if (options.pool_size < 1) return invalid("pool_size must be at least 1");
  if (!options.username.empty() && options.password.empty()) {
    return invalid("username needs a password");
  }
  if (options.connect_timeout <= absl::ZeroDuration()) {
    return invalid("connect_timeout must be positive");
  }
  if (options.command_timeout <= absl::ZeroDuration()) {
    return invalid("command_timeout must be positive");
  }
  if (options.initial_backoff < absl::ZeroDuration()) {
    return invalid("initial_backoff must not be negative");
  }
  if (options.max_backoff < options.initial_backoff) {
    return invalid("max_backoff must be at least initial_backoff");
  }
  if (!(options.backoff_multiplier >= 1.0)) {
    return invalid("backoff_multiplier must be at least 1");
  }
  if (!(options.backoff_jitter >= 0.0 && options.backoff_jitter <= 1.0)) {
    return invalid("backoff_jitter must be in [0, 1]");
  }

  std::unique_ptr<RedisClient> client(new RedisClient(std::move(options)));
  // Dialed directly, not through Acquire, so that a refused AUTH keeps its
  // FAILED_PRECONDITION.
  absl::StatusOr<std::unique_ptr<Connection>> connection = client->Dial();
  if (!connection.ok()) return connection.status();
  // A server that wants credentials we were not given answers NOAUTH to
  // everything: say so now rather than on every later command. Any other
  // error (LOADING while Redis reads its data after a restart, BUSY,
  // MASTERDOWN) is a server not ready yet: UNAVAILABLE, so callers retry.
  absl::StatusOr<RedisReply> pong = (*connection)->Run({"PING"});
  if (!pong.ok()) return pong.status();
  if (pong->is_error()) {
    const std::string& error = pong->str();
    const std::string message = client->Described(absl::StrCat("PING refused: ", error));
    if (RefusesCredentials(error)) {
      return WithCredentialsRefused(absl::FailedPreconditionError(message));
    }
    return absl::UnavailableError(message);
  }
  {
    absl::MutexLock lock(&client->mu_);
    client->idle_.push_back(*std::move(connection));
  }
  return client;
}

RedisClient::RedisClient(Options options)
    : options_(std::move(options)), backoff_(options_.initial_backoff) {}

RedisClient::~RedisClient() = default;

bool RedisClient::CredentialsRefused(const absl::Status& status) {
  return status.GetPayload(kCredentialsRefused).has_value();
}

std::string RedisClient::Described(absl::string_view what) const {
  return absl::StrCat("Redis at ", options_.address.ToString(), ": ", what);
}

absl::Status RedisClient::Unavailable(absl::string_view what) const {
  return absl::UnavailableError(Described(what));
}

bool RedisClient::ConnectionAvailable() const {
  return !idle_.empty() || in_use_ < options_.pool_size;
}

absl::StatusOr<std::unique_ptr<RedisClient::Connection>> RedisClient::Dial() const {
  const RedisAddress& address = options_.address;
  const timeval connect_timeout = absl::ToTimeval(options_.connect_timeout);
  redisContext* context =
      address.is_unix()
          ? redisConnectUnixWithTimeout(address.path().c_str(), connect_timeout)
          : redisConnectWithTimeout(address.host().c_str(), address.port(),
                                    connect_timeout);
  if (context == nullptr) return Unavailable("cannot allocate a connection");
  if (context->err != 0) {
    absl::Status status =
        Unavailable(absl::StrCat("cannot connect: ", context->errstr));
    redisFree(context);
    return status;
  }
  if (redisSetTimeout(context, absl::ToTimeval(options_.command_timeout)) !=
      REDIS_OK) {
    absl::Status status =
        Unavailable(absl::StrCat("cannot set timeout: ", context->errstr));
    redisFree(context);
    return status;
  }
  if (!address.is_unix()) redisEnableKeepAlive(context);
  auto connection = std::make_unique<Connection>(context, address.ToString());
  if (!options_.password.empty()) {
    std::vector<std::string> auth = {"AUTH"};
    if (!options_.username.empty()) auth.push_back(options_.username);
    auth.push_back(options_.password);
    absl::StatusOr<RedisReply> reply = connection->Run(auth);
    if (!reply.ok()) return reply.status();
    if (reply->is_error()) {
      // Redis's reply names no secret ("WRONGPASS invalid username-password
      // pair or user is disabled.").
      return WithCredentialsRefused(
          absl::FailedPreconditionError(Described(absl::StrCat("AUTH refused: ", reply->str()))));
    }
  }
  return connection;
}

absl::StatusOr<std::unique_ptr<RedisClient::Connection>> RedisClient::Acquire() {
  while (true) {
    std::unique_ptr<Connection> connection;
    {
      absl::MutexLock lock(&mu_);
      if (!mu_.AwaitWithTimeout(
              absl::Condition(this, &RedisClient::ConnectionAvailable),
              options_.command_timeout)) {
        return Unavailable(absl::StrCat(
            "all ", options_.pool_size, " connections busy for ",
            absl::FormatDuration(options_.command_timeout)));
      }
      if (!idle_.empty()) {
        connection = std::move(idle_.back());
        idle_.pop_back();
      } else {
        const absl::Time now = absl::Now();
        if (now < next_dial_) {
          absl::Status backing_off = Unavailable(absl::StrCat(
              "not connected (last attempt: ", last_dial_error_,
              "); backing off, next connection attempt in ",
              absl::FormatDuration(absl::Ceil(next_dial_ - now, absl::Milliseconds(1)))));
          return last_dial_refused_ ? WithCredentialsRefused(std::move(backing_off)) : backing_off;
        }
      }
      ++in_use_;
    }

    if (connection != nullptr) {
      if (!connection->ClosedByPeer()) return connection;
      // The server went away while the connection sat idle (e.g. Redis
      // restarted): drop it and try the next one, or dial.
      connection.reset();
      absl::MutexLock lock(&mu_);
      --in_use_;
      continue;
    }

    absl::StatusOr<std::unique_ptr<Connection>> dialed = Dial();
    absl::MutexLock lock(&mu_);
    if (dialed.ok()) {
      backoff_ = options_.initial_backoff;
      next_dial_ = absl::InfinitePast();
      last_dial_error_.clear();
      last_dial_refused_ = false;
      return dialed;
    }
    --in_use_;
    // Without the "Redis at <address>: " every message here starts with.
    last_dial_error_ = std::string(absl::StripPrefix(dialed.status().message(), Described("")));
    last_dial_refused_ = CredentialsRefused(dialed.status());
    const double jitter = options_.backoff_jitter;
    const double factor =
        jitter > 0 ? absl::Uniform(bitgen_, 1.0 - jitter, 1.0 + jitter) : 1.0;
    next_dial_ = absl::Now() + std::min(backoff_ * factor, options_.max_backoff);
    backoff_ = std::min(backoff_ * options_.backoff_multiplier,
                        options_.max_backoff);
    // A refused AUTH is a configuration error at start-up (Create); once
    // serving it is one more way Redis is unavailable.
    if (!absl::IsUnavailable(dialed.status())) {
      absl::Status unavailable = absl::UnavailableError(dialed.status().message());
      return last_dial_refused_ ? WithCredentialsRefused(std::move(unavailable)) : unavailable;
    }
    return dialed.status();
  }
}

void RedisClient::Release(std::unique_ptr<Connection> connection) {
  if (connection != nullptr && connection->broken()) connection.reset();
  absl::MutexLock lock(&mu_);
  --in_use_;
  if (connection != nullptr) idle_.push_back(std::move(connection));
}

absl::StatusOr<RedisReply> RedisClient::Command(
    absl::Span<const std::string> argv) {
  if (argv.empty()) return absl::InvalidArgumentError("empty Redis command");
  absl::StatusOr<std::unique_ptr<Connection>> connection = Acquire();
  if (!connection.ok()) return connection.status();
  absl::StatusOr<RedisReply> reply = (*connection)->Run(argv);
  Release(*std::move(connection));
  return reply;
}

absl::Status RedisClient::RunPipelined(Connection& connection,
                                       absl::Span<const RedisCommand> commands,
                                       std::vector<RedisReply>& replies) {
  replies.reserve(replies.size() + commands.size());
  for (size_t begin = 0; begin < commands.size(); begin += kPipelineChunk) {
    const size_t end = std::min(commands.size(), begin + kPipelineChunk);
    for (size_t i = begin; i < end; ++i) {
      if (absl::Status status = connection.Append(commands[i]); !status.ok()) return status;
    }
    for (size_t i = begin; i < end; ++i) {
      absl::StatusOr<RedisReply> reply = connection.Read();
      if (!reply.ok()) return reply.status();
      replies.push_back(*std::move(reply));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<RedisReply>> RedisClient::Pipeline(
    absl::Span<const RedisCommand> commands) {
  if (absl::Status s = RejectEmpty(commands); !s.ok()) return s;
  std::vector<RedisReply> replies;
  if (commands.empty()) return replies;
  absl::StatusOr<std::unique_ptr<Connection>> connection = Acquire();
  if (!connection.ok()) return connection.status();
  absl::Status status = RunPipelined(**connection, commands, replies);
  Release(*std::move(connection));
  if (!status.ok()) return status;
  return replies;
}

absl::StatusOr<std::optional<std::vector<RedisReply>>> RedisClient::Transaction(
    absl::Span<const std::string> watch, absl::Span<const RedisCommand> reads,
    TransactionBody body) {
  if (watch.empty()) return absl::InvalidArgumentError("Transaction: no key to watch");
  if (absl::Status s = RejectEmpty(reads); !s.ok()) return s;
  absl::StatusOr<std::unique_ptr<Connection>> connection = Acquire();
  if (!connection.ok()) return connection.status();
  // Every exit releases the connection; one whose exchange failed is dropped,
  // and Redis forgets a dropped connection's WATCH and MULTI state.
  absl::Cleanup release = [&] { Release(*std::move(connection)); };
  Connection& c = **connection;

  // MULTI ends the first pipeline, so the commands are sent only once Redis
  // has accepted it: after a refused MULTI (an ACL without it, say) they
  // would run one by one.
  RedisCommand watch_command = {"WATCH"};
  watch_command.insert(watch_command.end(), watch.begin(), watch.end());
  std::vector<RedisCommand> first = {std::move(watch_command)};
  first.insert(first.end(), reads.begin(), reads.end());
  first.push_back({"MULTI"});
  std::vector<RedisReply> replies;
  if (absl::Status s = RunPipelined(c, first, replies); !s.ok()) return s;
  // WATCH and MULTI fail only as any command would (NOAUTH, NOPERM, ...).
  // Either way the connection is left watching or in MULTI: drop it.
  for (const RedisReply* reply : {&replies.front(), &replies.back()}) {
    if (absl::Status s = RedisErrorToStatus(*reply); !s.ok()) {
      c.MarkBroken();
      return s;
    }
  }
  replies.erase(replies.begin());
  replies.pop_back();
  absl::StatusOr<std::vector<RedisCommand>> commands = body(replies);
  const absl::Status built = commands.ok() ? RejectEmpty(*commands) : commands.status();
  if (!built.ok() || commands->empty()) {
    // Nothing to run: DISCARD leaves MULTI and forgets the watched keys
    // before the connection is reused.
    absl::StatusOr<RedisReply> discarded = c.Run({std::string("DISCARD")});
    if (discarded.ok() && !discarded->is_status()) c.MarkBroken();  // still in MULTI
    if (!built.ok()) return built;
    if (!discarded.ok()) return discarded.status();
    if (absl::Status s = RedisErrorToStatus(*discarded); !s.ok()) return s;
    return std::vector<RedisReply>();
  }
  commands->push_back({"EXEC"});
  std::vector<RedisReply> queued;
  if (absl::Status s = RunPipelined(c, *commands, queued); !s.ok()) return s;
  RedisReply& exec = queued.back();
  if (exec.is_nil()) return std::nullopt;  // a watched key changed: nothing ran
  if (!exec.is_array() || exec.elements().size() != commands->size() - 1) {
    // EXECABORT: Redis refused to queue a command, and names why (OOM,
    // READONLY, an unknown command, ...); that reason sets the code. (Or
    // EXEC itself was refused, NOPERM, and the connection is still in MULTI.)
    c.MarkBroken();
    for (const RedisReply& reply : queued) {
      if (reply.is_error()) return RedisErrorToStatus(reply);
    }
    return absl::InternalError(Described(absl::StrCat("EXEC answered ", exec.DebugString())));
  }
  return std::move(exec.mutable_elements());
}

absl::StatusOr<RedisReply> RedisClient::LoadScript(Connection& connection,
                                                   const RedisScript& script) {
  absl::StatusOr<RedisReply> reply =
      connection.Run({std::string("SCRIPT"), std::string("LOAD"), script.source()});
  if (reply.ok() && reply->is_string()) script.set_sha1(reply->str());
  return reply;
}

absl::StatusOr<RedisReply> RedisClient::Eval(const RedisScript& script,
                                             absl::Span<const std::string> keys,
                                             absl::Span<const std::string> args) {
  absl::StatusOr<std::unique_ptr<Connection>> connection = Acquire();
  if (!connection.ok()) return connection.status();

  // Runs EVALSHA with the cached digest, loading the script first if needed.
  // Returns the reply of EVALSHA, or of SCRIPT LOAD when loading failed.
  auto eval_once = [&](bool force_load) -> absl::StatusOr<RedisReply> {
    std::string sha1 = force_load ? "" : script.sha1();
    if (sha1.empty()) {
      absl::StatusOr<RedisReply> loaded = LoadScript(**connection, script);
      if (!loaded.ok() || !loaded->is_string()) return loaded;
      sha1 = loaded->str();
    }
    RedisCommand argv;
    argv.reserve(3 + keys.size() + args.size());
    argv.push_back("EVALSHA");
    argv.push_back(std::move(sha1));
    argv.push_back(absl::StrCat(keys.size()));
    argv.insert(argv.end(), keys.begin(), keys.end());
    argv.insert(argv.end(), args.begin(), args.end());
    return (*connection)->Run(argv);
  };

  absl::StatusOr<RedisReply> reply = eval_once(/*force_load=*/false);
  if (reply.ok() && reply->IsErrorWithPrefix("NOSCRIPT")) {
    // Redis lost its script cache (restart, SCRIPT FLUSH): EVALSHA ran
    // nothing, so loading again and retrying once is safe.
    reply = eval_once(/*force_load=*/true);
  }
  Release(*std::move(connection));
  return reply;
}

absl::Status RedisClient::Ping() {
  absl::StatusOr<RedisReply> reply = Command({std::string("PING")});
  if (!reply.ok()) return reply.status();
  if (reply->is_status() && reply->str() == "PONG") return absl::OkStatus();
  absl::Status refused = Unavailable(absl::StrCat("PING answered ", reply->DebugString()));
  if (reply->is_error() && RefusesCredentials(reply->str())) {
    return WithCredentialsRefused(std::move(refused));
  }
  return refused;
}

}  // namespace segmentd::store::redis
