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
#include <atomic>
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
  // Customers a backfill of tenants stored before a record existed read and
  // filled in (`backfill`: "order_record", "registration_index"). Takes the
  // family's lock: once per page, not per customer.
  void CountBackfilled(absl::string_view backfill, int64_t customers);
  // One RPC method's latency series, by status code, each made on first use.
  // Look a method up once (ForRpcMethod) and record every call through the
  // handle: no hash lookup or lock per call. (A per-call Family::Add builds a
  // label map and takes the family's lock, which cost the hottest RPCs ~10%
  // of their throughput.)
  static constexpr int kCodes = 17;  // gRPC's status codes, 0-16
  class RpcMethodSeries {
   public:
    // One finished call of this method with gRPC status `code`.
    void Observe(int code, absl::Duration elapsed);

   private:
    friend class Metrics;
    RpcMethodSeries(prometheus::Family<prometheus::Histogram>* family, std::string method);

    prometheus::Family<prometheus::Histogram>* const family_;
    const std::string method_;
    std::array<std::atomic<prometheus::Histogram*>, kCodes> by_code_;
  };
  // The handle of `method`, the full name ("/pkg.Service/Method"): the same
  // for the same name, owned by this Metrics. Takes a lock; call it once per
  // method, not per RPC.
  RpcMethodSeries* ForRpcMethod(absl::string_view method);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::array<prometheus::Counter*, 4> events_{};  // applied, duplicate, ignored, rejected
  std::array<prometheus::Counter*, 4> writes_{};  // by store::ChangeCause
  prometheus::Counter* conflicts_ = nullptr;
  prometheus::Histogram* store_write_seconds_ = nullptr;
  prometheus::Histogram* transition_lag_seconds_ = nullptr;
  prometheus::Histogram* config_update_seconds_ = nullptr;
  prometheus::Gauge* redis_up_ = nullptr;
  prometheus::Family<prometheus::Counter>* backfill_customers_ = nullptr;
  prometheus::Family<prometheus::Histogram>* rpc_seconds_ = nullptr;
  absl::Mutex rpc_mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<RpcMethodSeries>> rpc_methods_
      ABSL_GUARDED_BY(rpc_mu_);
};

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_METRICS_METRICS_H_
