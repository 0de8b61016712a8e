#include "tests/load/latency_mode.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "segmentd/v1/ingest.grpc.pb.h"
#include "tests/load/streamed_events.h"
#include "tests/load/unary_driver.h"

namespace segmentd::load {
namespace {

// How an event of one kind goes out as its unary RPC.
struct EventRpc {
  std::string method;
  // The request carrying `event` (filled by FillRandomEvent for the kind),
  // serialized.
  std::function<grpc::ByteBuffer(v1::Event& event)> body;
  // Whether a response says the event was applied, not a duplicate or ignored.
  std::function<bool(const grpc::ByteBuffer& response)> applied;
};

// The RPC `method` of Request/Response, whose event is `payload` of v1::Event.
template <typename Request, typename Response, typename Payload>
EventRpc MakeEventRpc(std::string method, Payload* (v1::Event::*payload)()) {
  EventRpc rpc;
  rpc.method = std::move(method);
  rpc.body = [payload](v1::Event& event) {
    Request request;
    request.mutable_event()->Swap((event.*payload)());
    return Serialize(request);
  };
  rpc.applied = [](const grpc::ByteBuffer& response) {
    Response parsed;
    return Parse(response, &parsed) && parsed.result().outcome() == v1::ITEM_OUTCOME_APPLIED;
  };
  return rpc;
}

EventRpc RpcOf(EventKind kind) {
  switch (kind) {  // no default: a new kind must be sent too (-Wswitch)
    case EventKind::kOrder:
      return MakeEventRpc<v1::PlaceOrderRequest, v1::PlaceOrderResponse>(
          kPlaceOrderMethod, &v1::Event::mutable_order_placed);
    case EventKind::kActivity:
      return MakeEventRpc<v1::RecordActivityRequest, v1::RecordActivityResponse>(
          "/segmentd.v1.IngestService/RecordActivity", &v1::Event::mutable_activity);
    case EventKind::kEngagement:
      return MakeEventRpc<v1::RecordEngagementRequest, v1::RecordEngagementResponse>(
          "/segmentd.v1.IngestService/RecordEngagement", &v1::Event::mutable_engagement);
    case EventKind::kCart:
      return MakeEventRpc<v1::UpdateCartRequest, v1::UpdateCartResponse>(
          "/segmentd.v1.IngestService/UpdateCart", &v1::Event::mutable_cart_updated);
  }
  return {};
}

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

  // A few connections, used round robin, so one HTTP/2 connection's framing
  // thread does not bound the rate. Beyond max_in_flight calls in flight the
  // server is not keeping up (by Little's law the mean latency is already >=
  // max_in_flight / rate), so the sender stops and the run is reported as
  // saturated rather than piling thousands of calls onto a shared machine.
  const EventRpc rpc = RpcOf(kind);
  DriveSpec spec;
  spec.methods = {rpc.method};
  spec.warmup = options.warmup;
  spec.duration = options.duration;
  spec.connections = threads;
  spec.rate = options.rate;
  spec.max_in_flight = std::max(1, options.max_in_flight);
  spec.applied = [&rpc](int, const grpc::ByteBuffer& response) { return rpc.applied(response); };
  std::mt19937_64 rng(options.seed * 104729 + 3);
  // Order and message ids unique to this run: a later run (another rate, a
  // second sweep) re-sending an earlier run's ids would measure idempotent
  // duplicates, which cost the server a read and no write.
  const std::string run = absl::StrCat(options.seed, "-", absl::ToUnixMicros(absl::Now()));
  DriveResults driven = RunOpenLoop(options, spec, [&](int64_t i) {
    v1::Event event;
    FillRandomEvent(kind, rng, options.customers, absl::StrCat("lat-", run, "-", i), absl::Now(),
                    &event);
    return UnaryRequest{0, rpc.body(event)};
  });
  StreamedEventsResult streamed;
  for (auto& stream : background) streamed.Merge(stream->Stop());

  KindResults& all = driven.kinds.front();
  const int64_t errors = all.Errors();
  const std::string error_text = all.ErrorText();
  const double window = driven.seconds_to_last_answer;
  const double achieved = window > 0 ? all.ok / window : 0;
  const bool saturated = driven.saturated;
  const int64_t sent = driven.sent;
  LatencyRecorder& s = all.latency;
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
                          .Add("sender_lag_ms", driven.sender_lag_ms)
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
