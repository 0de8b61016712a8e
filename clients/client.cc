#include "clients/client.h"

#include <algorithm>
#include <fstream>
#include <random>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/types/span.h"
#include "clients/status.h"

namespace segmentd::clients {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", what, " ", path));
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

google::protobuf::Timestamp ToProto(absl::Time t) {
  google::protobuf::Timestamp ts;
  const int64_t ms = absl::ToUnixMillis(t);
  int64_t seconds = ms / 1000;
  int64_t millis = ms % 1000;
  if (millis < 0) {
    millis += 1000;
    seconds -= 1;
  }
  ts.set_seconds(seconds);
  ts.set_nanos(static_cast<int32_t>(millis * 1000000));
  return ts;
}

double UnitRandom() {
  static absl::Mutex mu(absl::kConstInit);
  static std::mt19937_64* rng = nullptr;
  absl::MutexLock lock(&mu);
  if (rng == nullptr) rng = new std::mt19937_64(std::random_device{}());
  return std::uniform_real_distribution<double>(0.0, 1.0)(*rng);
}

}  // namespace

absl::StatusOr<std::string> ReadApiKeyFile(const std::string& path) {
  absl::StatusOr<std::string> key = ReadFile(path, "API key file");
  if (!key.ok()) return key.status();
  std::string token(absl::StripAsciiWhitespace(*key));
  if (token.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("API key file ", path, " is empty"));
  }
  return token;
}

absl::StatusOr<std::unique_ptr<SegmentdClient>> SegmentdClient::Connect(Options options) {
  if (options.target.empty()) return absl::InvalidArgumentError("no target (host:port) given");
  std::string bearer = options.api_key;
  if (bearer.empty() && !options.api_key_file.empty()) {
    absl::StatusOr<std::string> key = ReadApiKeyFile(options.api_key_file);
    if (!key.ok()) return key.status();
    bearer = *std::move(key);
  }
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (options.tls || !options.tls_ca_file.empty()) {
    grpc::SslCredentialsOptions ssl;
    if (!options.tls_ca_file.empty()) {
      absl::StatusOr<std::string> ca = ReadFile(options.tls_ca_file, "CA file");
      if (!ca.ok()) return ca.status();
      ssl.pem_root_certs = *ca;
    }
    credentials = grpc::SslCredentials(ssl);
  } else {
    credentials = grpc::InsecureChannelCredentials();
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(options.target, credentials, args);
  return std::unique_ptr<SegmentdClient>(
      new SegmentdClient(std::move(options), std::move(bearer), std::move(channel)));
}

SegmentdClient::SegmentdClient(Options options, std::string bearer,
                               std::shared_ptr<grpc::Channel> channel)
    : options_(std::move(options)),
      bearer_(std::move(bearer)),
      channel_(std::move(channel)),
      admin_(v1::AdminService::NewStub(channel_)),
      ingest_(v1::IngestService::NewStub(channel_)),
      classification_(v1::ClassificationService::NewStub(channel_)),
      config_(v1::ConfigService::NewStub(channel_)),
      watch_(v1::WatchService::NewStub(channel_)),
      targeting_(v1::TargetingService::NewStub(channel_)),
      insights_(v1::InsightsService::NewStub(channel_)) {}

std::unique_ptr<grpc::ClientContext> SegmentdClient::NewContext(absl::Duration timeout) const {
  auto context = std::make_unique<grpc::ClientContext>();
  if (!bearer_.empty()) context->AddMetadata("authorization", absl::StrCat("Bearer ", bearer_));
  if (timeout != absl::InfiniteDuration()) {
    context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  }
  return context;
}

bool SegmentdClient::Backoff(int attempt, WatchStopper* stopper) const {
  const absl::Duration wait = BackoffAfter(options_.retry, attempt, UnitRandom());
  if (stopper != nullptr) return stopper->WaitUnlessStopped(wait);
  absl::SleepFor(wait);
  return false;
}

absl::Status SegmentdClient::Call(
    bool idempotent, const std::function<grpc::Status(grpc::ClientContext*)>& call) const {
  const int attempts = idempotent ? std::max(1, options_.retry.max_attempts) : 1;
  absl::Status status;
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    std::unique_ptr<grpc::ClientContext> context = NewContext(options_.default_deadline);
    status = FromGrpcStatus(call(context.get()));
    if (status.ok() || !IsRetryable(status.code()) || attempt == attempts) break;
    Backoff(attempt);
  }
  return status;
}

