// Fuzz target: a batch of events as BulkIngest receives it
// (segmentd.v1.BulkIngestRequest), through the validation at the edge
// (PrepareEvent), into profiles through the mutations the live path applies,
// then classified under the default config.
//
// Checks: a rejected event is INVALID_ARGUMENT naming a field below its own
// "events[i]."; an event the profile refuses fails with a caller's error,
// never an internal one, and leaves the profile as it was (the live path
// applies events in place); every resulting profile keeps the engine's
// promises at the instants its facts make interesting (customer_checks.h).
#include <map>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/classify.h"
#include "engine/config.h"
#include "engine/generator.h"
#include "engine/stats.h"
#include "server/services/event_conversion.h"
#include "tests/fuzz/customer_checks.h"
#include "tests/fuzz/fuzz_target.h"
#include "tests/fuzz/generated_events.h"

namespace segmentd::fuzz {
namespace {

// Beyond this many events an input explores volume, not rules.
constexpr int kMaxEvents = 64;

bool IsCallersError(const absl::Status& s) {
  return absl::IsInvalidArgument(s) || absl::IsNotFound(s) || absl::IsFailedPrecondition(s) ||
         absl::IsOutOfRange(s) || absl::IsAlreadyExists(s);
}

}  // namespace

std::vector<std::string> Seeds() {
  return GeneratedHistories(engine::GeneratorOptions(), 12, kMaxEvents);
}

}  // namespace segmentd::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace segmentd;
  v1::BulkIngestRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
  if (request.events_size() > fuzz::kMaxEvents) return 0;
  std::map<std::string, engine::Profile> profiles;
  absl::flat_hash_map<std::string, engine::CategoryId> category_ids;
  for (int i = 0; i < request.events_size(); ++i) {
    const std::string prefix = absl::StrCat("events[", i, "].");
    absl::StatusOr<PreparedEvent> event = PrepareEvent(request.events(i), prefix);
    if (!event.ok()) {
      FUZZ_CHECK(absl::IsInvalidArgument(event.status()) &&
                     absl::StartsWith(event.status().message(), prefix),
                 event.status().ToString());
      continue;
    }
    std::vector<engine::CategoryId> ids;
    for (const std::string& name : event->category_names) {
      ids.push_back(category_ids.emplace(name, category_ids.size()).first->second);
    }
    // Applied in place, as the live path does unless the customer holds
    // another's order: a refusal must leave the profile untouched.
    engine::Profile& profile = profiles[event->customer_id];
    const engine::Profile before = profile;
    absl::StatusOr<engine::EventOutcome> outcome = event->mutation(ids)(&profile);
    if (!outcome.ok()) {
      FUZZ_CHECK(fuzz::IsCallersError(outcome.status()), outcome.status().ToString());
      FUZZ_CHECK(profile == before, absl::StrCat(prefix, ": refused (", outcome.status().ToString(),
                                                 ") but changed the profile"));
    }
  }
  const engine::SegmentConfig config;
  const absl::Time now = engine::GeneratorOptions().now;
  std::vector<engine::ProfileView> views;
  for (const auto& [id, profile] : profiles) views.push_back(profile.view());
  absl::StatusOr<engine::Classifier> classifier =
      engine::Classifier::Create(config, engine::ComputeStats(views, config, now));
  FUZZ_CHECK(classifier.ok(), classifier.status().ToString());
  for (const auto& [id, profile] : profiles) {
    for (absl::Time t : fuzz::InstantsOf(profile, now))
      fuzz::CheckCustomer(*classifier, profile, t);
  }
  return 0;
}
