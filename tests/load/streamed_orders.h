// StreamedOrders: a background load of new orders for existing customers sent
// through one BulkIngest stream at a fixed rate, in small batches, the way a
// high-volume backend forwards its event feed. The latency mode runs it
// under its unary PlaceOrder probes, so that "one event to visible
// membership under N events/s" measures single events while the service
// absorbs N events/s, without the load generator spending a unary call's
// client CPU on each of them (on a 2-core machine it cannot: see
// docs/benchmarks.md).
//
// Thread-safety: Start and Stop from one thread.
#ifndef SEGMENTD_TESTS_LOAD_STREAMED_ORDERS_H_
#define SEGMENTD_TESTS_LOAD_STREAMED_ORDERS_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "segmentd/v1/ingest.grpc.pb.h"
#include "tests/load/load_client.h"

namespace segmentd::load {

struct StreamedOrdersResult {
  int64_t events_acked = 0;     // orders acknowledged as durable
  int64_t rejected = 0;         // orders the server refused (none expected)
  int64_t duplicates = 0;       // orders already applied (none expected)
  double seconds = 0;           // from Start to the last acknowledgement
  double achieved_rate = 0;     // events_acked / seconds
  bool kept_up = true;          // no batch waited for a full window
  // Per batch: from its scheduled send to its acknowledgement (the
  // event-to-visible-membership latency of streamed events).
  LatencyRecorder batch_latency;
  // Orders acknowledged in each second since Start (stalls show as gaps).
  std::vector<int64_t> acked_per_second;
  absl::Status status;          // the stream's end

  // Adds `other` (another stream run alongside) to this tally.
  void Merge(const StreamedOrdersResult& other);
};

class StreamedOrders {
 public:
  // `rate` events/s in batches of `batch` (1-1000), at most `window`
  // batches unacknowledged, on its own connection; order ids
  // "bg-<seed>-<start us>-<index>-<n>" (give each concurrent instance its
  // own index),
  // customers uniform over [0, options.customers).
  StreamedOrders(const LoadOptions& options, int index, double rate, int batch, int window);
  ~StreamedOrders();

  void Start();
  // Stops sending, waits for every acknowledgement and returns the tally.
  StreamedOrdersResult Stop();

 private:
  void Send();
  void Receive();

  const LoadOptions options_;
  const int index_;
  const double rate_;
  const int batch_;
  const int window_;
  std::unique_ptr<v1::IngestService::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::BulkIngestRequest, v1::BulkIngestResponse>>
      stream_;
  std::atomic<bool> stop_{false};
  absl::Time start_;
  std::thread sender_;
  std::thread receiver_;

  absl::Mutex mu_;
  std::deque<absl::Time> unacked_ ABSL_GUARDED_BY(mu_);  // scheduled send instants
  bool receiving_ ABSL_GUARDED_BY(mu_) = true;  // false once the stream ended
  StreamedOrdersResult result_ ABSL_GUARDED_BY(mu_);
  absl::Time last_ack_ ABSL_GUARDED_BY(mu_);
};

}  // namespace segmentd::load

#endif  // SEGMENTD_TESTS_LOAD_STREAMED_ORDERS_H_