// --- Admin

absl::StatusOr<v1::Tenant> SegmentdClient::CreateTenant(const std::string& tenant_id,
                                                        const std::string& display_name) {
  v1::CreateTenantRequest request;
  request.set_tenant_id(tenant_id);
  request.set_display_name(display_name);
  v1::CreateTenantResponse response;
  absl::Status s = Call(false, [&](grpc::ClientContext* c) {
    return admin_->CreateTenant(c, request, &response);
  });
  if (!s.ok()) return s;
  return response.tenant();
}

absl::StatusOr<std::vector<v1::Tenant>> SegmentdClient::ListTenants() {
  v1::ListTenantsResponse response;
  absl::Status s = Call(true, [&](grpc::ClientContext* c) {
    return admin_->ListTenants(c, v1::ListTenantsRequest(), &response);
  });
  if (!s.ok()) return s;
  return std::vector<v1::Tenant>(response.tenants().begin(), response.tenants().end());
}

absl::StatusOr<v1::CreateApiKeyResponse> SegmentdClient::CreateApiKey(
    const std::string& tenant_id, const std::string& name, const std::vector<v1::Scope>& scopes) {
  v1::CreateApiKeyRequest request;
  request.set_tenant_id(tenant_id);
  request.set_name(name);
  for (v1::Scope scope : scopes) request.add_scopes(scope);
  v1::CreateApiKeyResponse response;
  absl::Status s = Call(false, [&](grpc::ClientContext* c) {
    return admin_->CreateApiKey(c, request, &response);
  });
  if (!s.ok()) return s;
  return response;
}

absl::StatusOr<std::vector<v1::ApiKey>> SegmentdClient::ListApiKeys(const std::string& tenant_id) {
  v1::ListApiKeysRequest request;
  request.set_tenant_id(tenant_id);
  v1::ListApiKeysResponse response;
  absl::Status s = Call(true, [&](grpc::ClientContext* c) {
    return admin_->ListApiKeys(c, request, &response);
  });
  if (!s.ok()) return s;
  return std::vector<v1::ApiKey>(response.keys().begin(), response.keys().end());
}

absl::StatusOr<v1::ApiKey> SegmentdClient::RevokeApiKey(const std::string& tenant_id,
                                                        const std::string& key_id) {
  v1::RevokeApiKeyRequest request;
  request.set_tenant_id(tenant_id);
  request.set_key_id(key_id);
  v1::RevokeApiKeyResponse response;
  // Revoking twice leaves the key revoked: safe to retry.
  absl::Status s = Call(true, [&](grpc::ClientContext* c) {
    return admin_->RevokeApiKey(c, request, &response);
  });
  if (!s.ok()) return s;
  return response.key();
}

// --- Ingest

absl::StatusOr<v1::IngestResult> SegmentdClient::PlaceOrder(const v1::OrderPlaced& order) {
  v1::Event event;
  *event.mutable_order_placed() = order;
  return Ingest(event);
}

absl::StatusOr<v1::IngestResult> SegmentdClient::Ingest(const v1::Event& event) {
  v1::IngestResult result;
  absl::Status s = Call(true, [&](grpc::ClientContext* c) -> grpc::Status {
    switch (event.kind_case()) {
#define SEGMENTD_UNARY(CASE, FIELD, RPC)                        \
  case v1::Event::CASE: {                                       \
    v1::RPC##Request request;                                   \
    *request.mutable_event() = event.FIELD();                   \
    v1::RPC##Response response;                                 \
    grpc::Status status = ingest_->RPC(c, request, &response); \
    result = response.result();                                 \
    return status;                                              \
  }
      SEGMENTD_UNARY(kCustomerRegistered, customer_registered, RegisterCustomer)
      SEGMENTD_UNARY(kOrderPlaced, order_placed, PlaceOrder)
      SEGMENTD_UNARY(kOrderCancelled, order_cancelled, CancelOrder)
      SEGMENTD_UNARY(kOrderRefunded, order_refunded, RefundOrder)
      SEGMENTD_UNARY(kEngagement, engagement, RecordEngagement)
      SEGMENTD_UNARY(kCartUpdated, cart_updated, UpdateCart)
      SEGMENTD_UNARY(kCartConverted, cart_converted, ConvertCart)
      SEGMENTD_UNARY(kActivity, activity, RecordActivity)
#undef SEGMENTD_UNARY
      case v1::Event::KIND_NOT_SET:
        break;
    }
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "event: no kind set");
  });
  if (!s.ok()) return s;
  return result;
}

