// RedisAddress: where a Redis server listens, a Unix socket or a TCP host:port.
//
// Parsed from the forms operators type into flags:
//   unix:/run/redis.sock   unix:///run/redis.sock   /run/redis.sock
//   localhost:6379   tcp://10.0.0.5:6379   [::1]:6379   tcp://[::1]:6379
//
// A plain value type; thread-compatible.
#ifndef SEGMENTD_STORE_REDIS_REDIS_ADDRESS_H_
#define SEGMENTD_STORE_REDIS_REDIS_ADDRESS_H_

#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace segmentd::store::redis {

class RedisAddress {
 public:
  enum class Kind { kUnix, kTcp };

  // Parses `text` (see the forms above). Returns INVALID_ARGUMENT naming the
  // input and what is wrong: empty, unknown scheme, empty or too long socket
  // path, missing host, missing or out-of-range port, unbracketed IPv6.
  static absl::StatusOr<RedisAddress> Parse(absl::string_view text);

  // Returns a Unix socket address. `path` is not validated; prefer Parse for
  // untrusted input.
  static RedisAddress Unix(std::string path);
  // Returns a TCP address. `host` is a name or an IP address (IPv6 without
  // brackets); `port` is not validated; prefer Parse for untrusted input.
  static RedisAddress Tcp(std::string host, int port);

  // The default address of a stock Redis: 127.0.0.1:6379.
  RedisAddress() : RedisAddress(Tcp("127.0.0.1", 6379)) {}

  Kind kind() const { return kind_; }
  bool is_unix() const { return kind_ == Kind::kUnix; }
  // The socket path; empty for TCP addresses.
  const std::string& path() const { return path_; }
  // The host; empty for Unix addresses.
  const std::string& host() const { return host_; }
  // The port; 0 for Unix addresses.
  int port() const { return port_; }

  // Returns "unix:/path" or "host:port" ("[v6]:port"); Parse accepts it back.
  std::string ToString() const;

  friend bool operator==(const RedisAddress& a, const RedisAddress& b) {
    return a.kind_ == b.kind_ && a.path_ == b.path_ && a.host_ == b.host_ &&
           a.port_ == b.port_;
  }
  friend bool operator!=(const RedisAddress& a, const RedisAddress& b) {
    return !(a == b);
  }

 private:
  RedisAddress(Kind kind, std::string path, std::string host, int port)
      : kind_(kind), path_(std::move(path)), host_(std::move(host)), port_(port) {}

  Kind kind_;
  std::string path_;
  std::string host_;
  int port_;
};

}  // namespace segmentd::store::redis

#endif  // SEGMENTD_STORE_REDIS_REDIS_ADDRESS_H_
