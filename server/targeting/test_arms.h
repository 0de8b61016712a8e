#ifndef SEGMENTD_SERVER_TARGETING_TEST_ARMS_H_
#define SEGMENTD_SERVER_TARGETING_TEST_ARMS_H_

// Tests' shorthand for an arms list: Arms({{"offer", 90}, {"holdout", 10}}).

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "google/protobuf/repeated_field.h"
#include "segmentd/v1/targeting.pb.h"

namespace segmentd::targeting {

inline google::protobuf::RepeatedPtrField<v1::Arm> Arms(
    const std::vector<std::pair<std::string, uint32_t>>& arms) {
  google::protobuf::RepeatedPtrField<v1::Arm> out;
  for (const auto& [name, weight] : arms) {
    v1::Arm* a = out.Add();
    a->set_name(name);
    a->set_weight(weight);
  }
  return out;
}

}  // namespace segmentd::targeting

#endif  // SEGMENTD_SERVER_TARGETING_TEST_ARMS_H_
