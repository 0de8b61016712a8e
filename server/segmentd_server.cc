#include "server/segmentd_server.h"

#include <google/protobuf/descriptor.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "segmentd/v1/admin.grpc.pb.h"
#include "segmentd/v1/classification.grpc.pb.h"
#include "segmentd/v1/config.grpc.pb.h"
#include "segmentd/v1/ingest.grpc.pb.h"
#include "segmentd/v1/insights.grpc.pb.h"
#include "segmentd/v1/targeting.grpc.pb.h"
#include "segmentd/v1/watch.grpc.pb.h"
#include "server/auth/operator_credential.h"
#include "server/host_port.h"
#include "server/live/segments_at.h"
#include "server/log.h"
#include "server/metrics/rpc_interceptor.h"
#include "server/services/admin_service.h"
#include "server/services/classification_service.h"
#include "server/services/config_service.h"
#include "server/services/ingest_service.h"
#include "server/services/insights_service.h"
#include "server/services/targeting_service.h"
#include "server/services/watch_service.h"
#include "server/tenants/redis_tenant_store.h"
#include "server/undecodable_request.h"
#include "store/redis_customer_store.h"

namespace segmentd {
namespace {

constexpr int64_t kRecommendedListpackValue = 1024;


absl::StatusOr<std::string> ReadFile(const std::string& path, absl::string_view flag) {
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(flag, ": cannot read ", path));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// gRPC reports a certificate or key it cannot use in its own log only, and
// its listener then fails to start, which segmentd could only word as "in
// use by another process?" (a reviewer's finding). Checked here first.
// OpenSSL's default asks for a key's passphrase on the terminal: a start-up
// stuck at a prompt. An encrypted key is refused instead (gRPC cannot use
// one either).
int kNoPassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) { return -1; }

absl::Status CheckPemPair(const std::string& cert_pem, const std::string& key_pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> cert_bio(
      BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())), &BIO_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(
      PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr), &X509_free);
  if (cert == nullptr) {
    return absl::InvalidArgumentError("tls_cert: holds no PEM certificate");
  }
  std::unique_ptr<BIO, decltype(&BIO_free)> key_bio(
      BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())), &BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_bio_PrivateKey(key_bio.get(), nullptr, kNoPassphrase, nullptr), &EVP_PKEY_free);
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        "tls_key: holds no PEM private key (or one with a passphrase)");
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    return absl::InvalidArgumentError("tls_key: is not the private key of tls_cert's certificate");
  }
  ERR_clear_error();
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> Credentials(
    const SegmentdServer::Options& options) {
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return absl::InvalidArgumentError("tls_cert and tls_key: give both or neither");
  }
  if (options.tls_cert_file.empty()) return grpc::InsecureServerCredentials();
  absl::StatusOr<std::string> cert = ReadFile(options.tls_cert_file, "tls_cert");
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadFile(options.tls_key_file, "tls_key");
  if (!key.ok()) return key.status();
  if (absl::Status s = CheckPemPair(*cert, *key); !s.ok()) return s;
  grpc::SslServerCredentialsOptions ssl;
  ssl.pem_key_cert_pairs.push_back({*std::move(key), *std::move(cert)});
  return grpc::SslServerCredentials(ssl);
}

// The Redis client options every pool shares: the address and the
// credentials (the password file read once, here).
absl::StatusOr<store::redis::RedisClient::Options> RedisOptions(
    const SegmentdServer::Options& options) {
  store::redis::RedisClient::Options redis_options;
  redis_options.address = options.redis;
  if (!options.redis_password_file.empty()) {
    absl::StatusOr<std::string> password =
        ReadFile(options.redis_password_file, "redis_password_file");
    if (!password.ok()) return password.status();
    absl::string_view line = *password;
    absl::ConsumeSuffix(&line, "\n");
    absl::ConsumeSuffix(&line, "\r");
    if (line.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("redis_password_file: ", options.redis_password_file, " is empty"));
    }
    redis_options.password = std::string(line);
  }
  if (!options.redis_username.empty() && redis_options.password.empty()) {
    return absl::InvalidArgumentError("redis_user: needs --redis_password_file");
  }
  redis_options.username = options.redis_username;
  return redis_options;
}

