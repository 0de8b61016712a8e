#include <gtest/gtest.h>
#include "absl/strings/str_cat.h"
#include <grpcpp/grpcpp.h>
#include <hiredis/hiredis.h>
#include <roaring/roaring.h>
TEST(Smoke, Links) { EXPECT_EQ(absl::StrCat("a", 1), "a1"); roaring_bitmap_t* r = roaring_bitmap_create(); roaring_bitmap_free(r); }
