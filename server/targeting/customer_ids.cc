#include "server/targeting/customer_ids.h"

#include "absl/hash/hash.h"

namespace segmentd::targeting {

CustomerIds::CustomerIds()
    : ids_(std::make_unique<Ids>()), ordinals_(0, Hash{ids_.get()}, Eq{ids_.get()}) {}

size_t CustomerIds::Hash::operator()(uint32_t ordinal) const {
  return absl::Hash<absl::string_view>()(ids->IdOf(ordinal));
}

size_t CustomerIds::Hash::operator()(absl::string_view id) const {
  return absl::Hash<absl::string_view>()(id);
}

void CustomerIds::Add(absl::string_view id) {
  ids_->bytes.append(id.data(), id.size());
  ids_->ends.push_back(ids_->bytes.size());
  ordinals_.insert(size());
}

std::optional<uint32_t> CustomerIds::OrdinalOf(absl::string_view id) const {
  auto it = ordinals_.find(id);
  if (it == ordinals_.end()) return std::nullopt;
  return *it;
}

}  // namespace segmentd::targeting