// A pool of `pool_size` connections, trying until `startup_timeout` while
// Redis is unavailable.
absl::StatusOr<std::unique_ptr<store::redis::RedisClient>> ConnectRedis(
    store::redis::RedisClient::Options redis_options, int pool_size,
    absl::Duration startup_timeout) {
  redis_options.pool_size = pool_size;
  const absl::Time deadline = absl::Now() + startup_timeout;
  bool said = false;
  while (true) {
    absl::StatusOr<std::unique_ptr<store::redis::RedisClient>> client =
        store::redis::RedisClient::Create(redis_options);
    if (client.ok() || !absl::IsUnavailable(client.status()) || absl::Now() >= deadline) {
      return client;
    }
    // Said once: a start-up that waits is otherwise silent for up to the
    // whole timeout.
    if (!said) {
      LogInfo(absl::StrCat("waiting for Redis (up to --redis_startup_timeout=",
                           absl::FormatDuration(startup_timeout),
                           "): ", client.status().message()));
      said = true;
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
}

// Customer hashes hold a profile and a history of a few hundred bytes; with
// Redis's default hash-max-listpack-value (64) every customer hash becomes a
// hashtable, ~2.6x the memory (1,025 vs 392 bytes measured). Only a warning:
// the setting is the operator's, and managed Redis may refuse CONFIG.
void WarnAboutRedisSettings(store::redis::RedisClient& redis) {
  absl::StatusOr<store::redis::RedisReply> reply =
      redis.Command({"CONFIG", "GET", "hash-max-listpack-value"});
  if (!reply.ok() || !reply->is_array() || reply->elements().size() != 2) return;
  int64_t value = 0;
  if (absl::SimpleAtoi(reply->elements()[1].str(), &value) && value < kRecommendedListpackValue) {
    LogInfo(absl::StrCat("Redis hash-max-listpack-value is ", value, "; set it to ",
                         kRecommendedListpackValue,
                         " or more: each customer hash then takes ~40% of the memory (docs/redis-keys.md)"));
  }
}

// The full method names ("/pkg.Service/Method") of `services` and of the
// health and reflection services, from the linked descriptors.
absl::flat_hash_set<std::string> ServedMethods(std::vector<std::string> services) {
  services.push_back("grpc.health.v1.Health");
  services.push_back("grpc.reflection.v1alpha.ServerReflection");
  absl::flat_hash_set<std::string> methods;
  for (const std::string& name : services) {
    const google::protobuf::ServiceDescriptor* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(name);
    if (service == nullptr) continue;  // its calls are then labelled "unknown"
    for (int i = 0; i < service->method_count(); ++i) {
      methods.insert(absl::StrCat("/", name, "/", service->method(i)->name()));
    }
  }
  return methods;
}

// The fewest threads the server runs with: its four idle pollers (MIN_POLLERS
// below) and a few calls. gRPC aborts the process when its quota cannot
// even hold the pollers.
constexpr int kMinThreads = 8;

// The streams one tenant may hold open at once, each holding a server thread.
int OneTenantsStreams(const SegmentdServer::Options& options) {
  return options.max_watches_per_tenant + options.max_bulk_streams_per_tenant +
         options.max_target_streams_per_tenant;
}

// Options::max_watches, or its default when 0: 64, or fewer when
// max_threads leaves fewer threads beside one tenant's streams and one for
// other calls.
int EffectiveMaxWatches(const SegmentdServer::Options& options) {
  if (options.max_watches > 0) return options.max_watches;
  // At least 1: ValidateOptions refuses fewer threads.
  return std::min(64, options.max_threads - OneTenantsStreams(options) - 1);
}

// Refuses options no server could run with, naming the flag, before anything
// starts: gRPC itself takes a port it cannot parse as another one (no port:
// 443; 99999: modulo 65536) and aborts on too few threads.
absl::Status ValidateOptions(const SegmentdServer::Options& options) {
  if (!IsHostPort(options.listen_address, /*host_required=*/true)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "listen: expected HOST:PORT with a port from 0 (any free one) to 65535, got \"",
        options.listen_address, "\""));
  }
  if (options.max_threads < kMinThreads) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_threads: must be >= ", kMinThreads, ", got ", options.max_threads));
  }
  // Both listeners on one address: the second would fail as "in use by
  // another process?", which it is not. (A wildcard host and a specific one
  // on the same port are left to the listeners to refuse.)
  if (!options.metrics_listen.empty() && options.metrics_listen == options.listen_address &&
      !absl::EndsWith(options.listen_address, ":0")) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics_listen: ", options.metrics_listen,
                     " is --listen's address too; give the metrics endpoint a port of its own"));
  }
  for (const auto& [name, per_tenant] :
       {std::pair<const char*, int>{"max_watches_per_tenant", options.max_watches_per_tenant},
        {"max_bulk_streams_per_tenant", options.max_bulk_streams_per_tenant},
        {"max_target_streams_per_tenant", options.max_target_streams_per_tenant}}) {
    if (per_tenant < 1) {
      return absl::InvalidArgumentError(absl::StrCat(name, ": must be >= 1, got ", per_tenant));
    }
  }
  // Every open stream holds a server thread: one tenant's, at its limits,
  // must leave threads for the others' calls.
  // And one thread more, so that one tenant's streams and a watch of
  // another (--max_watches is at least 1) still leave one for other calls.
  const int one_tenants_streams = OneTenantsStreams(options);
  if (one_tenants_streams + 1 >= options.max_threads) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_threads: ", options.max_threads, " threads, but one tenant may hold ",
        one_tenants_streams,
        " streams open (--max_watches_per_tenant + --max_bulk_streams_per_tenant + "
        "--max_target_streams_per_tenant), each holding one, and at least one watch of "
        "another tenant and one other call need theirs: raise --max_threads to at least ",
        one_tenants_streams + 2, " or lower those"));
  }
  // Likewise all tenants' watches together (0: chosen so, EffectiveMaxWatches).
  if (options.max_watches < 0 || options.max_watches >= options.max_threads) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_watches: must be in [1, max_threads - 1] (", options.max_threads - 1,
                     "), or 0 for the default, got ", options.max_watches));
  }
  if (options.change_stream_cap < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("change_stream_cap: must be >= 1, got ", options.change_stream_cap));
  }
  for (const auto& [flag, value] :
       {std::pair<const char*, absl::Duration>{"redis_startup_timeout",
                                               options.redis_startup_timeout},
        {"eligibility_max_staleness", options.eligibility_max_staleness}}) {
    if (value < absl::ZeroDuration()) {
      return absl::InvalidArgumentError(
          absl::StrCat(flag, ": must not be negative, got ", absl::FormatDuration(value)));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<SegmentdServer>> SegmentdServer::Start(Options options) {
  if (absl::Status s = ValidateOptions(options); !s.ok()) return s;
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials = Credentials(options);
  if (!credentials.ok()) return credentials.status();
  absl::StatusOr<store::redis::RedisClient::Options> redis_options = RedisOptions(options);
  if (!redis_options.ok()) return redis_options.status();
  absl::StatusOr<ApiKeyToken> operator_token = LoadOrCreateOperatorToken(options.operator_key_file);
  if (!operator_token.ok()) return operator_token.status();
  // Created 0600; an existing file others can read holds a credential that
  // manages every tenant's keys. Said, not refused: the file is the operator's.
  struct stat key_file;
  if (stat(options.operator_key_file.c_str(), &key_file) == 0 && (key_file.st_mode & 077) != 0) {
    LogError(absl::StrCat("operator key file ", options.operator_key_file,
                          " is readable by other users (mode ",
                          absl::StrFormat("%04o", key_file.st_mode & 07777),
                          "): chmod 600 it"));
  }

  std::unique_ptr<SegmentdServer> server(new SegmentdServer());
  server->options_ = std::move(options);
  server->metrics_ = std::make_unique<Metrics>();
  if (!server->options_.metrics_listen.empty()) {
    absl::StatusOr<std::unique_ptr<MetricsExposer>> exposer =
        MetricsExposer::Start(server->options_.metrics_listen, server->metrics_.get());
    if (!exposer.ok()) return exposer.status();
    server->metrics_exposer_ = *std::move(exposer);
  }
  // The pool bounds concurrent Redis commands; gRPC's sync server runs one call
  // per thread, so allow several per core.
  absl::StatusOr<std::unique_ptr<store::redis::RedisClient>> redis =
      ConnectRedis(*redis_options, /*pool_size=*/16, server->options_.redis_startup_timeout);
  if (!redis.ok()) return redis.status();
  server->redis_ = *std::move(redis);
  // The membership index's change-stream tails: each tenant whose index is
  // loaded holds one connection through its blocked XREAD (up to 100 ms at a
  // time, again and again). Opened as needed; with 64 (until 2026-12-07) a
  // replica serving ~300 loaded tenants had each tail wait ~0.5 s for a
  // connection, so indexes trailed Redis by that much and took ~1.5 s to
  // load. Past kTailConnections loaded tenants the tails share again.
  constexpr int kTailConnections = 1024;
  absl::StatusOr<std::unique_ptr<store::redis::RedisClient>> blocking =
      ConnectRedis(*redis_options, kTailConnections, server->options_.redis_startup_timeout);
  if (!blocking.ok()) return blocking.status();
  server->redis_blocking_ = *std::move(blocking);
  absl::StatusOr<std::unique_ptr<store::redis::RedisClient>> watch_redis =
      ConnectRedis(*redis_options, EffectiveMaxWatches(server->options_),
                   server->options_.redis_startup_timeout);
  if (!watch_redis.ok()) return watch_redis.status();
  server->redis_watch_ = *std::move(watch_redis);

  server->store_probe_ = std::make_unique<StoreProbe>(server->redis_.get());
  server->tenants_ = std::make_unique<RedisTenantStore>(server->redis_.get());
  Authenticator::Options auth_options;
  auth_options.operator_secret_hash = HashSecret(operator_token->secret);
  // A store that lost segmentd's data holds no tenant key: without this every
  // tenant call would read as a wrong key, pointing callers the wrong way.
  auth_options.store_lost = [probe = server->store_probe_.get()] { return probe->Lost(); };
  auth_options.confirm_store = [probe = server->store_probe_.get()] { return probe->Probe(); };
  server->authenticator_ = std::make_unique<Authenticator>(server->tenants_.get(), auth_options);
  store::RedisCustomerStore::Options store_options;
  store_options.max_changes = server->options_.change_stream_cap;
  absl::StatusOr<std::unique_ptr<store::RedisCustomerStore>> customers =
      store::RedisCustomerStore::Create(server->redis_.get(), store_options);
  if (!customers.ok()) return customers.status();
  server->customers_ = *std::move(customers);
  absl::StatusOr<std::unique_ptr<store::RedisCustomerStore>> customers_blocking =
      store::RedisCustomerStore::Create(server->redis_blocking_.get(), store_options);
  if (!customers_blocking.ok()) return customers_blocking.status();
  server->customers_blocking_ = *std::move(customers_blocking);
  absl::StatusOr<std::unique_ptr<store::RedisCustomerStore>> customers_watch =
      store::RedisCustomerStore::Create(server->redis_watch_.get(), store_options);
  if (!customers_watch.ok()) return customers_watch.status();
  server->customers_watch_ = *std::move(customers_watch);
  absl::StatusOr<std::unique_ptr<store::redis::RedisClient>> scan =
      ConnectRedis(*redis_options, /*pool_size=*/4, server->options_.redis_startup_timeout);
  if (!scan.ok()) return scan.status();
  server->redis_scan_ = *std::move(scan);
  absl::StatusOr<std::unique_ptr<store::RedisCustomerStore>> customers_scan =
      store::RedisCustomerStore::Create(server->redis_scan_.get(), store_options);
  if (!customers_scan.ok()) return customers_scan.status();
  server->customers_scan_ = *std::move(customers_scan);
  TenantContexts::Options contexts_options;
  contexts_options.store_lost = [probe = server->store_probe_.get()] { return probe->Lost(); };
  server->contexts_ =
      std::make_unique<TenantContexts>(server->customers_.get(), std::move(contexts_options));
  LiveMembership::Options live_options;
  live_options.metrics = server->metrics_.get();
  server->live_ = std::make_unique<LiveMembership>(server->customers_.get(),
                                                   server->contexts_.get(), live_options);

  auto now = [] { return absl::Now(); };
  Authenticator* auth = server->authenticator_.get();
  server->services_.push_back(
      std::make_unique<AdminServiceImpl>(server->tenants_.get(), auth, now));
  server->services_.push_back(std::make_unique<ConfigServiceImpl>(
      auth, server->customers_.get(), server->contexts_.get(), server->live_.get(), now,
      server->metrics_.get()));
  server->services_.push_back(std::make_unique<IngestServiceImpl>(
      auth, server->contexts_.get(), server->live_.get(), server->metrics_.get(),
      server->options_.max_bulk_streams_per_tenant));
  server->services_.push_back(
      std::make_unique<ClassificationServiceImpl>(auth, server->live_.get(), now));
  WatchServiceImpl::Options watch_options;
  watch_options.max_per_tenant = server->options_.max_watches_per_tenant;
  watch_options.max_total = EffectiveMaxWatches(server->options_);
  // A limit below the default the operator did not set: say where it came from.
  if (server->options_.max_watches == 0 && watch_options.max_total < 64) {
    LogInfo(absl::StrCat("at most ", watch_options.max_total,
                         " Watch streams open at once, all tenants together: --max_watches "
                         "unset, and --max_threads=",
                         server->options_.max_threads, " leaves that many beside one tenant's ",
                         OneTenantsStreams(server->options_),
                         " streams and one thread for other calls"));
  }
  auto watch =
      std::make_unique<WatchServiceImpl>(auth, server->customers_watch_.get(), watch_options);
  server->watch_ = watch.get();
  server->services_.push_back(std::move(watch));
  server->vouchers_ = std::make_unique<targeting::VoucherStore>(
      server->redis_.get(), targeting::VoucherStore::Options());
  server->index_ = std::make_unique<targeting::MembershipIndex>(
      server->customers_.get(), server->customers_blocking_.get(),
      targeting::MembershipIndex::Options());
  server->arm_cache_ = std::make_unique<targeting::ArmCache>();
  LiveMembership* live = server->live_.get();
  targeting::SegmentsAt segments_at =
      [live](const std::string& tenant, const std::vector<std::string>& customer_ids,
             absl::Time as_of) { return SegmentsAt(*live, tenant, customer_ids, as_of); };
  targeting::ConfigOf config_of =
      [contexts = server->contexts_.get()](
          const std::string& tenant) -> absl::StatusOr<engine::SegmentConfig> {
    absl::StatusOr<std::shared_ptr<const TenantSnapshot>> snapshot = contexts->Get(tenant);
    if (!snapshot.ok()) return snapshot.status();
    return (*snapshot)->config;
  };
  server->services_.push_back(std::make_unique<TargetingServiceImpl>(
      auth, server->vouchers_.get(), server->index_.get(), server->arm_cache_.get(), segments_at,
      std::move(config_of), now, server->options_.eligibility_max_staleness,
      server->options_.max_target_streams_per_tenant));
  server->redemptions_ = std::make_unique<RedemptionStore>(server->redis_.get());
  server->services_.push_back(std::make_unique<InsightsServiceImpl>(
      auth, server->customers_scan_.get(), server->contexts_.get(), server->vouchers_.get(),
      server->index_.get(), server->arm_cache_.get(), server->redemptions_.get(),
      std::move(segments_at), now));
  server->service_names_ = {
      v1::AdminService::service_full_name(),     v1::ConfigService::service_full_name(),
      v1::IngestService::service_full_name(),    v1::ClassificationService::service_full_name(),
      v1::TargetingService::service_full_name(), v1::InsightsService::service_full_name(),
      v1::WatchService::service_full_name(),
  };

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  // Bound the sync server's threads: past the bound new calls fail fast with
  // RESOURCE_EXHAUSTED instead of each overload spawning threads until the
  // machine thrashes (seen at 10k calls/s without it: 5,000+ threads).
  grpc::ResourceQuota quota("segmentd");
  quota.SetMaxThreads(server->options_.max_threads);
  builder.SetResourceQuota(quota);
  // The sync server keeps between MIN and MAX idle polling threads; with the
  // defaults (1 and 2) a burst of concurrent calls creates and destroys a
  // thread per call, which profiles showed dominating short RPCs.
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MIN_POLLERS, 4);
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, 64);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
  // Not on the eligibility checks: they are the checkout's hot path.
  std::vector<std::string> eligibility_checks;
  for (const char* method : {"CheckEligibility", "CheckEligibilityBatch", "ListEligibleVouchers"}) {
    eligibility_checks.push_back(
        absl::StrCat("/", v1::TargetingService::service_full_name(), "/", method));
  }
  creators.push_back(std::make_unique<UndecodableRequestInterceptorFactory>(eligibility_checks));
  if (server->metrics_exposer_ != nullptr) {
    // Per-RPC latency and status only when someone can read them: the
    // interceptor costs every call an allocation and a few virtual calls.
    creators.push_back(std::make_unique<RpcMetricsInterceptorFactory>(
        server->metrics_.get(), ServedMethods(server->service_names_)));
  }
  builder.experimental().SetInterceptorCreators(std::move(creators));
  // A second segmentd given the port of a running one must fail to start,
  // not share the port with it (gRPC's default, SO_REUSEPORT: the kernel
  // would spread connections over both, whatever Redis each one uses).
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddListeningPort(server->options_.listen_address, *credentials, &server->port_);
  for (const auto& service : server->services_) builder.RegisterService(service.get());
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("listen: cannot listen on ",
                                               server->options_.listen_address,
                                               " (in use by another process?)"));
  }
  WarnAboutRedisSettings(*server->redis_);
  {
    const bool serving = server->store_probe_->Probe().ok();
    absl::MutexLock lock(&server->mu_);
    server->SetServing(serving);
  }
  server->health_thread_ = std::thread([s = server.get()] { s->RunHealthProbe(); });
  TenantStore* tenant_store = server->tenants_.get();
  auto list_tenants = [tenant_store] { return tenant_store->ListTenantIds(); };
  TransitionScheduler::Options scheduler_options;
  scheduler_options.poll = server->options_.transition_poll;
  // The lag costs a schedule read: only when someone can read it.
  scheduler_options.metrics =
      server->metrics_exposer_ != nullptr ? server->metrics_.get() : nullptr;
  // One replica leads the time-driven moves; the others take only what it
  // leaves due for longer than the follower grace (SchedulerLease).
  server->scheduler_lease_ = std::make_unique<SchedulerLease>(server->redis_.get());
  // A store that lost segmentd's data (StoreProbe) is not written to, not
  // even the lease: it may be another Redis that took the address.
  scheduler_options.leading = [lease = server->scheduler_lease_.get(),
                               probe = server->store_probe_.get()] {
    return probe->Lost().ok() && lease->Held();
  };
  // Tenants stored before the order record or the registration index
  // existed get them filled from their profiles, in the background
  // (docs/live.md, Order ids and Configs).
  server->order_record_backfill_ = std::make_unique<OrderRecordBackfill>(server->customers_.get());
  server->registration_index_backfill_ =
      std::make_unique<RegistrationIndexBackfill>(server->customers_.get(), now);
  scheduler_options.backfills = {server->order_record_backfill_.get(),
                                 server->registration_index_backfill_.get()};
  for (ProfileBackfill* backfill : scheduler_options.backfills) {
    backfill->set_metrics(scheduler_options.metrics);
  }
  server->scheduler_ = std::make_unique<TransitionScheduler>(
      server->customers_.get(), server->live_.get(), list_tenants, scheduler_options);
  server->scheduler_->Start();
  StatisticsMover::Options statistics_options;
  statistics_options.interval = server->options_.statistics_interval;
  server->statistics_ = std::make_unique<StatisticsMover>(
      server->customers_.get(), server->contexts_.get(), server->live_.get(), list_tenants,
      statistics_options);
  server->statistics_->Start();
  return server;
}

