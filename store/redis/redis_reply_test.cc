#include "store/redis/redis_reply.h"

#include <string>

#include "gtest/gtest.h"

namespace segmentd::store::redis {
namespace {

TEST(RedisReplyTest, DefaultIsNil) {
  RedisReply reply;
  EXPECT_TRUE(reply.is_nil());
  EXPECT_EQ(reply, RedisReply::Nil());
  EXPECT_EQ(reply.DebugString(), "(nil)");
}

TEST(RedisReplyTest, AccessorsByType) {
  EXPECT_EQ(RedisReply::Integer(-7).integer(), -7);
  EXPECT_TRUE(RedisReply::Integer(1).is_integer());
  const std::string bytes("a\0b\n", 4);
  EXPECT_EQ(RedisReply::String(bytes).str(), bytes);
  EXPECT_TRUE(RedisReply::Status("OK").is_status());
  EXPECT_TRUE(RedisReply::Error("ERR x").is_error());
  RedisReply array = RedisReply::Array({RedisReply::Nil(), RedisReply::String("x")});
  ASSERT_TRUE(array.is_array());
  ASSERT_EQ(array.elements().size(), 2u);
  EXPECT_TRUE(array.elements()[0].is_nil());
  // Accessors of other types are empty rather than undefined.
  EXPECT_EQ(array.str(), "");
  EXPECT_EQ(array.integer(), 0);
  EXPECT_TRUE(RedisReply::String("x").elements().empty());
}

TEST(RedisReplyTest, EqualityDistinguishesTypes) {
  EXPECT_NE(RedisReply::String("OK"), RedisReply::Status("OK"));
  EXPECT_NE(RedisReply::String("OK"), RedisReply::Error("OK"));
  EXPECT_NE(RedisReply::Array({}), RedisReply::Nil());
  EXPECT_EQ(RedisReply::Array({RedisReply::Integer(1)}),
            RedisReply::Array({RedisReply::Integer(1)}));
}

TEST(RedisReplyTest, DebugStringEscapesBytes) {
  EXPECT_EQ(RedisReply::String(std::string("a\0\n", 3)).DebugString(),
            "\"a\\x00\\n\"");
  EXPECT_EQ(RedisReply::Integer(3).DebugString(), "(integer) 3");
  EXPECT_EQ(RedisReply::Array({RedisReply::Nil(), RedisReply::Status("OK")})
                .DebugString(),
            "[(nil), (status) OK]");
}

TEST(RedisReplyTest, IsErrorWithPrefixMatchesWholeFirstWord) {
  RedisReply noscript = RedisReply::Error("NOSCRIPT No matching script.");
  EXPECT_TRUE(noscript.IsErrorWithPrefix("NOSCRIPT"));
  EXPECT_FALSE(noscript.IsErrorWithPrefix("NOSCRIPTS"));
  EXPECT_FALSE(noscript.IsErrorWithPrefix("NOS"));
  EXPECT_TRUE(RedisReply::Error("BUSY").IsErrorWithPrefix("BUSY"));
  EXPECT_FALSE(RedisReply::String("NOSCRIPT x").IsErrorWithPrefix("NOSCRIPT"));
}

TEST(RedisReplyTest, ErrorToStatusMapping) {
  EXPECT_TRUE(RedisErrorToStatus(RedisReply::Status("OK")).ok());
  EXPECT_TRUE(RedisErrorToStatus(RedisReply::Nil()).ok());
  EXPECT_EQ(RedisErrorToStatus(RedisReply::Error("WRONGTYPE Operation against"))
                .code(),
            absl::StatusCode::kFailedPrecondition);
  const absl::Status oom = RedisErrorToStatus(RedisReply::Error(
      "OOM command not allowed when used memory > 'maxmemory'. script: 7155b73c, on "
      "@user_script:41."));
  EXPECT_EQ(oom.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(oom.message().find("script"), absl::string_view::npos) << oom;  // no internals
  EXPECT_NE(oom.message().find("out of memory"), absl::string_view::npos) << oom;
  EXPECT_EQ(RedisErrorToStatus(RedisReply::Error("LOADING Redis is loading")).code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(RedisErrorToStatus(RedisReply::Error("BUSY Redis is busy")).code(),
            absl::StatusCode::kUnavailable);
  absl::Status err = RedisErrorToStatus(RedisReply::Error("ERR syntax error"));
  EXPECT_EQ(err.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(err.message(), "ERR syntax error");
}

TEST(RedisReplyTest, ErrorReplyAsStatusPassesOtherRepliesAndStatuses) {
  EXPECT_EQ(*ErrorReplyAsStatus(RedisReply::Integer(2)), RedisReply::Integer(2));
  EXPECT_EQ(ErrorReplyAsStatus(RedisReply::Error("ERR x")).status().code(),
            absl::StatusCode::kInternal);
  EXPECT_EQ(ErrorReplyAsStatus(absl::UnavailableError("down")).status().code(),
            absl::StatusCode::kUnavailable);
}

TEST(RedisReplyTest, SscanPageOfReadsTheCursorAndMembers) {
  const RedisReply reply = RedisReply::Array(
      {RedisReply::String("17"),
       RedisReply::Array({RedisReply::String("a"), RedisReply::String(std::string("b\0", 2))})});
  std::optional<SscanPage> page = SscanPageOf(reply);
  ASSERT_TRUE(page.has_value());
  EXPECT_EQ(page->cursor, "17");
  EXPECT_EQ(page->members, (std::vector<std::string>{"a", std::string("b\0", 2)}));
  EXPECT_FALSE(SscanPageOf(RedisReply::Integer(1)).has_value());
  EXPECT_FALSE(SscanPageOf(RedisReply::Array({RedisReply::String("0")})).has_value());
  EXPECT_FALSE(SscanPageOf(RedisReply::Array({RedisReply::String("0"), RedisReply::Integer(2)}))
                   .has_value());
}

}  // namespace
}  // namespace segmentd::store::redis
