#ifndef SEGMENTD_SERVER_SEGMENTD_SERVER_H_
#define SEGMENTD_SERVER_SEGMENTD_SERVER_H_

#include <grpcpp/server.h>

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/auth/authenticator.h"
#include "server/insights/redemption_store.h"
#include "server/live/live_membership.h"
#include "server/live/order_record_backfill.h"
#include "server/live/registration_index_backfill.h"
#include "server/live/scheduler_lease.h"
#include "server/live/statistics_mover.h"
#include "server/live/tenant_context.h"
#include "server/live/transition_scheduler.h"
#include "server/metrics/metrics.h"
#include "server/metrics/metrics_exposer.h"
#include "server/services/watch_service.h"
#include "server/store_probe.h"
#include "server/targeting/arm_cache.h"
#include "server/targeting/membership_index.h"
#include "server/targeting/voucher_store.h"
#include "server/tenants/tenant_store.h"
#include "store/customer_store.h"
#include "store/redis/redis_client.h"

namespace segmentd {

// The segmentd gRPC server: every segmentd.v1 service, the standard health
// service (one status per service, plus "" for the whole server) and server
// reflection, over one Redis. Start() returns once it listens; Shutdown() turns
// health to NOT_SERVING, lets in-flight calls finish until the drain deadline,
// then cancels the rest. Thread-safe.
class SegmentdServer {
 public:
  struct Options {
    // host:port to listen on; port 0 picks a free port (see port()).
    std::string listen_address = "127.0.0.1:50051";
    // PEM files; both or neither. Neither: plaintext (loopback or behind a proxy).
    std::string tls_cert_file;
    std::string tls_key_file;
    // Where Redis listens.
    store::redis::RedisAddress redis;
    // Redis credentials, sent with AUTH on every connection: a file holding
    // the password (one line; a trailing newline is dropped), and optionally
    // a Redis 6+ ACL user name. Empty file name: no AUTH.
    std::string redis_password_file;
    std::string redis_username;
    // How long Start() keeps trying to reach Redis before giving up.
    absl::Duration redis_startup_timeout = absl::Seconds(10);
    // File holding the operator credential; created on first start.
    std::string operator_key_file = "segmentd-operator.key";
    // How often Redis is probed to keep the health status true.
    absl::Duration health_probe_interval = absl::Milliseconds(500);
    // How often the schedule of time-driven changes is polled.
    absl::Duration transition_poll = absl::Milliseconds(200);
    // How often population statistics are recomputed and their moves applied.
    absl::Duration statistics_interval = absl::Milliseconds(500);
    // Membership changes kept per tenant in the change stream (Watch).
    int64_t change_stream_cap = 1'000'000;
    // How old the membership behind a default (CONSISTENCY_MINIMIZE_LATENCY)
    // CheckEligibility may be; zero makes every check fully consistent.
    absl::Duration eligibility_max_staleness = absl::Milliseconds(250);
    // Most threads serving calls (each open Watch or bulk stream holds one);
    // calls beyond fail RESOURCE_EXHAUSTED.
    int max_threads = 256;
    // Most Watch streams one tenant may have open at once (WatchServiceImpl).
    int max_watches_per_tenant = 16;
    // Most Watch streams open at once, all tenants together: also the size of
    // their Redis connection pool (< max_threads: each holds a thread). 0:
    // 64, or fewer when max_threads leaves fewer beside one tenant's streams
    // (EffectiveMaxWatches).
    int max_watches = 0;
    // Most BulkIngest streams one tenant may have open at once.
    int max_bulk_streams_per_tenant = 8;
    // Most StreamTargets calls one tenant may have open at once (one whose
    // client stops reading holds its thread until the client goes).
    int max_target_streams_per_tenant = 8;
    // host:port serving Prometheus metrics on /metrics (plain HTTP, no
    // auth); port 0 picks a free one (see metrics_port()). Empty: not
    // served (they are still kept).
    std::string metrics_listen;
  };

  static absl::StatusOr<std::unique_ptr<SegmentdServer>> Start(Options options);

  ~SegmentdServer();

  // Returns the port the server listens on.
  int port() const { return port_; }
  // Returns the port /metrics is served on; 0 when not served.
  int metrics_port() const { return metrics_exposer_ ? metrics_exposer_->port() : 0; }

  // Reports NOT_SERVING, keeps serving for `notice` (so health pollers
  // notice first), then refuses new calls, drains in-flight ones for at most
  // `drain`, and stops. Idempotent.
  void Shutdown(absl::Duration drain, absl::Duration notice = absl::ZeroDuration());

 private:
  SegmentdServer() = default;

  // Probes Redis every `health_probe_interval` and publishes the result as the
  // serving status of every service, until shutdown.
  void RunHealthProbe();
  // Publishes `serving` as every service's status, when it changed: gRPC's
  // health service sends every Watch a message per call, changed or not.
  void SetServing(bool serving) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Options options_;
  // First, so it outlives everything that records into it.
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<MetricsExposer> metrics_exposer_;
  std::unique_ptr<store::redis::RedisClient> redis_;
  // The targeting index's tails block on Redis (XREAD BLOCK) and get their
  // own connections, so they can never starve ingest of connections.
  std::unique_ptr<store::redis::RedisClient> redis_blocking_;
  // So do Watch streams, one connection per open watch at most
  // (Options::max_watches): watches can neither starve the index's tails,
  // which every CheckEligibility depends on, nor wait for a connection.
  std::unique_ptr<store::redis::RedisClient> redis_watch_;
  std::unique_ptr<store::CustomerStore> customers_watch_;
  // Before authenticator_, which asks it on every call.
  std::unique_ptr<StoreProbe> store_probe_;
  std::unique_ptr<TenantStore> tenants_;
  std::unique_ptr<Authenticator> authenticator_;
  std::unique_ptr<store::CustomerStore> customers_;
  std::unique_ptr<store::CustomerStore> customers_blocking_;
  // Insights scan whole tenants page by page: their own connections, so a long
  // scan can neither starve the hot path of connections nor be starved by it.
  std::unique_ptr<store::redis::RedisClient> redis_scan_;
  std::unique_ptr<store::CustomerStore> customers_scan_;
  std::unique_ptr<TenantContexts> contexts_;
  std::unique_ptr<LiveMembership> live_;
  std::unique_ptr<SchedulerLease> scheduler_lease_;  // before scheduler_: outlives it
  std::unique_ptr<OrderRecordBackfill> order_record_backfill_;  // likewise
  std::unique_ptr<RegistrationIndexBackfill> registration_index_backfill_;  // likewise
  std::unique_ptr<TransitionScheduler> scheduler_;
  std::unique_ptr<StatisticsMover> statistics_;
  std::unique_ptr<targeting::VoucherStore> vouchers_;
  // Tails change streams on customers_blocking_; reads positions on customers_.
  std::unique_ptr<targeting::MembershipIndex> index_;
  std::unique_ptr<targeting::ArmCache> arm_cache_;
  std::unique_ptr<RedemptionStore> redemptions_;
  std::vector<std::unique_ptr<grpc::Service>> services_;
  WatchServiceImpl* watch_ = nullptr;  // in services_; ended first at shutdown
  std::vector<std::string> service_names_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;

  absl::Mutex mu_;
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<bool> serving_ ABSL_GUARDED_BY(mu_);  // as last published
  std::thread health_thread_;
};

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_SEGMENTD_SERVER_H_
