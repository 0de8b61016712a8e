#ifndef SEGMENTD_SERVER_AUTH_API_KEY_H_
#define SEGMENTD_SERVER_AUTH_API_KEY_H_

// Bearer tokens of API keys. A token reads "sd_<key_id>_<secret>": the key id is
// public and names the stored record; the secret is 32 random bytes (hex) of
// which only a SHA-256 hash is ever stored. Secrets are high-entropy, so a plain
// cryptographic hash (not a password KDF) is the right tool. All functions are
// thread-safe.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace segmentd {

// The key id reserved for the installation's operator credential.
inline constexpr absl::string_view kOperatorKeyId = "operator";

struct ApiKeyToken {
  std::string key_id;
  std::string secret;
};

// Returns a new token with a random 16-hex-digit key id and a random secret from
// the system's cryptographic generator.
ApiKeyToken GenerateApiKeyToken();

// Returns a new operator token (key id `kOperatorKeyId`, random secret).
ApiKeyToken GenerateOperatorToken();

// Whether `key_id` has the form of a key id: 16 lowercase hex digits, or
// kOperatorKeyId.
bool IsKeyId(absl::string_view key_id);

// Returns "sd_<key_id>_<secret>".
std::string FormatApiKeyToken(const ApiKeyToken& token);

// Parses a token as FormatApiKeyToken writes it. Fails with UNAUTHENTICATED (the
// token is the caller's credential, so a malformed one is an authentication
// failure, and the message never echoes the secret).
absl::StatusOr<ApiKeyToken> ParseApiKeyToken(absl::string_view token);

// Returns the lowercase hex SHA-256 of `secret`.
std::string HashSecret(absl::string_view secret);

// Returns true when HashSecret(secret) equals `stored_hash`, comparing in
// constant time.
bool SecretMatchesHash(absl::string_view secret, absl::string_view stored_hash);

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_AUTH_API_KEY_H_
