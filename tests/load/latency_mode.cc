#include "tests/load/latency_mode.h"

#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "segmentd/v1/ingest.grpc.pb.h"
#include "tests/load/streamed_events.h"

namespace segmentd::load {
namespace {

// One call in flight; owned by the completion queue until it completes.
struct Call {
  virtual ~Call() = default;
  // The outcome the server reported (valid once the call succeeded).
  virtual v1::ItemOutcome outcome() const = 0;

  grpc::ClientContext context;
  grpc::Status status;
  absl::Time scheduled;
  absl::Time sent;
  bool measured = false;
};

template <typename Response>
struct TypedCall : Call {
  v1::ItemOutcome outcome() const override { return response.result().outcome(); }

  Response response;
  std::unique_ptr<grpc::ClientAsyncResponseReader<Response>> reader;
};

// Starts `request` through `prepare` (a stub's PrepareAsync<Rpc>), with
// `call`'s context already prepared; the completion queue then owns `call`.
template <typename Request, typename Response>
void Start(v1::IngestService::Stub* stub,
           std::unique_ptr<grpc::ClientAsyncResponseReader<Response>> (
               v1::IngestService::Stub::*prepare)(grpc::ClientContext*, const Request&,
                                                  grpc::CompletionQueue*),
           const Request& request, grpc::CompletionQueue* queue, TypedCall<Response>* call) {
  call->sent = absl::Now();
  call->reader = (stub->*prepare)(&call->context, request, queue);
  call->reader->StartCall();
  // The tag is the base pointer the poller casts back to.
  call->reader->Finish(&call->response, &call->status, static_cast<Call*>(call));
}

// Sends one event of `kind` for a random customer of [0, customers) at
// `now` through its unary RPC; `id` names what must be new each time (the
// order, the message). The completion queue owns the call it starts.
void SendEvent(EventKind kind, std::mt19937_64& rng, int64_t customers, std::string id,
               absl::Time now, absl::Time scheduled, bool measured, const std::string& key,
               v1::IngestService::Stub* stub, grpc::CompletionQueue* queue) {
  auto start = [&](auto* call, auto prepare, auto* request) {
    call->scheduled = scheduled;
    call->measured = measured;
    PrepareContext(&call->context, key, absl::Seconds(10));
    Start(stub, prepare, *request, queue, call);
  };
  v1::Event event;
  FillRandomEvent(kind, rng, customers, std::move(id), now, &event);
  using Stub = v1::IngestService::Stub;
  switch (kind) {  // no default: a new kind must be sent here too (-Wswitch)
    case EventKind::kOrder: {
      v1::PlaceOrderRequest request;
      request.mutable_event()->Swap(event.mutable_order_placed());
      start(new TypedCall<v1::PlaceOrderResponse>, &Stub::PrepareAsyncPlaceOrder, &request);
      return;
    }
    case EventKind::kActivity: {
      v1::RecordActivityRequest request;
      request.mutable_event()->Swap(event.mutable_activity());
      start(new TypedCall<v1::RecordActivityResponse>, &Stub::PrepareAsyncRecordActivity, &request);
      return;
    }
    case EventKind::kEngagement: {
      v1::RecordEngagementRequest request;
      request.mutable_event()->Swap(event.mutable_engagement());
      start(new TypedCall<v1::RecordEngagementResponse>, &Stub::PrepareAsyncRecordEngagement,
            &request);
      return;
    }
    case EventKind::kCart: {
      v1::UpdateCartRequest request;
      request.mutable_event()->Swap(event.mutable_cart_updated());
      start(new TypedCall<v1::UpdateCartResponse>, &Stub::PrepareAsyncUpdateCart, &request);
      return;
    }
  }
}

struct Results {
  LatencyRecorder from_schedule;
  LatencyRecorder from_send;
  int64_t ok = 0;
  int64_t not_applied = 0;  // answered OK but a duplicate or ignored: not a new event
  std::map<int, int64_t> errors;         // grpc status code -> count
  absl::Time last_completion;
};

}  // namespace

absl::Status RunLatency(const LoadOptions& options) {
  if (options.rate <= 0) return absl::InvalidArgumentError("--rate must be > 0");
  if (options.customers <= 0) return absl::InvalidArgumentError("--customers must be > 0");
  // Every flag is checked before any thread starts.
  const absl::StatusOr<std::vector<EventKind>> probe_kinds =
      ParseEventKinds(options.event, "--event");
  if (!probe_kinds.ok()) return probe_kinds.status();
  if (probe_kinds->size() != 1) {
    return absl::InvalidArgumentError("--event: one kind (the unary calls timed)");
  }
  const EventKind kind = probe_kinds->front();
  const absl::StatusOr<std::vector<EventKind>> background_kinds =
      ParseEventKinds(options.background_event, "--background_event");
  if (!background_kinds.ok()) return background_kinds.status();
  const int streams = std::max(1, options.background_streams);
  if (options.background_rate > 0 && streams % background_kinds->size() != 0) {
    // Kinds go to the streams in turn: any other count would skew the mix.
    return absl::InvalidArgumentError(absl::StrCat(
        "--background_streams: ", streams, " streams cannot share ", background_kinds->size(),
        " background event kinds evenly; use a multiple of it"));
  }
  const int threads = std::max(1, options.threads);
  std::printf(
      "latency: %s events at %.0f/s for %s (+%s warm-up) over %lld customers, %d "
      "completion threads\n",
      options.event.c_str(), options.rate, absl::FormatDuration(options.duration).c_str(),
      absl::FormatDuration(options.warmup).c_str(), static_cast<long long>(options.customers),
      threads);
  std::fflush(stdout);
  const std::string load_before = LoadAverage();

  // A few connections, used round robin, so one HTTP/2 connection's framing
  // thread does not bound the rate.
  std::vector<std::unique_ptr<v1::IngestService::Stub>> stubs;
  for (int c = 0; c < threads; ++c) {
    stubs.push_back(v1::IngestService::NewStub(NewChannel(options.target, 100 + c)));
  }
  std::vector<std::unique_ptr<grpc::CompletionQueue>> queues;
  for (int c = 0; c < threads; ++c) queues.push_back(std::make_unique<grpc::CompletionQueue>());

  const int64_t warmup_calls = static_cast<int64_t>(options.rate * absl::ToDoubleSeconds(options.warmup));
  const int64_t total_calls =
      warmup_calls + static_cast<int64_t>(options.rate * absl::ToDoubleSeconds(options.duration));
  // Beyond this many calls in flight the server is not keeping up (by
  // Little's law the mean latency is already >= max_in_flight / rate), so the
  // sender stops and the run is reported as saturated rather than piling
  // thousands of calls onto a shared machine.
  const int64_t max_in_flight = std::max(1, options.max_in_flight);
  std::atomic<int64_t> in_flight{0};

  std::vector<Results> results(threads);
  std::vector<std::thread> pollers;
  for (int c = 0; c < threads; ++c) {
    pollers.emplace_back([&, c] {
      void* tag = nullptr;
      bool ok = false;
      Results& r = results[c];
      while (queues[c]->Next(&tag, &ok)) {
        std::unique_ptr<Call> call(static_cast<Call*>(tag));
        const absl::Time now = absl::Now();
        in_flight.fetch_sub(1, std::memory_order_relaxed);
        if (!call->measured) continue;
        r.last_completion = std::max(r.last_completion, now);
        if (!call->status.ok()) {
          ++r.errors[call->status.error_code()];
          continue;
        }
        ++r.ok;
        if (call->outcome() != v1::ITEM_OUTCOME_APPLIED) ++r.not_applied;
        r.from_schedule.Add(now - call->scheduled);
        r.from_send.Add(now - call->sent);
      }
    });
  }

  // The server applies one stream's requests one after another, so a single
  // stream alternates between segmentd's and Redis's work: several keep both
  // busy.
  std::vector<std::unique_ptr<StreamedEvents>> background;
  if (options.background_rate > 0) {
    std::printf(
        "latency: meanwhile %.0f events/s (%s) through %d BulkIngest streams, batches of "
        "%d\n",
        options.background_rate, options.background_event.c_str(), streams,
        options.background_batch);
    std::fflush(stdout);
    for (int i = 0; i < streams; ++i) {
      background.push_back(std::make_unique<StreamedEvents>(
          options, (*background_kinds)[i % background_kinds->size()], i,
          options.background_rate / streams, options.background_batch, options.background_window));
      background.back()->Start();
    }
  }

  std::mt19937_64 rng(options.seed * 104729 + 3);
  // Order and message ids unique to this run: a later run (another rate, a
  // second sweep) re-sending an earlier run's ids would measure idempotent
  // duplicates, which cost the server a read and no write.
  const std::string run = absl::StrCat(options.seed, "-", absl::ToUnixMicros(absl::Now()));
  const absl::Duration interval = absl::Seconds(1) / options.rate;
  const absl::Time start = absl::Now();
  const absl::Time measure_start = start + interval * warmup_calls;
  int64_t sent = 0;
  bool saturated = false;
  while (sent < total_calls) {
    const absl::Time now = absl::Now();
    // Send everything whose scheduled instant has come; sleeping per call
    // would make the rate depend on timer slack.
    while (sent < total_calls && start + interval * sent <= now) {
      if (in_flight.load(std::memory_order_relaxed) >= max_in_flight) {
        saturated = true;
        break;
      }
      const int c = static_cast<int>(sent % threads);
      in_flight.fetch_add(1, std::memory_order_relaxed);
      SendEvent(kind, rng, options.customers, absl::StrCat("lat-", run, "-", sent), now,
                start + interval * sent, sent >= warmup_calls, options.key, stubs[c].get(),
                queues[c].get());
      ++sent;
    }
    if (saturated) break;
    absl::SleepFor(absl::Microseconds(100));
  }
  const absl::Time send_end = absl::Now();
  // Every call has a 10 s deadline, so this wait is bounded.
  while (in_flight.load() > 0) absl::SleepFor(absl::Milliseconds(5));
  for (auto& q : queues) q->Shutdown();
  for (std::thread& t : pollers) t.join();
  StreamedEventsResult streamed;
  for (auto& stream : background) streamed.Merge(stream->Stop());

  Results all;
  for (Results& r : results) {
    all.from_schedule.Merge(r.from_schedule);
    all.from_send.Merge(r.from_send);
    all.ok += r.ok;
    all.not_applied += r.not_applied;
    for (const auto& [code, n] : r.errors) all.errors[code] += n;
    all.last_completion = std::max(all.last_completion, r.last_completion);
  }
  int64_t errors = 0;
  std::string error_text;
  for (const auto& [code, n] : all.errors) {
    errors += n;
    absl::StrAppend(&error_text, error_text.empty() ? "" : " ", "code", code, "=", n);
  }
  const double window = absl::ToDoubleSeconds(std::max(send_end, all.last_completion) - measure_start);
  const double achieved = window > 0 ? all.ok / window : 0;
  const double send_lag_ms =
      absl::ToDoubleMilliseconds(send_end - (start + interval * std::max<int64_t>(sent - 1, 0)));
  LatencyRecorder& s = all.from_schedule;
  std::printf(
      "latency: %lld ok (%lld of them not applied), %lld errors%s%s; achieved %.0f/s (target "
      "%.0f/s)%s\n"
      "latency: scheduled-send -> response: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, p99.9 %.2f "
      "ms, max %.2f ms\n"
      "latency: actual-send -> response:    p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n",
      static_cast<long long>(all.ok), static_cast<long long>(all.not_applied),
      static_cast<long long>(errors),
      error_text.empty() ? "" : " ", error_text.c_str(), achieved, options.rate,
      saturated ? " SATURATED (max_in_flight reached; sender stopped)" : "",
      s.QuantileMs(0.5), s.QuantileMs(0.9), s.QuantileMs(0.99), s.QuantileMs(0.999), s.MaxMs(),
      all.from_send.QuantileMs(0.5), all.from_send.QuantileMs(0.9),
      all.from_send.QuantileMs(0.99), all.from_send.MaxMs());
  if (!background.empty()) {
    LatencyRecorder& b = streamed.batch_latency;
    std::printf(
        "latency: background %lld events acknowledged (%lld duplicates), %.0f/s (asked "
        "%.0f/s)%s%s; "
        "batch send -> ack: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
        static_cast<long long>(streamed.events_acked), static_cast<long long>(streamed.duplicates),
        streamed.achieved_rate, options.background_rate,
        streamed.kept_up ? "" : ", FELL BEHIND (window full)",
        streamed.status.ok()
            ? ""
            : absl::StrCat(", stream failed: ", streamed.status.ToString()).c_str(),
        b.QuantileMs(0.5), b.QuantileMs(0.99), b.MaxMs());
    std::printf("latency: background events acknowledged per second: %s\n",
                absl::StrJoin(streamed.acked_per_second, " ").c_str());
  }
  std::printf("%s\n", JsonLine()
                          .Add("mode", "latency")
                          .Add("event", options.event)
                          .Add("customers", options.customers)
                          .Add("target_rate", options.rate)
                          .Add("achieved_rate", achieved)
                          .Add("seconds", absl::ToDoubleSeconds(options.duration))
                          .Add("ok", all.ok)
                          .Add("errors", errors)
                          .Add("not_applied", all.not_applied)
                          .Add("error_codes", error_text)
                          .Add("saturated", static_cast<int64_t>(saturated))
                          .Add("sent", sent)
                          .Add("p50_ms", s.QuantileMs(0.5))
                          .Add("p90_ms", s.QuantileMs(0.9))
                          .Add("p99_ms", s.QuantileMs(0.99))
                          .Add("p999_ms", s.QuantileMs(0.999))
                          .Add("max_ms", s.MaxMs())
                          .Add("send_p99_ms", all.from_send.QuantileMs(0.99))
                          .Add("sender_lag_ms", send_lag_ms)
                          .Add("background_rate", options.background_rate)
                          .Add("background_event", options.background_event)
                          .Add("background_achieved_rate", streamed.achieved_rate)
                          .Add("background_kept_up", static_cast<int64_t>(streamed.kept_up))
                          .Add("background_rejected", streamed.rejected)
                          .Add("background_duplicates", streamed.duplicates)
                          .Add("background_error",
                               streamed.status.ok() ? std::string() : streamed.status.ToString())
                          .Add("background_batch_p99_ms", streamed.batch_latency.QuantileMs(0.99))
                          .Add("loadavg_before", load_before)
                          .Add("loadavg_after", LoadAverage())
                          .Line()
                          .c_str());
  std::fflush(stdout);
  if (!streamed.status.ok()) return streamed.status;
  if (streamed.rejected > 0) {
    return absl::InternalError(
        absl::StrCat("the server rejected ", streamed.rejected, " background events"));
  }
  return absl::OkStatus();
}

}  // namespace segmentd::load
