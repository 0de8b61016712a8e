// Fuzz target: a segment config as UpdateConfig receives it
// (segmentd.v1.SegmentConfig), through the validation at the edge
// (ConfigFromProto), then the engine under every config it accepts.
//
// Input: one byte choosing the instant to classify at, then the serialized
// config. Checks: a rejected config is INVALID_ARGUMENT naming a field below
// "config."; an accepted one survives its stored form (ConfigToProto) and
// back unchanged, and under it every customer of a small generated
// population keeps the engine's promises (customer_checks.h).
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "engine/classify.h"
#include "engine/config.h"
#include "engine/generator.h"
#include "engine/stats.h"
#include "google/protobuf/util/message_differencer.h"
#include "server/config_convert.h"
#include "tests/fuzz/customer_checks.h"
#include "tests/fuzz/fuzz_target.h"

namespace segmentd::fuzz {
namespace {

constexpr int kCustomers = 16;

const std::vector<engine::Profile>& Population() {
  static const std::vector<engine::Profile>* const profiles = [] {
    auto* out = new std::vector<engine::Profile>;
    for (int i = 0; i < kCustomers; ++i) {
      out->push_back(
          *engine::BuildProfile(engine::GenerateCustomer(engine::GeneratorOptions(), i)));
    }
    return out;
  }();
  return *profiles;
}

absl::Time InstantFor(uint8_t choice) {
  const absl::Time now = engine::GeneratorOptions().now;
  switch (choice % 5) {
    case 0:
      return now;
    case 1:
      return now + absl::Hours(24 * 400);  // everyone inactive for a while
    case 2:
      return now - absl::Hours(24 * 500);  // before most histories
    case 3:
      return absl::UnixEpoch() + absl::Hours(24);
    default:
      return absl::FromCivil(absl::CivilDay(5000, 1, 1), absl::UTCTimeZone());
  }
}

}  // namespace

std::vector<std::string> Seeds() {
  std::vector<std::string> seeds;
  auto add = [&](uint8_t instant, const v1::SegmentConfig& config) {
    seeds.push_back(std::string(1, static_cast<char>(instant)) + config.SerializeAsString());
  };
  for (uint8_t instant = 0; instant < 5; ++instant) add(instant, v1::SegmentConfig());
  for (engine::Preset p : {engine::Preset::kFastFood, engine::Preset::kFashion,
                           engine::Preset::kGrocery, engine::Preset::kElectronics}) {
    add(0, ConfigToProto(engine::PresetConfig(p)));
  }
  return seeds;
}

}  // namespace segmentd::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace segmentd;
  if (size == 0) return 0;
  v1::SegmentConfig proto;
  if (!proto.ParseFromArray(data + 1, static_cast<int>(size - 1))) return 0;
  absl::StatusOr<engine::SegmentConfig> config = ConfigFromProto(proto, "config.");
  if (!config.ok()) {
    FUZZ_CHECK(absl::IsInvalidArgument(config.status()) &&
                   absl::StartsWith(config.status().message(), "config."),
               config.status().ToString());
    return 0;
  }
  const v1::SegmentConfig stored = ConfigToProto(*config);
  absl::StatusOr<engine::SegmentConfig> reread = ConfigFromProto(stored, "config.");
  FUZZ_CHECK(reread.ok(), reread.status().ToString());
  FUZZ_CHECK(google::protobuf::util::MessageDifferencer::Equals(ConfigToProto(*reread), stored),
             stored.ShortDebugString());

  const absl::Time as_of = fuzz::InstantFor(data[0]);
  std::vector<engine::ProfileView> views;
  for (const engine::Profile& p : fuzz::Population()) views.push_back(p.view());
  absl::StatusOr<engine::Classifier> classifier =
      engine::Classifier::Create(*config, engine::ComputeStats(views, *config, as_of));
  FUZZ_CHECK(classifier.ok(), classifier.status().ToString());
  for (const engine::Profile& p : fuzz::Population()) fuzz::CheckCustomer(*classifier, p, as_of);
  return 0;
}
