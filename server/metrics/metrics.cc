#include "server/metrics/metrics.h"

#include <prometheus/text_serializer.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace segmentd {
namespace {

// Bucket upper bounds, in seconds, for each kind of duration.
const prometheus::Histogram::BucketBoundaries& RpcBuckets() {
  static const auto* b = new prometheus::Histogram::BucketBoundaries{
      0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return *b;
}
const prometheus::Histogram::BucketBoundaries& StoreWriteBuckets() {
  static const auto* b = new prometheus::Histogram::BucketBoundaries{
      0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1};
  return *b;
}
// The live-membership promise is "within 1 s of falling due".
const prometheus::Histogram::BucketBoundaries& LagBuckets() {
  static const auto* b =
      new prometheus::Histogram::BucketBoundaries{0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10, 60};
  return *b;
}
// DESIGN.md: a config update over 1M customers in <= 2 s.
const prometheus::Histogram::BucketBoundaries& ConfigBuckets() {
  static const auto* b =
      new prometheus::Histogram::BucketBoundaries{0.01, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 300};
  return *b;
}

const char* CauseName(store::ChangeCause cause) {
  switch (cause) {
    case store::ChangeCause::kEvent:
      return "event";
    case store::ChangeCause::kTime:
      return "time";
    case store::ChangeCause::kConfig:
      return "config";
    case store::ChangeCause::kStatistics:
      return "statistics";
  }
  return "unknown";
}

// A gRPC status code by its canonical name ("OK", "INVALID_ARGUMENT", ...):
// Abseil's codes are gRPC's. A code neither defines is named by its number.
std::string CodeName(int code) {
  std::string name = absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
  return name.empty() ? absl::StrCat(code) : name;
}

}  // namespace

Metrics::Metrics() : registry_(std::make_shared<prometheus::Registry>()) {
  auto& events = prometheus::BuildCounter()
                     .Name("segmentd_ingest_events_total")
                     .Help("Ingested events by outcome (applied, duplicate, ignored, rejected)")
                     .Register(*registry_);
  events_ = {&events.Add({{"outcome", "applied"}}), &events.Add({{"outcome", "duplicate"}}),
             &events.Add({{"outcome", "ignored"}}), &events.Add({{"outcome", "rejected"}})};
  auto& writes =
      prometheus::BuildCounter()
          .Name("segmentd_customer_writes_total")
          .Help("Customer writes committed to Redis, by cause (event, time, config, statistics)")
          .Register(*registry_);
  for (store::ChangeCause cause : {store::ChangeCause::kEvent, store::ChangeCause::kTime,
                                   store::ChangeCause::kConfig, store::ChangeCause::kStatistics}) {
    writes_[static_cast<int>(cause) - 1] = &writes.Add({{"cause", CauseName(cause)}});
  }
  conflicts_ =
      &prometheus::BuildCounter()
           .Name("segmentd_write_conflicts_total")
           .Help(
               "Customer writes refused because the customer or the config changed since it "
               "was read (each is retried)")
           .Register(*registry_)
           .Add({});
  store_write_seconds_ =
      &prometheus::BuildHistogram()
           .Name("segmentd_store_write_seconds")
           .Help("One commit of a group of customers: ceil(N / 32) pipelined Redis round trips")
           .Register(*registry_)
           .Add({}, StoreWriteBuckets());
  transition_lag_seconds_ =
      &prometheus::BuildHistogram()
           .Name("segmentd_transition_lag_seconds")
           .Help(
               "How long the oldest due customer had been due when the scheduler took it "
               "(time-driven changes are applied within this plus one pass)")
           .Register(*registry_)
           .Add({}, LagBuckets());
  backfill_customers_ =
      &prometheus::BuildCounter()
           .Name("segmentd_backfill_customers_total")
           .Help(
               "Customers of tenants stored before the order record or the registration index "
               "existed that this replica's backfill has filled in, by backfill")
           .Register(*registry_);
  // Both series from the start, at 0: a dashboard or alert built on them
  // finds them before any backfill runs (a reviewer found none on a store
  // that never needed one).
  for (const char* backfill : {"order_record", "registration_index"}) {
    backfill_customers_->Add({{"backfill", backfill}});
  }
  config_update_seconds_ =
      &prometheus::BuildHistogram()
           .Name("segmentd_config_update_seconds")
           .Help("Re-classification of a tenant after a completed config update")
           .Register(*registry_)
           .Add({}, ConfigBuckets());
  redis_up_ = &prometheus::BuildGauge()
                   .Name("segmentd_redis_up")
                   .Help(
                       "1 when the last health probe found Redis usable (reachable, holding this "
                       "segmentd's data, accepting writes), else 0")
                   .Register(*registry_)
                   .Add({});
  rpc_seconds_ = &prometheus::BuildHistogram()
                      .Name("segmentd_rpc_duration_seconds")
                      .Help("Finished RPCs by full method name and status code")
                      .Register(*registry_);
}

std::string Metrics::Text() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

void Metrics::CountEvent(engine::EventOutcome outcome) {
  switch (outcome) {
    case engine::EventOutcome::kApplied:
      events_[0]->Increment();
      return;
    case engine::EventOutcome::kDuplicate:
      events_[1]->Increment();
      return;
    case engine::EventOutcome::kIgnored:
      events_[2]->Increment();
      return;
  }
}

void Metrics::CountRejectedEvent() { events_[3]->Increment(); }

void Metrics::CountBackfilled(absl::string_view backfill, int64_t customers) {
  backfill_customers_->Add({{"backfill", std::string(backfill)}})
      .Increment(static_cast<double>(customers));
}

void Metrics::CountWrites(store::ChangeCause cause, int64_t committed, int64_t conflicts) {
  const int k = static_cast<int>(cause) - 1;
  if (k >= 0 && k < static_cast<int>(writes_.size()) && committed > 0) {
    writes_[k]->Increment(static_cast<double>(committed));
  }
  if (conflicts > 0) conflicts_->Increment(static_cast<double>(conflicts));
}

void Metrics::ObserveStoreWrite(absl::Duration elapsed) {
  store_write_seconds_->Observe(absl::ToDoubleSeconds(elapsed));
}

void Metrics::ObserveTransitionLag(absl::Duration lag) {
  transition_lag_seconds_->Observe(absl::ToDoubleSeconds(lag));
}

void Metrics::ObserveConfigUpdate(absl::Duration elapsed) {
  config_update_seconds_->Observe(absl::ToDoubleSeconds(elapsed));
}

void Metrics::SetRedisUp(bool up) { redis_up_->Set(up ? 1 : 0); }

Metrics::RpcMethodSeries* Metrics::ForRpcMethod(absl::string_view method) {
  absl::MutexLock lock(&rpc_mu_);
  std::unique_ptr<RpcMethodSeries>& series = rpc_methods_[method];
  if (series == nullptr) {
    series.reset(new RpcMethodSeries(rpc_seconds_, std::string(method)));
  }
  return series.get();
}

Metrics::RpcMethodSeries::RpcMethodSeries(prometheus::Family<prometheus::Histogram>* family,
                                          std::string method)
    : family_(family), method_(std::move(method)) {
  for (std::atomic<prometheus::Histogram*>& h : by_code_) h.store(nullptr);
}

void Metrics::RpcMethodSeries::Observe(int code, absl::Duration elapsed) {
  const double seconds = absl::ToDoubleSeconds(elapsed);
  const bool known_code = code >= 0 && code < kCodes;
  if (known_code) {
    if (prometheus::Histogram* h = by_code_[code].load(std::memory_order_acquire)) {
      h->Observe(seconds);
      return;
    }
  }
  // First call with this code (or a code gRPC does not define): Family::Add
  // makes the series, or returns the one a racing call just made.
  prometheus::Histogram& series =
      family_->Add({{"method", method_}, {"code", CodeName(code)}}, RpcBuckets());
  if (known_code) by_code_[code].store(&series, std::memory_order_release);
  series.Observe(seconds);
}

}  // namespace segmentd
