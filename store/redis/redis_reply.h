// RedisReply: one RESP2 reply, copied out of hiredis into an owning value.
//
// A reply is nil, an integer, a (binary-safe) bulk string, a status ("+OK"),
// an error ("-ERR ..."), or an array of replies. Errors that Redis itself
// returns are replies, not failed statuses: `RedisClient` returns them as
// `RedisReply` of type kError and callers decide; `RedisErrorToStatus` maps
// one to an `absl::Status` when a caller treats every error as failure.
//
// A plain value type; thread-compatible.
#ifndef SEGMENTD_STORE_REDIS_REDIS_REPLY_H_
#define SEGMENTD_STORE_REDIS_REDIS_REPLY_H_

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace segmentd::store::redis {

class RedisReply {
 public:
  enum class Type { kNil, kInteger, kString, kStatus, kError, kArray };

  static RedisReply Nil() { return RedisReply(Type::kNil); }
  static RedisReply Integer(int64_t value);
  static RedisReply String(std::string value);
  static RedisReply Status(std::string value);
  static RedisReply Error(std::string message);
  static RedisReply Array(std::vector<RedisReply> elements);

  // A nil reply.
  RedisReply() : RedisReply(Type::kNil) {}

  Type type() const { return type_; }
  bool is_nil() const { return type_ == Type::kNil; }
  bool is_integer() const { return type_ == Type::kInteger; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_status() const { return type_ == Type::kStatus; }
  bool is_error() const { return type_ == Type::kError; }
  bool is_array() const { return type_ == Type::kArray; }

  // The value of an integer reply; 0 for other types.
  int64_t integer() const { return integer_; }
  // The bytes of a string reply, the text of a status or error reply; empty
  // for other types.
  const std::string& str() const { return str_; }
  // The elements of an array reply; empty for other types.
  const std::vector<RedisReply>& elements() const { return elements_; }
  std::vector<RedisReply>& mutable_elements() { return elements_; }

  // Returns true for an error reply whose first word is `prefix`, e.g.
  // IsErrorWithPrefix("NOSCRIPT") or IsErrorWithPrefix("WRONGTYPE").
  bool IsErrorWithPrefix(absl::string_view prefix) const;

  // Returns a short human-readable form for logs and test failures, e.g.
  // `"a\000b"`, `(integer) 3`, `(error) ERR ...`, `[(nil), "x"]`.
  std::string DebugString() const;

  friend bool operator==(const RedisReply& a, const RedisReply& b);
  friend bool operator!=(const RedisReply& a, const RedisReply& b) {
    return !(a == b);
  }
  friend std::ostream& operator<<(std::ostream& os, const RedisReply& reply) {
    return os << reply.DebugString();
  }

 private:
  explicit RedisReply(Type type) : type_(type) {}

  Type type_;
  int64_t integer_ = 0;
  std::string str_;
  std::vector<RedisReply> elements_;
};

// Returns OK unless `reply` is an error reply, which maps by its first word:
//   WRONGTYPE, NOSCRIPT, EXECABORT, NOPERM, NOAUTH -> FAILED_PRECONDITION
//   (the data or the server is not in the state the command needs);
//   OOM -> RESOURCE_EXHAUSTED;
//   LOADING, BUSY, MASTERDOWN, TRYAGAIN, READONLY, CLUSTERDOWN -> UNAVAILABLE
//   (transient: retrying later may succeed);
//   anything else (ERR ..., script errors) -> INTERNAL (a malformed command
//   or a bug in a script).
// The message is the Redis error text.
absl::Status RedisErrorToStatus(const RedisReply& reply);

// Returns `reply` unchanged, or its error mapped by RedisErrorToStatus: turns
// "an error reply is data" into "an error reply is a failure" in one call:
//   absl::StatusOr<RedisReply> r = ErrorReplyAsStatus(client.Command({...}));
absl::StatusOr<RedisReply> ErrorReplyAsStatus(absl::StatusOr<RedisReply> reply);

// One page of an SSCAN: the cursor to pass next ("0": the scan is complete)
// and the members read.
struct SscanPage {
  std::string cursor;
  std::vector<std::string> members;
};
// Returns the page an SSCAN reply holds, or nullopt when `reply` is not
// shaped like one (the caller says what it expected).
std::optional<SscanPage> SscanPageOf(const RedisReply& reply);

}  // namespace segmentd::store::redis

#endif  // SEGMENTD_STORE_REDIS_REDIS_REPLY_H_
