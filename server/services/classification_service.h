#ifndef SEGMENTD_SERVER_SERVICES_CLASSIFICATION_SERVICE_H_
#define SEGMENTD_SERVER_SERVICES_CLASSIFICATION_SERVICE_H_

#include <functional>

#include "segmentd/v1/classification.grpc.pb.h"
#include "server/auth/call_authorizer.h"
#include "server/live/live_membership.h"

namespace segmentd {

// Most ids in one ClassifyCustomers call.
inline constexpr int kMaxClassifyIds = 1000;

// segmentd.v1.ClassificationService: a customer's segments now or at `as_of`,
// with reasons. Thread-safe.
class ClassificationServiceImpl final : public v1::ClassificationService::Service {
 public:
  ClassificationServiceImpl(Authenticator* authenticator, LiveMembership* live,
                            std::function<absl::Time()> now);

  grpc::Status ClassifyCustomer(grpc::ServerContext* context,
                                const v1::ClassifyCustomerRequest* request,
                                v1::ClassifyCustomerResponse* response) override;
  grpc::Status ClassifyCustomers(grpc::ServerContext* context,
                                 const v1::ClassifyCustomersRequest* request,
                                 v1::ClassifyCustomersResponse* response) override;

 private:
  LiveMembership* const live_;
  const CallAuthorizer authorizer_;
  const std::function<absl::Time()> now_;
};

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_SERVICES_CLASSIFICATION_SERVICE_H_