absl::StatusOr<std::unique_ptr<BulkIngestStream>> SegmentdClient::OpenBulkIngest() {
  std::unique_ptr<BulkIngestStream> stream(new BulkIngestStream(this));
  stream->Open();
  return stream;
}

void BulkIngestStream::Open() {
  // No deadline: an import may run for a long time; a dead server breaks the
  // connection and the stream fails UNAVAILABLE.
  context_ = client_->NewContext(absl::InfiniteDuration());
  stream_ = client_->ingest_->BulkIngest(context_.get());
}

absl::Status BulkIngestStream::Close() {
  if (stream_ == nullptr) return absl::OkStatus();
  stream_->WritesDone();
  absl::Status status = FromGrpcStatus(stream_->Finish());
  stream_.reset();
  context_.reset();
  return status;
}

BulkIngestStream::~BulkIngestStream() {
  if (stream_ != nullptr) {
    context_->TryCancel();
    (void)stream_->Finish();
  }
}

absl::StatusOr<v1::BulkIngestResponse> BulkIngestStream::Send(const v1::BulkIngestRequest& batch) {
  const int attempts = std::max(1, client_->options_.retry.max_attempts);
  absl::Status status;
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    if (stream_ == nullptr) Open();
    v1::BulkIngestResponse response;
    if (stream_->Write(batch) && stream_->Read(&response)) return response;
    // The stream broke: its status says why.
    status = Close();
    if (status.ok()) status = absl::UnavailableError("bulk ingest stream closed by the server");
    if (!IsRetryable(status.code()) || attempt == attempts) break;
    client_->Backoff(attempt);
  }
  return status;
}

absl::Status BulkIngestStream::Finish() { return Close(); }

// --- Classification

namespace {

// Calls `call(begin, ids)` for `customer_ids` in runs of at most 1000 (what
// ClassifyCustomers and CheckEligibilityBatch take per call), in order, until
// one fails; `begin` is the index of the run's first id.
template <typename Call>
absl::Status ForEachIdChunk(const std::vector<std::string>& customer_ids, Call call) {
  constexpr size_t kMaxIdsPerCall = 1000;
  const absl::Span<const std::string> all(customer_ids);
  for (size_t begin = 0; begin < all.size(); begin += kMaxIdsPerCall) {
    if (absl::Status s = call(begin, all.subspan(begin, kMaxIdsPerCall)); !s.ok()) return s;
  }
  return absl::OkStatus();
}

template <typename Request>
void SetClassifyOptions(const ClassifyOptions& options, Request& request) {
  if (options.as_of.has_value()) *request.mutable_as_of() = ToProto(*options.as_of);
  request.set_include_reasons(options.include_reasons);
}

}  // namespace

absl::StatusOr<v1::CustomerClassification> SegmentdClient::ClassifyCustomer(
    const std::string& customer_id, const ClassifyOptions& options) {
  v1::ClassifyCustomerRequest request;
  request.set_customer_id(customer_id);
  SetClassifyOptions(options, request);
  v1::ClassifyCustomerResponse response;
  absl::Status s = Call(true, [&](grpc::ClientContext* c) {
    return classification_->ClassifyCustomer(c, request, &response);
  });
  if (!s.ok()) return s;
  return response.classification();
}

