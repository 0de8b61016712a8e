#include "server/targeting/arms.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "server/field_error.h"

namespace segmentd::targeting {
namespace {

// A field's length as it precedes the field: 8 bytes, big-endian.
std::array<char, 8> LengthBytes(absl::string_view s) {
  std::array<char, 8> out;
  const uint64_t n = s.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (56 - 8 * i)) & 0xff);
  return out;
}

// Appends `s` as <8-byte big-endian length><bytes>.
void AddField(std::string& out, absl::string_view s) {
  const std::array<char, 8> length = LengthBytes(s);
  out.append(length.data(), length.size());
  out.append(s.data(), s.size());
}

[[noreturn]] void DigestFailed() {
  // Only allocation can make SHA-256 fail in OpenSSL's default provider. An
  // arm cannot be guessed, so stop rather than answer one.
  std::fprintf(stderr, "segmentd: SHA-256 failed (out of memory?)\n");
  std::abort();
}

struct CtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

// SHA-256 of the hash input before the customer id (domain, tenant, voucher
// id), as a digest state that each customer's hash copies and continues: the
// prefix is hashed once per assigner, not once per customer, and the
// algorithm is fetched once per process. OpenSSL 3's one-shot SHA256()
// fetches it on every call: 822 ns per customer on the dev VM, against 121 ns
// this way (docs/benchmarks.md, eleventh pass).
std::shared_ptr<const EVP_MD_CTX> PrefixDigest(absl::string_view tenant,
                                               absl::string_view voucher_id) {
  static const EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  std::string prefix;
  AddField(prefix, "segmentd-arm-v1");
  AddField(prefix, tenant);
  AddField(prefix, voucher_id);
  std::shared_ptr<EVP_MD_CTX> ctx(EVP_MD_CTX_new(), CtxFree());
  if (sha256 == nullptr || ctx == nullptr || EVP_DigestInit_ex(ctx.get(), sha256, nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), prefix.data(), prefix.size()) != 1) {
    DigestFailed();
  }
  return ctx;
}

// Returns the first 8 bytes, big-endian, of SHA-256(prefix + customer field).
uint64_t Finish(const EVP_MD_CTX* prefix, absl::string_view customer_id) {
  // One scratch state per thread: assigners are shared between threads.
  thread_local const std::unique_ptr<EVP_MD_CTX, CtxFree> scratch(EVP_MD_CTX_new());
  const std::array<char, 8> length = LengthBytes(customer_id);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (scratch == nullptr || EVP_MD_CTX_copy_ex(scratch.get(), prefix) != 1 ||
      EVP_DigestUpdate(scratch.get(), length.data(), length.size()) != 1 ||
      EVP_DigestUpdate(scratch.get(), customer_id.data(), customer_id.size()) != 1 ||
      EVP_DigestFinal_ex(scratch.get(), digest, &size) != 1 || size < 8) {
    DigestFailed();
  }
  uint64_t h = 0;
  for (int i = 0; i < 8; ++i) h = (h << 8) | digest[i];
  return h;
}

// Returns the arm whose cumulative range holds hash modulo the total weight.
int PickArm(const std::vector<uint64_t>& bounds, uint64_t hash) {
  const uint64_t value = hash % bounds.back();
  return static_cast<int>(std::upper_bound(bounds.begin(), bounds.end(), value) - bounds.begin());
}

}  // namespace

absl::Status ValidateArms(const google::protobuf::RepeatedPtrField<v1::Arm>& arms,
                          absl::string_view field) {
  if (arms.size() > kMaxArms) {
    return FieldError(field, absl::StrCat("at most ", kMaxArms, " arms, got ", arms.size()));
  }
  absl::flat_hash_set<std::string> names;
  for (int i = 0; i < arms.size(); ++i) {
    const std::string at = absl::StrCat(field, "[", i, "]");
    const v1::Arm& arm = arms[i];
    if (arm.name().empty() || arm.name().size() > static_cast<size_t>(kMaxArmNameBytes)) {
      return FieldError(absl::StrCat(at, ".name"),
                        absl::StrCat("must be 1-", kMaxArmNameBytes, " bytes"));
    }
    if (!names.insert(arm.name()).second) {
      return FieldError(absl::StrCat(at, ".name"),
                        absl::StrCat("duplicate arm name \"", arm.name(), "\""));
    }
    if (arm.weight() < 1 || arm.weight() > kMaxArmWeight) {
      return FieldError(absl::StrCat(at, ".weight"),
                        absl::StrCat("must be in [1, ", kMaxArmWeight, "], got ", arm.weight()));
    }
  }
  return absl::OkStatus();
}

uint64_t ArmHash(absl::string_view tenant, absl::string_view voucher_id,
                 absl::string_view customer_id) {
  return Finish(PrefixDigest(tenant, voucher_id).get(), customer_id);
}

ArmAssigner::ArmAssigner(absl::string_view tenant, absl::string_view voucher_id,
                         const google::protobuf::RepeatedPtrField<v1::Arm>& arms) {
  if (arms.empty()) return;  // no split: nothing is ever hashed
  prefix_digest_ = PrefixDigest(tenant, voucher_id);
  uint64_t total = 0;
  for (const v1::Arm& arm : arms) {
    names_.push_back(arm.name());
    total += arm.weight();
    bounds_.push_back(total);
  }
}

int ArmAssigner::ArmIndex(absl::string_view customer_id) const {
  if (bounds_.empty()) return 0;
  return PickArm(bounds_, Finish(prefix_digest_.get(), customer_id));
}

const std::string& ArmAssigner::Arm(absl::string_view customer_id) const {
  if (names_.empty()) return empty_;
  return names_[ArmIndex(customer_id)];
}

}  // namespace segmentd::targeting
