// End-to-end tests of segmentd's start-up and of its Redis credentials: on a
// start-up failure the real binary exits with status 2 (a flag no server can
// run with) or 1 (anything else) and a message naming what is wrong, never a crash and never a
// server half up; credentials refused later, and a key file others can read, are logged.
#include <hiredis/hiredis.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/redis_server.h"
#include "testing/segmentd_process.h"

namespace segmentd {
namespace {

using ::segmentd::testing::CheckHealth;
using ::segmentd::testing::CreateTenant;
using ::segmentd::testing::kNotServing;
using ::segmentd::testing::kServing;
using ::segmentd::testing::PollUntil;
using ::segmentd::testing::RedisServer;
using ::segmentd::testing::SegmentdProcess;
using ::testing::HasSubstr;
using ::testing::Not;

struct Reply {
  bool error = false;
  std::string text;  // a string, status or error reply's text, else ""
};

// Runs `commands` in order on a connection of their own to the Redis at
// `socket` (as its operator would); stops at the first that gets no reply.
std::vector<Reply> RunCommands(const std::string& socket,
                               const std::vector<std::string>& commands) {
  std::vector<Reply> replies;
  redisContext* c = redisConnectUnix(socket.c_str());
  for (const std::string& command : commands) {
    if (c == nullptr || c->err != 0) break;
    auto* reply = static_cast<redisReply*>(redisCommand(c, command.c_str()));
    if (reply == nullptr) break;
    replies.push_back({reply->type == REDIS_REPLY_ERROR,
                       reply->str != nullptr ? std::string(reply->str, reply->len) : ""});
    freeReplyObject(reply);
  }
  if (c != nullptr) redisFree(c);
  return replies;
}

// Starts segmentd on `redis_address` with `flags`; returns Start's error
// message ("" when it came up).
std::string StartError(const std::string& redis_address, std::vector<std::string> flags) {
  SegmentdProcess::Options options;
  options.redis_address = redis_address;
  options.extra_flags = std::move(flags);
  absl::StatusOr<std::unique_ptr<SegmentdProcess>> segmentd = SegmentdProcess::Start(options);
  return segmentd.ok() ? "" : std::string(segmentd.status().message());
}

// Whether segmentd's overall health reads `want` within `timeout`, each
// check given `each` to answer.
bool HealthBecomes(grpc::Channel& channel, int want, absl::Duration timeout,
                   absl::Duration each = absl::Seconds(5)) {
  return PollUntil(
      [&] {
        absl::StatusOr<int> health = CheckHealth(channel, "", each);
        return health.ok() && *health == want;
      },
      timeout);
}

TEST(StartupE2eTest, UnreachableRedisIsAnErrorNamingRedis) {
  const std::string error =
      StartError("unix:/nonexistent/redis.sock", {"--redis_startup_timeout=500ms"});
  EXPECT_THAT(error, HasSubstr("exited during start-up with status 1"));
  EXPECT_THAT(error, HasSubstr("cannot start"));
  EXPECT_THAT(error, HasSubstr("/nonexistent/redis.sock"));
}

class StartupWithRedisTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<RedisServer>> redis = RedisServer::Start({});
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
  }
  std::unique_ptr<RedisServer> redis_;
};

TEST_F(StartupWithRedisTest, AnUnusableMetricsAddressIsAnErrorNamingTheFlag) {
  // Usage errors (exit status 2), as the same values are for --listen.
  for (const char* address : {"no-port-here", "127.0.0.1:99999", "127.0.0.1:80x", "127.0.0.1:"}) {
    const std::string error =
        StartError(redis_->unix_address(), {absl::StrCat("--metrics_listen=", address)});
    EXPECT_THAT(error, HasSubstr("exited during start-up with status 2")) << address;
    EXPECT_THAT(error, HasSubstr("--metrics_listen: expected host:port")) << address;
  }
}

// An operator key file that cannot be created or holds no operator token is
// a usage error naming the flag (exit status 2), as the TLS files are.
TEST_F(StartupWithRedisTest, AnUnusableOperatorKeyFileIsAUsageErrorNamingTheFlag) {
  const std::string junk = absl::StrCat(::testing::TempDir(), "/junk-operator.key");
  std::ofstream(junk) << "not a token\n";
  for (const std::string& path : {junk, std::string("/nonexistent-dir/operator.key")}) {
    const std::string error =
        StartError(redis_->unix_address(), {absl::StrCat("--operator_key_file=", path)});
    EXPECT_THAT(error, HasSubstr("exited during start-up with status 2")) << path;
    EXPECT_THAT(error, HasSubstr("operator_key_file")) << path;
  }
}

