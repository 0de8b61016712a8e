#ifndef SEGMENTD_SERVER_TENANT_SLOTS_H_
#define SEGMENTD_SERVER_TENANT_SLOTS_H_

// TenantSlots: at most `per_tenant` of something open per tenant at once
// (long-lived streams: Watch, BulkIngest), so that one tenant's calls, each
// holding a server thread while it lasts, cannot take every thread of the
// server and with them every other tenant's calls. Per replica. Thread-safe.
//
//   TenantSlots::Slot slot = slots.Take(tenant);
//   if (!slot.held()) return ResourceExhausted(...);
//   ... // the slot is given back when `slot` goes out of scope

#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace segmentd {

class TenantSlots {
 public:
  explicit TenantSlots(int per_tenant) : per_tenant_(per_tenant) {}
  TenantSlots(const TenantSlots&) = delete;
  TenantSlots& operator=(const TenantSlots&) = delete;

  // One tenant's slot while it lives; held() false when the tenant had none
  // free (then it holds nothing).
  class Slot {
   public:
    Slot(Slot&& other) noexcept
        : slots_(std::exchange(other.slots_, nullptr)), tenant_(std::move(other.tenant_)) {}
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    Slot& operator=(Slot&&) = delete;
    ~Slot() {
      if (slots_ != nullptr) slots_->Give(tenant_);
    }
    bool held() const { return slots_ != nullptr; }

   private:
    friend class TenantSlots;
    Slot(TenantSlots* slots, std::string tenant) : slots_(slots), tenant_(std::move(tenant)) {}
    TenantSlots* slots_;  // null: nothing held
    std::string tenant_;
  };

  Slot Take(const std::string& tenant) {
    absl::MutexLock lock(&mu_);
    int& open = open_[tenant];
    if (open >= per_tenant_) {
      if (open == 0) open_.erase(tenant);
      return Slot(nullptr, tenant);
    }
    ++open;
    return Slot(this, tenant);
  }

  int per_tenant() const { return per_tenant_; }

 private:
  void Give(const std::string& tenant) {
    absl::MutexLock lock(&mu_);
    auto it = open_.find(tenant);
    if (it != open_.end() && --it->second == 0) open_.erase(it);
  }

  const int per_tenant_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, int> open_ ABSL_GUARDED_BY(mu_);
};

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_TENANT_SLOTS_H_
