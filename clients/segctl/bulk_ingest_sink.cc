#include "clients/segctl/bulk_ingest_sink.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace segmentd::segctl {

v1::Event ToEvent(const clients::ImportedOrder& order) {
  v1::Event e;
  v1::OrderPlaced* o = e.mutable_order_placed();
  o->set_customer_id(order.customer_id);
  o->set_order_id(order.order_id);
  const int64_t ms = absl::ToUnixMillis(order.placed_at);
  o->mutable_placed_at()->set_seconds(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  o->mutable_placed_at()->set_nanos(static_cast<int32_t>((ms % 1000 + 1000) % 1000 * 1000000));
  o->set_amount(order.amount);
  for (const std::string& c : order.categories) o->add_categories(c);
  return e;
}

bool IsStreamLimitRefusal(const absl::Status& status) {
  return status.code() == absl::StatusCode::kResourceExhausted &&
         absl::StrContains(status.message(), "BulkIngest streams open");
}

bool BulkIngestSink::Retire(const absl::Status& status) {
  if (!IsStreamLimitRefusal(status)) return false;
  stream_.reset();
  return true;
}

absl::StatusOr<clients::BatchAck> BulkIngestSink::Send(
    const std::vector<clients::ImportedOrder>& batch) {
  if (stream_ == nullptr) {
    absl::StatusOr<std::unique_ptr<clients::BulkIngestStream>> stream = client_->OpenBulkIngest();
    if (!stream.ok()) return stream.status();
    stream_ = *std::move(stream);
  }
  v1::BulkIngestRequest request;
  for (const clients::ImportedOrder& order : batch) *request.add_events() = ToEvent(order);
  absl::StatusOr<v1::BulkIngestResponse> response = stream_->Send(request);
  if (!response.ok()) return response.status();
  clients::BatchAck ack;
  ack.applied = response->applied();
  ack.duplicates = response->duplicates();
  ack.rejected = response->rejected();
  ack.ignored = response->ignored();
  for (const v1::BulkItemResult& r : response->results()) {
    if (r.outcome() != v1::ITEM_OUTCOME_REJECTED) continue;
    // The server words its messages "<field>: <problem>" already; name the
    // field only where a message does not.
    std::string message = r.error().message();
    const std::string& field = r.error().field();
    if (!field.empty() && !absl::StartsWith(message, absl::StrCat(field, ": "))) {
      message = absl::StrCat(field, ": ", message);
    }
    ack.rejections.push_back({static_cast<int>(r.index()), message});
  }
  return ack;
}

}  // namespace segmentd::segctl
