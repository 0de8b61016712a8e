// SegmentdClient: a C++ client of the segmentd gRPC API (package segmentd.v1).
//
// One object holds one channel and one API key. Every call:
// - carries `authorization: Bearer <key>`;
// - has a deadline (`Options::default_deadline` per attempt, unless a call
//   says otherwise);
// - returns absl::Status / absl::StatusOr (the gRPC status converted once, same
//   code and message);
// - when it is idempotent, is retried with exponential backoff on UNAVAILABLE
//   and DEADLINE_EXCEEDED (`Options::retry`). Idempotent here: every read, and
//   every ingest event (orders by order id, refunds by refund id, engagement by
//   (message, kind), carts and activity by time, so a re-send is a no-op).
//   Admin and config writes are not retried.
//
//   SegmentdClient::Options options;
//   options.target = "127.0.0.1:50051";
//   options.api_key_file = ".segmentd/demo.key";
//   absl::StatusOr<std::unique_ptr<SegmentdClient>> client = SegmentdClient::Connect(options);
//   absl::StatusOr<v1::CustomerClassification> c = (*client)->ClassifyCustomer("alice");
//
// Thread-safe: any number of threads may share one client. A BulkIngestStream
// belongs to one thread.
#ifndef SEGMENTD_CLIENTS_CLIENT_H_
#define SEGMENTD_CLIENTS_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "clients/retry_policy.h"
#include "segmentd/v1/admin.grpc.pb.h"
#include "segmentd/v1/classification.grpc.pb.h"
#include "segmentd/v1/config.grpc.pb.h"
#include "segmentd/v1/ingest.grpc.pb.h"
#include "segmentd/v1/insights.grpc.pb.h"
#include "segmentd/v1/targeting.grpc.pb.h"
#include "segmentd/v1/watch.grpc.pb.h"

namespace segmentd::clients {

class BulkIngestStream;

// Options of SegmentdClient::ClassifyCustomer(s).
struct ClassifyOptions {
  // Evaluate at this instant. Default: now (server clock).
  std::optional<absl::Time> as_of;
  // Also return why the customer is in each segment. Default false.
  bool include_reasons = false;
};

// Ends a SegmentdClient::Watch from another thread (one that waits for
// SIGINT, say): after Stop() the Watch returns CANCELLED, at once if it has
// not started yet or is waiting to reconnect. Thread-safe.
class WatchStopper {
 public:
  void Stop();

 private:
  friend class SegmentdClient;
  // Notes the context of the stream about to be read; returns false, noting
  // nothing, once stopped.
  bool Begin(grpc::ClientContext* context);
  // Forgets it (before it is destroyed).
  void End();
  // Waits `wait`, less once stopped; returns whether stopped.
  bool WaitUnlessStopped(absl::Duration wait);

