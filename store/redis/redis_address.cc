#include "store/redis/redis_address.h"

#include <sys/un.h>

#include <utility>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace segmentd::store::redis {
namespace {

// Longest Unix socket path the kernel accepts (sun_path minus the NUL).
constexpr size_t kMaxSocketPath = sizeof(sockaddr_un::sun_path) - 1;

absl::Status Invalid(absl::string_view text, absl::string_view reason) {
  return absl::InvalidArgumentError(absl::StrCat(
      "invalid Redis address \"", absl::CHexEscape(text), "\": ", reason));
}

absl::StatusOr<RedisAddress> ParseUnix(absl::string_view text,
                                       absl::string_view path) {
  if (path.empty()) return Invalid(text, "empty Unix socket path");
  if (path.find('\0') != absl::string_view::npos) {
    return Invalid(text, "Unix socket path contains a NUL byte");
  }
  if (path.size() > kMaxSocketPath) {
    return Invalid(text, absl::StrCat("Unix socket path longer than ",
                                      kMaxSocketPath, " bytes"));
  }
  return RedisAddress::Unix(std::string(path));
}

absl::StatusOr<RedisAddress> ParseHostPort(absl::string_view text,
                                           absl::string_view host_port) {
  absl::string_view host;
  absl::string_view port_text;
  if (absl::StartsWith(host_port, "[")) {
    size_t close = host_port.find(']');
    if (close == absl::string_view::npos) {
      return Invalid(text, "missing ']' after IPv6 address");
    }
    host = host_port.substr(1, close - 1);
    absl::string_view rest = host_port.substr(close + 1);
    if (!absl::StartsWith(rest, ":")) {
      return Invalid(text, "expected host:port (missing port)");
    }
    port_text = rest.substr(1);
  } else {
    size_t colon = host_port.rfind(':');
    if (colon == absl::string_view::npos) {
      return Invalid(text,
                     "expected host:port, unix:/path or an absolute socket path");
    }
    host = host_port.substr(0, colon);
    port_text = host_port.substr(colon + 1);
    if (host.find(':') != absl::string_view::npos) {
      return Invalid(text, "IPv6 addresses need brackets: [::1]:6379");
    }
  }
  if (host.empty()) return Invalid(text, "empty host");
  for (char c : host) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c)) || c == '/' ||
        c == '\0' || c == '[' || c == ']') {
      return Invalid(text, "host contains an invalid character");
    }
  }
  if (port_text.empty()) return Invalid(text, "missing port");
  int port = 0;
  if (!absl::c_all_of(port_text, [](char c) { return absl::ascii_isdigit(c); }) ||
      !absl::SimpleAtoi(port_text, &port) || port < 1 || port > 65535) {
    return Invalid(text, "port must be a number from 1 to 65535");
  }
  return RedisAddress::Tcp(std::string(host), port);
}

}  // namespace

absl::StatusOr<RedisAddress> RedisAddress::Parse(absl::string_view text) {
  if (text.empty()) return Invalid(text, "empty address");
  absl::string_view rest = text;
  if (absl::ConsumePrefix(&rest, "unix://") || absl::ConsumePrefix(&rest, "unix:")) {
    return ParseUnix(text, rest);
  }
  if (absl::StartsWith(text, "/")) return ParseUnix(text, text);
  if (absl::ConsumePrefix(&rest, "tcp://")) return ParseHostPort(text, rest);
  if (rest.find("://") != absl::string_view::npos) {
    return Invalid(text, "unsupported scheme (use unix: or tcp://)");
  }
  return ParseHostPort(text, rest);
}

RedisAddress RedisAddress::Unix(std::string path) {
  return RedisAddress(Kind::kUnix, std::move(path), "", 0);
}

RedisAddress RedisAddress::Tcp(std::string host, int port) {
  return RedisAddress(Kind::kTcp, "", std::move(host), port);
}

std::string RedisAddress::ToString() const {
  if (kind_ == Kind::kUnix) {
    // "unix:" + "//x" would parse back as "unix://" + "x".
    return absl::StrCat(absl::StartsWith(path_, "//") ? "unix://" : "unix:", path_);
  }
  if (host_.find(':') != std::string::npos) {
    return absl::StrCat("[", host_, "]:", port_);
  }
  return absl::StrCat(host_, ":", port_);
}

}  // namespace segmentd::store::redis
