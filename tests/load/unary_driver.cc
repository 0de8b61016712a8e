#include "tests/load/unary_driver.h"

#include <grpcpp/generic/generic_stub.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.pb.h"

namespace segmentd::load {
namespace {

// One call in flight; owned by its completion queue until it completes.
struct Call {
  grpc::ClientContext context;
  grpc::ByteBuffer response;
  grpc::Status status;
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> reader;
  absl::Time start;  // closed loop: sent; open loop: scheduled
  absl::Time sent;
  int kind = 0;
  bool measured = true;
};

struct Connection {
  std::unique_ptr<grpc::GenericStub> stub;
  grpc::CompletionQueue queue;
};

std::vector<std::unique_ptr<Connection>> Connect(const LoadOptions& options, int n) {
  std::vector<std::unique_ptr<Connection>> out;
  for (int c = 0; c < n; ++c) {
    auto connection = std::make_unique<Connection>();
    connection->stub = std::make_unique<grpc::GenericStub>(NewChannel(options.target, 200 + c));
    out.push_back(std::move(connection));
  }
  return out;
}

void Start(const LoadOptions& options, const DriveSpec& spec, Connection& connection,
           UnaryRequest request, absl::Time start, bool measured) {
  auto* call = new Call;
  call->kind = request.kind;
  call->start = start;
  call->measured = measured;
  PrepareContext(&call->context, options.key, spec.deadline);
  call->reader = connection.stub->PrepareUnaryCall(&call->context, spec.methods[request.kind],
                                                   request.body, &connection.queue);
  call->sent = absl::Now();
  call->reader->StartCall();
  call->reader->Finish(&call->response, &call->status, call);
}

void Record(const DriveSpec& spec, const Call& call, absl::Time now, KindResults& r) {
  if (!call.status.ok()) {
    ++r.errors[call.status.error_code()];
    if (r.first_error.empty()) {
      r.first_error = absl::StrCat("code ", call.status.error_code(), ": ",
                                   call.status.error_message());
    }
    return;
  }
  ++r.ok;
  if (spec.applied && !spec.applied(call.kind, call.response)) ++r.not_applied;
  r.latency.Add(now - call.start);
  r.from_send.Add(now - call.sent);
}

DriveResults Merge(std::vector<std::vector<KindResults>>& per_thread, size_t kinds) {
  DriveResults out;
  out.kinds.resize(kinds);
  for (std::vector<KindResults>& thread : per_thread) {
    for (size_t k = 0; k < kinds; ++k) {
      KindResults& to = out.kinds[k];
      to.latency.Merge(thread[k].latency);
      to.from_send.Merge(thread[k].from_send);
      to.ok += thread[k].ok;
      to.not_applied += thread[k].not_applied;
      for (const auto& [code, n] : thread[k].errors) to.errors[code] += n;
      if (to.first_error.empty()) to.first_error = thread[k].first_error;
    }
  }
  return out;
}

}  // namespace

grpc::ByteBuffer Serialize(const google::protobuf::MessageLite& message) {
  const std::string bytes = message.SerializeAsString();
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

bool Parse(const grpc::ByteBuffer& buffer, google::protobuf::MessageLite* message) {
  grpc::Slice slice;
  if (!buffer.DumpToSingleSlice(&slice).ok()) return false;
  return message->ParseFromArray(slice.begin(), static_cast<int>(slice.size()));
}

grpc::ByteBuffer HealthCheckRequestBody() {
  grpc::health::v1::HealthCheckRequest request;
  request.set_service("");
  return Serialize(request);
}

std::string KindResults::ErrorText() const {
  std::string out;
  for (const auto& [code, n] : errors) absl::StrAppend(&out, out.empty() ? "" : " ", "code", code, "=", n);
  return out;
}

int64_t KindResults::Errors() const {
  int64_t n = 0;
  for (const auto& [code, count] : errors) n += count;
  return n;
}

DriveResults RunClosedLoop(const LoadOptions& options, const DriveSpec& spec,
                           const std::function<UnaryRequest(int64_t)>& next) {
  const int connections = std::max(1, spec.connections);
  std::vector<std::unique_ptr<Connection>> conns = Connect(options, connections);
  std::atomic<int64_t> counter{0};
  const absl::Time start = absl::Now();
  const absl::Time measure_start = start + spec.warmup;
  const absl::Time end = measure_start + spec.duration;
  std::vector<std::vector<KindResults>> results(connections,
                                                std::vector<KindResults>(spec.methods.size()));
  std::vector<std::thread> threads;
  for (int c = 0; c < connections; ++c) {
    // Callers spread over the connections as evenly as possible.
    const int callers = spec.callers / connections + (c < spec.callers % connections ? 1 : 0);
    threads.emplace_back([&, c, callers] {
      Connection& conn = *conns[c];
      int outstanding = 0;
      for (int i = 0; i < callers; ++i, ++outstanding) {
        Start(options, spec, conn, next(counter.fetch_add(1)), absl::Now(), true);
      }
      void* tag = nullptr;
      bool ok = false;
      while (outstanding > 0 && conn.queue.Next(&tag, &ok)) {
        std::unique_ptr<Call> call(static_cast<Call*>(tag));
        const absl::Time now = absl::Now();
        --outstanding;
        if (now >= measure_start && now <= end) Record(spec, *call, now, results[c][call->kind]);
        if (now < end) {
          Start(options, spec, conn, next(counter.fetch_add(1)), absl::Now(), true);
          ++outstanding;
        }
      }
      conn.queue.Shutdown();
      while (conn.queue.Next(&tag, &ok)) delete static_cast<Call*>(tag);
    });
  }
  absl::SleepFor(measure_start - absl::Now());
  const CpuMeter meter(options);
  absl::SleepFor(end - absl::Now());
  const std::string cpu = meter.Text();
  const double segmentd_cores = meter.SegmentdCores();
  const double redis_cores = meter.RedisCores();
  for (std::thread& t : threads) t.join();
  DriveResults out = Merge(results, spec.methods.size());
  out.seconds = absl::ToDoubleSeconds(spec.duration);
  out.sent = counter.load();
  out.cpu = cpu;
  out.segmentd_cores = segmentd_cores;
  out.redis_cores = redis_cores;
  return out;
}

DriveResults RunOpenLoop(const LoadOptions& options, const DriveSpec& spec,
                         const std::function<UnaryRequest(int64_t)>& next) {
  const int connections = std::max(1, spec.connections);
  std::vector<std::unique_ptr<Connection>> conns = Connect(options, connections);
  std::atomic<int64_t> in_flight{0};
  std::vector<std::vector<KindResults>> results(connections,
                                                std::vector<KindResults>(spec.methods.size()));
  std::vector<absl::Time> last_answer(connections, absl::InfinitePast());
  std::vector<std::thread> pollers;
  for (int c = 0; c < connections; ++c) {
    pollers.emplace_back([&, c] {
      void* tag = nullptr;
      bool ok = false;
      while (conns[c]->queue.Next(&tag, &ok)) {
        std::unique_ptr<Call> call(static_cast<Call*>(tag));
        const absl::Time now = absl::Now();
        in_flight.fetch_sub(1, std::memory_order_relaxed);
        if (!call->measured) continue;
        Record(spec, *call, now, results[c][call->kind]);
        last_answer[c] = std::max(last_answer[c], now);
      }
    });
  }
  const absl::Duration interval = absl::Seconds(1) / spec.rate;
  const int64_t warmup_calls = static_cast<int64_t>(spec.rate * absl::ToDoubleSeconds(spec.warmup));
  const int64_t total_calls =
      warmup_calls + static_cast<int64_t>(spec.rate * absl::ToDoubleSeconds(spec.duration));
  const absl::Time start = absl::Now();
  std::optional<CpuMeter> meter;
  absl::Time measure_start = start + interval * warmup_calls;
  int64_t sent = 0;
  bool saturated = false;
  auto stopped = [&] { return spec.stop != nullptr && spec.stop->load() && sent >= warmup_calls; };
  while (sent < total_calls && !saturated && !stopped()) {
    const absl::Time now = absl::Now();
    while (sent < total_calls && start + interval * sent <= now) {
      if (in_flight.load(std::memory_order_relaxed) >= spec.max_in_flight) {
        saturated = true;
        break;
      }
      if (sent == warmup_calls) meter.emplace(options);
      const int c = static_cast<int>(sent % connections);
      in_flight.fetch_add(1, std::memory_order_relaxed);
      Start(options, spec, *conns[c], next(sent), start + interval * sent, sent >= warmup_calls);
      ++sent;
    }
    absl::SleepFor(absl::Microseconds(100));
  }
  const absl::Time send_end = absl::Now();
  DriveResults out;
  if (meter.has_value()) {
    out.cpu = meter->Text();
    out.segmentd_cores = meter->SegmentdCores();
    out.redis_cores = meter->RedisCores();
  }
  // Every call has a deadline, so this wait is bounded.
  while (in_flight.load() > 0) absl::SleepFor(absl::Milliseconds(5));
  for (auto& conn : conns) conn->queue.Shutdown();
  for (std::thread& t : pollers) t.join();
  DriveResults merged = Merge(results, spec.methods.size());
  merged.seconds = std::max(0.0, absl::ToDoubleSeconds(send_end - measure_start));
  const absl::Time last =
      std::max(send_end, *std::max_element(last_answer.begin(), last_answer.end()));
  merged.seconds_to_last_answer = std::max(0.0, absl::ToDoubleSeconds(last - measure_start));
  merged.sender_lag_ms =
      absl::ToDoubleMilliseconds(send_end - (start + interval * std::max<int64_t>(sent - 1, 0)));
  merged.sent = sent;
  merged.saturated = saturated;
  merged.cpu = out.cpu;
  merged.segmentd_cores = out.segmentd_cores;
  merged.redis_cores = out.redis_cores;
  return merged;
}

}  // namespace segmentd::load
