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
  // The stream opens on the first Send: opening it takes one of the
  // tenant's BulkIngest slots on the server (--max_bulk_streams_per_tenant),
  // which a sink that never sends must not hold. `client` must outlive the
  // sink.
  explicit BulkIngestSink(clients::SegmentdClient* client) : client_(client) {}
  absl::StatusOr<clients::BatchAck> Send(const std::vector<clients::ImportedOrder>& batch) override;
  // True for the server's refusal of one more stream of the tenant
  // (--max_bulk_streams_per_tenant): the import goes on with fewer.
  bool Retire(const absl::Status& status) override;
  // Closes the stream, if it was opened.
  absl::Status Finish() { return stream_ == nullptr ? absl::OkStatus() : stream_->Finish(); }

 private:
  clients::SegmentdClient* const client_;
  std::unique_ptr<clients::BulkIngestStream> stream_;
};

// Whether `status` is the server's refusal of one more BulkIngest stream of
// the tenant (--max_bulk_streams_per_tenant). RESOURCE_EXHAUSTED is also a
// batch over gRPC's message size: not this.
bool IsStreamLimitRefusal(const absl::Status& status);

// Returns `order` as an OrderPlaced event.
v1::Event ToEvent(const clients::ImportedOrder& order);

}  // namespace segmentd::segctl

#endif  // SEGMENTD_CLIENTS_SEGCTL_BULK_INGEST_SINK_H_
