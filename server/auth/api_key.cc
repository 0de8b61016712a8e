#include "server/auth/api_key.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <cstdint>
#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "server/sha256.h"

namespace segmentd {
namespace {

constexpr absl::string_view kPrefix = "sd_";
constexpr size_t kKeyIdBytes = 8;
constexpr size_t kSecretBytes = 32;

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  // RAND_bytes only fails when the system's entropy source is broken; serving
  // guessable credentials would be worse than stopping.
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(raw.size())) != 1) {
    std::abort();
  }
  return absl::BytesToHexString(raw);
}

bool IsLowerHex(absl::string_view s) {
  for (char c : s) {
    if (!absl::ascii_isdigit(c) && !(c >= 'a' && c <= 'f')) return false;
  }
  return true;
}

}  // namespace

ApiKeyToken GenerateApiKeyToken() {
  return ApiKeyToken{RandomHex(kKeyIdBytes), RandomHex(kSecretBytes)};
}

ApiKeyToken GenerateOperatorToken() {
  return ApiKeyToken{std::string(kOperatorKeyId), RandomHex(kSecretBytes)};
}

std::string FormatApiKeyToken(const ApiKeyToken& token) {
  return absl::StrCat(kPrefix, token.key_id, "_", token.secret);
}

bool IsKeyId(absl::string_view key_id) {
  return key_id == kOperatorKeyId || (key_id.size() == 2 * kKeyIdBytes && IsLowerHex(key_id));
}

absl::StatusOr<ApiKeyToken> ParseApiKeyToken(absl::string_view token) {
  if (!absl::ConsumePrefix(&token, kPrefix)) {
    return absl::UnauthenticatedError("API key is malformed: expected sd_<key_id>_<secret>");
  }
  const size_t sep = token.find('_');
  if (sep == absl::string_view::npos) {
    return absl::UnauthenticatedError("API key is malformed: expected sd_<key_id>_<secret>");
  }
  ApiKeyToken parsed{std::string(token.substr(0, sep)), std::string(token.substr(sep + 1))};
  if (!IsKeyId(parsed.key_id) || parsed.secret.size() != 2 * kSecretBytes ||
      !IsLowerHex(parsed.secret)) {
    return absl::UnauthenticatedError("API key is malformed: expected sd_<key_id>_<secret>");
  }
  return parsed;
}

std::string HashSecret(absl::string_view secret) {
  const Sha256Digest digest = Sha256(secret);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

bool SecretMatchesHash(absl::string_view secret, absl::string_view stored_hash) {
  const std::string computed = HashSecret(secret);
  if (computed.size() != stored_hash.size()) return false;
  return CRYPTO_memcmp(computed.data(), stored_hash.data(), computed.size()) == 0;
}

}  // namespace segmentd
