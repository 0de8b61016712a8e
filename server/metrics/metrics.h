#ifndef SEGMENTD_SERVER_METRICS_METRICS_H_
#define SEGMENTD_SERVER_METRICS_METRICS_H_

// The server's Prometheus metrics: one registry, and typed handles for the
// places that record them. What an operator watches to see that membership
// stays live: how many events land and how, how many customer writes commit
// and why (event, time, config, statistics), how often optimistic writes
// collide, how long Redis round trips and config updates take, how late
// time-driven transitions run, whether Redis is reachable, and every RPC's
// latency by method and status code. Names and meanings: docs/metrics.md.
//
// Components take a `Metrics*` that may be null (tests, tools): every
// recording method below is then skipped by the caller. Thread-safe: the
// prometheus-cpp metric types are.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "engine/profile.h"
#include "store/customer_store.h"

namespace segmentd {

class Metrics {
 public:
  Metrics();

  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // What an exposer serves and tests read.
  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }
  // The text exposition format of everything recorded so far.
  std::string Text() const;

  // One ingested event's outcome (the engine's, or rejected when refused).
  void CountEvent(engine::EventOutcome outcome);
  void CountRejectedEvent();
  // Customer writes the store committed, and those it refused because the
  // customer or the config moved since they were read (they are retried).
  void CountWrites(store::ChangeCause cause, int64_t committed, int64_t conflicts);
  // One commit of a group of customers (ceil(N / 32) Redis round trips).
  void ObserveStoreWrite(absl::Duration elapsed);
  // How long the oldest due customer had been due when the scheduler took it.
  void ObserveTransitionLag(absl::Duration lag);
  // One config update's re-classification, call to return.
  void ObserveConfigUpdate(absl::Duration elapsed);
  void SetRedisUp(bool up);
  // One finished RPC: full method name ("/pkg.Service/Method") and status.
  void ObserveRpc(absl::string_view method, int code, absl::Duration elapsed);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::array<prometheus::Counter*, 4> events_{};  // applied, duplicate, ignored, rejected
  std::array<prometheus::Counter*, 4> writes_{};  // by store::ChangeCause
  prometheus::Counter* conflicts_ = nullptr;
  prometheus::Histogram* store_write_seconds_ = nullptr;
  prometheus::Histogram* transition_lag_seconds_ = nullptr;
  prometheus::Histogram* config_update_seconds_ = nullptr;
  prometheus::Gauge* redis_up_ = nullptr;
  prometheus::Family<prometheus::Histogram>* rpc_seconds_ = nullptr;
  // Per method, the series of each status code (0-16), made on first use:
  // Family::Add builds a label map and takes the family's lock, which cost
  // the hottest RPCs ~10% of their throughput when done per call.
  static constexpr int kCodes = 17;
  using RpcSeries = std::array<prometheus::Histogram*, kCodes>;
  absl::Mutex rpc_mu_;
  absl::flat_hash_map<std::string, RpcSeries> rpc_series_ ABSL_GUARDED_BY(rpc_mu_);
};

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_METRICS_METRICS_H_