TEST_F(StartupWithRedisTest, AMetricsPortInUseIsAnErrorNamingTheFlag) {
  SegmentdProcess::Options options;
  options.redis_address = redis_->unix_address();
  options.extra_flags = {"--metrics_listen=127.0.0.1:0"};
  absl::StatusOr<std::unique_ptr<SegmentdProcess>> first = SegmentdProcess::Start(options);
  ASSERT_TRUE(first.ok()) << first.status();
  const int port = (*first)->MetricsPort();
  ASSERT_NE(port, 0) << (*first)->Log();
  const std::string error =
      StartError(redis_->unix_address(), {absl::StrCat("--metrics_listen=127.0.0.1:", port)});
  EXPECT_THAT(error, HasSubstr("exited during start-up with status 1"));
  EXPECT_THAT(error, HasSubstr("--metrics_listen"));
}

// A second segmentd told to use a running one's port fails to start: it must
// not share the port with it (the kernel would spread callers over both).
TEST_F(StartupWithRedisTest, AGrpcPortInUseIsAnErrorNamingTheFlag) {
  SegmentdProcess::Options options;
  options.redis_address = redis_->unix_address();
  absl::StatusOr<std::unique_ptr<SegmentdProcess>> first = SegmentdProcess::Start(options);
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string error =
      StartError(redis_->unix_address(), {absl::StrCat("--listen=127.0.0.1:", (*first)->port())});
  EXPECT_THAT(error, HasSubstr("exited during start-up with status 1"));
  EXPECT_THAT(error, HasSubstr("listen: cannot listen on 127.0.0.1:"));
  absl::StatusOr<int> health = CheckHealth(*(*first)->NewChannel(), "");
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(*health, kServing);
}

TEST_F(StartupWithRedisTest, FlagValuesNoServerCanRunWithAreErrorsNamingTheFlag) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--listen=127.0.0.1", "listen: expected HOST:PORT"},
      {"--listen=127.0.0.1:99999", "listen: expected HOST:PORT"},
      {"--listen=127.0.0.1:80x", "listen: expected HOST:PORT"},
      {"--max_threads=3", "max_threads: must be >= 8, got 3"},
      {"--max_threads=-5", "max_threads: must be >= 8, got -5"},
      {"--change_stream_cap=0", "change_stream_cap: must be >= 1, got 0"},
      {"--eligibility_max_staleness=-5s", "eligibility_max_staleness: must not be negative"},
      {"--redis_startup_timeout=-1s", "redis_startup_timeout: must not be negative"},
      {"--drain_timeout=-1s", "--drain_timeout: must not be negative"},
      {"--shutdown_notice=-1s", "--shutdown_notice: must not be negative"},
      {"--max_bulk_streams_per_tenant=0", "max_bulk_streams_per_tenant: must be >= 1, got 0"},
      {"--max_target_streams_per_tenant=0", "max_target_streams_per_tenant: must be >= 1, got 0"},
      {"--max_watches=-1",
       "max_watches: must be in [1, max_threads - 1] (255), or 0 for the default, got -1"},
      {"--max_watches=256",
       "max_watches: must be in [1, max_threads - 1] (255), or 0 for the default, got 256"},
      {"--max_threads=32", "max_threads: 32 threads, but one tenant may hold 32 streams open"},
      {"--max_threads=33", "raise --max_threads to at least 34"},
      // Refused by Abseil's parser, which exits 1 itself (a reviewer's
      // finding: a supervisor retrying on 1 would retry a typo forever).
      {"--no_such_flag", "Unknown command line flag 'no_such_flag'"},
      {"--max_threads=abc", "Illegal value 'abc' specified for flag 'max_threads'"},
  };
  for (const auto& [flag, message] : cases) {
    const std::string error = StartError(redis_->unix_address(), {flag});
    // A usage error, whichever check refused it (main's or the server's).
    EXPECT_THAT(error, HasSubstr("exited during start-up with status 2")) << flag;
    EXPECT_THAT(error, HasSubstr(message)) << flag;
  }
  // Both listeners on one address: a usage error, not "in use by another
  // process?" after a wait (an ops reviewer's finding).
  const std::string same = StartError(
      redis_->unix_address(), {"--listen=127.0.0.1:52987", "--metrics_listen=127.0.0.1:52987"});
  EXPECT_THAT(same, HasSubstr("exited during start-up with status 2"));
  EXPECT_THAT(same, HasSubstr("metrics_listen: 127.0.0.1:52987 is --listen's address too"));
}

