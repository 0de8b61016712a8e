#ifndef SEGMENTD_SERVER_TARGETING_ARMS_H_
#define SEGMENTD_SERVER_TARGETING_ARMS_H_

// A/B arms of a voucher target: validation and assignment.
//
// A customer's arm is a pure function of (tenant, voucher id, customer id) and
// the arms list: the first 8 bytes of SHA-256 over the three ids (each
// length-prefixed, so no two triples share an input), read big-endian, taken
// modulo the total weight, select the arm whose cumulative weight range holds
// the value. Stable across processes, machines and releases (no seeded or
// process-local hash), independent of the order in which customers are
// evaluated. Changing the arms list (names, weights or order) may move
// customers between arms.
//
// ArmAssigner is immutable after construction; thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/repeated_field.h"
#include "segmentd/v1/targeting.pb.h"
#include "server/sha256.h"

namespace segmentd::targeting {

inline constexpr int kMaxArms = 16;
inline constexpr int kMaxArmNameBytes = 64;
// Largest weight of one arm (so weight totals stay far from 2^64 and the
// modulo bias is below 2^-40).
inline constexpr uint32_t kMaxArmWeight = 1'000'000;

// Returns OK when there are at most kMaxArms arms with unique names of 1-64
// bytes and weights in [1, kMaxArmWeight]; else INVALID_ARGUMENT naming the
// bad field below `field`, e.g. "target.arms[2].weight". An empty list is
// valid (no split).
absl::Status ValidateArms(const google::protobuf::RepeatedPtrField<v1::Arm>& arms,
                          absl::string_view field);

// Returns the 64-bit arm hash of one customer of a voucher of a tenant.
uint64_t ArmHash(absl::string_view tenant, absl::string_view voucher_id,
                 absl::string_view customer_id);

// Assigns customers of one voucher to its (valid) arms.
class ArmAssigner {
 public:
  ArmAssigner(absl::string_view tenant, absl::string_view voucher_id,
              const google::protobuf::RepeatedPtrField<v1::Arm>& arms);

  // Returns true when the voucher has a split.
  bool has_arms() const { return !names_.empty(); }
  // Returns the names of the arms, in order.
  const std::vector<std::string>& names() const { return names_; }

  // Returns the index of `customer_id`'s arm in names(); 0 when there is no split.
  int ArmIndex(absl::string_view customer_id) const;
  // Returns the name of `customer_id`'s arm; "" when there is no split.
  const std::string& Arm(absl::string_view customer_id) const;

 private:
  // SHA-256 state after the hash input before the customer id (domain,
  // tenant, voucher id); none without a split.
  std::optional<Sha256Prefix> prefix_;
  std::vector<std::string> names_;
  // Cumulative weights: arm i holds values in [bounds_[i-1], bounds_[i]).
  std::vector<uint64_t> bounds_;
  const std::string empty_;
};

}  // namespace segmentd::targeting

#endif  // SEGMENTD_SERVER_TARGETING_ARMS_H_
