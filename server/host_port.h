#ifndef SEGMENTD_SERVER_HOST_PORT_H_
#define SEGMENTD_SERVER_HOST_PORT_H_

#include "absl/strings/string_view.h"

namespace segmentd {

// Whether `address` is "<host>:<port>" with a port of decimal digits only,
// 0-65535 (the last ':' splits, so "[::1]:80" is one). `host_required`: the
// host may not be empty. Checked before handing an address to a listener:
// gRPC takes a port it cannot parse as another one (none: 443; 99999: modulo
// 65536), and civetweb's failure would read as a port in use.
bool IsHostPort(absl::string_view address, bool host_required);

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_HOST_PORT_H_
