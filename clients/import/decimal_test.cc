#include "clients/import/decimal.h"

#include "gtest/gtest.h"

namespace segmentd::clients {
namespace {

TEST(ParseScaledDecimalTest, ExactValues) {
  EXPECT_EQ(*ParseScaledDecimal("11.77", 2), 1177);
  EXPECT_EQ(*ParseScaledDecimal(" 12 ", 2), 1200);
  EXPECT_EQ(*ParseScaledDecimal("0.5", 2), 50);
  EXPECT_EQ(*ParseScaledDecimal("-3.1", 2), -310);
  EXPECT_EQ(*ParseScaledDecimal("+7.", 2), 700);
  EXPECT_EQ(*ParseScaledDecimal(".25", 2), 25);
  EXPECT_EQ(*ParseScaledDecimal("4.15", 4), 41500);
  EXPECT_EQ(*ParseScaledDecimal("0.00", 2), 0);
}

TEST(ParseScaledDecimalTest, RoundsHalfAwayFromZero) {
  EXPECT_EQ(*ParseScaledDecimal("0.125", 2), 13);
  EXPECT_EQ(*ParseScaledDecimal("0.124", 2), 12);
  EXPECT_EQ(*ParseScaledDecimal("-0.125", 2), -13);
  EXPECT_EQ(*ParseScaledDecimal("2.999", 2), 300);
}

TEST(ParseScaledDecimalTest, RejectsWhatIsNotADecimal) {
  for (const char* bad : {"", " ", "-", ".", "1.2.3", "1e5", "1,000", "12a", "0x10",
                          "1234567890123456789", "nan"}) {
    EXPECT_FALSE(ParseScaledDecimal(bad, 2).ok()) << bad;
  }
}

TEST(RoundDivPow10Test, HalfAwayFromZero) {
  EXPECT_EQ(RoundDivPow10(1250, 2), 13);
  EXPECT_EQ(RoundDivPow10(1249, 2), 12);
  EXPECT_EQ(RoundDivPow10(-1250, 2), -13);
  EXPECT_EQ(RoundDivPow10(-1249, 2), -12);
  EXPECT_EQ(RoundDivPow10(7, 0), 7);
}

}  // namespace
}  // namespace segmentd::clients
