// Fuzz target: every decoder of bytes segmentd reads back from Redis, and of
// the strings a client or operator sends outside a message. The first input
// byte picks the decoder; the rest is its input.
//   0  a stored profile (the customer hash's `p`): DecodeStoredProfileBytes
//   1  a stored membership (`m`): DecodeMembership
//   2  a Watch resume position: ParseChangePosition
//   3  an API key token (the authorization header): ParseApiKeyToken
//   4  a Redis address (the --redis flag): RedisAddress::Parse
//   5  a stored membership history (`h`): MembershipHistory::Decode
// Checks: each fails only with its documented code; what it accepts survives
// being written back and read again unchanged; a decoded profile keeps the
// engine's promises under the default config (customer_checks.h); a rejected
// token's error is the same whatever the token (it never echoes it).
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/classify.h"
#include "engine/config.h"
#include "engine/generator.h"
#include "engine/profile_codec.h"
#include "engine/stats.h"
#include "server/auth/api_key.h"
#include "server/live/membership_codec.h"
#include "server/live/membership_history.h"
#include "server/live/stored_profile.h"
#include "store/customer_store_validation.h"
#include "store/redis/redis_address.h"
#include "tests/fuzz/customer_checks.h"
#include "tests/fuzz/fuzz_target.h"

namespace segmentd::fuzz {
namespace {

enum Decoder : uint8_t {
  kProfile,
  kMembership,
  kPosition,
  kToken,
  kRedisAddress,
  kHistory,
  kDecoders
};

void FuzzProfile(absl::string_view bytes) {
  absl::StatusOr<engine::Profile> profile = DecodeStoredProfileBytes(bytes);
  if (!profile.ok()) {
    FUZZ_CHECK(absl::IsDataLoss(profile.status()), profile.status().ToString());
    return;
  }
  const engine::SegmentConfig config;
  const absl::Time now = engine::GeneratorOptions().now;
  const engine::ProfileView view = profile->view();
  absl::StatusOr<engine::Classifier> classifier =
      engine::Classifier::Create(config, engine::ComputeStats({&view, 1}, config, now));
  FUZZ_CHECK(classifier.ok(), classifier.status().ToString());
  for (absl::Time t : InstantsOf(*profile, now)) CheckCustomer(*classifier, *profile, t);
}

void FuzzMembership(absl::string_view bytes) {
  absl::StatusOr<StoredMembership> membership = DecodeMembership(bytes);
  if (!membership.ok()) {
    FUZZ_CHECK(absl::IsDataLoss(membership.status()), membership.status().ToString());
    return;
  }
  absl::StatusOr<StoredMembership> again = DecodeMembership(EncodeMembership(*membership));
  FUZZ_CHECK(again.ok() && *again == *membership, "membership round trip");
}

bool SameEntry(const HistoryEntry& a, const HistoryEntry& b) {
  return a.from == b.from && a.segments == b.segments && a.primary == b.primary;
}

void FuzzHistory(absl::string_view bytes) {
  absl::StatusOr<MembershipHistory> history = MembershipHistory::Decode(bytes);
  if (!history.ok()) {
    FUZZ_CHECK(absl::IsDataLoss(history.status()), history.status().ToString());
    return;
  }
  absl::StatusOr<MembershipHistory> again = MembershipHistory::Decode(history->Encode());
  FUZZ_CHECK(again.ok() && again->entries().size() == history->entries().size(),
             "history round trip");
  for (size_t i = 0; i < history->entries().size(); ++i) {
    const HistoryEntry& entry = history->entries()[i];
    FUZZ_CHECK(SameEntry(again->entries()[i], entry), "history round trip");
    // Each entry is the one in force from its own instant (a later entry
    // from the same instant supersedes it).
    const std::optional<HistoryEntry> at = history->At(entry.from);
    FUZZ_CHECK(at.has_value() && at->from == entry.from, absl::StrCat("At entry ", i));
  }
  // Recording on top of what was decoded keeps it decodable.
  MembershipHistory recorded = *history;
  const absl::Time last =
      history->entries().empty() ? absl::UnixEpoch() : history->entries().back().from;
  recorded.Record(last + absl::Hours(24), engine::SegmentSet(), std::nullopt);
  FUZZ_CHECK(MembershipHistory::Decode(recorded.Encode()).ok(), "recorded history decodes");
}

void FuzzPosition(absl::string_view text) {
  absl::StatusOr<store::ChangePosition> position = store::ParseChangePosition(text);
  if (!position.ok()) {
    FUZZ_CHECK(absl::IsInvalidArgument(position.status()), position.status().ToString());
    return;
  }
  absl::StatusOr<store::ChangePosition> again =
      store::ParseChangePosition(absl::StrCat(position->first, "-", position->second));
  FUZZ_CHECK(again.ok() && *again == *position, std::string(text));
}

void FuzzToken(absl::string_view text) {
  absl::StatusOr<ApiKeyToken> token = ParseApiKeyToken(text);
  if (!token.ok()) {
    FUZZ_CHECK(absl::IsUnauthenticated(token.status()), token.status().ToString());
    // Nothing of the token reaches the error: it reads the same for every one.
    FUZZ_CHECK(token.status() == ParseApiKeyToken("").status(), token.status().ToString());
    return;
  }
  absl::StatusOr<ApiKeyToken> again = ParseApiKeyToken(FormatApiKeyToken(*token));
  FUZZ_CHECK(again.ok() && again->key_id == token->key_id && again->secret == token->secret,
             "token round trip");
}

void FuzzRedisAddress(absl::string_view text) {
  absl::StatusOr<store::redis::RedisAddress> address = store::redis::RedisAddress::Parse(text);
  if (!address.ok()) {
    FUZZ_CHECK(absl::IsInvalidArgument(address.status()), address.status().ToString());
    return;
  }
  absl::StatusOr<store::redis::RedisAddress> again =
      store::redis::RedisAddress::Parse(address->ToString());
  FUZZ_CHECK(again.ok() && again->ToString() == address->ToString(), address->ToString());
}

std::string Input(Decoder decoder, absl::string_view bytes) {
  return absl::StrCat(std::string(1, static_cast<char>(decoder)), bytes);
}

}  // namespace

std::vector<std::string> Seeds() {
  std::vector<std::string> seeds;
  const engine::GeneratorOptions options;
  for (uint64_t i = 0; i < 6; ++i) {
    absl::StatusOr<engine::Profile> profile =
        engine::BuildProfile(engine::GenerateCustomer(options, i));
    seeds.push_back(Input(kProfile, engine::EncodeProfile(*profile)));
    const engine::Classification c =
        engine::Classifier::Create(engine::SegmentConfig(), engine::PopulationStats())
            ->Classify(profile->view(), options.now);
    seeds.push_back(Input(kMembership, EncodeMembership(MembershipOf(c))));
    MembershipHistory history;
    history.Record(options.now - absl::Hours(24 * (i + 1)), engine::SegmentSet(), std::nullopt);
    history.Record(options.now, c.segments, c.primary);
    seeds.push_back(Input(kHistory, history.Encode()));
  }
  for (const char* position : {"", "0-0", "1733300000000-7", "18446744073709551615-1"}) {
    seeds.push_back(Input(kPosition, position));
  }
  seeds.push_back(Input(kToken, FormatApiKeyToken(GenerateApiKeyToken())));
  for (const char* address : {"unix:/run/redis.sock", "tcp://[::1]:6379", "localhost:6379"}) {
    seeds.push_back(Input(kRedisAddress, address));
  }
  return seeds;
}

}  // namespace segmentd::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace segmentd::fuzz;
  if (size == 0) return 0;
  const absl::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % kDecoders) {
    case kProfile:
      FuzzProfile(rest);
      break;
    case kMembership:
      FuzzMembership(rest);
      break;
    case kPosition:
      FuzzPosition(rest);
      break;
    case kToken:
      FuzzToken(rest);
      break;
    case kRedisAddress:
      FuzzRedisAddress(rest);
      break;
    default:
      FuzzHistory(rest);
  }
  return 0;
}