absl::StatusOr<v1::ClassifyCustomersResponse> SegmentdClient::ClassifyCustomers(
    const std::vector<std::string>& customer_ids, const ClassifyOptions& options) {
  v1::ClassifyCustomersResponse out;
  out.mutable_classifications()->Reserve(static_cast<int>(customer_ids.size()));
  absl::Status sent = ForEachIdChunk(customer_ids, [&](size_t begin,
                                                       absl::Span<const std::string> ids) {
    v1::ClassifyCustomersRequest request;
    for (const std::string& id : ids) request.add_customer_ids(id);
    SetClassifyOptions(options, request);
    v1::ClassifyCustomersResponse response;
    absl::Status s = Call(true, [&](grpc::ClientContext* c) {
      return classification_->ClassifyCustomers(c, request, &response);
    });
    if (!s.ok()) return s;
    if (begin == 0) *out.mutable_as_of() = response.as_of();
    for (v1::CustomerClassification& c : *response.mutable_classifications()) {
      *out.add_classifications() = std::move(c);
    }
    return absl::OkStatus();
  });
  if (!sent.ok()) return sent;
  return out;
}

// --- Config

absl::StatusOr<v1::VersionedConfig> SegmentdClient::GetConfig() {
  v1::GetConfigResponse response;
  absl::Status s = Call(true, [&](grpc::ClientContext* c) {
    return config_->GetConfig(c, v1::GetConfigRequest(), &response);
  });
  if (!s.ok()) return s;
  return response.config();
}

absl::StatusOr<v1::UpdateConfigResponse> SegmentdClient::UpdateConfig(
    const v1::SegmentConfig& config, const std::vector<std::string>& mask_paths,
    std::optional<int64_t> expected_version) {
  v1::UpdateConfigRequest request;
  *request.mutable_config() = config;
  for (const std::string& path : mask_paths) request.mutable_update_mask()->add_paths(path);
  if (expected_version.has_value()) request.set_expected_version(*expected_version);
  v1::UpdateConfigResponse response;
  absl::Status s = Call(false, [&](grpc::ClientContext* c) {
    return config_->UpdateConfig(c, request, &response);
  });
  if (!s.ok()) return s;
  return response;
}

absl::StatusOr<std::vector<v1::PresetDescription>> SegmentdClient::ListPresets() {
  v1::ListPresetsResponse response;
  absl::Status s = Call(true, [&](grpc::ClientContext* c) {
    return config_->ListPresets(c, v1::ListPresetsRequest(), &response);
  });
  if (!s.ok()) return s;
  return std::vector<v1::PresetDescription>(response.presets().begin(), response.presets().end());
}

absl::StatusOr<v1::ApplyPresetResponse> SegmentdClient::ApplyPreset(
    v1::Preset preset, std::optional<int64_t> expected_version) {
  v1::ApplyPresetRequest request;
  request.set_preset(preset);
  if (expected_version.has_value()) request.set_expected_version(*expected_version);
  v1::ApplyPresetResponse response;
  absl::Status s = Call(false, [&](grpc::ClientContext* c) {
    return config_->ApplyPreset(c, request, &response);
  });
  if (!s.ok()) return s;
  return response;
}

absl::StatusOr<v1::PreviewConfigResponse> SegmentdClient::PreviewConfig(
    const std::optional<v1::SegmentConfig>& config, std::optional<absl::Time> as_of) {
  v1::PreviewConfigRequest request;
  if (config.has_value()) {
    *request.mutable_config() = *config;
  } else {
    absl::StatusOr<v1::VersionedConfig> stored = GetConfig();
    if (!stored.ok()) return stored.status();
    *request.mutable_config() = stored->config();
  }
  if (as_of.has_value()) *request.mutable_as_of() = ToProto(*as_of);
  v1::PreviewConfigResponse response;
  absl::Status s = Call(true, [&](grpc::ClientContext* c) {
    return config_->PreviewConfig(c, request, &response);
  });
  if (!s.ok()) return s;
  return response;
}

// --- Watch

void WatchStopper::Stop() {
  absl::MutexLock lock(&mu_);
  stopped_ = true;
  if (context_ != nullptr) context_->TryCancel();
}

bool WatchStopper::Begin(grpc::ClientContext* context) {
  absl::MutexLock lock(&mu_);
  if (stopped_) return false;
  context_ = context;
  return true;
}

void WatchStopper::End() {
  absl::MutexLock lock(&mu_);
  context_ = nullptr;
}

bool WatchStopper::WaitUnlessStopped(absl::Duration wait) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&stopped_), wait);
  return stopped_;
}

