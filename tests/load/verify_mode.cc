#include "tests/load/verify_mode.h"

#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/classify.h"
#include "engine/stats.h"
#include "segmentd/v1/classification.grpc.pb.h"
#include "tests/load/statistics_sets.h"

namespace segmentd::load {
namespace {

// Segment name -> reason text of every member segment.
using Reasons = std::map<std::string, std::string>;

Reasons EngineReasons(const engine::Classifier& classifier, const engine::Profile& profile,
                      absl::Time as_of) {
  Reasons out;
  auto name = [](engine::CategoryId id) { return CategoryName(id); };
  for (const engine::SegmentExplanation& e : classifier.Explain(profile.view(), as_of, name)) {
    if (e.member) out[e.segment] = e.reason;
  }
  return out;
}

std::set<std::string> EngineSegments(const engine::Classification& c) {
  std::set<std::string> out;
  for (int s = 0; s < engine::kNumSegments; ++s) {
    if (c.segments.Contains(static_cast<engine::Segment>(s))) {
      out.insert(std::string(engine::SegmentName(static_cast<engine::Segment>(s))));
    }
  }
  for (engine::CategoryId id : c.categories) {
    out.insert(engine::CategorySegmentName(CategoryName(id)));
  }
  return out;
}

}  // namespace

absl::Status RunVerify(const LoadOptions& options) {
  if (options.customers <= 0 || options.verify_sample <= 0) return absl::OkStatus();
  // One instant for both sides, in whole milliseconds (the server's precision).
  const absl::Time as_of = absl::FromUnixMillis(absl::ToUnixMillis(absl::Now()));
  const engine::SegmentConfig config;  // the defaults, as for a new tenant

  std::mt19937_64 rng(options.seed * 7919 + 17);
  std::uniform_int_distribution<int64_t> pick(0, options.customers - 1);
  std::set<int64_t> sample_set;
  const int64_t want = std::min<int64_t>(options.verify_sample, options.customers);
  while (static_cast<int64_t>(sample_set.size()) < want) sample_set.insert(pick(rng));
  const std::vector<int64_t> sample(sample_set.begin(), sample_set.end());

  // The whole population feeds the statistics (VIP and value-tier cut-offs,
  // store AOV); only the sample's profiles are kept.
  engine::GeneratorOptions generator;
  generator.seed = options.seed;
  // The server's statistics at an explicit as_of: store AOV over
  // (as_of - L days, as_of], as the engine counts it.
  engine::StatsBuilder stats(config, as_of);
  std::map<int64_t, engine::Profile> profiles;
  BuyerMeasures buyers;
  for (int64_t i = 0; i < options.customers; ++i) {
    absl::StatusOr<engine::Profile> p =
        engine::BuildProfile(SentPart(engine::GenerateCustomer(generator, i)));
    if (!p.ok()) return p.status();
    stats.Add(p->view());
    const engine::LifetimeTotals lifetime =
        engine::ComputeLifetime(p->view(), absl::ToUnixMillis(as_of));
    if (lifetime.orders >= 1) {
      buyers.orders.push_back(lifetime.orders);
      buyers.revenue.push_back(lifetime.net_revenue);
    }
    if (sample_set.count(i)) profiles.emplace(i, *std::move(p));
  }
  const engine::PopulationStats population = stats.Build();
  absl::StatusOr<engine::Classifier> classifier = engine::Classifier::Create(config, population);
  if (!classifier.ok()) return classifier.status();

  std::unique_ptr<v1::ClassificationService::Stub> stub =
      v1::ClassificationService::NewStub(NewChannel(options.target));
  int64_t found = 0, membership_equal = 0, reasons_equal = 0;
  std::map<std::string, int64_t> mismatches;  // segment -> customers differing on it
  std::vector<std::string> examples;
  for (size_t begin = 0; begin < sample.size(); begin += 1000) {
    const size_t end = std::min(sample.size(), begin + 1000);
    v1::ClassifyCustomersRequest request;
    for (size_t k = begin; k < end; ++k) request.add_customer_ids(absl::StrCat("cust-", sample[k]));
    *request.mutable_as_of() = ToTimestamp(as_of);
    request.set_include_reasons(true);
    v1::ClassifyCustomersResponse response;
    grpc::ClientContext context;
    PrepareContext(&context, options.key, absl::Seconds(60));
    const grpc::Status status = stub->ClassifyCustomers(&context, request, &response);
    if (!status.ok()) return FromGrpc(status);
    for (size_t k = begin; k < end; ++k) {
      const v1::CustomerClassification& got = response.classifications(k - begin);
      const engine::Profile& profile = profiles.at(sample[k]);
      const std::set<std::string> want_segments =
          EngineSegments(classifier->Classify(profile.view(), as_of));
      const Reasons want_reasons = EngineReasons(*classifier, profile, as_of);
      found += got.found();
      const std::set<std::string> got_segments(got.membership().segments().begin(),
                                               got.membership().segments().end());
      Reasons got_reasons;
      for (const v1::SegmentReason& r : got.reasons()) got_reasons[r.segment()] = r.reason();
      membership_equal += got_segments == want_segments;
      reasons_equal += got_reasons == want_reasons;
      if (got_segments == want_segments && got_reasons == want_reasons) continue;
      std::set<std::string> all = got_segments;
      all.insert(want_segments.begin(), want_segments.end());
      for (const std::string& s : all) {
        const bool in_got = got_reasons.count(s) > 0, in_want = want_reasons.count(s) > 0;
        if (in_got != in_want || (in_got && got_reasons[s] != want_reasons.at(s))) {
          ++mismatches[s];
          if (examples.size() < 5) {
            examples.push_back(absl::StrCat(got.customer_id(), " ", s, ": server \"",
                                            in_got ? got_reasons[s] : "(not a member)",
                                            "\" engine \"",
                                            in_want ? want_reasons.at(s) : "(not a member)", "\""));
          }
        }
      }
    }
  }
  const int64_t n = static_cast<int64_t>(sample.size());
  std::printf("verify: %lld sampled customers at as_of %s: %lld found, %lld same membership, "
              "%lld same reasons\n",
              static_cast<long long>(n), absl::FormatTime(as_of, absl::UTCTimeZone()).c_str(),
              static_cast<long long>(found), static_cast<long long>(membership_equal),
              static_cast<long long>(reasons_equal));
  std::vector<std::string> by_segment;
  for (const auto& [segment, count] : mismatches) {
    by_segment.push_back(absl::StrCat(segment, "=", count));
  }
  if (!by_segment.empty()) {
    std::printf("verify: customers differing, per segment: %s\n",
                absl::StrJoin(by_segment, " ").c_str());
  }
  for (const std::string& e : examples) std::printf("verify: e.g. %s\n", e.c_str());
  std::printf("%s\n", JsonLine()
                          .Add("mode", "verify")
                          .Add("customers", options.customers)
                          .Add("sampled", n)
                          .Add("found", found)
                          .Add("membership_equal", membership_equal)
                          .Add("reasons_equal", reasons_equal)
                          .Add("differing_segments", absl::StrJoin(by_segment, " "))
                          .Line()
                          .c_str());
  std::fflush(stdout);
  if (found != n || membership_equal != n || reasons_equal != n) {
    return absl::DataLossError("the server's state differs from the events sent");
  }
  return CheckStatisticsSegments(options, config, population, buyers, absl::Seconds(120));
}

}  // namespace segmentd::load
