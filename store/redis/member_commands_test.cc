#include "store/redis/member_commands.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace segmentd::store::redis {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(MemberCommandsTest, GathersMembersPerCommandAndKeyInFirstComeOrder) {
  MemberCommands commands;
  commands.Add("SREM", "s:VIP", {"a"});
  commands.Add("SADD", "s:LAPSED", {"a"});
  commands.Add("ZADD", "sched", {"17", "a"});
  commands.Add("SREM", "s:VIP", {"b"});
  commands.Add("SADD", "s:VIP", {"c"});
  commands.Add("ZADD", "sched", {"5", "b"});
  EXPECT_FALSE(commands.empty());
  std::vector<RedisCommand> out = {{"XADD", "changes"}};
  commands.AppendTo(out);
  EXPECT_THAT(out,
              ElementsAre(ElementsAre("XADD", "changes"), ElementsAre("SREM", "s:VIP", "a", "b"),
                          ElementsAre("SADD", "s:LAPSED", "a"),
                          ElementsAre("ZADD", "sched", "17", "a", "5", "b"),
                          ElementsAre("SADD", "s:VIP", "c")));
  EXPECT_TRUE(commands.empty());
}

TEST(MemberCommandsTest, StartsAfreshOnceAppended) {
  MemberCommands commands;
  commands.Add("ZREM", "aov0", {"a"});
  std::vector<RedisCommand> first;
  commands.AppendTo(first);
  commands.Add("ZREM", "aov0", {"b"});
  std::vector<RedisCommand> second;
  commands.AppendTo(second);
  EXPECT_THAT(second, ElementsAre(ElementsAre("ZREM", "aov0", "b")));
  std::vector<RedisCommand> none;
  commands.AppendTo(none);
  EXPECT_THAT(none, IsEmpty());
}

}  // namespace
}  // namespace segmentd::store::redis