absl::Status SegmentdClient::Watch(
    const WatchOptions& options, const std::function<bool(const v1::MembershipChange&)>& on_change) {
  const absl::Time deadline =
      options.timeout == absl::InfiniteDuration() ? absl::InfiniteFuture() : absl::Now() + options.timeout;
  std::string position = options.resume_after;
  int failures = 0;
  absl::Status ended;  // why the stream ended, when reconnects then fail
  while (true) {
    v1::WatchRequest request;
    for (const std::string& s : options.segments) request.add_segments(s);
    request.set_resume_after(position);
    std::unique_ptr<grpc::ClientContext> context = NewContext(absl::InfiniteDuration());
    if (deadline != absl::InfiniteFuture()) context->set_deadline(absl::ToChronoTime(deadline));
    if (options.stopper != nullptr && !options.stopper->Begin(context.get())) {
      return absl::CancelledError("watch stopped");
    }
    // Stop() must not reach the context once it is gone.
    struct EndStream {
      WatchStopper* stopper;
      ~EndStream() {
        if (stopper != nullptr) stopper->End();
      }
    } end_stream{options.stopper};
    std::unique_ptr<grpc::ClientReader<v1::WatchResponse>> reader = watch_->Watch(context.get(), request);
    v1::WatchResponse response;
    bool stopped = false;
    while (!stopped && reader->Read(&response)) {
      // Progress resets the reconnect budget; the first response of every
      // watch (where it starts, no change) is not progress, or a server
      // that accepts watches and then fails would be retried forever.
      if (response.changes_size() > 0 || response.position() != position) failures = 0;
      for (const v1::MembershipChange& change : response.changes()) {
        position = change.position();
        if (!on_change(change)) {
          stopped = true;
          break;
        }
      }
      // Every change of the response handled: resume where the server read
      // to, past the changes the filter left out (older servers: unset).
      if (!stopped && !response.position().empty()) {
        position = response.position();
        if (options.on_position) options.on_position(position);
      }
    }
    if (stopped) {
      context->TryCancel();
      (void)reader->Finish();
      return absl::OkStatus();
    }
    absl::Status status = FromGrpcStatus(reader->Finish());
    if (status.code() == absl::StatusCode::kDeadlineExceeded && absl::Now() >= deadline) return status;
    if (!options.reconnect || status.code() != absl::StatusCode::kUnavailable) {
      return status.ok() ? absl::UnavailableError("watch stream ended by the server") : status;
    }
    // The first failure of a run says why the stream ended (a server
    // draining names where to resume); the reconnects' failures only that
    // the server is gone: give up with both.
    if (failures == 0) ended = status;
    ++failures;
    if (failures >= std::max(1, options_.retry.max_attempts)) {
      if (failures == 1 || ended.message() == status.message()) return status;
      return absl::Status(
          status.code(),
          absl::StrCat(status.message(), " (the stream had ended: ", ended.message(), ")"));
    }
    if (Backoff(failures, options.stopper)) return absl::CancelledError("watch stopped");
  }
}

// --- Targeting

absl::StatusOr<v1::PutVoucherTargetResponse> SegmentdClient::PutVoucherTarget(
    const v1::VoucherTarget& target) {
  v1::PutVoucherTargetRequest request;
  *request.mutable_target() = target;
  v1::PutVoucherTargetResponse response;
  // Putting the same target twice stores the same target: retried.
  absl::Status s = Call(true, [&](grpc::ClientContext* c) {
    return targeting_->PutVoucherTarget(c, request, &response);
  });
  if (!s.ok()) return s;
  return response;
}

absl::StatusOr<v1::VoucherTarget> SegmentdClient::GetVoucherTarget(const std::string& voucher_id) {
  v1::GetVoucherTargetRequest request;
  request.set_voucher_id(voucher_id);
  v1::GetVoucherTargetResponse response;
  absl::Status s = Call(true, [&](grpc::ClientContext* c) {
    return targeting_->GetVoucherTarget(c, request, &response);
  });
  if (!s.ok()) return s;
  return response.target();
}

