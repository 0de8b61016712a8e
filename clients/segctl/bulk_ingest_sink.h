// BulkIngestSink: an OrderSink that sends imported orders over one
// BulkIngest stream of a SegmentdClient (a broken stream is reopened and the
// batch re-sent by the client library; orders are idempotent by id).
// Not thread-safe: segctl import gives each batch in flight a sink of its
// own (clients/import/importer.h).
#ifndef SEGMENTD_CLIENTS_SEGCTL_BULK_INGEST_SINK_H_
#define SEGMENTD_CLIENTS_SEGCTL_BULK_INGEST_SINK_H_

#include <memory>
#include <vector>

#include "clients/client.h"
#include "clients/import/importer.h"

namespace segmentd::segctl {

class BulkIngestSink : public clients::OrderSink {
 public:
  explicit BulkIngestSink(std::unique_ptr<clients::BulkIngestStream> stream)
      : stream_(std::move(stream)) {}
  absl::StatusOr<clients::BatchAck> Send(const std::vector<clients::ImportedOrder>& batch) override;
  // Closes the stream.
  absl::Status Finish() { return stream_->Finish(); }

 private:
  std::unique_ptr<clients::BulkIngestStream> stream_;
};

// Returns `order` as an OrderPlaced event.
v1::Event ToEvent(const clients::ImportedOrder& order);

}  // namespace segmentd::segctl

#endif  // SEGMENTD_CLIENTS_SEGCTL_BULK_INGEST_SINK_H_
