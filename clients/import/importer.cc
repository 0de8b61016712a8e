#include "clients/import/importer.h"

#include <deque>
#include <future>
#include <iterator>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "clients/import/csv_line.h"

namespace segmentd::clients {
namespace {

// Sends orders in batches, skipping the resumed prefix, on up to one batch
// per sink at once; takes the acknowledgements in file order and keeps the
// counts.
class Batcher {
 public:
  Batcher(const std::vector<OrderSink*>& sinks, const ImportOptions& options, ImportReport& report,
          ImportProgress& progress)
      : options_(options), report_(report), progress_(progress) {
    // kStop: nothing may be sent after a batch the server rejected in part,
    // so one batch is in flight at a time.
    const size_t usable = options.on_error == OnError::kStop ? 1 : sinks.size();
    for (size_t i = 0; i < usable; ++i) free_.push_back(sinks[i]);
    // kStop's spare sinks stand by for one that retires.
    for (size_t i = usable; i < sinks.size(); ++i) spare_.push_back(sinks[i]);
    sinks_total_ = sinks.size();
    progress_.orders_acked = options.resume_after_orders;
  }

  // Waits for the batches in flight (their acknowledgements then go nowhere:
  // only an error ends an import with batches in flight).
  ~Batcher() {
    for (InFlight& batch : in_flight_) {
      if (batch.ack.valid()) batch.ack.wait();
    }
  }

  // Takes `orders` (moved from); sends full batches.
  absl::Status Add(std::vector<ImportedOrder>& orders) {
    for (ImportedOrder& order : orders) {
      const int64_t ordinal = report_.orders++;
      if (ordinal < options_.resume_after_orders) {
        ++report_.orders_resumed;
        continue;
      }
      pending_.push_back(std::move(order));
      if (static_cast<int>(pending_.size()) >= options_.batch_size) {
        absl::Status s = Send();
        if (!s.ok()) return s;
      }
    }
    orders.clear();
    return absl::OkStatus();
  }

  // Sends what is pending and takes every acknowledgement.
  absl::Status Flush() {
    absl::Status s = Send();
    while (s.ok() && !in_flight_.empty()) s = TakeOldest();
    return s;
  }

  bool rejected_in_batch() const { return rejected_in_batch_; }

 private:
  struct InFlight {
    std::vector<ImportedOrder> orders;
    OrderSink* sink = nullptr;
    std::future<absl::StatusOr<BatchAck>> ack;
  };

  // Sends the pending batch on a free sink, first taking the oldest
  // acknowledgement when none is free.
  absl::Status Send() {
    if (pending_.empty()) return absl::OkStatus();
    // An answered batch frees its sink, unless the sink retired or stood in
    // for an older batch's (then the sink frees when its own batch is taken).
    while (free_.empty()) {
      if (in_flight_.empty()) return absl::InternalError("import: every sink retired");
      absl::Status s = TakeOldest();
      if (!s.ok()) return s;
    }
    // A deque's elements stay where they are as others come and go, so the
    // sender may read the batch in place.
    InFlight& batch = in_flight_.emplace_back();
    batch.orders = std::move(pending_);
    pending_.clear();
    batch.sink = free_.back();
    free_.pop_back();
    batch.ack = std::async(std::launch::async, [sink = batch.sink, orders = &batch.orders] {
      return sink->Send(*orders);
    });
    // kStop: a rejection must be known before the next batch is sent.
    if (options_.on_error == OnError::kStop) return TakeOldest();
    return absl::OkStatus();
  }

  // A sink to send a refused batch on again, at once: a free one, a spare,
  // or, waiting for it, that of a younger batch in flight (idle once that
  // batch is answered; its answer is taken later, in file order). Sets
  // *from_pool when it came from free_ or spare_ (to be freed after use).
  // nullptr when every other sink is retired.
  OrderSink* IdleSink(bool* from_pool) {
    *from_pool = true;
    for (std::vector<OrderSink*>* pool : {&free_, &spare_}) {
      if (pool->empty()) continue;
      OrderSink* sink = pool->back();
      pool->pop_back();
      return sink;
    }
    *from_pool = false;
    for (size_t i = 1; i < in_flight_.size(); ++i) {
      if (retired_.contains(in_flight_[i].sink)) continue;
      in_flight_[i].ack.wait();
      return in_flight_[i].sink;
    }
    return nullptr;
  }

  absl::Status TakeOldest() {
    InFlight& batch = in_flight_.front();
    absl::StatusOr<BatchAck> ack = batch.ack.get();
    // A sink that cannot be used (the server's limit on streams): the batch
    // goes again on another one, and the import on with the others.
    // (A batch sent on a sink that retired meanwhile, as a stand-in for an
    // older batch, failed the same way.)
    bool free_after = true;  // batch.sink goes back to free_ once answered
    while (!ack.ok() && (retired_.contains(batch.sink) || batch.sink->Retire(ack.status()))) {
      if (retired_.insert(batch.sink).second && options_.on_sink_retired) {
        options_.on_sink_retired(ack.status(), sinks_total_ - retired_.size());
      }
      OrderSink* other = IdleSink(&free_after);
      if (other == nullptr) break;
      batch.sink = other;
      ack = other->Send(batch.orders);
    }
    if (!ack.ok()) {
      in_flight_.pop_front();
      return ack.status();
    }
    if (free_after && !retired_.contains(batch.sink)) free_.push_back(batch.sink);
    const std::vector<ImportedOrder>& orders = batch.orders;
    report_.applied += ack->applied;
    report_.duplicates += ack->duplicates;
    report_.rejected += ack->rejected;
    report_.ignored += ack->ignored;
    for (const BatchAck::Rejection& r : ack->rejections) {
      rejected_in_batch_ = true;
      const int64_t line =
          r.index >= 0 && r.index < static_cast<int>(orders.size()) ? orders[r.index].line : 0;
      if (report_.errors.size() < options_.max_reported_errors) {
        report_.errors.push_back({line, absl::StrCat("rejected by the server: ", r.message)});
      }
    }
    progress_.orders_acked += static_cast<int64_t>(orders.size());
    if (options_.on_acknowledged)
      options_.on_acknowledged(progress_.orders_acked, orders.back().line);
    if (options_.on_progress) options_.on_progress(progress_);
    in_flight_.pop_front();
    return absl::OkStatus();
  }

