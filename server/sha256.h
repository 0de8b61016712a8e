#ifndef SEGMENTD_SERVER_SHA256_H_
#define SEGMENTD_SERVER_SHA256_H_

// SHA-256 through OpenSSL's EVP interface with the algorithm fetched once per
// process. OpenSSL 3's one-shot SHA256() fetches it on every call, which cost
// 822 ns for a ~90-byte input on the dev VM against 121 ns when continuing a
// saved state (docs/benchmarks.md, eleventh pass). Both API-key checks (every
// authenticated RPC) and A/B arm assignment (every id of a split target) hash
// on hot paths.
//
// If OpenSSL cannot hash (only an allocation failure can make it fail), the
// process aborts: there is no answer to give without the digest.

#include <openssl/types.h>

#include <array>
#include <initializer_list>
#include <memory>

#include "absl/strings/string_view.h"

namespace segmentd {

using Sha256Digest = std::array<unsigned char, 32>;

// A hash state after `prefix`, continued by each Finish: the prefix is hashed
// once, however many inputs share it. Immutable once made; copies share the
// state; thread-safe (each thread continues a copy in its own scratch state).
class Sha256Prefix {
 public:
  explicit Sha256Prefix(absl::string_view prefix);

  // SHA-256 of the prefix followed by each of `parts`, in order.
  Sha256Digest Finish(std::initializer_list<absl::string_view> parts) const;

 private:
  std::shared_ptr<const EVP_MD_CTX> state_;
};

// SHA-256 of `data`.
Sha256Digest Sha256(absl::string_view data);

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_SHA256_H_
