// Fuzz target: `segctl config set|preview PATH=VALUE...` arguments, one per
// input line, through SetConfigPath. Checks: a refusal is INVALID_ARGUMENT
// naming the path; what is accepted comes back whole from FlattenConfig, whose
// pairs set on an empty config give the same config again.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "clients/segctl/config_paths.h"
#include "google/protobuf/util/field_comparator.h"
#include "google/protobuf/util/message_differencer.h"
#include "tests/fuzz/fuzz_target.h"

std::vector<std::string> segmentd::fuzz::Seeds() {
  return {
      "frequent_buyer.min_orders=5\nvip.top_percent=10\n",
      "big_spender.threshold_amount=12345\nlow_spender.threshold_store_aov_multiple=0.5\n",
      "primary_priority=VIP,LOYAL_CUSTOMER\nengagement.display_name=Fans\n",
      "value_tiers.high_percent=20\nlapsed.inactive_days=90\n",
  };
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace segmentd;
  const std::string text(reinterpret_cast<const char*>(data), size);
  v1::SegmentConfig config;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    const std::vector<std::string> parts = absl::StrSplit(line, absl::MaxSplits('=', 1));
    if (parts.size() != 2) continue;
    absl::Status s = segctl::SetConfigPath(parts[0], parts[1], &config);
    FUZZ_CHECK(s.ok() || (absl::IsInvalidArgument(s) && absl::StrContains(s.message(), parts[0])),
               s.ToString());
  }
  v1::SegmentConfig again;
  for (const auto& [path, value] : segctl::FlattenConfig(config)) {
    absl::Status s = segctl::SetConfigPath(path, value, &again);
    FUZZ_CHECK(s.ok(), absl::StrCat(path, "=", value, ": ", s.ToString()));
  }
  // "nan" is a number SetConfigPath takes (the server refuses it, naming the
  // field); it must come back as NaN.
  google::protobuf::util::DefaultFieldComparator nan_is_nan;
  nan_is_nan.set_treat_nan_as_equal(true);
  google::protobuf::util::MessageDifferencer differencer;
  differencer.set_field_comparator(&nan_is_nan);
  FUZZ_CHECK(differencer.Compare(config, again),
             absl::StrCat(config.ShortDebugString(), " came back as ", again.ShortDebugString()));
  return 0;
}