  absl::Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;
};

// Options of SegmentdClient::Watch.
struct WatchOptions {
  // Only these segments. Default: all.
  std::vector<std::string> segments;
  // Continue after this position. Default: from the next change.
  std::string resume_after;
  // Stop with DEADLINE_EXCEEDED after this long. Default: never.
  absl::Duration timeout = absl::InfiniteDuration();
  // Reopen the stream after the last position seen when it breaks with
  // UNAVAILABLE (backoff as `Options::retry`, without an attempt limit while
  // changes keep arriving). Default true.
  bool reconnect = true;
  // When set, called with the position the stream was read to after each
  // response's changes were handled, including responses without changes
  // (a filtered watch while other segments' changes go by). A caller that
  // saves where to resume (`resume_after`) saves this, not only its changes'
  // positions, or it may resume far behind. Default: none.
  std::function<void(const std::string& position)> on_position;
  // When set, its Stop() ends the Watch with CANCELLED. Default: none.
  WatchStopper* stopper = nullptr;
};

struct StreamTargetsOptions {
  // Evaluate at this instant. Default: now (each stream opened again
  // evaluates at its own now).
  std::optional<absl::Time> as_of;
  // Ids per chunk. Default 0: the server's (1000); at most 10000.
  uint32_t chunk_size = 0;
  // Start after this cursor (a previous chunk's). Default: from the start.
  std::string cursor;
  // Stop with DEADLINE_EXCEEDED after this long. Default 5 minutes.
  absl::Duration timeout = absl::Minutes(5);
};

// Reads the token in an API key file (surrounding whitespace ignored):
// NOT_FOUND when the file cannot be read, INVALID_ARGUMENT when it holds none.
// What Connect does with Options::api_key_file, for a caller that wants to
// say more about the file on failure (which setting named it).
absl::StatusOr<std::string> ReadApiKeyFile(const std::string& path);

class SegmentdClient {
 public:
  struct Options {
    // The server, "host:port". Required.
    std::string target;
    // The bearer token (a tenant API key or the operator credential). Default:
    // empty, meaning read it from `api_key_file`.
    std::string api_key;
    // A file holding the token (surrounding whitespace ignored). Default: none;
    // with neither set, calls carry no key (the server answers UNAUTHENTICATED).
    std::string api_key_file;
    // Use TLS. Default false (plaintext, for local use).
    bool tls = false;
    // A PEM file of CA certificates to verify the server with; implies `tls`.
    // Default: none (the system roots when `tls`).
    std::string tls_ca_file;
    // Deadline of each attempt of a unary call. Default 10 s.
    absl::Duration default_deadline = absl::Seconds(10);
    // Retries of idempotent calls. Default: see RetryPolicy.
    RetryPolicy retry;
  };

  // Returns a client; fails with INVALID_ARGUMENT (no target) or NOT_FOUND
  // (unreadable key or CA file). Connecting is lazy: an unreachable server
  // shows up as UNAVAILABLE on the first call.
  static absl::StatusOr<std::unique_ptr<SegmentdClient>> Connect(Options options);

  // --- Admin: tenants (operator credential) and API keys (operator or tenant admin).
  absl::StatusOr<v1::Tenant> CreateTenant(const std::string& tenant_id,
                                          const std::string& display_name);
  absl::StatusOr<std::vector<v1::Tenant>> ListTenants();
  // Returns the key's record and its secret (shown only once).
  absl::StatusOr<v1::CreateApiKeyResponse> CreateApiKey(const std::string& tenant_id,
                                                        const std::string& name,
                                                        const std::vector<v1::Scope>& scopes);
  absl::StatusOr<std::vector<v1::ApiKey>> ListApiKeys(const std::string& tenant_id);
  absl::StatusOr<v1::ApiKey> RevokeApiKey(const std::string& tenant_id, const std::string& key_id);

  // --- Ingest (write scope). Each returns the outcome and the customer's
  // membership right after the event; a rejected event is an error status.
  absl::StatusOr<v1::IngestResult> PlaceOrder(const v1::OrderPlaced& order);
  // Sends any one event through its unary RPC.
  absl::StatusOr<v1::IngestResult> Ingest(const v1::Event& event);
  // Opens a bulk stream: batches acknowledged one by one (see BulkIngestStream).
  absl::StatusOr<std::unique_ptr<BulkIngestStream>> OpenBulkIngest();

  // --- Classification (read scope).
  absl::StatusOr<v1::CustomerClassification> ClassifyCustomer(const std::string& customer_id,
                                                              const ClassifyOptions& options = {});
  // Any number of ids (sent 1000 per call); one result per id, in order.
  // `as_of` is the instant the first call was evaluated at: `options.as_of`,
  // or the server's now then (with more than 1000 ids, each later call of
  // 1000 is evaluated at its own now, a little later).
  absl::StatusOr<v1::ClassifyCustomersResponse> ClassifyCustomers(
      const std::vector<std::string>& customer_ids, const ClassifyOptions& options = {});

