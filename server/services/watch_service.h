#ifndef SEGMENTD_SERVER_SERVICES_WATCH_SERVICE_H_
#define SEGMENTD_SERVER_SERVICES_WATCH_SERVICE_H_

#include <atomic>
#include <string>

#include "segmentd/v1/watch.grpc.pb.h"
#include "server/auth/call_authorizer.h"
#include "server/tenant_slots.h"
#include "store/customer_store.h"

namespace segmentd {

// segmentd.v1.WatchService: the tenant's change stream, live, optionally
// filtered by segment, resumable from any retained position. Each stream holds
// one server thread while open, so a tenant may hold at most
// Options::max_per_tenant at once (one tenant's watches must not take every
// thread of the server); it ends when the client cancels or the server shuts
// down. Thread-safe.
class WatchServiceImpl final : public v1::WatchService::Service {
 public:
  struct Options {
    // Longest wait for new changes before checking for cancellation; kept below
    // the Redis client's command timeout.
    absl::Duration poll = absl::Milliseconds(500);
    // Most changes per response message.
    int batch = 500;
    // While every change read matches no requested segment, the watcher is
    // told how far the stream was read (a response with a position only) at
    // most this often, and once the stream goes quiet.
    absl::Duration position_every = absl::Seconds(1);
    // An open watch checks its credential again this often, so a revoked key
    // (or one whose tenant can no longer be verified) stops receiving
    // changes: within this plus the authenticator's cache lifetime.
    absl::Duration reauthorize_every = absl::Seconds(1);
    // Most watches one tenant may have open at once (>= 1); one more fails
    // RESOURCE_EXHAUSTED.
    int max_per_tenant = 16;
    // Most watches open at once, all tenants together (>= 1): the size of
    // the store's connection pool, so that every open watch gets a
    // connection at once (each reads with at most one at a time); one more
    // fails RESOURCE_EXHAUSTED rather than making the open ones wait for a
    // connection and end UNAVAILABLE.
    int max_total = 64;
  };

  WatchServiceImpl(Authenticator* authenticator, store::CustomerStore* store, Options options);

  grpc::Status Watch(grpc::ServerContext* context, const v1::WatchRequest* request,
                     grpc::ServerWriter<v1::WatchResponse>* writer) override;

  // Ends every open watch within Options::poll (and refuses new ones at once), with
  // UNAVAILABLE naming the position to resume after (on another replica),
  // the position sent first if the watcher was not told it yet. Called when
  // the server begins to shut down: a watch never ends by itself, so it held
  // the shutdown for the whole drain timeout and was then cancelled with
  // gRPC's generic "Cancelling all calls". Thread-safe.
  void BeginShutdown() { stopping_.store(true); }

 private:
  store::CustomerStore* const store_;
  const Options options_;
  const CallAuthorizer authorizer_;
  TenantSlots open_;  // Options::max_per_tenant each
  TenantSlots all_;   // Options::max_total, under one key
  std::atomic<bool> stopping_{false};
};

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_SERVICES_WATCH_SERVICE_H_
