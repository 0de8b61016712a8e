#ifndef SEGMENTD_SERVER_AUTH_OPERATOR_CREDENTIAL_H_
#define SEGMENTD_SERVER_AUTH_OPERATOR_CREDENTIAL_H_

#include <string>

#include "absl/status/statusor.h"
#include "server/auth/api_key.h"

namespace segmentd {

// Returns the operator token stored in the file at `path`. On a fresh install
// (no file yet) generates one and writes it there first, readable by the owner
// only (0600), so the first tenant can be created with it. The file holds the
// token as `sd_operator_<secret>` on one line.
absl::StatusOr<ApiKeyToken> LoadOrCreateOperatorToken(const std::string& path);

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_AUTH_OPERATOR_CREDENTIAL_H_
