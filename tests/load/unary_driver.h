// Drives many concurrent unary calls of a few kinds (gRPC methods) through
// generic stubs, closed loop (a fixed number of callers, each sending its
// next call when the previous one answers) or open loop (a fixed schedule),
// and collects per-kind latencies. The request bodies are serialized by the
// caller, so every kind costs the load generator the same per call.
//
// Thread-safety: `next` is called from several threads at once.
#ifndef SEGMENTD_TESTS_LOAD_UNARY_DRIVER_H_
#define SEGMENTD_TESTS_LOAD_UNARY_DRIVER_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "google/protobuf/message_lite.h"
#include "tests/load/load_client.h"

namespace segmentd::load {

// Full method names, e.g. "/grpc.health.v1.Health/Check".
inline constexpr char kHealthCheckMethod[] = "/grpc.health.v1.Health/Check";
inline constexpr char kCheckEligibilityMethod[] =
    "/segmentd.v1.TargetingService/CheckEligibility";
inline constexpr char kPlaceOrderMethod[] = "/segmentd.v1.IngestService/PlaceOrder";

grpc::ByteBuffer Serialize(const google::protobuf::MessageLite& message);
bool Parse(const grpc::ByteBuffer& buffer, google::protobuf::MessageLite* message);

// The serialized body of grpc.health.v1.HealthCheckRequest{service: ""}.
grpc::ByteBuffer HealthCheckRequestBody();

// One call to send: index into the driver's `methods`, and the request.
struct UnaryRequest {
  int kind = 0;
  grpc::ByteBuffer body;
};

struct KindResults {
  LatencyRecorder latency;  // measured calls that succeeded
  // The same calls from their actual send (open loop: the send may lag the
  // schedule when the load generator falls behind).
  LatencyRecorder from_send;
  int64_t ok = 0;
  // Of `ok`, the calls DriveSpec::applied refused.
  int64_t not_applied = 0;
  std::map<int, int64_t> errors;  // grpc status code -> count
  std::string first_error;
  // "code14=3 code4=1", or "".
  std::string ErrorText() const;
  int64_t Errors() const;
};

struct DriveResults {
  std::vector<KindResults> kinds;  // one per method
  double seconds = 0;              // measured window
  int64_t sent = 0;
  bool saturated = false;          // open loop: stopped at max_in_flight
  // Open loop: from the start of the measured part to the later of the last
  // send and the last measured answer (a server falling behind answers
  // after the sends end), and how far the last send lagged its schedule.
  double seconds_to_last_answer = 0;
  double sender_lag_ms = 0;
  std::string cpu;                 // CpuMeter text over the measured part
  double segmentd_cores = 0;
  double redis_cores = 0;
};

struct DriveSpec {
  std::vector<std::string> methods;  // full method names, indexed by kind
  absl::Duration warmup = absl::Seconds(1);
  absl::Duration duration = absl::Seconds(10);
  int connections = 2;  // one channel and one completion thread each
  // Closed loop: calls always outstanding (spread over the connections).
  int callers = 32;
  // Open loop: calls/s, and the calls in flight at which the run stops,
  // marked saturated.
  double rate = 0;
  int max_in_flight = 1000;
  // Open loop: when set, the measured part also ends once *stop is true.
  const std::atomic<bool>* stop = nullptr;
  absl::Duration deadline = absl::Seconds(10);  // per call
  // When set, a call that succeeded also counts as not_applied unless this
  // accepts its response, e.g. an ingest call answered as a duplicate.
  std::function<bool(int kind, const grpc::ByteBuffer& response)> applied;
};

// Closed loop for spec.warmup + spec.duration. A call counts (latency and
// throughput) when it completes inside the measured part. next(i) gives the
// i-th call.
DriveResults RunClosedLoop(const LoadOptions& options, const DriveSpec& spec,
                           const std::function<UnaryRequest(int64_t)>& next);

// Open loop at spec.rate for spec.warmup + spec.duration (or until *spec.stop);
// latency runs from each call's scheduled send instant to its answer (no
// coordinated omission). Calls scheduled in the measured part count. next(i)
// is called on the sending thread only, just before the i-th call is sent.
DriveResults RunOpenLoop(const LoadOptions& options, const DriveSpec& spec,
                         const std::function<UnaryRequest(int64_t)>& next);

}  // namespace segmentd::load

#endif  // SEGMENTD_TESTS_LOAD_UNARY_DRIVER_H_
