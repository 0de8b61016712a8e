#include "tests/load/streamed_events.h"

#include <algorithm>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"

namespace segmentd::load {

void StreamedEventsResult::Merge(const StreamedEventsResult& other) {
  events_acked += other.events_acked;
  rejected += other.rejected;
  duplicates += other.duplicates;
  achieved_rate += other.achieved_rate;
  seconds = std::max(seconds, other.seconds);
  kept_up = kept_up && other.kept_up;
  batch_latency.Merge(other.batch_latency);
  if (acked_per_second.size() < other.acked_per_second.size()) {
    acked_per_second.resize(other.acked_per_second.size());
  }
  for (size_t i = 0; i < other.acked_per_second.size(); ++i) {
    acked_per_second[i] += other.acked_per_second[i];
  }
  if (status.ok()) status = other.status;
}

StreamedEvents::StreamedEvents(const LoadOptions& options, EventKind kind, int index, double rate,
                               int batch, int window)
    : options_(options),
      kind_(kind),
      index_(index),
      rate_(rate),
      batch_(std::clamp(batch, 1, 1000)),
      window_(std::max(1, window)),
      stub_(v1::IngestService::NewStub(NewChannel(options.target, 300 + index))) {}

StreamedEvents::~StreamedEvents() {
  if (sender_.joinable()) Stop();
}

void StreamedEvents::Start() {
  PrepareContext(&context_, options_.key, absl::Hours(1));
  stream_ = stub_->BulkIngest(&context_);
  start_ = absl::Now();
  sender_ = std::thread([this] { Send(); });
  receiver_ = std::thread([this] { Receive(); });
}

void StreamedEvents::Send() {
  std::mt19937_64 rng(options_.seed * 7919 + 11 + index_);
  const absl::Duration interval = absl::Seconds(1) * batch_ / rate_;
  int64_t sent_batches = 0;
  int64_t next_id = 0;
  // Order and message ids unique to this run (see the latency mode):
  // "bg-<seed>-<start us>-<index>-<n>".
  const std::string run = absl::StrCat(options_.seed, "-", absl::ToUnixMicros(start_), "-", index_);
  while (!stop_.load(std::memory_order_relaxed)) {
    const absl::Time scheduled = start_ + interval * sent_batches;
    const absl::Time now = absl::Now();
    if (now < scheduled) {
      absl::SleepFor(std::min(scheduled - now, absl::Milliseconds(1)));
      continue;
    }
    {
      // A full window means the server is behind the schedule: wait (the
      // wait counts in the batch's latency, from its scheduled instant).
      absl::MutexLock lock(&mu_);
      auto room = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return static_cast<int>(unacked_.size()) < window_ || !receiving_;
      };
      if (!room()) result_.kept_up = false;
      mu_.Await(absl::Condition(&room));
      if (!receiving_) break;
      unacked_.push_back(scheduled);
    }
    v1::BulkIngestRequest request;
    const absl::Time at = absl::Now();
    for (int i = 0; i < batch_; ++i) {
      FillRandomEvent(kind_, rng, options_.customers, absl::StrCat("bg-", run, "-", next_id++), at,
                      request.add_events());
    }
    if (!stream_->Write(request)) break;
    ++sent_batches;
  }
  stream_->WritesDone();
}

void StreamedEvents::Receive() {
  v1::BulkIngestResponse response;
  while (stream_->Read(&response)) {
    const absl::Time now = absl::Now();
    absl::MutexLock lock(&mu_);
    if (unacked_.empty()) break;  // an answer to nothing sent: the stream is broken
    result_.batch_latency.Add(now - unacked_.front());
    unacked_.pop_front();
    const int64_t acked = response.applied() + response.duplicates();
    result_.events_acked += acked;
    result_.duplicates += response.duplicates();
    const size_t second = static_cast<size_t>(absl::ToInt64Seconds(now - start_));
    if (result_.acked_per_second.size() <= second) result_.acked_per_second.resize(second + 1);
    result_.acked_per_second[second] += acked;
    result_.rejected += response.rejected();
    last_ack_ = now;
  }
  absl::MutexLock lock(&mu_);
  receiving_ = false;
}

StreamedEventsResult StreamedEvents::Stop() {
  stop_.store(true);
  sender_.join();
  receiver_.join();
  const grpc::Status status = stream_->Finish();
  absl::MutexLock lock(&mu_);
  StreamedEventsResult out = std::move(result_);
  out.status = FromGrpc(status);
  if (out.status.ok() && !unacked_.empty()) {
    out.status =
        absl::InternalError(absl::StrCat(unacked_.size(), " batches were never acknowledged"));
  }
  out.seconds = absl::ToDoubleSeconds(last_ack_ - start_);
  out.achieved_rate = out.seconds > 0 ? out.events_acked / out.seconds : 0;
  return out;
}

}  // namespace segmentd::load