// A Redis turned into a replica (a failover demoted it) refuses every write:
// health says NOT_SERVING while it is one, and SERVING once it is a primary
// again.
TEST_F(StartupWithRedisTest, HealthIsNotServingWhileRedisIsAReplica) {
  SegmentdProcess::Options options;
  options.redis_address = redis_->unix_address();
  absl::StatusOr<std::unique_ptr<SegmentdProcess>> segmentd = SegmentdProcess::Start(options);
  ASSERT_TRUE(segmentd.ok()) << segmentd.status();
  std::shared_ptr<grpc::Channel> channel = (*segmentd)->NewChannel();
  auto health_is = [&](int want) { return HealthBecomes(*channel, want, absl::Seconds(10)); };
  ASSERT_TRUE(health_is(kServing));
  // A primary nobody runs: Redis stays a replica, never syncing.
  ASSERT_EQ(RunCommands(redis_->socket_path(), {"REPLICAOF 127.0.0.1 1"}).size(), 1u);
  EXPECT_TRUE(health_is(kNotServing)) << (*segmentd)->Log();
  EXPECT_THAT((*segmentd)->Log(), HasSubstr("Redis is a replica (ROLE: slave)"));
  ASSERT_EQ(RunCommands(redis_->socket_path(), {"REPLICAOF NO ONE"}).size(), 1u);
  EXPECT_TRUE(health_is(kServing)) << (*segmentd)->Log();
}

// On SIGTERM with --shutdown_notice, health says NOT_SERVING while calls are
// still answered (a prober can read it), then the server stops.
TEST_F(StartupWithRedisTest, AShutdownNoticeKeepsAnsweringNotServingBeforeStopping) {
  SegmentdProcess::Options options;
  options.redis_address = redis_->unix_address();
  options.extra_flags = {"--shutdown_notice=3s"};
  absl::StatusOr<std::unique_ptr<SegmentdProcess>> segmentd = SegmentdProcess::Start(options);
  ASSERT_TRUE(segmentd.ok()) << segmentd.status();
  std::shared_ptr<grpc::Channel> channel = (*segmentd)->NewChannel();
  ASSERT_TRUE(HealthBecomes(*channel, kServing, absl::Seconds(10)));
  ASSERT_EQ(::kill((*segmentd)->pid(), SIGTERM), 0);
  EXPECT_TRUE(HealthBecomes(*channel, kNotServing, absl::Seconds(2), absl::Milliseconds(500)))
      << (*segmentd)->Log();
  // Still answered well into the notice (without one the server stops
  // within the health probe's 500 ms interval).
  absl::SleepFor(absl::Seconds(1));
  absl::StatusOr<int> later = CheckHealth(*channel, "", absl::Milliseconds(500));
  ASSERT_TRUE(later.ok()) << later.status();
  EXPECT_EQ(*later, kNotServing);
  absl::StatusOr<int> exit_status = (*segmentd)->Terminate();
  ASSERT_TRUE(exit_status.ok()) << exit_status.status();
  EXPECT_EQ(*exit_status, 0);
}

TEST_F(StartupWithRedisTest, AnOperatorKeyFileOthersCanReadIsReported) {
  const std::string key_file = absl::StrCat(::testing::TempDir(), "/operator-open.key");
  SegmentdProcess::Options options;
  options.redis_address = redis_->unix_address();
  options.operator_key_file = key_file;
  absl::StatusOr<std::unique_ptr<SegmentdProcess>> segmentd = SegmentdProcess::Start(options);
  ASSERT_TRUE(segmentd.ok()) << segmentd.status();
  // Created owner-only: nothing to report.
  EXPECT_THAT((*segmentd)->Log(), Not(HasSubstr("readable by other users")));
  ASSERT_EQ(chmod(key_file.c_str(), 0644), 0);
  ASSERT_TRUE((*segmentd)->Restart().ok());
  EXPECT_THAT((*segmentd)->Log(), HasSubstr("is readable by other users (mode 0644)"));
}

