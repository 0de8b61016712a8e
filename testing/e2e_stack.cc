#include "testing/e2e_stack.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "segmentd/v1/config.grpc.pb.h"
#include "segmentd/v1/ingest.grpc.pb.h"

namespace segmentd::testing {
namespace {

// Returns `status` with `what` in front of its message (same code).
absl::Status Annotate(const absl::Status& status, absl::string_view what) {
  return absl::Status(status.code(), absl::StrCat(what, ": ", status.message()));
}

// Returns a shared_ptr that does not own `channel`, for NewStub().
std::shared_ptr<grpc::Channel> Unowned(grpc::Channel& channel) {
  return std::shared_ptr<grpc::Channel>(&channel, [](grpc::Channel*) {});
}

// Returns the status a stream finished with, or UNKNOWN naming `what` when it
// broke without one.
absl::Status Broken(const grpc::Status& finished, absl::string_view what) {
  if (!finished.ok()) return FromGrpc(finished);
  return absl::UnknownError(absl::StrCat("BulkIngest stream broke at ", what));
}

}  // namespace

absl::StatusOr<std::unique_ptr<E2eStack>> E2eStack::Start(Options options) {
  std::unique_ptr<E2eStack> stack(new E2eStack());
  absl::StatusOr<std::unique_ptr<RedisServer>> redis = RedisServer::Start(options.redis);
  if (!redis.ok()) return Annotate(redis.status(), "starting redis-server");
  stack->redis_ = *std::move(redis);

  SegmentdProcess::Options segmentd_options;
  segmentd_options.redis_address = stack->redis_->unix_address();
  segmentd_options.operator_key_file = std::move(options.operator_key_file);
  segmentd_options.extra_flags = std::move(options.segmentd_flags);
  absl::StatusOr<std::unique_ptr<SegmentdProcess>> segmentd =
      SegmentdProcess::Start(std::move(segmentd_options));
  if (!segmentd.ok()) return Annotate(segmentd.status(), "starting segmentd");
  stack->segmentd_ = *std::move(segmentd);
  stack->channel_ = stack->segmentd_->NewChannel();

  absl::StatusOr<std::string> token = stack->segmentd_->OperatorToken();
  if (!token.ok()) return Annotate(token.status(), "reading the operator token");
  stack->operator_token_ = *std::move(token);

  for (const std::string& tenant_id : options.tenants) {
    absl::StatusOr<TenantKeys> keys =
        CreateTenantWithKeys(*stack->channel_, stack->operator_token_, tenant_id);
    if (!keys.ok()) {
      return Annotate(keys.status(), absl::StrCat("creating tenant \"", tenant_id, "\""));
    }
    stack->tenants_[tenant_id] = *std::move(keys);
  }
  return stack;
}

const TenantKeys& E2eStack::keys(const std::string& tenant_id) const {
  static const TenantKeys* const kNone = new TenantKeys();
  auto it = tenants_.find(tenant_id);
  return it != tenants_.end() ? it->second : *kNone;
}

absl::Status DisableStatisticalSegments(grpc::Channel& channel, const std::string& admin_key) {
  auto config = v1::ConfigService::NewStub(Unowned(channel));
  v1::UpdateConfigRequest request;
  v1::SegmentConfig* c = request.mutable_config();
  c->mutable_vip()->set_enabled(false);
  c->mutable_value_tiers()->set_enabled(false);
  c->mutable_big_spender()->set_enabled(false);
  c->mutable_low_spender()->set_enabled(false);
  for (const char* path :
       {"vip.enabled", "value_tiers.enabled", "big_spender.enabled", "low_spender.enabled"}) {
    request.mutable_update_mask()->add_paths(path);
  }
  v1::UpdateConfigResponse response;
  std::unique_ptr<grpc::ClientContext> context = NewContext(admin_key, absl::Seconds(30));
  return FromGrpc(config->UpdateConfig(context.get(), request, &response));
}

v1::Event OrderEvent(const std::string& customer, const std::string& order_id, absl::Time at,
                     int64_t amount, const std::vector<std::string>& categories) {
  v1::Event e;
  v1::OrderPlaced* o = e.mutable_order_placed();
  o->set_customer_id(customer);
  o->set_order_id(order_id);
  *o->mutable_placed_at() = ToTimestamp(at);
  o->set_amount(amount);
  for (const std::string& c : categories) o->add_categories(c);
  return e;
}

v1::Event RegisteredEvent(const std::string& customer, absl::Time at) {
  v1::Event e;
  e.mutable_customer_registered()->set_customer_id(customer);
  *e.mutable_customer_registered()->mutable_registered_at() = ToTimestamp(at);
  return e;
}

absl::StatusOr<v1::BulkIngestResponse> IngestBatch(grpc::Channel& channel,
                                                   const std::string& write_key,
                                                   const std::vector<v1::Event>& events) {
  auto ingest = v1::IngestService::NewStub(Unowned(channel));
  std::unique_ptr<grpc::ClientContext> context = NewContext(write_key);
  auto stream = ingest->BulkIngest(context.get());
  v1::BulkIngestRequest request;
  for (const v1::Event& e : events) *request.add_events() = e;
  if (!stream->Write(request)) return Broken(stream->Finish(), "Write");
  v1::BulkIngestResponse reply;
  if (!stream->Read(&reply)) return Broken(stream->Finish(), "Read");
  stream->WritesDone();
  if (absl::Status status = FromGrpc(stream->Finish()); !status.ok()) return status;
  return reply;
}

}  // namespace segmentd::testing