void SegmentdServer::SetServing(bool serving) {
  metrics_->SetRedisUp(serving);
  if (serving_ == serving) return;
  serving_ = serving;
  grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
  health->SetServingStatus(serving);
  for (const std::string& name : service_names_) health->SetServingStatus(name, serving);
}

namespace {

// What a probe's outcome says to an operator: usable, unreachable (however
// the attempt failed), or another cause by its code (the store lost
// segmentd's data, Redis refuses writes, ...).
int ProbeClass(const absl::Status& probe) {
  if (probe.ok()) return 0;
  if (probe.code() == absl::StatusCode::kUnavailable ||
      probe.code() == absl::StatusCode::kDeadlineExceeded) {
    return 1;
  }
  return 2 + static_cast<int>(probe.code());
}

}  // namespace

void SegmentdServer::RunHealthProbe() {
  int last = 0;
  // A refused AUTH (the password changed under a running segmentd) is logged
  // once per outage even when the outage began as something else: it is the
  // one cause the operator must fix.
  bool auth_logged = false;
  absl::MutexLock lock(&mu_);
  while (!shutting_down_) {
    mu_.AwaitWithTimeout(absl::Condition(&shutting_down_), options_.health_probe_interval);
    if (shutting_down_) break;
    mu_.Unlock();
    const absl::Status ping = store_probe_->Probe();
    // Logged when the outcome changes, and when the cause of an outage does
    // (Redis back, but without segmentd's data): the first cause alone sent
    // operators after an unreachable Redis that was up.
    if (ProbeClass(ping) != last) {
      if (ping.ok()) {
        LogInfo("Redis usable again: SERVING");
      } else {
        LogError(absl::StrCat("Redis unusable: NOT_SERVING (", ping.message(), ")"));
      }
      last = ProbeClass(ping);
    }
    const bool auth_refused = store::redis::RedisClient::CredentialsRefused(ping);
    if (auth_refused && !auth_logged) {
      LogError(absl::StrCat("Redis refuses segmentd's credentials (--redis_password_file, "
                            "--redis_user): ",
                            ping.message()));
    }
    auth_logged = ping.ok() ? false : (auth_logged || auth_refused);
    mu_.Lock();
    // Shutdown may have begun while Redis was probed: it owns the status then.
    if (!shutting_down_) SetServing(ping.ok());
  }
}

