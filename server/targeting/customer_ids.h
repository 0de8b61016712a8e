#ifndef SEGMENTD_SERVER_TARGETING_CUSTOMER_IDS_H_
#define SEGMENTD_SERVER_TARGETING_CUSTOMER_IDS_H_

// CustomerIds: a tenant's customer ids and their dense ordinals (1, 2, ...),
// both ways, compactly: every id's bytes once in one buffer, the ordinal ->
// id direction as end offsets, the id -> ordinal direction as a hash set of
// ordinals hashed by the ids they name. About 13 bytes per customer beyond
// the id itself, where a vector of std::string plus a map keyed by
// std::string held each id twice (~100 bytes per customer at 1M).
//
// Movable, not copyable; thread-compatible.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"

namespace segmentd::targeting {

class CustomerIds {
 public:
  CustomerIds();
  CustomerIds(CustomerIds&&) = default;
  CustomerIds& operator=(CustomerIds&&) = default;

  // Number of ids (= the highest ordinal).
  uint32_t size() const { return static_cast<uint32_t>(ids_->ends.size()); }
  // Appends `id` under ordinal size() + 1 (ids are unique: the caller's).
  void Add(absl::string_view id);
  // The id of ordinal 1..size().
  absl::string_view IdOf(uint32_t ordinal) const { return ids_->IdOf(ordinal); }
  // The ordinal of `id`, or nullopt.
  std::optional<uint32_t> OrdinalOf(absl::string_view id) const;

 private:
  // Behind a pointer so that the hash set's functors, which read ids from
  // it, stay valid when CustomerIds moves.
  struct Ids {
    std::string bytes;
    // ends[ordinal - 1]: where that id ends in `bytes`.
    std::vector<uint64_t> ends;
    absl::string_view IdOf(uint32_t ordinal) const {
      const uint64_t begin = ordinal == 1 ? 0 : ends[ordinal - 2];
      return absl::string_view(bytes.data() + begin, ends[ordinal - 1] - begin);
    }
  };
  // Hash and equality over ordinals that compare the ids they name, and
  // look up by id directly (heterogeneous lookup).
  struct Hash {
    using is_transparent = void;
    const Ids* ids;
    size_t operator()(uint32_t ordinal) const;
    size_t operator()(absl::string_view id) const;
  };
  struct Eq {
    using is_transparent = void;
    const Ids* ids;
    bool operator()(uint32_t a, uint32_t b) const { return a == b; }
    bool operator()(uint32_t a, absl::string_view b) const { return ids->IdOf(a) == b; }
    bool operator()(absl::string_view a, uint32_t b) const { return a == ids->IdOf(b); }
  };

  std::unique_ptr<Ids> ids_;
  absl::flat_hash_set<uint32_t, Hash, Eq> ordinals_;
};

}  // namespace segmentd::targeting

#endif  // SEGMENTD_SERVER_TARGETING_CUSTOMER_IDS_H_