// A Redis that requires a password: segmentd reads it from
// --redis_password_file and authenticates every connection; without it, or
// with the wrong one, start-up fails at once naming the refusal, never the
// secret.
class StartupWithPasswordTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RedisServer::Options options;
    options.extra_args = {"--requirepass", "r3dis-pw"};
    absl::StatusOr<std::unique_ptr<RedisServer>> redis = RedisServer::Start(options);
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
  }

  // Writes `text` to a file in the test's directory and returns its path.
  static std::string WriteFile(const std::string& name, const std::string& text) {
    const std::string path = absl::StrCat(::testing::TempDir(), "/", name);
    std::ofstream(path) << text;
    return path;
  }

  // Starts segmentd with the right password in --redis_password_file.
  absl::StatusOr<std::unique_ptr<SegmentdProcess>> StartWithThePassword() {
    SegmentdProcess::Options options;
    options.redis_address = redis_->unix_address();
    options.extra_flags = {
        absl::StrCat("--redis_password_file=", WriteFile("redis.pw", "r3dis-pw\n"))};
    return SegmentdProcess::Start(options);
  }

  // Runs `commands` on the fixture's Redis (RunCommands).
  std::vector<Reply> RunCommands(const std::vector<std::string>& commands) {
    return ::segmentd::RunCommands(redis_->socket_path(), commands);
  }

  // CLIENT LIST of the fixture's Redis, authenticated with `password`.
  std::string ClientList(const std::string& password) {
    const std::vector<Reply> list = RunCommands({"AUTH " + password, "CLIENT LIST"});
    return list.size() == 2 ? list[1].text : "(no answer)";
  }

  std::unique_ptr<RedisServer> redis_;
};

TEST_F(StartupWithPasswordTest, ThePasswordFileLetsSegmentdServe) {
  absl::StatusOr<std::unique_ptr<SegmentdProcess>> segmentd = StartWithThePassword();
  ASSERT_TRUE(segmentd.ok()) << segmentd.status();
  std::shared_ptr<grpc::Channel> channel = (*segmentd)->NewChannel();
  // Health follows the authenticated Redis probe; a tenant is written to Redis.
  EXPECT_TRUE(HealthBecomes(*channel, kServing, absl::Seconds(10)));
  absl::StatusOr<std::string> operator_token = (*segmentd)->OperatorToken();
  ASSERT_TRUE(operator_token.ok()) << operator_token.status();
  const absl::Status created = CreateTenant(*channel, *operator_token, "acme");
  EXPECT_TRUE(created.ok()) << created;
}

// "running", or how the child `pid` ended (reaping it: for a failure's report).
std::string ProcessState(pid_t pid) {
  int status = 0;
  const pid_t reaped = waitpid(pid, &status, WNOHANG);
  if (reaped == 0) return "running";
  if (reaped != pid) return "unknown (waitpid failed)";
  if (WIFSIGNALED(status)) return absl::StrCat("killed by signal ", WTERMSIG(status));
  return absl::StrCat("exited with status ", WEXITSTATUS(status));
}

TEST_F(StartupWithPasswordTest, APasswordChangedWhileServingIsLoggedAsRefused) {
  absl::StatusOr<std::unique_ptr<SegmentdProcess>> segmentd = StartWithThePassword();
  ASSERT_TRUE(segmentd.ok()) << segmentd.status();
  // The operator changes the password and drops every connection.
  const std::vector<std::string> commands = {"AUTH r3dis-pw", "CONFIG SET requirepass n3w-pw",
                                             "CLIENT KILL TYPE normal"};
  const std::vector<Reply> replies = RunCommands(commands);
  ASSERT_EQ(replies.size(), commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    EXPECT_FALSE(replies[i].error) << commands[i] << ": " << replies[i].text;
  }
  std::shared_ptr<grpc::Channel> channel = (*segmentd)->NewChannel();
  std::string last_health;
  const bool refused = PollUntil(
      [&] {
        absl::StatusOr<int> health = CheckHealth(*channel, "");
        last_health = health.ok() ? absl::StrCat(*health) : health.status().ToString();
        return health.ok() && *health != kServing &&
               (*segmentd)->Log().find("Redis refuses segmentd's credentials") != std::string::npos;
      },
      absl::Seconds(10));
  // When this failed (segmentd silent for 10 s: it had died of SIGPIPE,
  // writing to a killed connection; fixed in RedisClient), the report below
  // said so. Redis's clients say which connection, if any, outlived the kill.
  EXPECT_TRUE(refused) << "last health: " << last_health
                       << "\nsegmentd: " << ProcessState((*segmentd)->pid())
                       << "\nsegmentd's log:\n"
                       << (*segmentd)->Log() << "\nRedis's clients:\n"
                       << ClientList("n3w-pw");
  EXPECT_THAT((*segmentd)->Log(), Not(HasSubstr("r3dis-pw")));
}

