#include "server/targeting/arms.h"

#include <algorithm>
#include <array>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "server/field_error.h"
#include "server/sha256.h"

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

// The hash input before the customer id (domain, tenant, voucher id).
std::string Prefix(absl::string_view tenant, absl::string_view voucher_id) {
  std::string prefix;
  AddField(prefix, "segmentd-arm-v1");
  AddField(prefix, tenant);
  AddField(prefix, voucher_id);
  return prefix;
}

// Returns the first 8 bytes, big-endian, of SHA-256(prefix + customer field).
uint64_t Finish(const Sha256Prefix& prefix, absl::string_view customer_id) {
  const std::array<char, 8> length = LengthBytes(customer_id);
  const Sha256Digest digest =
      prefix.Finish({absl::string_view(length.data(), length.size()), customer_id});
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
    // A redemption's record is "<ms> <arm>\n<customer id>" and customer ids
    // may hold newlines: the arm's must end at the first one.
    if (arm.name().find('\n') != std::string::npos) {
      return FieldError(absl::StrCat(at, ".name"), "must not contain a newline");
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
  return Finish(Sha256Prefix(Prefix(tenant, voucher_id)), customer_id);
}

ArmAssigner::ArmAssigner(absl::string_view tenant, absl::string_view voucher_id,
                         const google::protobuf::RepeatedPtrField<v1::Arm>& arms) {
  if (arms.empty()) return;  // no split: nothing is ever hashed
  // The prefix is hashed once here; each customer continues that state.
  prefix_.emplace(Prefix(tenant, voucher_id));
  uint64_t total = 0;
  for (const v1::Arm& arm : arms) {
    names_.push_back(arm.name());
    total += arm.weight();
    bounds_.push_back(total);
  }
}

int ArmAssigner::ArmIndex(absl::string_view customer_id) const {
  if (bounds_.empty()) return 0;
  return PickArm(bounds_, Finish(*prefix_, customer_id));
}

const std::string& ArmAssigner::Arm(absl::string_view customer_id) const {
  if (names_.empty()) return empty_;
  return names_[ArmIndex(customer_id)];
}

}  // namespace segmentd::targeting
