// RunImport: reads a file line by line (a record whose quoted field spans
// lines whole, for mappings with quoted fields) through an OrderMapping and sends the
// orders in batches to an OrderSink, acknowledged batch by batch.
//
// Guarantees:
// - Only whole orders are sent (a mapping emits an order only when all its rows
//   are read), and an order's id depends only on the file, so re-running an
//   import changes nothing on the server (the orders come back as duplicates).
// - `resume_after_orders` skips the first N orders of the file's order sequence
//   (the sequence is a pure function of the file and the mapping): pass the
//   count acknowledged by an interrupted run to send only the rest.
// - Bad rows are reported with their line numbers; with OnError::kSkip they are
//   left out and the import goes on, with OnError::kStop the import stops at the
//   first one (orders completed by earlier rows are sent, none of later rows;
//   a mapping that holds its orders until the file's end, the online-retail
//   export's, has then sent none). Orders the server rejects are reported like
//   bad rows, with the line they come from.
//
// Pure apart from the sinks and the callbacks (called on the caller's
// thread); not thread-safe.
#ifndef SEGMENTD_CLIENTS_IMPORT_IMPORTER_H_
#define SEGMENTD_CLIENTS_IMPORT_IMPORTER_H_

#include <cstdint>
#include <functional>
#include <istream>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "clients/import/imported_order.h"
#include "clients/import/order_mapping.h"

namespace segmentd::clients {

enum class OnError { kSkip, kStop };

// What the server said about one batch.
struct BatchAck {
  int64_t applied = 0;
  int64_t duplicates = 0;
  int64_t rejected = 0;
  int64_t ignored = 0;
  struct Rejection {
    int index = 0;  // position in the batch
    std::string message;
  };
  std::vector<Rejection> rejections;
};

// Where orders go, e.g. a BulkIngest stream. RunImport sends one batch at a
// time on each sink (from a thread of its own when several are given), so an
// implementation need not be thread-safe.
class OrderSink {
 public:
  virtual ~OrderSink() = default;
  // Sends `batch` and returns once it is acknowledged (durably applied or
  // rejected item by item). An error means the batch's fate is unknown.
  virtual absl::StatusOr<BatchAck> Send(const std::vector<ImportedOrder>& batch) = 0;
  // Called with a failed Send's status: true when it says this sink cannot
  // be used at all while others may (e.g. the server refused one more
  // stream), once the sink has let go of what it held. RunImport then goes
  // on without it, sending that batch again on another sink (orders are
  // idempotent by id). Default: false, the import fails.
  virtual bool Retire(const absl::Status& status) { return false; }
};

// A snapshot for progress displays.
struct ImportProgress {
  int64_t bytes_read = 0;
  int64_t total_bytes = 0;  // as given to RunImport; 0 when unknown
  int64_t rows = 0;         // records read (a line, or lines a quoted field joins)
  int64_t orders_acked = 0;  // including those skipped by resume
};

struct ImportOptions {
  // Orders per batch (the server takes at most 1000). Default 1000.
  int batch_size = 1000;
  // What a bad row does. Default: skip it and go on.
  OnError on_error = OnError::kSkip;
  // Orders acknowledged by an earlier run, not sent again. Default 0.
  int64_t resume_after_orders = 0;
  // With several sinks, batches are sent on all of them at once (batch i on
  // the first sink free, at most one batch per sink), and their
  // acknowledgements are taken in file order: `on_acknowledged`, the report's
  // counts and errors come out as with one sink. A failed batch fails the
  // import once the batches before it are taken; batches after it may have
  // been applied too (a resume re-sends them, answered as duplicates).
  // OnError::kStop sends one batch at a time on the first sink, so that
  // nothing after a batch the server rejected in part is sent.
  // How many errors the report keeps (all are counted). Default 100.
  size_t max_reported_errors = 100;
  // Called after each acknowledged batch with the number of orders of the
  // sequence acknowledged so far and the line of the last one. Default none.
  std::function<void(int64_t orders_acked, int64_t last_line)> on_acknowledged;
  // Called every few thousand rows and after each batch. Default none.
  std::function<void(const ImportProgress&)> on_progress;
  // Called when a sink retired itself (OrderSink::Retire), with its status
  // and how many sinks are left. Default none.
  std::function<void(const absl::Status& why, size_t sinks_left)> on_sink_retired;
};

struct ImportReport {
  int64_t rows = 0;            // records read (a line, or lines a quoted field joins)
  int64_t orders = 0;          // orders mapped from the file
  int64_t orders_resumed = 0;  // of which skipped: acknowledged by an earlier run
  int64_t applied = 0;
  int64_t duplicates = 0;
  int64_t rejected = 0;        // by the server
  int64_t ignored = 0;
  int64_t bad_rows = 0;        // rows or groups the mapping could not map
  std::vector<RowError> errors;  // the first `max_reported_errors`, mapping and server
  std::map<std::string, int64_t> skipped;  // rows left out on purpose, by reason
  bool stopped = false;        // OnError::kStop hit an error
};

// Imports `in` (whose size is `total_bytes`, 0 if unknown). Returns the
// report; an error only when the sink fails (the report so far is then lost,
// but every acknowledged batch was passed to `on_acknowledged`).
absl::StatusOr<ImportReport> RunImport(std::istream& in, int64_t total_bytes, OrderMapping& mapping,
                                       const std::vector<OrderSink*>& sinks,
                                       const ImportOptions& options);
// The same with one sink.
absl::StatusOr<ImportReport> RunImport(std::istream& in, int64_t total_bytes, OrderMapping& mapping,
                                       OrderSink& sink, const ImportOptions& options);

}  // namespace segmentd::clients

#endif  // SEGMENTD_CLIENTS_IMPORT_IMPORTER_H_
