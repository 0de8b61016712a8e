#include "store/redis/redis_address.h"

#include <initializer_list>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace segmentd::store::redis {
namespace {

RedisAddress ParseOk(absl::string_view text) {
  absl::StatusOr<RedisAddress> address = RedisAddress::Parse(text);
  EXPECT_TRUE(address.ok()) << address.status();
  return address.ok() ? *address : RedisAddress();
}

TEST(RedisAddressTest, DefaultIsStockRedis) {
  EXPECT_EQ(RedisAddress().ToString(), "127.0.0.1:6379");
}

TEST(RedisAddressTest, ParsesUnixForms) {
  for (absl::string_view text :
       {"unix:/run/redis.sock", "unix:///run/redis.sock", "/run/redis.sock"}) {
    RedisAddress address = ParseOk(text);
    EXPECT_TRUE(address.is_unix()) << text;
    EXPECT_EQ(address.path(), "/run/redis.sock") << text;
    EXPECT_EQ(address.ToString(), "unix:/run/redis.sock") << text;
  }
  // Relative paths are allowed with the explicit scheme.
  EXPECT_EQ(ParseOk("unix:redis.sock").path(), "redis.sock");
}

TEST(RedisAddressTest, ParsesTcpForms) {
  RedisAddress address = ParseOk("localhost:6379");
  EXPECT_EQ(address.kind(), RedisAddress::Kind::kTcp);
  EXPECT_EQ(address.host(), "localhost");
  EXPECT_EQ(address.port(), 6379);

  EXPECT_EQ(ParseOk("tcp://10.0.0.5:7000"), RedisAddress::Tcp("10.0.0.5", 7000));
  EXPECT_EQ(ParseOk("[::1]:6379"), RedisAddress::Tcp("::1", 6379));
  EXPECT_EQ(ParseOk("tcp://[::1]:1").ToString(), "[::1]:1");
  EXPECT_EQ(ParseOk("h:65535").port(), 65535);
}

TEST(RedisAddressTest, ToStringRoundTrips) {
  for (absl::string_view text : {"unix:/tmp/a b.sock", "example.com:6380", "[fe80::1]:6379",
                                 // A path starting "//" must not come back as "unix://" + a shorter
                                 // path (found by //tests/fuzz:decoders_fuzz).
                                 "//run/redis.sock", "unix:////x", "unix:relative.sock"}) {
    EXPECT_EQ(ParseOk(ParseOk(text).ToString()), ParseOk(text)) << text;
  }
}

TEST(RedisAddressTest, RejectsBadInputNamingIt) {
  const std::string long_path = "/" + std::string(200, 'x');
  for (absl::string_view text : std::initializer_list<absl::string_view>{
           "",
           "unix:",
           "unix://",
           "localhost",
           "localhost:",
           ":6379",
           "localhost:0",
           "localhost:65536",
           "localhost:-1",
           "localhost:63a9",
           "localhost:+80",
           "tcp://localhost",
           "tcp://localhost:6379/0",
           "redis://localhost:6379",
           "http://x:1",
           "::1:6379",
           "[::1:6379",
           "[::1]6379",
           "[]:6379",
           "bad host:6379",
           absl::string_view(long_path),
       }) {
    absl::StatusOr<RedisAddress> address = RedisAddress::Parse(text);
    ASSERT_FALSE(address.ok()) << "accepted \"" << text << "\"";
    EXPECT_EQ(address.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(address.status().message().find(absl::StrCat("\"", text.substr(0, 20))),
              std::string::npos)
        << address.status();
  }
}

TEST(RedisAddressTest, ErrorMessageEscapesBinaryInput) {
  absl::StatusOr<RedisAddress> address =
      RedisAddress::Parse(absl::string_view("unix:/a\0b", 9));
  ASSERT_FALSE(address.ok());
  EXPECT_NE(address.status().message().find("\\x00"), std::string::npos)
      << address.status();
}

}  // namespace
}  // namespace segmentd::store::redis