void SegmentdServer::Shutdown(absl::Duration drain, absl::Duration notice) {
  {
    absl::MutexLock lock(&mu_);
    if (shutting_down_) return;
    shutting_down_ = true;
    // Inside the lock, so the probe thread cannot flip it back to SERVING.
    // HealthCheckServiceInterface::Shutdown sets every status NOT_SERVING and
    // ignores later updates. (No gRPC server when Start failed before it.)
    if (server_ != nullptr) server_->GetHealthCheckService()->Shutdown();
  }
  // Still serving, but saying NOT_SERVING: load balancers and probes that
  // poll health stop sending new calls before the listener closes (gRPC's
  // Shutdown below refuses new calls and connections at once).
  if (server_ != nullptr && notice > absl::ZeroDuration()) absl::SleepFor(notice);
  // Watches end now (their clients resume elsewhere), not when the drain
  // times out; after the notice, so that clients told to go elsewhere are not
  // routed back here meanwhile.
  if (watch_ != nullptr) watch_->BeginShutdown();
  if (health_thread_.joinable()) health_thread_.join();
  if (server_ != nullptr) {
    server_->Shutdown(absl::ToChronoTime(absl::Now() + drain));
    server_->Wait();
  }
  scheduler_.reset();
  // Hand the lead over now rather than when the lease expires: a replica
  // restarted at once then leads again without a follower's delay.
  if (scheduler_lease_ != nullptr) scheduler_lease_->Release();
  statistics_.reset();
}

SegmentdServer::~SegmentdServer() { Shutdown(absl::ZeroDuration()); }

}  // namespace segmentd