absl::StatusOr<std::vector<v1::VoucherTarget>> SegmentdClient::ListVoucherTargets() {
  std::vector<v1::VoucherTarget> targets;
  v1::ListVoucherTargetsRequest request;
  request.set_page_size(1000);
  do {
    v1::ListVoucherTargetsResponse response;
    absl::Status s = Call(true, [&](grpc::ClientContext* c) {
      return targeting_->ListVoucherTargets(c, request, &response);
    });
    if (!s.ok()) return s;
    for (v1::VoucherTarget& t : *response.mutable_targets()) targets.push_back(std::move(t));
    request.set_page_token(response.next_page_token());
  } while (!request.page_token().empty());
  return targets;
}

absl::Status SegmentdClient::DeleteVoucherTarget(const std::string& voucher_id) {
  v1::DeleteVoucherTargetRequest request;
  request.set_voucher_id(voucher_id);
  v1::DeleteVoucherTargetResponse response;
  return Call(false, [&](grpc::ClientContext* c) {
    return targeting_->DeleteVoucherTarget(c, request, &response);
  });
}

absl::StatusOr<v1::CountTargetsResponse> SegmentdClient::CountTargets(
    const v1::TargetRef& target, std::optional<absl::Time> as_of) {
  v1::CountTargetsRequest request;
  *request.mutable_target() = target;
  if (as_of.has_value()) *request.mutable_as_of() = ToProto(*as_of);
  v1::CountTargetsResponse response;
  absl::Status s = Call(true, [&](grpc::ClientContext* c) {
    return targeting_->CountTargets(c, request, &response);
  });
  if (!s.ok()) return s;
  return response;
}

absl::StatusOr<v1::Eligibility> SegmentdClient::CheckEligibility(const v1::TargetRef& target,
                                                                 const std::string& customer_id,
                                                                 v1::Consistency consistency,
                                                                 std::optional<absl::Time> as_of) {
  v1::CheckEligibilityRequest request;
  *request.mutable_target() = target;
  request.set_customer_id(customer_id);
  request.set_consistency(consistency);
  if (as_of.has_value()) *request.mutable_as_of() = ToProto(*as_of);
  v1::CheckEligibilityResponse response;
  absl::Status s = Call(true, [&](grpc::ClientContext* c) {
    return targeting_->CheckEligibility(c, request, &response);
  });
  if (!s.ok()) return s;
  return response.eligibility();
}

absl::StatusOr<v1::ListEligibleVouchersResponse> SegmentdClient::ListEligibleVouchers(
    const std::string& customer_id, std::optional<absl::Time> as_of) {
  v1::ListEligibleVouchersRequest request;
  request.set_customer_id(customer_id);
  if (as_of.has_value()) *request.mutable_as_of() = ToProto(*as_of);
  v1::ListEligibleVouchersResponse response;
  absl::Status s = Call(true, [&](grpc::ClientContext* c) {
    return targeting_->ListEligibleVouchers(c, request, &response);
  });
  if (!s.ok()) return s;
  return response;
}

absl::StatusOr<std::vector<v1::Eligibility>> SegmentdClient::CheckEligibilityBatch(
    const v1::TargetRef& target, const std::vector<std::string>& customer_ids,
    std::optional<absl::Time> as_of) {
  std::vector<v1::Eligibility> results;
  results.reserve(customer_ids.size());
  absl::Status sent = ForEachIdChunk(customer_ids, [&](size_t, absl::Span<const std::string> ids) {
    v1::CheckEligibilityBatchRequest request;
    *request.mutable_target() = target;
    if (as_of.has_value()) *request.mutable_as_of() = ToProto(*as_of);
    for (const std::string& id : ids) request.add_customer_ids(id);
    v1::CheckEligibilityBatchResponse response;
    absl::Status s = Call(true, [&](grpc::ClientContext* c) {
      return targeting_->CheckEligibilityBatch(c, request, &response);
    });
    if (!s.ok()) return s;
    if (static_cast<size_t>(response.results_size()) != ids.size()) {
      return absl::InternalError(absl::StrCat("CheckEligibilityBatch answered ",
                                              response.results_size(), " results for ", ids.size(),
                                              " ids"));
    }
    for (v1::Eligibility& e : *response.mutable_results()) results.push_back(std::move(e));
    return absl::OkStatus();
  });
  if (!sent.ok()) return sent;
  return results;
}

