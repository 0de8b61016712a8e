// Shared pieces of the segmentd load generator: run options, gRPC channel and
// call contexts, the events sent for a generated customer, latency summaries
// and the one-line JSON report.
//
// Thread-safety: free functions are thread-safe; LatencyRecorder is not (give
// each thread its own and Merge them).
#ifndef SEGMENTD_TESTS_LOAD_LOAD_CLIENT_H_
#define SEGMENTD_TESTS_LOAD_LOAD_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "engine/generator.h"
#include "google/protobuf/timestamp.pb.h"
#include "segmentd/v1/ingest.pb.h"

namespace segmentd::load {

// Everything a mode needs, copied from the flags by main().
struct LoadOptions {
  std::string target = "127.0.0.1:50051";
  std::string key;           // bearer token (tenant admin key)
  int64_t customers = 100'000;
  int streams = 4;           // parallel BulkIngest streams
  int batch = 1000;          // events per BulkIngest request, <= 1000
  int window = 2;            // unacknowledged batches per stream
  double rate = 10'000;      // latency mode: events/s
  // Latency mode: the single-event RPC timed (ParseEventKinds's names:
  // "order" is PlaceOrder, "activity" RecordActivity, "engagement"
  // RecordEngagement of a new message, "cart" UpdateCart).
  std::string event = "order";
  absl::Duration duration = absl::Seconds(10);  // latency mode, measured part
  absl::Duration warmup = absl::Seconds(1);     // latency mode, not measured
  int threads = 2;           // latency mode: completion threads
  int max_in_flight = 1000;  // latency mode: calls in flight that stop the run
  // Latency mode: events/s streamed through BulkIngest meanwhile (0: none),
  // spread over background_streams streams, in batches of background_batch,
  // at most background_window unacknowledged per stream.
  double background_rate = 0;
  // ParseEventKinds's names, or a comma-separated list of them given to the
  // background streams in turn.
  std::string background_event = "order";
  int background_streams = 2;
  int background_batch = 50;
  int background_window = 8;
  uint64_t seed = 1;
  int verify_sample = 1000;  // bulk mode: customers compared with the engine
  // Issue 5/6 modes (eligibility, targets, insights).
  int callers = 32;          // eligibility: concurrent callers of the closed loop
  int rounds = 3;            // eligibility: health/eligibility phase pairs
  int repetitions = 20;      // targets: calls per timed expression
  double hot_rate = 500;     // insights: hot-path calls/s (half eligibility, half PlaceOrder)
  int transitions = 1000;    // transitions: customers falling due over `duration`
  // transitions: a rule parameter changed one step (without waiting for the
  // next changes it leaves to the background) just before the customers are
  // registered, and back after; "" for none.
  std::string transitions_config_change;
  // config: rule parameters ("<block>.<field>") changed one step and back,
  // or "preset:<NAME>" applied and the replaced config stored back.
  std::vector<std::string> config_changes = {"frequent_buyer.min_orders"};
  int segmentd_pid = 0;      // > 0: report this process's CPU per phase
  int redis_pid = 0;         // > 0: report this process's CPU per phase
};

// Returns an insecure channel to `target`. Each call makes its own connection
// (a distinct channel argument), so several channels spread HTTP/2 work.
std::shared_ptr<grpc::Channel> NewChannel(const std::string& target, int index = 0);

// Adds `authorization: Bearer <key>` and a deadline `timeout` from now.
void PrepareContext(grpc::ClientContext* context, const std::string& key,
                    absl::Duration timeout);

// Returns `status` as an absl::Status.
absl::Status FromGrpc(const grpc::Status& status);

google::protobuf::Timestamp ToTimestamp(absl::Time t);

// The category name sent for generator category `id` ("cat07").
std::string CategoryName(engine::CategoryId id);

// The part of a generated customer the bulk import sends: registration and
// every order as placed (cancellations, refunds, messages, cart and activity
// dropped), so BuildProfile(SentPart(c)) is exactly what the server was told.
engine::GeneratedCustomer SentPart(engine::GeneratedCustomer customer);

// Appends the events of SentPart(customer) (registration first, then orders)
// to `events`.
void AppendEvents(const engine::GeneratedCustomer& sent,
                  std::vector<v1::Event>* events);

// Fills `order` with a new order `order_id` placed at `at` for a random
// customer of the generated population ("cust-<n>", n uniform in
// [0, customers)): amount 5.00-200.00, one of the generator's 20 categories.
void FillRandomOrder(std::mt19937_64& rng, int64_t customers, std::string order_id, absl::Time at,
                     v1::OrderPlaced* order);

// The single events the latency mode times and its background streams send.
enum class EventKind {
  kOrder,       // a new order (PlaceOrder)
  kActivity,    // the customer opened the app (RecordActivity)
  kEngagement,  // a new marketing message sent (RecordEngagement)
  kCart,        // the cart's new contents (UpdateCart)
};

// Returns the kinds named in a comma-separated list of "order",
// "activity", "engagement" and "cart" (one name gives one kind);
// INVALID_ARGUMENT naming `flag` for anything else, an empty name included.
absl::StatusOr<std::vector<EventKind>> ParseEventKinds(absl::string_view names,
                                                       absl::string_view flag);

// Fills `event` with a new event of `kind` at `at` for a random customer of
// the generated population, as FillRandomOrder picks it; `id` names what
// must be new each time (the order, the message). Activity and cart events
// have no id.
void FillRandomEvent(EventKind kind, std::mt19937_64& rng, int64_t customers, std::string id,
                     absl::Time at, v1::Event* event);

// Collects latencies (in microseconds) and summarizes them.
class LatencyRecorder {
 public:
  void Add(absl::Duration latency);
  void Merge(const LatencyRecorder& other);
  int64_t count() const { return static_cast<int64_t>(micros_.size()); }
  // Returns the q-quantile (0 <= q <= 1) in milliseconds; sorts on first use.
  double QuantileMs(double q);
  double MaxMs();

 private:
  std::vector<int64_t> micros_;
  bool sorted_ = false;
};

// Builds one JSON object line: Add fields in order, then Line().
class JsonLine {
 public:
  JsonLine& Add(const std::string& key, const std::string& value);
  JsonLine& Add(const std::string& key, const char* value);
  JsonLine& Add(const std::string& key, int64_t value);
  JsonLine& Add(const std::string& key, double value);
  std::string Line() const { return "{" + body_ + "}"; }

 private:
  void Key(const std::string& key);
  std::string body_;
};

// Returns the load averages from /proc/loadavg ("1.23 1.10 0.98"), or "".
std::string LoadAverage();

// Returns the CPU seconds (user + system) process `pid` has used so far, or 0
// when `pid` <= 0 or unreadable.
double ProcessCpuSeconds(int pid);

// Measures the CPU the segmentd and redis-server processes (options'
// segmentd_pid / redis_pid, when given) and this process use between
// construction and Text(), in cores (CPU seconds / wall seconds).
class CpuMeter {
 public:
  explicit CpuMeter(const LoadOptions& options);
  // "segmentd 0.83 cores, redis 0.21 cores, load generator 0.90 cores".
  std::string Text() const;
  double SegmentdCores() const;
  double RedisCores() const;

 private:
  double Cores(int pid, double start) const;
  int segmentd_pid_, redis_pid_;
  double segmentd0_, redis0_, self0_;
  absl::Time start_;
};

}  // namespace segmentd::load

#endif  // SEGMENTD_TESTS_LOAD_LOAD_CLIENT_H_