TEST_F(StartupWithPasswordTest, MissingOrWrongPasswordIsAnErrorWithoutTheSecret) {
  std::string error = StartError(redis_->unix_address(), {});
  EXPECT_THAT(error, HasSubstr("exited during start-up with status 1"));
  EXPECT_THAT(error, HasSubstr("NOAUTH"));
  error = StartError(redis_->unix_address(),
                     {absl::StrCat("--redis_password_file=", WriteFile("wrong.pw", "guess-me"))});
  EXPECT_THAT(error, HasSubstr("exited during start-up with status 1"));
  EXPECT_THAT(error, HasSubstr("AUTH refused"));
  EXPECT_THAT(error, Not(HasSubstr("guess-me")));
  error = StartError(redis_->unix_address(), {"--redis_password_file=/nonexistent/pw"});
  EXPECT_THAT(error, HasSubstr("redis_password_file"));
}

// --help lists segmentd's flags and exits 0 (it printed "No flags matched"
// and exited 1); --helpmatch=WORD lists those mentioning WORD, and exits 2
// when none does.
TEST_F(StartupWithRedisTest, HelpListsTheFlagsAndExitsZero) {
  const std::string error = StartError(redis_->unix_address(), {"--help"});
  EXPECT_THAT(error, HasSubstr("exited during start-up with status 0"));
  EXPECT_THAT(error, HasSubstr("--tls_key (PEM private key"));  // the last flag listed
  EXPECT_THAT(error, Not(HasSubstr("No flags matched")));
  // Help on a word no flag mentions is a usage error, not a help that
  // listed nothing and exited 0.
  for (const std::string flag : {"--helpmatch=nomatch", "--help=nomatch", "--helpon=nomatch"}) {
    const std::string refused = StartError(redis_->unix_address(), {flag});
    EXPECT_THAT(refused, HasSubstr("exited during start-up with status 2")) << flag;
    EXPECT_THAT(refused, HasSubstr("no flag's name, file or help mentions")) << flag;
    EXPECT_THAT(refused, Not(HasSubstr("No flags matched"))) << flag;
  }
  // One that some flag mentions lists it.
  const std::string matched = StartError(redis_->unix_address(), {"--helpmatch=tls_key"});
  EXPECT_THAT(matched, HasSubstr("exited during start-up with status 0"));
  EXPECT_THAT(matched, HasSubstr("--tls_key (PEM private key"));
}

TEST_F(StartupWithRedisTest, AStrayArgumentOrAnUnusableCertificateIsNamed) {
  // Flags only: a stray word was ignored (a reviewer's finding).
  std::string error = StartError(redis_->unix_address(), {"extra_word"});
  EXPECT_THAT(error, HasSubstr("unexpected argument \"extra_word\""));
  // gRPC's own failure read as a port in use (a reviewer's finding).
  const std::string dir = ::testing::TempDir();
  const std::string junk = absl::StrCat(dir, "/junk.pem");
  std::ofstream(junk) << "not a certificate\n";
  error = StartError(redis_->unix_address(),
                     {absl::StrCat("--tls_cert=", junk), absl::StrCat("--tls_key=", junk)});
  EXPECT_THAT(error, HasSubstr("tls_cert: holds no PEM certificate"));
  EXPECT_THAT(error, Not(HasSubstr("in use")));
}

}  // namespace
}  // namespace segmentd
