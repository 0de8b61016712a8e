#include "tests/load/setup_mode.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "segmentd/v1/admin.grpc.pb.h"
#include "tests/load/load_client.h"
#include "tests/load/target_helpers.h"

namespace segmentd::load {

namespace {

// Creates `tenant`; ALREADY_EXISTS is fine.
absl::Status CreateTenant(v1::AdminService::Stub& stub, const std::string& operator_token,
                          const std::string& tenant) {
  v1::CreateTenantRequest request;
  request.set_tenant_id(tenant);
  request.set_display_name("segmentd_load benchmark");
  v1::CreateTenantResponse response;
  grpc::ClientContext context;
  PrepareContext(&context, operator_token, absl::Seconds(30));
  const grpc::Status status = stub.CreateTenant(&context, request, &response);
  if (!status.ok() && status.error_code() != grpc::StatusCode::ALREADY_EXISTS) {
    return FromGrpc(status);
  }
  return absl::OkStatus();
}

// Creates a SCOPE_ADMIN key of `tenant`.
absl::StatusOr<v1::CreateApiKeyResponse> CreateKey(v1::AdminService::Stub& stub,
                                                   const std::string& operator_token,
                                                   const std::string& tenant) {
  v1::CreateApiKeyRequest request;
  request.set_tenant_id(tenant);
  request.set_name("segmentd_load");
  request.add_scopes(v1::SCOPE_ADMIN);
  v1::CreateApiKeyResponse response;
  grpc::ClientContext context;
  PrepareContext(&context, operator_token, absl::Seconds(30));
  const grpc::Status status = stub.CreateApiKey(&context, request, &response);
  if (!status.ok()) return FromGrpc(status);
  return response;
}

}  // namespace

absl::Status RunSetup(const std::string& target, const std::string& operator_token,
                      const std::string& tenant, const std::string& key_file, int extra_tenants,
                      int loaded_tenants) {
  std::unique_ptr<v1::AdminService::Stub> stub = v1::AdminService::NewStub(NewChannel(target));
  if (absl::Status s = CreateTenant(*stub, operator_token, tenant); !s.ok()) return s;
  std::unique_ptr<v1::TargetingService::Stub> targeting =
      v1::TargetingService::NewStub(NewChannel(target));
  for (int i = 0; i < extra_tenants; ++i) {
    const std::string extra = absl::StrCat(tenant, "-idle-", i);
    absl::Status s = CreateTenant(*stub, operator_token, extra);
    if (s.ok() && i < loaded_tenants) {
      absl::StatusOr<v1::CreateApiKeyResponse> key = CreateKey(*stub, operator_token, extra);
      LoadOptions options;
      options.target = target;
      if (key.ok()) options.key = key->secret();
      s = key.ok() ? WaitForIndex(*targeting, options, absl::Seconds(30)).status() : key.status();
    }
    if (!s.ok()) {
      return absl::Status(s.code(), absl::StrCat("setting up tenant ", extra, ": ", s.message()));
    }
  }
  if (extra_tenants > 0) {
    std::printf("setup: %d more tenants without customers, %d of them with their index loaded\n",
                extra_tenants, std::min(extra_tenants, loaded_tenants));
  }
  absl::StatusOr<v1::CreateApiKeyResponse> created = CreateKey(*stub, operator_token, tenant);
  if (!created.ok()) return created.status();
  const v1::CreateApiKeyResponse& response = *created;

  const int fd = open(key_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return absl::InternalError(absl::StrCat("cannot write ", key_file));
  const std::string line = response.secret() + "\n";
  const bool written = write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  close(fd);
  if (!written) return absl::InternalError(absl::StrCat("cannot write ", key_file));
  std::printf("setup: tenant %s, admin key %s written to %s\n", tenant.c_str(),
              response.key().key_id().c_str(), key_file.c_str());
  return absl::OkStatus();
}

}  // namespace segmentd::load
