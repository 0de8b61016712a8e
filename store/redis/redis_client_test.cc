#include "store/redis/redis_client.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/redis_command_stats.h"
#include "testing/redis_server.h"

namespace segmentd::store::redis {
namespace {

using ::segmentd::testing::RedisServer;
using ::testing::HasSubstr;
using ::testing::Not;

class RedisClientTest : public ::testing::Test {
 protected:
  // Starts Redis with `server_options` and a client with `client_options`
  // pointed at its Unix socket.
  void StartRedis(RedisServer::Options server_options = {}) {
    absl::StatusOr<std::unique_ptr<RedisServer>> server =
        RedisServer::Start(server_options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  RedisClient::Options ClientOptions() const {
    RedisClient::Options options;
    options.address = RedisAddress::Unix(server_->socket_path());
    return options;
  }

  void CreateClient(RedisClient::Options options) {
    absl::StatusOr<std::unique_ptr<RedisClient>> client =
        RedisClient::Create(options);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
  }

  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(StartRedis());
    ASSERT_NO_FATAL_FAILURE(CreateClient(ClientOptions()));
  }

  // Runs a command that must get a reply (possibly an error reply).
  RedisReply Run(std::vector<std::string> argv) {
    absl::StatusOr<RedisReply> reply = client_->Command(argv);
    EXPECT_TRUE(reply.ok()) << reply.status();
    return reply.ok() ? *std::move(reply) : RedisReply::Error("(call failed)");
  }

  // Calls of `command` so far (INFO commandstats), e.g. "evalsha" or
  // "script|load" (Redis counts failed calls, such as a NOSCRIPT EVALSHA).
  int64_t CommandCalls(absl::string_view command) {
    return segmentd::testing::CommandCalls(*client_, command);
  }

  std::unique_ptr<RedisServer> server_;
  std::unique_ptr<RedisClient> client_;
};

TEST_F(RedisClientTest, KeysAndValuesAreBinarySafe) {
  const std::vector<std::string> values = {
      std::string("nul\0inside", 10),
      "line\r\nbreak\n",
      "{tenant}:customer",
      "\xc3\xa9t\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac",  // "été 日本"
      "",
      std::string("\0", 1),
      "%s %d %b",  // Would be format directives if formatted.
      std::string(100000, '\xff'),
  };
  for (const std::string& value : values) {
    const std::string key = "k:" + value;
    EXPECT_EQ(Run({"SET", key, value}), RedisReply::Status("OK"));
    EXPECT_EQ(Run({"GET", key}), RedisReply::String(value))
        << RedisReply::String(value).DebugString();
    EXPECT_EQ(Run({"HSET", "h", value, key}), RedisReply::Integer(1));
    EXPECT_EQ(Run({"HGET", "h", value}), RedisReply::String(key));
  }
  EXPECT_EQ(Run({"HLEN", "h"}), RedisReply::Integer(values.size()));
}

TEST_F(RedisClientTest, ReturnsEveryReplyType) {
  EXPECT_EQ(Run({"GET", "missing"}), RedisReply::Nil());
  EXPECT_EQ(Run({"SET", "n", "41"}), RedisReply::Status("OK"));
  EXPECT_EQ(Run({"INCR", "n"}), RedisReply::Integer(42));
  EXPECT_EQ(Run({"GET", "n"}), RedisReply::String("42"));
  EXPECT_EQ(Run({"RPUSH", "list", "a", "b"}), RedisReply::Integer(2));
  EXPECT_EQ(Run({"LRANGE", "list", "0", "-1"}),
            RedisReply::Array({RedisReply::String("a"), RedisReply::String("b")}));
  EXPECT_EQ(Run({"LRANGE", "missing", "0", "-1"}), RedisReply::Array({}));
  EXPECT_EQ(Run({"EVAL", "return {1, {'x', {2}}, 'y'}", "0"}),
            RedisReply::Array({RedisReply::Integer(1),
                               RedisReply::Array({RedisReply::String("x"),
                                                  RedisReply::Array({RedisReply::Integer(2)})}),
                               RedisReply::String("y")}));
  EXPECT_EQ(Run({"EXEC"}), RedisReply::Error("ERR EXEC without MULTI"));
  EXPECT_EQ(Run({"PING", "hello"}), RedisReply::String("hello"));
  // A WATCHed key changed before EXEC: a nil multi-bulk (*-1), read as nil.
  absl::StatusOr<std::vector<RedisReply>> aborted = client_->Pipeline(
      {{"WATCH", "w"}, {"SET", "w", "1"}, {"MULTI"}, {"GET", "w"}, {"EXEC"}});
  ASSERT_TRUE(aborted.ok()) << aborted.status();
  EXPECT_EQ(aborted->back(), RedisReply::Nil());
  EXPECT_EQ((*aborted)[3], RedisReply::Status("QUEUED"));

  RedisReply wrong_type = Run({"INCR", "list"});
  EXPECT_TRUE(wrong_type.IsErrorWithPrefix("WRONGTYPE")) << wrong_type;
  EXPECT_EQ(ErrorReplyAsStatus(client_->Command({"INCR", "list"})).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrorReplyAsStatus(client_->Command({"NOSUCHCOMMAND"})).status().code(),
            absl::StatusCode::kInternal);
}

TEST_F(RedisClientTest, EmptyCommandIsInvalidArgument) {
  EXPECT_EQ(client_->Command({}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(client_->Pipeline({{"PING"}, {}}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(RedisClientTest, PipelineReturnsOneReplyPerCommandInOrder) {
  // More commands than one pipeline chunk, mixing reply types and an error.
  std::vector<RedisCommand> commands;
  for (int i = 0; i < 2500; ++i) {
    commands.push_back({"RPUSH", "seq", absl::StrCat(i)});
    if (i == 1234) commands.push_back({"INCR", "seq"});  // WRONGTYPE
  }
  commands.push_back({"LLEN", "seq"});
  commands.push_back({"GET", "missing"});
  absl::StatusOr<std::vector<RedisReply>> replies = client_->Pipeline(commands);
  ASSERT_TRUE(replies.ok()) << replies.status();
  ASSERT_EQ(replies->size(), commands.size());
  int64_t pushed = 0;
  for (size_t i = 0; i + 2 < commands.size(); ++i) {
    if (commands[i][0] == "INCR") {
      EXPECT_TRUE((*replies)[i].IsErrorWithPrefix("WRONGTYPE")) << (*replies)[i];
    } else {
      EXPECT_EQ((*replies)[i], RedisReply::Integer(++pushed)) << "at " << i;
    }
  }
  EXPECT_EQ((*replies)[commands.size() - 2], RedisReply::Integer(2500));
  EXPECT_EQ((*replies)[commands.size() - 1], RedisReply::Nil());
  EXPECT_EQ(Run({"LINDEX", "seq", "1234"}), RedisReply::String("1234"));

  absl::StatusOr<std::vector<RedisReply>> none = client_->Pipeline({});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_F(RedisClientTest, TransactionRunsWhatTheBodyBuildsFromItsReads) {
  Run({"SET", "balance", "10"});
  std::vector<std::vector<RedisReply>> seen;
  absl::StatusOr<std::optional<std::vector<RedisReply>>> replies = client_->Transaction(
      {"balance"}, {{"GET", "balance"}, {"GET", "missing"}},
      [&](const std::vector<RedisReply>& read) -> absl::StatusOr<std::vector<RedisCommand>> {
        seen.push_back(read);
        int64_t balance = 0;
        EXPECT_TRUE(absl::SimpleAtoi(read[0].str(), &balance));
        return std::vector<RedisCommand>{{"SET", "balance", absl::StrCat(balance - 3)},
                                         {"INCR", "balance"},
                                         {"HSET", "balance", "f", "v"}};  // WRONGTYPE
      });
  ASSERT_TRUE(replies.ok()) << replies.status();
  ASSERT_TRUE(replies->has_value());
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], (std::vector<RedisReply>{RedisReply::String("10"), RedisReply::Nil()}));
  ASSERT_EQ((*replies)->size(), 3u);
  EXPECT_EQ((**replies)[0], RedisReply::Status("OK"));
  EXPECT_EQ((**replies)[1], RedisReply::Integer(8));
  EXPECT_TRUE((**replies)[2].IsErrorWithPrefix("WRONGTYPE")) << (**replies)[2];
  EXPECT_EQ(Run({"GET", "balance"}), RedisReply::String("8"));
}

TEST_F(RedisClientTest, TransactionRunsNothingWhenAWatchedKeyChangesUnderIt) {
  Run({"SET", "balance", "10"});
  absl::StatusOr<std::unique_ptr<RedisClient>> other = RedisClient::Create(ClientOptions());
  ASSERT_TRUE(other.ok()) << other.status();
  absl::StatusOr<std::optional<std::vector<RedisReply>>> replies = client_->Transaction(
      {"balance", "unrelated"}, {{"GET", "balance"}},
      [&](const std::vector<RedisReply>&) -> absl::StatusOr<std::vector<RedisCommand>> {
        // Another client writes a watched key between the reads and MULTI.
        EXPECT_TRUE((*other)->Command({"SET", "balance", "100"}).ok());
        return std::vector<RedisCommand>{{"SET", "balance", "7"}, {"SET", "side", "effect"}};
      });
  ASSERT_TRUE(replies.ok()) << replies.status();
  EXPECT_FALSE(replies->has_value());
  EXPECT_EQ(Run({"GET", "balance"}), RedisReply::String("100"));
  EXPECT_EQ(Run({"GET", "side"}), RedisReply::Nil());
}

TEST_F(RedisClientTest, TransactionWithNothingToRunLeavesNoWatchOnTheConnection) {
  // A one-connection pool, so the next calls reuse the transaction's
  // connection: a WATCH left on it would abort the next transaction.
  RedisClient::Options options = ClientOptions();
  options.pool_size = 1;
  ASSERT_NO_FATAL_FAILURE(CreateClient(options));
  auto nothing = [](const std::vector<RedisReply>&) -> absl::StatusOr<std::vector<RedisCommand>> {
    return std::vector<RedisCommand>();
  };
  auto refuse = [](const std::vector<RedisReply>&) -> absl::StatusOr<std::vector<RedisCommand>> {
    return absl::FailedPreconditionError("stored state cannot be decoded");
  };
  absl::StatusOr<std::optional<std::vector<RedisReply>>> none =
      client_->Transaction({"k"}, {{"GET", "k"}}, nothing);
  ASSERT_TRUE(none.ok()) << none.status();
  ASSERT_TRUE(none->has_value());
  EXPECT_TRUE((*none)->empty());
  absl::StatusOr<std::optional<std::vector<RedisReply>>> refused =
      client_->Transaction({"k"}, {{"GET", "k"}}, refuse);
  EXPECT_EQ(refused.status(), absl::FailedPreconditionError("stored state cannot be decoded"));

  Run({"SET", "k", "changed after the watch"});
  absl::StatusOr<std::optional<std::vector<RedisReply>>> next = client_->Transaction(
      {"other"}, {},
      [](const std::vector<RedisReply>&) -> absl::StatusOr<std::vector<RedisCommand>> {
        return std::vector<RedisCommand>{{"SET", "other", "1"}};
      });
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_TRUE(next->has_value());
  EXPECT_EQ(Run({"GET", "other"}), RedisReply::String("1"));
}

TEST_F(RedisClientTest, TransactionRefusedByRedisRunsNothing) {
  absl::StatusOr<std::optional<std::vector<RedisReply>>> replies = client_->Transaction(
      {"k"}, {}, [](const std::vector<RedisReply>&) -> absl::StatusOr<std::vector<RedisCommand>> {
        return std::vector<RedisCommand>{{"SET", "k", "1"}, {"NOSUCHCOMMAND", "x"}};
      });
  EXPECT_EQ(replies.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(replies.status().message(), HasSubstr("unknown command"));
  EXPECT_EQ(Run({"GET", "k"}), RedisReply::Nil());
  EXPECT_EQ(client_
                ->Transaction({}, {},
                              [](const std::vector<RedisReply>&) {
                                return absl::StatusOr<std::vector<RedisCommand>>();
                              })
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

// Redis's reason for refusing a transaction sets the code, as it does for
// any command; a refused MULTI runs none of the commands (they would run one
// by one outside a transaction had they been sent).
TEST_F(RedisClientTest, TransactionRefusalsKeepRedisReason) {
  auto set_k = [](const std::vector<RedisReply>&) -> absl::StatusOr<std::vector<RedisCommand>> {
    return std::vector<RedisCommand>{{"SET", "k", "1"}, {"SET", "j", "1"}};
  };
  Run({"CONFIG", "SET", "maxmemory-policy", "noeviction"});
  Run({"CONFIG", "SET", "maxmemory", "1"});
  absl::StatusOr<std::optional<std::vector<RedisReply>>> oom =
      client_->Transaction({"k"}, {{"GET", "k"}}, set_k);
  Run({"CONFIG", "SET", "maxmemory", "0"});
  EXPECT_EQ(oom.status().code(), absl::StatusCode::kResourceExhausted) << oom.status();
  EXPECT_EQ(Run({"GET", "k"}), RedisReply::Nil());

  Run({"ACL", "SETUSER", "nomulti", "on", ">pw", "~*", "&*", "+@all", "-multi"});
  RedisClient::Options options = ClientOptions();
  options.username = "nomulti";
  options.password = "pw";
  options.pool_size = 1;  // the refused call's connection is the next call's
  ASSERT_NO_FATAL_FAILURE(CreateClient(options));
  absl::StatusOr<std::optional<std::vector<RedisReply>>> refused =
      client_->Transaction({"k"}, {{"GET", "k"}}, set_k);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition) << refused.status();
  EXPECT_THAT(refused.status().message(), HasSubstr("NOPERM"));
  EXPECT_EQ(Run({"GET", "k"}), RedisReply::Nil());
  EXPECT_EQ(Run({"GET", "j"}), RedisReply::Nil());
  // The same connection answers in step afterwards: no reply left unread.
  EXPECT_EQ(Run({"SET", "k", "2"}), RedisReply::Status("OK"));
  EXPECT_EQ(Run({"GET", "k"}), RedisReply::String("2"));

  // Refused EXEC or DISCARD leave the connection in MULTI: it is dropped, so
  // the next call on the pool of one gets a fresh connection, not QUEUED.
  for (const char* command : {"exec", "discard"}) {
    SCOPED_TRACE(command);
    Run({"ACL", "SETUSER", command, "on", ">pw", "~*", "&*", "+@all", absl::StrCat("-", command)});
    options.username = command;
    ASSERT_NO_FATAL_FAILURE(CreateClient(options));
    auto nothing = [](const std::vector<RedisReply>&) -> absl::StatusOr<std::vector<RedisCommand>> {
      return std::vector<RedisCommand>();
    };
    absl::StatusOr<std::optional<std::vector<RedisReply>>> stuck =
        client_->Transaction({"k"}, {}, command == std::string("exec") ? set_k : nothing);
    EXPECT_EQ(stuck.status().code(), absl::StatusCode::kFailedPrecondition) << stuck.status();
    EXPECT_EQ(Run({"GET", "k"}), RedisReply::String("2"));
  }
}

TEST_F(RedisClientTest, AScriptWritesNothingWhileRedisIsOverItsMaxmemory) {
  Run({"SADD", "s", "m"});
  // Its first write frees memory: Redis would check only that one.
  RedisScript write("redis.call('SREM', KEYS[1], 'm') redis.call('SET', KEYS[2], '1') return 1");
  RedisScript read("#!lua flags=no-writes\nreturn redis.call('SCARD', KEYS[1])");
  Run({"CONFIG", "SET", "maxmemory-policy", "noeviction"});
  Run({"CONFIG", "SET", "maxmemory", "1"});
  absl::StatusOr<RedisReply> refused = client_->Eval(write, {"s", "k"}, {});
  absl::StatusOr<RedisReply> counted = client_->Eval(read, {"s"}, {});
  Run({"CONFIG", "SET", "maxmemory", "0"});
  ASSERT_TRUE(refused.ok()) << refused.status();
  EXPECT_TRUE(refused->IsErrorWithPrefix("OOM")) << *refused;
  EXPECT_EQ(ErrorReplyAsStatus(*refused).status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(Run({"SCARD", "s"}), RedisReply::Integer(1));
  EXPECT_EQ(Run({"GET", "k"}), RedisReply::Nil());
  ASSERT_TRUE(counted.ok()) << counted.status();
  EXPECT_EQ(*counted, RedisReply::Integer(1));
  // Back under it, the same script runs.
  EXPECT_EQ(*client_->Eval(write, {"s", "k"}, {}), RedisReply::Integer(1));
  EXPECT_EQ(Run({"GET", "k"}), RedisReply::String("1"));
}

TEST_F(RedisClientTest, ScriptIsLoadedOnceThenRunWithEvalsha) {
  RedisScript script(
      "redis.call('SET', KEYS[1], ARGV[1]) return {KEYS[1], ARGV[1], #ARGV}");
  EXPECT_EQ(script.sha1(), "");
  const std::string key("k\0{x}\n", 6);
  const std::string arg("\xe6\x97\xa5\0", 4);
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<RedisReply> reply = client_->Eval(script, {key}, {arg, "2"});
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(*reply, RedisReply::Array({RedisReply::String(key),
                                         RedisReply::String(arg),
                                         RedisReply::Integer(2)}));
  }
  EXPECT_EQ(script.sha1().size(), 40u);
  EXPECT_EQ(Run({"GET", key}), RedisReply::String(arg));
  EXPECT_EQ(CommandCalls("script|load"), 1);
  EXPECT_EQ(CommandCalls("evalsha"), 3);
  EXPECT_EQ(CommandCalls("eval"), 0);
}

TEST_F(RedisClientTest, ScriptRecoversFromScriptFlush) {
  RedisScript script("return redis.call('INCR', KEYS[1])");
  ASSERT_EQ(*client_->Eval(script, {"n"}, {}), RedisReply::Integer(1));
  const std::string sha1 = script.sha1();
  EXPECT_EQ(Run({"SCRIPT", "EXISTS", sha1}),
            RedisReply::Array({RedisReply::Integer(1)}));

  EXPECT_EQ(Run({"SCRIPT", "FLUSH"}), RedisReply::Status("OK"));
  absl::StatusOr<RedisReply> reply = client_->Eval(script, {"n"}, {});
  ASSERT_TRUE(reply.ok()) << reply.status();
  // Ran exactly once more: the NOSCRIPT attempt ran nothing.
  EXPECT_EQ(*reply, RedisReply::Integer(2));
  EXPECT_EQ(script.sha1(), sha1);
  // EVALSHA (ok), EVALSHA (NOSCRIPT), SCRIPT LOAD, EVALSHA (ok).
  EXPECT_EQ(CommandCalls("script|load"), 2);
  EXPECT_EQ(CommandCalls("evalsha"), 3);
}

TEST_F(RedisClientTest, ScriptErrorsAreErrorReplies) {
  RedisScript broken("this is not lua");
  absl::StatusOr<RedisReply> reply = client_->Eval(broken, {}, {});
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_TRUE(reply->is_error()) << *reply;
  EXPECT_EQ(broken.sha1(), "");

  RedisScript raises("return redis.error_reply('NOPE custom')");
  reply = client_->Eval(raises, {}, {});
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_TRUE(reply->IsErrorWithPrefix("NOPE")) << *reply;
}

TEST_F(RedisClientTest, ScriptSurvivesRedisRestart) {
  RedisScript script("return ARGV[1]");
  ASSERT_EQ(*client_->Eval(script, {}, {"a"}), RedisReply::String("a"));
  ASSERT_TRUE(server_->Restart().ok());
  absl::StatusOr<RedisReply> reply = client_->Eval(script, {}, {"b"});
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(*reply, RedisReply::String("b"));
}

TEST_F(RedisClientTest, KilledRedisIsUnavailableQuickly) {
  ASSERT_TRUE(client_->Ping().ok());
  ASSERT_TRUE(server_->Kill().ok());
  const absl::Time start = absl::Now();
  for (int i = 0; i < 20; ++i) {
    absl::Status status = client_->Ping();
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
    EXPECT_NE(status.message().find(server_->socket_path()), std::string::npos)
        << status;
    absl::StatusOr<RedisReply> reply = client_->Command({"SET", "k", "v"});
    EXPECT_EQ(reply.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_EQ(client_->Pipeline({{"GET", "k"}}).status().code(),
              absl::StatusCode::kUnavailable);
    RedisScript script("return 1");
    EXPECT_EQ(client_->Eval(script, {}, {}).status().code(),
              absl::StatusCode::kUnavailable);
  }
  // Far below the 1 s connect and 2 s command timeouts: nothing waits.
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(500));
}

// Writing to a connection Redis has closed raises SIGPIPE, whose default
// action ends the process: segmentd died so when Redis dropped its
// connections (CLIENT KILL, a restart) while it was sending a command. Here
// Redis refuses a value longer than proto-max-bulk-len and closes the
// connection while the client is still writing it.
TEST_F(RedisClientTest, ARequestRedisClosesMidWriteIsUnavailableNotSigpipe) {
  RedisServer::Options server_options;
  server_options.extra_args = {"--proto-max-bulk-len", "1mb"};
  ASSERT_NO_FATAL_FAILURE(StartRedis(server_options));
  ASSERT_NO_FATAL_FAILURE(CreateClient(ClientOptions()));
  const std::string value(64 << 20, 'x');  // far more than a socket buffer holds
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<RedisReply> reply = client_->Command({"SET", "k", value});
    EXPECT_EQ(reply.status().code(), absl::StatusCode::kUnavailable) << reply.status();
  }
  EXPECT_TRUE(client_->Ping().ok());
}

TEST_F(RedisClientTest, FailsFastWhileBackingOff) {
  RedisClient::Options options = ClientOptions();
  options.initial_backoff = absl::Seconds(30);
  options.max_backoff = absl::Seconds(30);
  ASSERT_NO_FATAL_FAILURE(CreateClient(options));
  ASSERT_TRUE(server_->Kill().ok());

  absl::Status first = client_->Ping();
  EXPECT_EQ(first.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(first.message().find("cannot connect"), std::string::npos) << first;

  // Redis is back, but the client must not dial again before the backoff
  // ends: it answers at once, without touching the socket.
  ASSERT_TRUE(server_->Restart().ok());
  const absl::Time start = absl::Now();
  absl::Status second = client_->Ping();
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(500));
  EXPECT_EQ(second.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(second.message().find("backing off"), std::string::npos) << second;
}

TEST_F(RedisClientTest, IdleConnectionsToRestartedRedisAreReplaced) {
  // Open several pooled connections, then restart Redis under them.
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([this] { Run({"PING"}); });
  }
  for (std::thread& thread : threads) thread.join();
  ASSERT_TRUE(server_->Restart().ok());
  // No command failed while Redis was down, so there is no backoff: every
  // stale connection is noticed and replaced on the next use.
  for (int i = 0; i < 8; ++i) {
    absl::Status status = client_->Ping();
    EXPECT_TRUE(status.ok()) << status;
  }
}

TEST_F(RedisClientTest, RecoversByItselfAfterRedisRestart) {
  ASSERT_TRUE(server_->Kill().ok());
  EXPECT_EQ(client_->Ping().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(client_->Ping().code(), absl::StatusCode::kUnavailable);
  ASSERT_TRUE(server_->Restart().ok());
  // Bounded wait for the client's backoff (at most max_backoff = 2 s, plus
  // slack for a loaded machine) to let it dial again.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  absl::Status status = client_->Ping();
  while (!status.ok() && absl::Now() < deadline) {
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
    absl::SleepFor(absl::Milliseconds(10));
    status = client_->Ping();
  }
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(Run({"SET", "k", "v"}), RedisReply::Status("OK"));
}

TEST(RedisClientAofTest, AcknowledgedWriteSurvivesKillAndRestart) {
  RedisServer::Options server_options;
  server_options.appendonly = true;
  server_options.appendfsync_always = true;
  absl::StatusOr<std::unique_ptr<RedisServer>> server =
      RedisServer::Start(server_options);
  ASSERT_TRUE(server.ok()) << server.status();
  RedisClient::Options options;
  options.address = RedisAddress::Unix((*server)->socket_path());
  absl::StatusOr<std::unique_ptr<RedisClient>> client = RedisClient::Create(options);
  ASSERT_TRUE(client.ok()) << client.status();

  const std::string value("acknowledged\0value", 18);
  ASSERT_EQ(*(*client)->Command({"SET", "k", value}), RedisReply::Status("OK"));
  ASSERT_TRUE((*server)->Kill().ok());
  ASSERT_TRUE((*server)->Restart().ok());
  absl::StatusOr<RedisReply> reply = (*client)->Command({"GET", "k"});
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(*reply, RedisReply::String(value));
}

TEST_F(RedisClientTest, CommandTimeoutIsUnavailableAndConnectionIsReplaced) {
  RedisClient::Options options = ClientOptions();
  options.command_timeout = absl::Milliseconds(200);
  options.pool_size = 1;
  ASSERT_NO_FATAL_FAILURE(CreateClient(options));
  const absl::Time start = absl::Now();
  absl::StatusOr<RedisReply> reply = client_->Command({"BLPOP", "empty", "5"});
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(reply.status().message().find("timed out"), std::string::npos)
      << reply.status();
  // The timed-out connection is dropped; the next command gets a fresh one
  // and never sees the stale BLPOP reply.
  EXPECT_EQ(Run({"PING", "after"}), RedisReply::String("after"));
}

TEST_F(RedisClientTest, ConcurrentUseFromManyThreads) {
  RedisClient::Options options = ClientOptions();
  options.pool_size = 3;
  ASSERT_NO_FATAL_FAILURE(CreateClient(options));
  constexpr int kThreads = 8;
  constexpr int kRounds = 200;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      RedisScript script("return redis.call('INCRBY', KEYS[1], ARGV[1])");
      const std::string own = absl::StrCat("own:", t);
      for (int i = 0; i < kRounds; ++i) {
        absl::StatusOr<RedisReply> incr = client_->Command({"INCR", "shared"});
        absl::StatusOr<RedisReply> set =
            client_->Command({"SET", own, absl::StrCat(i)});
        absl::StatusOr<std::vector<RedisReply>> pipe =
            client_->Pipeline({{"GET", own}, {"INCR", "shared"}});
        absl::StatusOr<RedisReply> eval = client_->Eval(script, {"shared"}, {"1"});
        if (!incr.ok() || !set.ok() || !pipe.ok() || !eval.ok() ||
            (*pipe)[0] != RedisReply::String(absl::StrCat(i))) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Run({"GET", "shared"}),
            RedisReply::String(absl::StrCat(3 * kThreads * kRounds)));
}

TEST_F(RedisClientTest, CallsWaitForABusyPoolThenTimeOut) {
  RedisClient::Options options = ClientOptions();
  options.pool_size = 1;
  options.command_timeout = absl::Seconds(3);
  absl::StatusOr<std::unique_ptr<RedisClient>> pool1 = RedisClient::Create(options);
  ASSERT_TRUE(pool1.ok()) << pool1.status();

  // Hold the only connection with a blocking pop; client_ (another pool)
  // watches Redis until the pop is really blocked.
  std::thread holder([&] {
    absl::StatusOr<RedisReply> popped = (*pool1)->Command({"BLPOP", "q", "2"});
    EXPECT_TRUE(popped.ok()) << popped.status();
  });
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (Run({"INFO", "clients"}).str().find("blocked_clients:1") ==
             std::string::npos &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  // A call that finds the pool busy waits for the connection and then runs.
  std::thread waiter([&] {
    absl::StatusOr<RedisReply> reply = (*pool1)->Command({"PING", "waited"});
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(*reply, RedisReply::String("waited"));
  });
  EXPECT_EQ(Run({"RPUSH", "q", "x"}), RedisReply::Integer(1));
  holder.join();
  waiter.join();

  // With the pool held longer than command_timeout (six 500 ms pops in one
  // pipeline, each read well within the 1 s timeout even on a loaded CI
  // machine; 200 ms pops against 300 ms were flaky there), a waiting call
  // gives up after command_timeout instead of waiting out the whole 3 s hold.
  options.command_timeout = absl::Seconds(1);
  pool1 = RedisClient::Create(options);
  ASSERT_TRUE(pool1.ok()) << pool1.status();
  std::thread long_holder([&] {
    std::vector<RedisCommand> pops(6, RedisCommand{"BLPOP", "q", "0.5"});
    absl::StatusOr<std::vector<RedisReply>> popped = (*pool1)->Pipeline(pops);
    EXPECT_TRUE(popped.ok()) << popped.status();
  });
  while (Run({"INFO", "clients"}).str().find("blocked_clients:1") ==
             std::string::npos &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  const absl::Time start = absl::Now();
  absl::StatusOr<RedisReply> reply = (*pool1)->Command({"PING"});
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(2500));
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(reply.status().message().find("busy"), std::string::npos)
      << reply.status();
  long_holder.join();
}

TEST_F(RedisClientTest, TcpAddressWorks) {
  RedisServer::Options server_options;
  server_options.tcp = true;
  ASSERT_NO_FATAL_FAILURE(StartRedis(server_options));
  RedisClient::Options options;
  absl::StatusOr<RedisAddress> address =
      RedisAddress::Parse(absl::StrCat("tcp://127.0.0.1:", server_->tcp_port()));
  ASSERT_TRUE(address.ok()) << address.status();
  options.address = *address;
  ASSERT_NO_FATAL_FAILURE(CreateClient(options));
  EXPECT_TRUE(client_->Ping().ok());
  EXPECT_EQ(client_->address(), *address);
  ASSERT_TRUE(server_->Kill().ok());
  absl::Status status = client_->Ping();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(status.message().find(address->ToString()), std::string::npos)
      << status;
}

// A Redis that requires a password (requirepass) or an ACL user.
class RedisAuthTest : public ::testing::Test {
 protected:
  void StartRedis(std::vector<std::string> extra_args) {
    RedisServer::Options server_options;
    server_options.extra_args = std::move(extra_args);
    absl::StatusOr<std::unique_ptr<RedisServer>> server = RedisServer::Start(server_options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  absl::StatusOr<std::unique_ptr<RedisClient>> Create(std::string username, std::string password) {
    RedisClient::Options options;
    options.address = RedisAddress::Unix(server_->socket_path());
    options.username = std::move(username);
    options.password = std::move(password);
    return RedisClient::Create(options);
  }

  std::unique_ptr<RedisServer> server_;
};

TEST_F(RedisAuthTest, PasswordIsSentOnEveryConnectionIncludingAfterARestart) {
  ASSERT_NO_FATAL_FAILURE(StartRedis({"--requirepass", "s3cret pass"}));
  absl::StatusOr<std::unique_ptr<RedisClient>> client = Create("", "s3cret pass");
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_EQ(*(*client)->Command({"SET", "k", "v"}), RedisReply::Status("OK"));
  // Redis restarts: the replacement connections authenticate too.
  ASSERT_TRUE(server_->Kill().ok());
  ASSERT_TRUE(server_->Restart().ok());
  absl::StatusOr<RedisReply> reply;
  for (int i = 0; i < 100; ++i) {
    reply = (*client)->Command({"PING"});
    if (reply.ok()) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(*reply, RedisReply::Status("PONG"));
}

TEST_F(RedisAuthTest, MissingOrWrongPasswordFailsCreateWithoutNamingTheSecret) {
  ASSERT_NO_FATAL_FAILURE(StartRedis({"--requirepass", "s3cret"}));
  absl::StatusOr<std::unique_ptr<RedisClient>> none = Create("", "");
  EXPECT_EQ(none.status().code(), absl::StatusCode::kFailedPrecondition) << none.status();
  EXPECT_THAT(std::string(none.status().message()), HasSubstr("NOAUTH"));
  EXPECT_TRUE(RedisClient::CredentialsRefused(none.status()));
  absl::StatusOr<std::unique_ptr<RedisClient>> wrong = Create("", "guess");
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kFailedPrecondition) << wrong.status();
  EXPECT_THAT(std::string(wrong.status().message()), HasSubstr("AUTH refused"));
  EXPECT_TRUE(RedisClient::CredentialsRefused(wrong.status()));
  EXPECT_THAT(std::string(wrong.status().message()), Not(HasSubstr("guess")));
}

TEST_F(RedisAuthTest, APasswordChangedUnderTheClientIsUnavailableNamingTheRefusal) {
  ASSERT_NO_FATAL_FAILURE(StartRedis({"--requirepass", "old-pw"}));
  absl::StatusOr<std::unique_ptr<RedisClient>> client = Create("", "old-pw");
  ASSERT_TRUE(client.ok()) << client.status();
  // The password changes and every connection is dropped: redials are refused.
  ASSERT_EQ(*(*client)->Command({"CONFIG", "SET", "requirepass", "new-pw"}),
            RedisReply::Status("OK"));
  (*client)->Command({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "no"}).IgnoreError();
  // A call may first fail on its killed connection ("Connection reset by
  // peer") before one redials; then the refusal is named.
  absl::Status first = (*client)->Ping();
  for (int i = 0; i < 40 && !RedisClient::CredentialsRefused(first); ++i) {
    absl::SleepFor(absl::Milliseconds(50));
    first = (*client)->Ping();
  }
  EXPECT_EQ(first.code(), absl::StatusCode::kUnavailable) << first;
  EXPECT_TRUE(RedisClient::CredentialsRefused(first)) << first;
  // While backing off, calls still say why the last dial failed.
  const absl::Status backing_off = (*client)->Ping();
  EXPECT_EQ(backing_off.code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(RedisClient::CredentialsRefused(backing_off)) << backing_off;
  EXPECT_THAT(std::string(backing_off.message()), HasSubstr("AUTH refused: WRONGPASS"))
      << backing_off;
  EXPECT_THAT(std::string(backing_off.message()), Not(HasSubstr("old-pw")));
}

TEST_F(RedisAuthTest, AclUserAndPassword) {
  ASSERT_NO_FATAL_FAILURE(StartRedis({"--user", "segmentd", "on", ">pw-1", "~*", "&*", "+@all"}));
  absl::StatusOr<std::unique_ptr<RedisClient>> client = Create("segmentd", "pw-1");
  ASSERT_TRUE(client.ok()) << client.status();
  EXPECT_EQ(*(*client)->Command({"ACL", "WHOAMI"}), RedisReply::String("segmentd"));
  EXPECT_EQ(Create("segmentd", "pw-2").status().code(), absl::StatusCode::kFailedPrecondition);
  RedisClient::Options no_password;
  no_password.address = RedisAddress::Unix(server_->socket_path());
  no_password.username = "segmentd";
  EXPECT_EQ(RedisClient::Create(no_password).status().code(), absl::StatusCode::kInvalidArgument);
}

// A stand-in for a Redis still reading its data after a restart: it answers
// the first command of one connection with -LOADING.
TEST(RedisClientCreateTest, ARedisStillLoadingIsUnavailableSoStartUpRetries) {
  char dir[] = "/tmp/sd-loading-XXXXXX";  // short: a socket path has ~100 bytes
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = absl::StrCat(dir, "/redis.sock");
  const int listener = socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::snprintf(address.sun_path, sizeof(address.sun_path), "%s", path.c_str());
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(listen(listener, 1), 0);
  std::thread loading([listener] {
    const int connection = accept(listener, nullptr, nullptr);
    if (connection < 0) return;
    char request[512];
    if (read(connection, request, sizeof(request)) > 0) {
      const std::string reply = "-LOADING Redis is loading the dataset in memory\r\n";
      EXPECT_EQ(write(connection, reply.data(), reply.size()),
                static_cast<ssize_t>(reply.size()));
    }
    close(connection);
  });
  RedisClient::Options options;
  options.address = RedisAddress::Unix(path);
  absl::StatusOr<std::unique_ptr<RedisClient>> client = RedisClient::Create(options);
  loading.join();
  close(listener);
  unlink(path.c_str());
  rmdir(dir);
  EXPECT_EQ(client.status().code(), absl::StatusCode::kUnavailable) << client.status();
  EXPECT_THAT(std::string(client.status().message()), HasSubstr("LOADING"));
  EXPECT_FALSE(RedisClient::CredentialsRefused(client.status()));
}

TEST(RedisClientCreateTest, UnreachableRedisIsUnavailableNamingTheAddress) {
  RedisClient::Options options;
  options.address = RedisAddress::Unix("/nonexistent/segmentd-redis.sock");
  absl::StatusOr<std::unique_ptr<RedisClient>> client = RedisClient::Create(options);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(RedisClient::CredentialsRefused(client.status()));
  EXPECT_NE(client.status().message().find("unix:/nonexistent/segmentd-redis.sock"),
            std::string::npos)
      << client.status();
}

TEST(RedisClientCreateTest, InvalidOptionsNameTheField) {
  RedisClient::Options options;
  options.pool_size = 0;
  EXPECT_NE(RedisClient::Create(options).status().message().find("pool_size"),
            std::string::npos);
  options = RedisClient::Options();
  options.command_timeout = absl::ZeroDuration();
  EXPECT_NE(RedisClient::Create(options).status().message().find("command_timeout"),
            std::string::npos);
  options = RedisClient::Options();
  options.max_backoff = absl::Milliseconds(1);
  EXPECT_EQ(RedisClient::Create(options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options = RedisClient::Options();
  options.backoff_jitter = 1.5;
  EXPECT_NE(RedisClient::Create(options).status().message().find("backoff_jitter"),
            std::string::npos);
  options = RedisClient::Options();
  options.address = RedisAddress::Unix("");
  EXPECT_EQ(RedisClient::Create(options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace segmentd::store::redis
