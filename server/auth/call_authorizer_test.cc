#include "server/auth/call_authorizer.h"

#include <gtest/gtest.h>

#include "segmentd/v1/admin.pb.h"
#include "segmentd/v1/classification.pb.h"
#include "segmentd/v1/config.pb.h"
#include "segmentd/v1/ingest.pb.h"
#include "segmentd/v1/insights.pb.h"
#include "segmentd/v1/targeting.pb.h"
#include "segmentd/v1/watch.pb.h"

namespace segmentd {
namespace {

// Every RPC of the public API must declare the scope it needs: a method without
// one would be refused to everyone, so catch it here rather than in production.
TEST(RequiredScopeTest, EveryMethodOfEveryServiceDeclaresAScope) {
  const google::protobuf::FileDescriptor* files[] = {
      v1::CreateTenantRequest::descriptor()->file(),
      v1::ClassifyCustomerRequest::descriptor()->file(),
      v1::GetConfigRequest::descriptor()->file(),
      v1::PlaceOrderRequest::descriptor()->file(),
      v1::GetSegmentKpisRequest::descriptor()->file(),
      v1::CountTargetsRequest::descriptor()->file(),
      v1::WatchRequest::descriptor()->file(),
  };
  int methods = 0;
  for (const auto* file : files) {
    ASSERT_EQ(file->service_count(), 1) << file->name();
    const auto* service = file->service(0);
    for (int i = 0; i < service->method_count(); ++i, ++methods) {
      EXPECT_NE(RequiredScope(*service->method(i)), v1::SCOPE_UNSPECIFIED)
          << service->method(i)->full_name();
    }
  }
  EXPECT_GT(methods, 30);
}

TEST(RequiredScopeTest, SpotChecks) {
  const auto* admin = v1::CreateTenantRequest::descriptor()->file()->service(0);
  EXPECT_EQ(RequiredScope(*admin->FindMethodByName("CreateTenant")), v1::SCOPE_OPERATOR);
  EXPECT_EQ(RequiredScope(*admin->FindMethodByName("CreateApiKey")), v1::SCOPE_ADMIN);
  const auto* ingest = v1::PlaceOrderRequest::descriptor()->file()->service(0);
  EXPECT_EQ(RequiredScope(*ingest->FindMethodByName("PlaceOrder")), v1::SCOPE_WRITE);
  const auto* config = v1::GetConfigRequest::descriptor()->file()->service(0);
  EXPECT_EQ(RequiredScope(*config->FindMethodByName("GetConfig")), v1::SCOPE_READ);
  EXPECT_EQ(RequiredScope(*config->FindMethodByName("UpdateConfig")), v1::SCOPE_ADMIN);
}

}  // namespace
}  // namespace segmentd
