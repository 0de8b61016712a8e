#include "server/metrics/metrics_exposer.h"

#include <exception>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/host_port.h"

namespace segmentd {

absl::StatusOr<std::unique_ptr<MetricsExposer>> MetricsExposer::Start(const std::string& address,
                                                                      Metrics* metrics) {
  if (metrics == nullptr) return absl::InvalidArgumentError("metrics: must not be null");
  // The port checked here, so that a malformed one is a usage error and
  // only a failed bind is UNAVAILABLE.
  if (!IsHostPort(address, /*host_required=*/false)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--metrics_listen: expected host:port, got \"", address, "\""));
  }
  std::unique_ptr<prometheus::Exposer> exposer;
  // civetweb reports a failed bind by throwing; nothing else here does.
  try {
    exposer = std::make_unique<prometheus::Exposer>(address, /*num_threads=*/2);
  } catch (const std::exception& e) {
    // Mostly a port in use: a failure to start, not a malformed flag (as
    // for the gRPC port).
    return absl::UnavailableError(
        absl::StrCat("--metrics_listen: cannot listen on ", address, ": ", e.what()));
  }
  exposer->RegisterCollectable(metrics->registry());
  const std::vector<int> ports = exposer->GetListeningPorts();
  if (ports.empty()) {
    return absl::InternalError(absl::StrCat("--metrics_listen: no port bound for ", address));
  }
  return std::unique_ptr<MetricsExposer>(new MetricsExposer(std::move(exposer), ports[0]));
}

}  // namespace segmentd