  // --- Config (read; update and preset need admin).
  absl::StatusOr<v1::VersionedConfig> GetConfig();
  // Changes the paths of `mask_paths` (e.g. "vip.enabled") to their values in
  // `config`; an empty mask replaces the whole config. With
  // `expected_version`, fails ABORTED unless the stored version equals it.
  absl::StatusOr<v1::UpdateConfigResponse> UpdateConfig(
      const v1::SegmentConfig& config, const std::vector<std::string>& mask_paths,
      std::optional<int64_t> expected_version = std::nullopt);
  absl::StatusOr<std::vector<v1::PresetDescription>> ListPresets();
  absl::StatusOr<v1::ApplyPresetResponse> ApplyPreset(
      v1::Preset preset, std::optional<int64_t> expected_version = std::nullopt);
  // Segment sizes now and under `config` (the stored config when nullopt).
  absl::StatusOr<v1::PreviewConfigResponse> PreviewConfig(
      const std::optional<v1::SegmentConfig>& config,
      std::optional<absl::Time> as_of = std::nullopt);

  // --- Watch (read scope).
  // Calls `on_change` for each change, in stream order, until it returns false
  // (then returns OK), `timeout` passes (DEADLINE_EXCEEDED), `stopper` is
  // stopped (CANCELLED) or the stream fails.
  absl::Status Watch(const WatchOptions& options,
                     const std::function<bool(const v1::MembershipChange&)>& on_change);

  // --- Targeting: voucher targets (write scope to change, read to read).
  // Stores or replaces the target. The response holds it as stored and the
  // server's `warnings` (e.g. a segment disabled in the config: no members
  // while disabled). Retried on retryable errors: a retry of a Put that had
  // landed may land after another writer's Put of the same voucher (the last
  // write wins).
  absl::StatusOr<v1::PutVoucherTargetResponse> PutVoucherTarget(const v1::VoucherTarget& target);
  // NOT_FOUND when no target is stored under `voucher_id`.
  absl::StatusOr<v1::VoucherTarget> GetVoucherTarget(const std::string& voucher_id);
  // Every target of the tenant, in voucher id order (pages of 1000).
  absl::StatusOr<std::vector<v1::VoucherTarget>> ListVoucherTargets();
  // Not retried: a retry of a delete that had landed would fail NOT_FOUND.
  absl::Status DeleteVoucherTarget(const std::string& voucher_id);

  // --- Targeting: who is targeted (read scope).
  // `as_of`: evaluate at that instant instead of now (the server then
  // classifies stored facts: one customer's for a check, every customer's
  // for a count, ~3.5 s per million customers, so raise
  // Options::default_deadline for tenants of more than ~2M; docs/targeting.md).
  absl::StatusOr<v1::CountTargetsResponse> CountTargets(
      const v1::TargetRef& target, std::optional<absl::Time> as_of = std::nullopt);
  // `consistency`: the default answers from the server's index within its
  // staleness bound (checkout hot path); CONSISTENCY_FULLY_CONSISTENT also
  // sees every change acknowledged before the call.
  absl::StatusOr<v1::Eligibility> CheckEligibility(
      const v1::TargetRef& target, const std::string& customer_id,
      v1::Consistency consistency = v1::CONSISTENCY_UNSPECIFIED,
      std::optional<absl::Time> as_of = std::nullopt);
  absl::StatusOr<v1::ListEligibleVouchersResponse> ListEligibleVouchers(
      const std::string& customer_id, std::optional<absl::Time> as_of = std::nullopt);
  // Eligibility of each of `customer_ids` (any number, sent 1000 per call:
  // the server's limit), one result per id, in order. Without `as_of` each
  // call of 1000 answers at its own now (pass `as_of` for one instant). With
  // it, one customer that cannot be classified exactly there fails the call
  // (OUT_OF_RANGE).
  absl::StatusOr<std::vector<v1::Eligibility>> CheckEligibilityBatch(
      const v1::TargetRef& target, const std::vector<std::string>& customer_ids,
      std::optional<absl::Time> as_of = std::nullopt);
  // Calls `on_chunk` with each chunk of targeted customers, in order, until
  // it returns false or the listing ends (both OK), `options.timeout` passes
  // (DEADLINE_EXCEEDED) or the stream fails. A stream broken by a retryable
  // error is opened again after the last chunk's cursor (the retry policy's
  // attempts, counted afresh after each chunk), so no customer is delivered
  // twice. With `as_of`, act on the audience only once this returns OK
  // (targeting.proto, StreamTargetsRequest). Without it, a stream opened
  // again evaluates at its own now.
  absl::Status StreamTargets(const v1::TargetRef& target, const StreamTargetsOptions& options,
                             const std::function<bool(const v1::StreamTargetsResponse&)>& on_chunk);

