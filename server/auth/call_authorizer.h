#ifndef SEGMENTD_SERVER_AUTH_CALL_AUTHORIZER_H_
#define SEGMENTD_SERVER_AUTH_CALL_AUTHORIZER_H_

#include <grpcpp/server_context.h>

#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "server/auth/authenticator.h"

namespace segmentd {

// Returns the `(segmentd.v1.required_scope)` option of `method`, or
// SCOPE_UNSPECIFIED when it has none (which every caller is then refused).
v1::Scope RequiredScope(const google::protobuf::MethodDescriptor& method);

// Authorizes calls to the methods of one service, each against the scope its
// proto declares. Built once per service; thread-safe.
class CallAuthorizer {
 public:
  // `authenticator` must outlive this object. `service_full_name` names a
  // service of the generated descriptor pool, e.g. "segmentd.v1.AdminService";
  // an unknown name leaves every method refused.
  CallAuthorizer(Authenticator* authenticator, absl::string_view service_full_name);

  // Returns the caller of `method` (a method name of the service, e.g.
  // "CreateApiKey"), from the call's `authorization` metadata.
  absl::StatusOr<Caller> Authorize(const grpc::ServerContextBase& context,
                                   absl::string_view method) const;
  // Authorize without a store read: nullopt when the answer needs one
  // (Authenticator::AuthorizeCached).
  std::optional<absl::StatusOr<Caller>> AuthorizeCached(const grpc::ServerContextBase& context,
                                                        absl::string_view method) const;

 private:
  std::optional<absl::StatusOr<Caller>> Authorize(const grpc::ServerContextBase& context,
                                                  absl::string_view method, bool may_read) const;

  Authenticator* const authenticator_;
  absl::flat_hash_map<std::string, v1::Scope> scopes_;
  // Only AdminService serves the operator: its SCOPE_ADMIN pass is for
  // managing tenants and keys, and elsewhere SCOPE_ADMIN guards tenant data
  // (UpdateConfig, ...), which the operator holds none of.
  bool serves_operator_ = false;
};

// Checks a stream's credential again while it stays open: the check at the
// call's start must not be the last, or a key revoked since (or one that
// cannot be verified now) keeps reading or writing for as long as its
// stream lasts. Not thread-safe: one per call.
class StreamReauthorizer {
 public:
  // Checks `method` of `authorizer` with `context`'s credential at most once
  // per `every`; all must outlive this object.
  StreamReauthorizer(const CallAuthorizer& authorizer, const grpc::ServerContextBase& context,
                     absl::string_view method, absl::Duration every);

  // OK while the caller may go on; otherwise the authorizer's answer
  // (UNAUTHENTICATED once revoked, UNAVAILABLE when the key store cannot be
  // read: fail closed), which should end the stream.
  absl::Status Check();

 private:
  const CallAuthorizer& authorizer_;
  const grpc::ServerContextBase& context_;
  const std::string method_;
  const absl::Duration every_;
  absl::Time checked_;
};

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_AUTH_CALL_AUTHORIZER_H_
