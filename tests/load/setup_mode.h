// Setup mode: creates a tenant and an admin API key with the operator
// credential, for scripts that start a fresh segmentd.
#ifndef SEGMENTD_TESTS_LOAD_SETUP_MODE_H_
#define SEGMENTD_TESTS_LOAD_SETUP_MODE_H_

#include <string>

#include "absl/status/status.h"

namespace segmentd::load {

// Creates `tenant` (ALREADY_EXISTS is fine) and a SCOPE_ADMIN key of it,
// authorized by `operator_token`, and writes the key's secret to `key_file`
// (mode 0600). Also creates `extra_tenants` more tenants, `<tenant>-idle-<i>`,
// with no customers: what every tenant costs the server's background passes
// (the scheduler reads each tenant's schedule) shows against the benchmark
// tenant's figures. The first `loaded_tenants` of them get a key and one
// CountTargets call each, which loads their membership index (each then has
// its change-stream tail).
absl::Status RunSetup(const std::string& target, const std::string& operator_token,
                      const std::string& tenant, const std::string& key_file, int extra_tenants,
                      int loaded_tenants);

}  // namespace segmentd::load

#endif  // SEGMENTD_TESTS_LOAD_SETUP_MODE_H_
