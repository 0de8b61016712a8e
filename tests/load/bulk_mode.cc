#include "tests/load/bulk_mode.h"

#include <atomic>
#include <cstdio>
#include <deque>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "segmentd/v1/ingest.grpc.pb.h"

namespace segmentd::load {
namespace {

struct StreamTally {
  int64_t orders_acked = 0;
  int64_t events_acked = 0;
  int64_t applied = 0;
  int64_t duplicates = 0;
  int64_t rejected = 0;
  int64_t ignored = 0;
  std::vector<std::string> rejections;  // the first few, for the report
  absl::Status status;
};

struct InFlight {
  int64_t orders = 0;
  int64_t events = 0;
};

// Drives one BulkIngest stream over customers [begin, end).
void RunStream(const LoadOptions& options, std::shared_ptr<grpc::Channel> channel, int64_t begin,
               int64_t end, std::atomic<int64_t>* acked_orders, StreamTally* tally) {
  std::unique_ptr<v1::IngestService::Stub> stub = v1::IngestService::NewStub(channel);
  grpc::ClientContext context;
  PrepareContext(&context, options.key, absl::Hours(2));
  auto stream = stub->BulkIngest(&context);
  std::deque<InFlight> in_flight;

  auto read_one = [&]() -> bool {
    v1::BulkIngestResponse response;
    if (!stream->Read(&response)) return false;
    const InFlight batch = in_flight.front();
    in_flight.pop_front();
    tally->applied += response.applied();
    tally->duplicates += response.duplicates();
    tally->rejected += response.rejected();
    tally->ignored += response.ignored();
    for (const v1::BulkItemResult& r : response.results()) {
      if (r.outcome() == v1::ITEM_OUTCOME_REJECTED && tally->rejections.size() < 5) {
        tally->rejections.push_back(
            absl::StrCat(r.error().field(), ": ", r.error().message()));
      }
    }
    // Rejected orders are reported separately and make the run fail, so the
    // batch's order count is what was acknowledged as durable.
    tally->orders_acked += batch.orders;
    tally->events_acked += batch.events;
    acked_orders->fetch_add(batch.orders, std::memory_order_relaxed);
    return true;
  };

  v1::BulkIngestRequest request;
  int64_t request_orders = 0;
  auto flush = [&]() -> bool {
    if (request.events_size() == 0) return true;
    if (!stream->Write(request)) return false;
    in_flight.push_back({request_orders, request.events_size()});
    request.Clear();
    request_orders = 0;
    while (static_cast<int>(in_flight.size()) >= options.window) {
      if (!read_one()) return false;
    }
    return true;
  };

  engine::GeneratorOptions generator;
  generator.seed = options.seed;
  std::vector<v1::Event> events;
  bool ok = true;
  for (int64_t i = begin; i < end && ok; ++i) {
    events.clear();
    AppendEvents(SentPart(engine::GenerateCustomer(generator, i)), &events);
    // Keep a customer's events in one request when they fit, so the server
    // reads and writes each customer once per batch.
    if (request.events_size() + static_cast<int>(events.size()) > options.batch) ok = flush();
    for (size_t e = 0; e < events.size() && ok; ++e) {
      if (events[e].has_order_placed()) ++request_orders;
      *request.add_events() = std::move(events[e]);
      if (request.events_size() >= options.batch) ok = flush();
    }
  }
  if (ok) ok = flush();
  if (ok) stream->WritesDone();
  while (ok && !in_flight.empty()) ok = read_one();
  const grpc::Status status = stream->Finish();
  if (!status.ok()) {
    tally->status = FromGrpc(status);
  } else if (!in_flight.empty()) {
    tally->status = absl::InternalError("stream ended before every batch was acknowledged");
  }
}

}  // namespace

absl::Status RunBulk(const LoadOptions& options) {
  if (options.batch < 1 || options.batch > 1000) {
    return absl::InvalidArgumentError("--batch must be in [1, 1000]");
  }
  const int streams = std::max(1, options.streams);
  std::vector<StreamTally> tallies(streams);
  std::vector<std::thread> threads;
  std::atomic<int64_t> acked_orders{0};
  const std::string load_before = LoadAverage();
  std::printf("bulk: %lld customers (seed %llu), %d streams x batch %d, window %d, target %s\n",
              static_cast<long long>(options.customers),
              static_cast<unsigned long long>(options.seed), streams, options.batch,
              options.window, options.target.c_str());
  std::fflush(stdout);

  const absl::Time start = absl::Now();
  for (int s = 0; s < streams; ++s) {
    const int64_t begin = options.customers * s / streams;
    const int64_t end = options.customers * (s + 1) / streams;
    // One connection per stream: a single HTTP/2 connection would serialize
    // every stream's frames through one client and one server thread.
    threads.emplace_back(RunStream, std::cref(options), NewChannel(options.target, s), begin,
                         end, &acked_orders, &tallies[s]);
  }
  // Progress every 5 s; the loop ends when the streams do.
  absl::Notification done;
  std::thread progress([&] {
    int64_t last = 0;
    while (!done.WaitForNotificationWithTimeout(absl::Seconds(5))) {
      const int64_t now = acked_orders.load(std::memory_order_relaxed);
      std::printf("bulk: %.0f s, %lld orders acknowledged (%.0f/s over the last 5 s)\n",
                  absl::ToDoubleSeconds(absl::Now() - start), static_cast<long long>(now),
                  (now - last) / 5.0);
      std::fflush(stdout);
      last = now;
    }
  });
  for (std::thread& t : threads) t.join();
  const absl::Duration elapsed = absl::Now() - start;
  done.Notify();
  progress.join();

  StreamTally total;
  absl::Status first_error;
  for (const StreamTally& t : tallies) {
    total.orders_acked += t.orders_acked;
    total.events_acked += t.events_acked;
    total.applied += t.applied;
    total.duplicates += t.duplicates;
    total.rejected += t.rejected;
    total.ignored += t.ignored;
    for (const std::string& r : t.rejections) {
      if (total.rejections.size() < 5) total.rejections.push_back(r);
    }
    if (!t.status.ok() && first_error.ok()) first_error = t.status;
  }
  const double seconds = absl::ToDoubleSeconds(elapsed);
  std::printf(
      "bulk: %lld orders + %lld registrations acknowledged in %.2f s: %.0f orders/s, %.0f "
      "events/s (applied %lld, duplicates %lld, rejected %lld, ignored %lld)\n",
      static_cast<long long>(total.orders_acked),
      static_cast<long long>(total.events_acked - total.orders_acked), seconds,
      total.orders_acked / seconds, total.events_acked / seconds,
      static_cast<long long>(total.applied), static_cast<long long>(total.duplicates),
      static_cast<long long>(total.rejected), static_cast<long long>(total.ignored));
  for (const std::string& r : total.rejections) std::printf("bulk: rejected: %s\n", r.c_str());
  std::printf("%s\n", JsonLine()
                          .Add("mode", "bulk")
                          .Add("customers", options.customers)
                          .Add("streams", static_cast<int64_t>(streams))
                          .Add("batch", static_cast<int64_t>(options.batch))
                          .Add("window", static_cast<int64_t>(options.window))
                          .Add("orders", total.orders_acked)
                          .Add("events", total.events_acked)
                          .Add("applied", total.applied)
                          .Add("duplicates", total.duplicates)
                          .Add("rejected", total.rejected)
                          .Add("seconds", seconds)
                          .Add("orders_per_s", total.orders_acked / seconds)
                          .Add("events_per_s", total.events_acked / seconds)
                          .Add("error", first_error.ok() ? "" : first_error.ToString())
                          .Add("loadavg_before", load_before)
                          .Add("loadavg_after", LoadAverage())
                          .Line()
                          .c_str());
  std::fflush(stdout);
  if (!first_error.ok()) return first_error;
  if (total.rejected > 0) return absl::InternalError("events were rejected");
  return absl::OkStatus();
}

}  // namespace segmentd::load