  // --- Insights (issue 6; read scope).
  // KPIs per segment over [start, end); `segments` empty: all.
  absl::StatusOr<v1::GetSegmentKpisResponse> GetSegmentKpis(absl::Time start, absl::Time end,
                                                            const std::vector<std::string>& segments);
  // Movements between primary segments from `from` to `to`.
  absl::StatusOr<v1::GetSegmentFlowsResponse> GetSegmentFlows(absl::Time from, absl::Time to);
  // Records that `customer_id` redeemed `voucher_id` with `order_id` at
  // `redeemed_at` (write scope): APPLIED, or DUPLICATE for an order already
  // recorded (also what a retry of a call that had landed answers);
  // ALREADY_EXISTS when another customer recorded that order; NOT_FOUND
  // when no target is stored under `voucher_id`.
  absl::StatusOr<v1::ItemOutcome> RecordRedemption(const std::string& customer_id,
                                                   const std::string& voucher_id,
                                                   const std::string& order_id,
                                                   absl::Time redeemed_at);
  // Targeted customers, redemptions and conversion, per arm too.
  absl::StatusOr<v1::GetVoucherStatsResponse> GetVoucherStats(
      const std::string& voucher_id, std::optional<absl::Time> as_of = std::nullopt);

  // Returns the channel, e.g. for stubs of services without helpers here.
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  // Returns a context with the key and a deadline `timeout` from now, for
  // direct stub calls.
  std::unique_ptr<grpc::ClientContext> NewContext(absl::Duration timeout) const;

 private:
  friend class BulkIngestStream;

  SegmentdClient(Options options, std::string bearer, std::shared_ptr<grpc::Channel> channel);

  // Runs `call` (one attempt on a fresh context) and, when `idempotent`,
  // retries it on retryable errors per the policy.
  absl::Status Call(bool idempotent,
                    const std::function<grpc::Status(grpc::ClientContext*)>& call) const;
  // Sleeps the backoff after failed attempt `attempt`, less once `stopper`
  // (when given) is stopped; returns whether it was.
  bool Backoff(int attempt, WatchStopper* stopper = nullptr) const;

  const Options options_;
  const std::string bearer_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::AdminService::Stub> admin_;
  std::unique_ptr<v1::IngestService::Stub> ingest_;
  std::unique_ptr<v1::ClassificationService::Stub> classification_;
  std::unique_ptr<v1::ConfigService::Stub> config_;
  std::unique_ptr<v1::WatchService::Stub> watch_;
  std::unique_ptr<v1::TargetingService::Stub> targeting_;
  std::unique_ptr<v1::InsightsService::Stub> insights_;
};

// One BulkIngest stream. `Send` writes a batch and waits for its
// acknowledgement, so everything acknowledged is durable on the server. When
// the stream breaks (UNAVAILABLE, DEADLINE_EXCEEDED), `Send` opens a new stream
// and sends the same batch again under the client's retry policy: events are
// idempotent, so a batch that had landed comes back as duplicates.
// Not thread-safe: one thread drives one stream.
class BulkIngestStream {
 public:
  ~BulkIngestStream();
  // Sends one batch (at most 1000 events) and returns its acknowledgement.
  absl::StatusOr<v1::BulkIngestResponse> Send(const v1::BulkIngestRequest& batch);
  // Closes the stream and returns its final status.
  absl::Status Finish();

 private:
  friend class SegmentdClient;
  explicit BulkIngestStream(const SegmentdClient* client) : client_(client) {}
  void Open();
  absl::Status Close();

  const SegmentdClient* client_;
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::BulkIngestRequest, v1::BulkIngestResponse>> stream_;
};

}  // namespace segmentd::clients

#endif  // SEGMENTD_CLIENTS_CLIENT_H_
