#include "server/metrics/metrics.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace segmentd {
namespace {

using ::testing::HasSubstr;

TEST(MetricsTest, CountsEventsByOutcome) {
  Metrics m;
  m.CountEvent(engine::EventOutcome::kApplied);
  m.CountEvent(engine::EventOutcome::kApplied);
  m.CountEvent(engine::EventOutcome::kDuplicate);
  m.CountRejectedEvent();
  const std::string text = m.Text();
  EXPECT_THAT(text, HasSubstr("segmentd_ingest_events_total{outcome=\"applied\"} 2"));
  EXPECT_THAT(text, HasSubstr("segmentd_ingest_events_total{outcome=\"duplicate\"} 1"));
  EXPECT_THAT(text, HasSubstr("segmentd_ingest_events_total{outcome=\"ignored\"} 0"));
  EXPECT_THAT(text, HasSubstr("segmentd_ingest_events_total{outcome=\"rejected\"} 1"));
}

TEST(MetricsTest, CountsWritesByCauseAndConflicts) {
  Metrics m;
  m.CountWrites(store::ChangeCause::kTime, 3, 0);
  m.CountWrites(store::ChangeCause::kStatistics, 2, 5);
  m.CountWrites(store::ChangeCause::kEvent, 0, 1);
  const std::string text = m.Text();
  EXPECT_THAT(text, HasSubstr("segmentd_customer_writes_total{cause=\"time\"} 3"));
  EXPECT_THAT(text, HasSubstr("segmentd_customer_writes_total{cause=\"statistics\"} 2"));
  EXPECT_THAT(text, HasSubstr("segmentd_customer_writes_total{cause=\"event\"} 0"));
  EXPECT_THAT(text, HasSubstr("segmentd_customer_writes_total{cause=\"config\"} 0"));
  EXPECT_THAT(text, HasSubstr("segmentd_write_conflicts_total 6"));
}

TEST(MetricsTest, BackfillSeriesAreThereBeforeAnyBackfill) {
  Metrics m;
  EXPECT_THAT(m.Text(),
              HasSubstr("segmentd_backfill_customers_total{backfill=\"order_record\"} 0"));
  EXPECT_THAT(m.Text(),
              HasSubstr("segmentd_backfill_customers_total{backfill=\"registration_index\"} 0"));
  m.CountBackfilled("order_record", 7);
  EXPECT_THAT(m.Text(),
              HasSubstr("segmentd_backfill_customers_total{backfill=\"order_record\"} 7"));
}

TEST(MetricsTest, HistogramsBucketDurations) {
  Metrics m;
  m.ObserveTransitionLag(absl::Milliseconds(150));
  m.ObserveTransitionLag(absl::Seconds(3));
  const std::string text = m.Text();
  // Cumulative buckets: 150 ms is under 0.2 s, 3 s only under 5 s.
  EXPECT_THAT(text, HasSubstr("segmentd_transition_lag_seconds_bucket{le=\"0.1\"} 0"));
  EXPECT_THAT(text, HasSubstr("segmentd_transition_lag_seconds_bucket{le=\"0.2\"} 1"));
  EXPECT_THAT(text, HasSubstr("segmentd_transition_lag_seconds_bucket{le=\"2\"} 1"));
  EXPECT_THAT(text, HasSubstr("segmentd_transition_lag_seconds_bucket{le=\"5\"} 2"));
  EXPECT_THAT(text, HasSubstr("segmentd_transition_lag_seconds_count 2"));
}

TEST(MetricsTest, RpcsByMethodAndCodeName) {
  Metrics m;
  Metrics::RpcMethodSeries* place_order = m.ForRpcMethod("/segmentd.v1.IngestService/PlaceOrder");
  place_order->Observe(0, absl::Microseconds(700));
  place_order->Observe(3, absl::Microseconds(300));
  // A second lookup of the same name is the same series.
  EXPECT_EQ(m.ForRpcMethod("/segmentd.v1.IngestService/PlaceOrder"), place_order);
  m.ForRpcMethod("/segmentd.v1.IngestService/PlaceOrder")->Observe(0, absl::Microseconds(1500));
  const std::string text = m.Text();
  EXPECT_THAT(text, HasSubstr("segmentd_rpc_duration_seconds_count{code=\"OK\",method=\"/"
                              "segmentd.v1.IngestService/PlaceOrder\"} 2"));
  EXPECT_THAT(text, HasSubstr("segmentd_rpc_duration_seconds_count{code=\"INVALID_ARGUMENT\","
                              "method=\"/segmentd.v1.IngestService/PlaceOrder\"} 1"));
}

TEST(MetricsTest, AnUnknownStatusCodeIsLabelledByNumber) {
  Metrics m;
  m.ForRpcMethod("/x.Y/Z")->Observe(99, absl::Microseconds(10));
  m.ForRpcMethod("/x.Y/Z")->Observe(99, absl::Microseconds(10));
  EXPECT_THAT(m.Text(),
              HasSubstr("segmentd_rpc_duration_seconds_count{code=\"99\",method=\"/x.Y/Z\"} 2"));
}

TEST(MetricsTest, RedisUpGauge) {
  Metrics m;
  m.SetRedisUp(true);
  EXPECT_THAT(m.Text(), HasSubstr("segmentd_redis_up 1"));
  m.SetRedisUp(false);
  EXPECT_THAT(m.Text(), HasSubstr("segmentd_redis_up 0"));
}

}  // namespace
}  // namespace segmentd
