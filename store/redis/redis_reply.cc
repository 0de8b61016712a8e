#include "store/redis/redis_reply.h"

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace segmentd::store::redis {

RedisReply RedisReply::Integer(int64_t value) {
  RedisReply reply(Type::kInteger);
  reply.integer_ = value;
  return reply;
}

RedisReply RedisReply::String(std::string value) {
  RedisReply reply(Type::kString);
  reply.str_ = std::move(value);
  return reply;
}

RedisReply RedisReply::Status(std::string value) {
  RedisReply reply(Type::kStatus);
  reply.str_ = std::move(value);
  return reply;
}

RedisReply RedisReply::Error(std::string message) {
  RedisReply reply(Type::kError);
  reply.str_ = std::move(message);
  return reply;
}

RedisReply RedisReply::Array(std::vector<RedisReply> elements) {
  RedisReply reply(Type::kArray);
  reply.elements_ = std::move(elements);
  return reply;
}

bool RedisReply::IsErrorWithPrefix(absl::string_view prefix) const {
  if (!is_error() || !absl::StartsWith(str_, prefix)) return false;
  return str_.size() == prefix.size() || str_[prefix.size()] == ' ';
}

std::string RedisReply::DebugString() const {
  switch (type_) {
    case Type::kNil:
      return "(nil)";
    case Type::kInteger:
      return absl::StrCat("(integer) ", integer_);
    case Type::kString:
      return absl::StrCat("\"", absl::CHexEscape(str_), "\"");
    case Type::kStatus:
      return absl::StrCat("(status) ", absl::CHexEscape(str_));
    case Type::kError:
      return absl::StrCat("(error) ", absl::CHexEscape(str_));
    case Type::kArray:
      return absl::StrCat(
          "[",
          absl::StrJoin(elements_, ", ",
                        [](std::string* out, const RedisReply& element) {
                          absl::StrAppend(out, element.DebugString());
                        }),
          "]");
  }
  return "(unknown)";
}

bool operator==(const RedisReply& a, const RedisReply& b) {
  return a.type_ == b.type_ && a.integer_ == b.integer_ && a.str_ == b.str_ &&
         a.elements_ == b.elements_;
}

absl::Status RedisErrorToStatus(const RedisReply& reply) {
  if (!reply.is_error()) return absl::OkStatus();
  const std::string& message = reply.str();
  for (absl::string_view prefix :
       {"WRONGTYPE", "NOSCRIPT", "EXECABORT", "NOPERM", "NOAUTH"}) {
    if (reply.IsErrorWithPrefix(prefix)) {
      return absl::FailedPreconditionError(message);
    }
  }
  // Redis's own text names the script's SHA and line: internals a caller
  // can do nothing with. Redis refuses a command (and a script at its first
  // write) whole; commands before it in the same pipeline may have been
  // applied, which a retry of idempotent events finds so.
  if (reply.IsErrorWithPrefix("OOM")) {
    return absl::ResourceExhaustedError(
        "Redis is out of memory (over its maxmemory): the write it refused was not applied; "
        "retry once an operator has given it room");
  }
  for (absl::string_view prefix : {"LOADING", "BUSY", "MASTERDOWN", "TRYAGAIN",
                                   "READONLY", "CLUSTERDOWN"}) {
    if (reply.IsErrorWithPrefix(prefix)) return absl::UnavailableError(message);
  }
  return absl::InternalError(message);
}

std::optional<SscanPage> SscanPageOf(const RedisReply& reply) {
  if (!reply.is_array() || reply.elements().size() != 2 || !reply.elements()[1].is_array()) {
    return std::nullopt;
  }
  SscanPage page;
  page.cursor = reply.elements()[0].str();
  for (const RedisReply& member : reply.elements()[1].elements()) {
    page.members.push_back(member.str());
  }
  return page;
}

absl::StatusOr<RedisReply> ErrorReplyAsStatus(absl::StatusOr<RedisReply> reply) {
  if (!reply.ok()) return reply;
  if (absl::Status status = RedisErrorToStatus(*reply); !status.ok()) {
    return status;
  }
  return reply;
}

}  // namespace segmentd::store::redis