absl::Status SegmentdClient::StreamTargets(
    const v1::TargetRef& target, const StreamTargetsOptions& options,
    const std::function<bool(const v1::StreamTargetsResponse&)>& on_chunk) {
  const absl::Time deadline = absl::Now() + options.timeout;
  std::string cursor = options.cursor;
  int failures = 0;
  while (true) {
    v1::StreamTargetsRequest request;
    *request.mutable_target() = target;
    request.set_cursor(cursor);
    request.set_chunk_size(options.chunk_size);
    if (options.as_of.has_value()) *request.mutable_as_of() = ToProto(*options.as_of);
    std::unique_ptr<grpc::ClientContext> context = NewContext(absl::InfiniteDuration());
    context->set_deadline(absl::ToChronoTime(deadline));
    std::unique_ptr<grpc::ClientReader<v1::StreamTargetsResponse>> reader =
        targeting_->StreamTargets(context.get(), request);
    v1::StreamTargetsResponse response;
    while (reader->Read(&response)) {
      failures = 0;
      cursor = response.cursor();
      if (!on_chunk(response)) {
        context->TryCancel();
        reader->Finish();
        return absl::OkStatus();
      }
    }
    absl::Status status = FromGrpcStatus(reader->Finish());
    if (status.ok() || !IsRetryable(status.code()) || absl::Now() >= deadline) return status;
    if (++failures >= std::max(1, options_.retry.max_attempts)) return status;
    // A backoff past the deadline leaves no attempt: the failure as it is.
    const absl::Duration wait = BackoffAfter(options_.retry, failures, UnitRandom());
    if (absl::Now() + wait >= deadline) return status;
    absl::SleepFor(wait);
  }
}

// --- Insights

absl::StatusOr<v1::GetSegmentKpisResponse> SegmentdClient::GetSegmentKpis(
    absl::Time start, absl::Time end, const std::vector<std::string>& segments) {
  v1::GetSegmentKpisRequest request;
  *request.mutable_period()->mutable_start() = ToProto(start);
  *request.mutable_period()->mutable_end() = ToProto(end);
  for (const std::string& s : segments) request.add_segments(s);
  v1::GetSegmentKpisResponse response;
  absl::Status s = Call(true, [&](grpc::ClientContext* c) {
    return insights_->GetSegmentKpis(c, request, &response);
  });
  if (!s.ok()) return s;
  return response;
}

absl::StatusOr<v1::GetSegmentFlowsResponse> SegmentdClient::GetSegmentFlows(absl::Time from,
                                                                           absl::Time to) {
  v1::GetSegmentFlowsRequest request;
  *request.mutable_from() = ToProto(from);
  *request.mutable_to() = ToProto(to);
  v1::GetSegmentFlowsResponse response;
  absl::Status s = Call(true, [&](grpc::ClientContext* c) {
    return insights_->GetSegmentFlows(c, request, &response);
  });
  if (!s.ok()) return s;
  return response;
}

absl::StatusOr<v1::ItemOutcome> SegmentdClient::RecordRedemption(const std::string& customer_id,
                                                                 const std::string& voucher_id,
                                                                 const std::string& order_id,
                                                                 absl::Time redeemed_at) {
  v1::RecordRedemptionRequest request;
  request.set_customer_id(customer_id);
  request.set_voucher_id(voucher_id);
  request.set_order_id(order_id);
  *request.mutable_redeemed_at() = ToProto(redeemed_at);
  v1::RecordRedemptionResponse response;
  // Each order redeems a voucher once: a retry is DUPLICATE, never counted twice.
  absl::Status s = Call(true, [&](grpc::ClientContext* c) {
    return insights_->RecordRedemption(c, request, &response);
  });
  if (!s.ok()) return s;
  return response.outcome();
}

absl::StatusOr<v1::GetVoucherStatsResponse> SegmentdClient::GetVoucherStats(
    const std::string& voucher_id, std::optional<absl::Time> as_of) {
  v1::GetVoucherStatsRequest request;
  request.set_voucher_id(voucher_id);
  if (as_of.has_value()) *request.mutable_as_of() = ToProto(*as_of);
  v1::GetVoucherStatsResponse response;
  absl::Status s = Call(true, [&](grpc::ClientContext* c) {
    return insights_->GetVoucherStats(c, request, &response);
  });
  if (!s.ok()) return s;
  return response;
}

}  // namespace segmentd::clients
