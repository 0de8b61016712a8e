#ifndef SEGMENTD_SERVER_METRICS_METRICS_EXPOSER_H_
#define SEGMENTD_SERVER_METRICS_METRICS_EXPOSER_H_

// Serves a Metrics registry as Prometheus text on http://<address>/metrics
// (prometheus-cpp's civetweb exposer, two threads). Plain HTTP and no auth:
// bind it to loopback or a network only the scraper reaches.

#include <prometheus/exposer.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/metrics/metrics.h"

namespace segmentd {

class MetricsExposer {
 public:
  // `address` is host:port (port 0: a free one, see port()). `metrics` must
  // outlive the exposer. Fails naming --metrics_listen: INVALID_ARGUMENT when
  // the address is not host:port with a port in [0, 65535], UNAVAILABLE when it
  // cannot be bound (a port in use).
  static absl::StatusOr<std::unique_ptr<MetricsExposer>> Start(const std::string& address,
                                                               Metrics* metrics);

  int port() const { return port_; }

 private:
  MetricsExposer(std::unique_ptr<prometheus::Exposer> exposer, int port)
      : exposer_(std::move(exposer)), port_(port) {}

  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_;
};

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_METRICS_METRICS_EXPOSER_H_
