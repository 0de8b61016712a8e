// StreamedEvents: a background load of new events of one kind (new orders
// by default; app activity, messages sent or cart updates) for existing
// customers sent through one BulkIngest stream at a fixed rate, in small
// batches, the way a high-volume backend forwards its event feed. The
// latency mode runs it under its unary probes, so that "one event to
// visible membership under N events/s" measures single events while the
// service absorbs N events/s, without the load generator spending a unary
// call's client CPU on each of them (on a 2-core machine it cannot: see
// docs/benchmarks.md).
//
// Thread-safety: Start and Stop from one thread.
#ifndef SEGMENTD_TESTS_LOAD_STREAMED_EVENTS_H_
#define SEGMENTD_TESTS_LOAD_STREAMED_EVENTS_H_

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

struct StreamedEventsResult {
  int64_t events_acked = 0;  // events acknowledged as durable
  int64_t rejected = 0;      // events the server refused (none expected)
  int64_t duplicates = 0;    // events already applied (none expected)
  double seconds = 0;        // from Start to the last acknowledgement
  double achieved_rate = 0;  // events_acked / seconds
  bool kept_up = true;       // no batch waited for a full window
  // Per batch: from its scheduled send to its acknowledgement (the
  // event-to-visible-membership latency of streamed events).
  LatencyRecorder batch_latency;
  // Events acknowledged in each second since Start (stalls show as gaps).
  std::vector<int64_t> acked_per_second;
  absl::Status status;  // the stream's end

  // Adds `other` (another stream run alongside) to this tally.
  void Merge(const StreamedEventsResult& other);
};

class StreamedEvents {
 public:
  // `rate` events of `kind` per second in batches of `batch` (1-1000), at
  // most `window` batches unacknowledged, on its own connection; order and
  // message ids "bg-<seed>-<start us>-<index>-<n>" (give each concurrent
  // instance its own index), customers uniform over [0, options.customers).
  StreamedEvents(const LoadOptions& options, EventKind kind, int index, double rate, int batch,
                 int window);
  ~StreamedEvents();

  void Start();
  // Stops sending, waits for every acknowledgement and returns the tally.
  StreamedEventsResult Stop();

 private:
  void Send();
  void Receive();

  const LoadOptions options_;
  const EventKind kind_;
  const int index_;
  const double rate_;
  const int batch_;
  const int window_;
  std::unique_ptr<v1::IngestService::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::BulkIngestRequest, v1::BulkIngestResponse>> stream_;
  std::atomic<bool> stop_{false};
  absl::Time start_;
  std::thread sender_;
  std::thread receiver_;

  absl::Mutex mu_;
  std::deque<absl::Time> unacked_ ABSL_GUARDED_BY(mu_);  // scheduled send instants
  bool receiving_ ABSL_GUARDED_BY(mu_) = true;           // false once the stream ended
  StreamedEventsResult result_ ABSL_GUARDED_BY(mu_);
  absl::Time last_ack_ ABSL_GUARDED_BY(mu_);
};

}  // namespace segmentd::load

#endif  // SEGMENTD_TESTS_LOAD_STREAMED_EVENTS_H_
