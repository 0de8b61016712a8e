#include "testing/redis_server.h"

#include <hiredis/hiredis.h>
#include <signal.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace segmentd::testing {
namespace {

// Returns the reply of one command as text ("(error) ...", "(nil)", ...), or
// "(io error)" when the connection fails.
std::string RunCommand(redisContext* ctx, const char* command) {
  auto* reply = static_cast<redisReply*>(redisCommand(ctx, command));
  if (reply == nullptr) return "(io error)";
  std::string text;
  switch (reply->type) {
    case REDIS_REPLY_NIL:
      text = "(nil)";
      break;
    case REDIS_REPLY_INTEGER:
      text = std::to_string(reply->integer);
      break;
    case REDIS_REPLY_ERROR:
      text = "(error) " + std::string(reply->str, reply->len);
      break;
    case REDIS_REPLY_ARRAY:
      text = "(array)";
      break;
    default:
      text = std::string(reply->str, reply->len);
  }
  freeReplyObject(reply);
  return text;
}

// Runs one command on a fresh connection; "(connect failed)" when nothing
// listens on `socket_path`.
std::string RunOnSocket(const std::string& socket_path, const char* command) {
  redisContext* ctx = redisConnectUnix(socket_path.c_str());
  if (ctx == nullptr || ctx->err != 0) {
    if (ctx != nullptr) redisFree(ctx);
    return "(connect failed)";
  }
  std::string text = RunCommand(ctx, command);
  redisFree(ctx);
  return text;
}

std::unique_ptr<RedisServer> StartOrDie(RedisServer::Options options) {
  absl::StatusOr<std::unique_ptr<RedisServer>> server =
      RedisServer::Start(std::move(options));
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? *std::move(server) : nullptr;
}

TEST(RedisServerTest, AnswersOnUnixSocketOnly) {
  std::unique_ptr<RedisServer> server = StartOrDie({});
  ASSERT_NE(server, nullptr);
  EXPECT_TRUE(server->running());
  EXPECT_EQ(server->tcp_port(), 0);
  EXPECT_EQ(server->unix_address(), "unix:" + server->socket_path());
  EXPECT_EQ(RunOnSocket(server->socket_path(), "PING"), "PONG");
}

TEST(RedisServerTest, ListensOnTcpPortWhenAsked) {
  RedisServer::Options options;
  options.tcp = true;
  std::unique_ptr<RedisServer> server = StartOrDie(options);
  ASSERT_NE(server, nullptr);
  ASSERT_GT(server->tcp_port(), 0);
  redisContext* ctx = redisConnect("127.0.0.1", server->tcp_port());
  ASSERT_NE(ctx, nullptr);
  ASSERT_EQ(ctx->err, 0) << ctx->errstr;
  EXPECT_EQ(RunCommand(ctx, "PING"), "PONG");
  redisFree(ctx);
}

TEST(RedisServerTest, MissingBinaryIsNotFound) {
  RedisServer::Options options;
  options.binary = "/nonexistent/redis-server";
  absl::StatusOr<std::unique_ptr<RedisServer>> server =
      RedisServer::Start(options);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(server.status().message().find("/nonexistent/redis-server"),
            std::string::npos);

  options.binary = "no-such-redis-server-binary";
  server = RedisServer::Start(options);
  EXPECT_EQ(server.status().code(), absl::StatusCode::kNotFound);
}

TEST(RedisServerTest, BinaryThatExitsAtOnceIsUnavailable) {
  RedisServer::Options options;
  options.binary = "/bin/false";
  absl::StatusOr<std::unique_ptr<RedisServer>> server =
      RedisServer::Start(options);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kUnavailable);
}

TEST(RedisServerTest, KillStopsAnsweringAndRestartComesBackOnSameSocket) {
  std::unique_ptr<RedisServer> server = StartOrDie({});
  ASSERT_NE(server, nullptr);
  const std::string socket_path = server->socket_path();

  ASSERT_TRUE(server->Kill().ok());
  EXPECT_FALSE(server->running());
  EXPECT_EQ(RunOnSocket(socket_path, "PING"), "(connect failed)");
  EXPECT_TRUE(server->Kill().ok());  // Idempotent.

  ASSERT_TRUE(server->Restart().ok());
  EXPECT_EQ(server->socket_path(), socket_path);
  EXPECT_EQ(RunOnSocket(socket_path, "PING"), "PONG");

  ASSERT_TRUE(server->Stop().ok());
  EXPECT_FALSE(server->running());
  EXPECT_TRUE(server->Stop().ok());  // Idempotent.
}

TEST(RedisServerTest, WithoutAofRestartStartsEmpty) {
  std::unique_ptr<RedisServer> server = StartOrDie({});
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(RunOnSocket(server->socket_path(), "SET k v"), "OK");
  ASSERT_TRUE(server->Restart().ok());
  EXPECT_EQ(RunOnSocket(server->socket_path(), "GET k"), "(nil)");
}

TEST(RedisServerTest, AofKeepsAcknowledgedWritesAcrossKill) {
  RedisServer::Options options;
  options.appendonly = true;
  options.appendfsync_always = true;
  std::unique_ptr<RedisServer> server = StartOrDie(options);
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(RunOnSocket(server->socket_path(), "SET k v"), "OK");
  ASSERT_TRUE(server->Kill().ok());
  ASSERT_TRUE(server->Restart().ok());
  EXPECT_EQ(RunOnSocket(server->socket_path(), "GET k"), "v");
}

TEST(RedisServerTest, AofKeepsWritesAcrossStop) {
  RedisServer::Options options;
  options.appendonly = true;
  options.appendfsync_always = false;
  std::unique_ptr<RedisServer> server = StartOrDie(options);
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(RunOnSocket(server->socket_path(), "SET k v"), "OK");
  ASSERT_TRUE(server->Stop().ok());
  ASSERT_TRUE(server->Restart().ok());
  EXPECT_EQ(RunOnSocket(server->socket_path(), "GET k"), "v");
}

TEST(RedisServerTest, DestructorKillsTheChild) {
  pid_t pid;
  {
    std::unique_ptr<RedisServer> server = StartOrDie({});
    ASSERT_NE(server, nullptr);
    pid = server->pid();
    ASSERT_GT(pid, 0);
  }
  // Reaped, so the pid no longer names our child.
  EXPECT_NE(kill(pid, 0), 0);
}

}  // namespace
}  // namespace segmentd::testing
