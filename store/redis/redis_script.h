// RedisScript: a Lua script that RedisClient::Eval runs with EVALSHA.
//
// Holds the source and, once the script has been used, the SHA1 digest Redis
// returned from SCRIPT LOAD. Redis forgets loaded scripts on restart and on
// SCRIPT FLUSH; Eval then sees NOSCRIPT, loads the source again and retries
// once, so one RedisScript can live as long as the process:
//
//   static const RedisScript* const kIncrIfExists = new RedisScript(R"lua(
//     if redis.call('EXISTS', KEYS[1]) == 1 then
//       return redis.call('INCRBY', KEYS[1], ARGV[1])
//     end
//     return false
//   )lua");
//   absl::StatusOr<RedisReply> r = client->Eval(*kIncrIfExists, {key}, {"1"});
//
// A script is taken to write: the source gets a "#!lua" first line (Redis 7
// script flags) unless it has one of its own, so Redis refuses the whole
// script while it is over its maxmemory, before any command runs. Without
// it, Redis checks only the script's first write command, and a script whose
// first write frees memory (SREM, ZREM, HDEL) went on to write the rest: a
// reviewer saw writes acknowledged while Redis was out of memory. A script
// that only reads starts "#!lua flags=no-writes" instead, and one that only
// deletes "#!lua flags=allow-oom": both run then too. (Script flags need
// Redis 7.0, as the change stream's XINFO fields do.)
//
// Thread-safe. Not copyable; share it by reference.
#ifndef SEGMENTD_STORE_REDIS_REDIS_SCRIPT_H_
#define SEGMENTD_STORE_REDIS_REDIS_SCRIPT_H_

#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace segmentd::store::redis {

class RedisScript {
 public:
  explicit RedisScript(std::string source) : source_(Declared(std::move(source))) {}

  RedisScript(const RedisScript&) = delete;
  RedisScript& operator=(const RedisScript&) = delete;

  // Returns the Lua source, as sent to Redis (with its flags line).
  const std::string& source() const { return source_; }

  // Returns the SHA1 (40 hex digits) learned from SCRIPT LOAD, or "" before
  // the script was first loaded.
  std::string sha1() const ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return sha1_;
  }

 private:
  friend class RedisClient;

  // `source` with the flags line of a writing script, unless it has one.
  static std::string Declared(std::string source) {
    if (source.rfind("#!", 0) == 0) return source;
    return "#!lua\n" + source;
  }

  // Records the digest SCRIPT LOAD returned. The digest of a source never
  // changes, so concurrent loads all store the same value.
  void set_sha1(std::string sha1) const ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    sha1_ = std::move(sha1);
  }

  const std::string source_;
  mutable absl::Mutex mu_;
  mutable std::string sha1_ ABSL_GUARDED_BY(mu_);
};

}  // namespace segmentd::store::redis

#endif  // SEGMENTD_STORE_REDIS_REDIS_SCRIPT_H_