  const ImportOptions& options_;
  ImportReport& report_;
  ImportProgress& progress_;
  std::vector<OrderSink*> free_;
  std::vector<OrderSink*> spare_;            // not sent on while kStop keeps one batch in flight
  absl::flat_hash_set<OrderSink*> retired_;  // OrderSink::Retire said so
  size_t sinks_total_ = 0;                   // retired ones too
  std::deque<InFlight> in_flight_;  // oldest first
  std::vector<ImportedOrder> pending_;
  bool rejected_in_batch_ = false;
};

// The most lines, and bytes, a quoted field may make one record of. A quote
// that opens a field and never closes is then the first line's error alone,
// and the lines after it are read again as rows of their own (each scanned
// at most this many times).
constexpr size_t kMaxRecordLines = 100;
constexpr size_t kMaxRecordBytes = 1 << 20;

}  // namespace

absl::StatusOr<ImportReport> RunImport(std::istream& in, int64_t total_bytes, OrderMapping& mapping,
                                       OrderSink& sink, const ImportOptions& options) {
  return RunImport(in, total_bytes, mapping, std::vector<OrderSink*>{&sink}, options);
}

absl::StatusOr<ImportReport> RunImport(std::istream& in, int64_t total_bytes, OrderMapping& mapping,
                                       const std::vector<OrderSink*>& sinks,
                                       const ImportOptions& options) {
  if (sinks.empty()) return absl::InvalidArgumentError("RunImport: no sink");
  ImportReport report;
  ImportProgress progress;
  progress.total_bytes = total_bytes;
  Batcher batcher(sinks, options, report, progress);
  std::vector<ImportedOrder> orders;
  auto record_error = [&](int64_t line, std::string message) {
    ++report.bad_rows;
    if (report.errors.size() < options.max_reported_errors) {
      report.errors.push_back({line, std::move(message)});
    }
  };
  // Lines read ahead for a record that turned out unterminated, to be read
  // again, with their numbers.
  std::deque<std::pair<int64_t, std::string>> again;
  int64_t line = 0;
  auto next_line = [&](std::string& out, int64_t& number) {
    if (!again.empty()) {
      std::tie(number, out) = std::move(again.front());
      again.pop_front();
      return true;
    }
    if (!std::getline(in, out)) return false;
    number = ++line;
    progress.bytes_read += static_cast<int64_t>(out.size()) + 1;
    return true;
  };
  std::string text;
  int64_t first_line = 0;
  while (next_line(text, first_line)) {
    ++report.rows;
    progress.rows = report.rows;
    // A quoted field may hold line breaks (a product description typed over
    // two lines): while one is open, the record goes on on the next line.
    if (const std::optional<char> delimiter = mapping.csv_delimiter()) {
      CsvRecordScanner scanner(*delimiter);
      scanner.Feed(text);
      std::vector<std::pair<int64_t, std::string>> continued;
      size_t bytes = text.size();
      std::pair<int64_t, std::string> more;
      while (scanner.open() && continued.size() < kMaxRecordLines && bytes < kMaxRecordBytes &&
             next_line(more.second, more.first)) {
        scanner.Feed(more.second);
        bytes += more.second.size() + 1;
        continued.push_back(std::move(more));
      }
      if (scanner.open()) {
        again.insert(again.begin(), std::make_move_iterator(continued.begin()),
                     std::make_move_iterator(continued.end()));
      } else {
        for (const auto& [number, next] : continued) absl::StrAppend(&text, "\n", next);
      }
    }
    // Excel's "CSV UTF-8" and other exporters start the file with a byte
    // order mark: not part of the header or of the first row's first field.
    if (first_line == 1 && absl::StartsWith(text, "\xEF\xBB\xBF")) text.erase(0, 3);
    absl::Status mapped = mapping.AddLine(first_line, text, &orders);
    if (!mapped.ok()) {
      record_error(first_line, std::string(mapped.message()));
      if (options.on_error == OnError::kStop) {
        report.stopped = true;
        break;
      }
    }
    absl::Status sent = batcher.Add(orders);
    if (!sent.ok()) return sent;
    if (batcher.rejected_in_batch() && options.on_error == OnError::kStop) {
      report.stopped = true;
      break;
    }
    if (options.on_progress && report.rows % 4096 == 0) options.on_progress(progress);
  }
  if (!report.stopped) {
    std::vector<RowError> group_errors;
    mapping.Finish(&orders, &group_errors);
    for (RowError& e : group_errors) record_error(e.line, std::move(e.message));
    if (!group_errors.empty() && options.on_error == OnError::kStop) {
      report.stopped = true;
      orders.clear();
    }
    absl::Status sent = batcher.Add(orders);
    if (!sent.ok()) return sent;
  }
  absl::Status flushed = batcher.Flush();
  if (!flushed.ok()) return flushed;
  if (batcher.rejected_in_batch() && options.on_error == OnError::kStop) report.stopped = true;
  report.skipped = mapping.skipped();
  if (options.on_progress) options.on_progress(progress);
  return report;
}

}  // namespace segmentd::clients
