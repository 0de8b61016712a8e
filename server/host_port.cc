#include "server/host_port.h"

#include <cstdint>

#include "absl/strings/numbers.h"

namespace segmentd {

bool IsHostPort(absl::string_view address, bool host_required) {
  const size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos || (host_required && colon == 0)) return false;
  const absl::string_view digits = address.substr(colon + 1);
  uint32_t port = 0;
  return !digits.empty() && digits.find_first_not_of("0123456789") == absl::string_view::npos &&
         absl::SimpleAtoi(digits, &port) && port <= 65535;
}

}  // namespace segmentd
