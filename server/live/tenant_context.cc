#include "server/live/tenant_context.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/time_ms.h"
#include "segmentd/v1/config.pb.h"
#include "server/config_convert.h"
#include "server/live/customer_measures.h"
#include "server/live/stats_in_use.h"
#include "server/log.h"

namespace segmentd {
namespace {

// The 1-based place of the last member of the top `percent`% of `buyers`:
// ceil(percent * buyers / 100) (SPEC section 5).
int64_t TopPlace(int32_t percent, int64_t buyers) {
  return engine::PercentilePlaces(buyers, percent);
}

}  // namespace

absl::StatusOr<std::pair<engine::SegmentConfig, int64_t>> LoadConfig(store::CustomerStore* store,
                                                                     const std::string& tenant) {
  absl::StatusOr<std::optional<store::VersionedBlob>> blob = store->ReadConfig(tenant);
  if (!blob.ok()) return blob.status();
  return ParseStoredConfig(*blob, tenant);
}

absl::StatusOr<std::pair<engine::SegmentConfig, int64_t>> ParseStoredConfig(
    const std::optional<store::VersionedBlob>& blob, const std::string& tenant) {
  if (!blob.has_value()) return std::make_pair(engine::SegmentConfig(), int64_t{0});
  v1::SegmentConfig proto;
  if (!proto.ParseFromString(blob->bytes)) {
    return absl::DataLossError(absl::StrCat("stored config of tenant ", tenant, " is corrupt"));
  }
  absl::StatusOr<engine::SegmentConfig> config = ConfigFromProto(proto, "stored config.");
  if (!config.ok()) return absl::DataLossError(config.status().message());
  return std::make_pair(*std::move(config), blob->version);
}

TenantContexts::TenantContexts(store::CustomerStore* store, Options options)
    : store_(store),
      options_(std::move(options)),
      replica_id_(options_.replica_id.empty() ? NewReplicaId() : options_.replica_id) {}

absl::Status TenantContexts::MarkStatsInUse(const std::string& tenant, const std::string& field,
                                            absl::Time at) {
  if (absl::Status lost = options_.store_lost(); !lost.ok()) return lost;
  absl::MutexLock lock(&stats_mu_);
  // Alive before its first entry: another replica's mover adopts the
  // entries of a replica it does not find alive.
  if (!marked_alive_) {
    if (absl::Status s = MarkAliveLocked(); !s.ok()) return s;
  }
  int& users = stats_in_use_[tenant][field];
  if (users == 0) {
    // Recorded before any write can use it: a replica that dies after a
    // write committed with these statistics leaves them for another to apply.
    if (absl::Status s = store_->AddStatsInUse(tenant, field, StatsInUseValue(at)); !s.ok()) {
      stats_in_use_[tenant].erase(field);
      return s;
    }
    std::vector<std::string>& unremoved = stats_unremoved_[tenant];
    unremoved.erase(std::remove(unremoved.begin(), unremoved.end(), field), unremoved.end());
  }
  ++users;
  return absl::OkStatus();
}

absl::Status TenantContexts::MarkAlive() {
  absl::MutexLock lock(&stats_mu_);
  return MarkAliveLocked();
}

absl::Status TenantContexts::MarkAliveLocked() {
  if (absl::Status lost = options_.store_lost(); !lost.ok()) return lost;
  absl::StatusOr<bool> was = store_->MarkReplicaAlive(replica_id_, options_.alive_for);
  if (!was.ok()) return was.status();
  // A re-recording that failed midway is finished by the next mark.
  const bool lapsed = (marked_alive_ && !*was) || record_again_;
  marked_alive_ = true;
  if (!lapsed) return absl::OkStatus();
  record_again_ = true;
  // Unheard of for alive_for (a pause of this process, or of its link to
  // Redis): other movers may have adopted and removed entries this replica
  // still uses. Recorded again, they are covered if it dies after all.
  const std::string at = StatsInUseValue(options_.now());
  int64_t entries = 0;
  for (const auto& [tenant, fields] : stats_in_use_) {
    for (const auto& [field, users] : fields) {
      if (absl::Status s = store_->AddStatsInUse(tenant, field, at); !s.ok()) return s;
      ++entries;
    }
  }
  record_again_ = false;
  // This process repairing itself after an outage: information, not an error.
  LogInfo(absl::StrCat("this replica (", replica_id_, ") was not marked alive for ",
                       absl::FormatDuration(options_.alive_for), ": recorded its ", entries,
                       " statistics-in-use entries again"));
  return absl::OkStatus();
}

TenantContexts::ConfigApplication::ConfigApplication(TenantContexts* contexts, std::string tenant)
    : contexts_(contexts), tenant_(std::move(tenant)) {
  absl::MutexLock lock(&contexts_->mu_);
  ++contexts_->applying_[tenant_];
}

TenantContexts::ConfigApplication::~ConfigApplication() {
  absl::MutexLock lock(&contexts_->mu_);
  if (--contexts_->applying_[tenant_] == 0) contexts_->applying_.erase(tenant_);
}

bool TenantContexts::ApplyingConfig(const std::string& tenant) {
  absl::MutexLock lock(&mu_);
  return applying_.contains(tenant);
}

absl::StatusOr<engine::PopulationStats> TenantContexts::ComputeStats(
    const std::string& tenant, const engine::SegmentConfig& config, absl::Time as_of) {
  engine::PopulationStats stats;
  absl::StatusOr<int64_t> buyers = store_->Buyers(tenant);
  if (!buyers.ok()) return buyers.status();
  stats.buyers = *buyers;
  absl::StatusOr<std::optional<int64_t>> vip =
      store_->OrdersAtRank(tenant, TopPlace(config.vip.top_percent, stats.buyers));
  if (!vip.ok()) return vip.status();
  stats.vip_order_cutoff = *vip;
  absl::StatusOr<std::optional<int64_t>> high =
      store_->RevenueAtRank(tenant, TopPlace(config.value_tiers.high_percent, stats.buyers));
  if (!high.ok()) return high.status();
  stats.high_value_cutoff = *high;
  absl::StatusOr<std::optional<int64_t>> medium = store_->RevenueAtRank(
      tenant,
      TopPlace(config.value_tiers.high_percent + config.value_tiers.medium_percent, stats.buyers));
  if (!medium.ok()) return medium.status();
  stats.medium_value_cutoff = *medium;
  for (int32_t lookback : {config.big_spender.lookback_days, config.low_spender.lookback_days}) {
    if (stats.FindWindow(lookback) != nullptr) continue;
    absl::StatusOr<engine::WindowTotals> window = WindowAt(tenant, lookback, as_of);
    if (!window.ok()) return window.status();
    stats.windows.push_back(*window);
  }
  return stats;
}

absl::StatusOr<engine::WindowTotals> TenantContexts::WindowAt(const std::string& tenant,
                                                              int32_t lookback_days,
                                                              absl::Time as_of) {
  // (as_of - lookback_days, as_of], as the engine counts it.
  const int64_t end = absl::ToUnixMillis(as_of);
  absl::StatusOr<store::DayTotals> totals =
      store_->OrderTotalsIn(tenant, end - engine::DaysToMillis(lookback_days), end);
  if (!totals.ok()) return totals.status();
  return engine::WindowTotals{lookback_days, totals->revenue, totals->orders};
}

absl::StatusOr<std::shared_ptr<const engine::Classifier>> TenantContexts::ClassifierAt(
    const std::string& tenant, const std::shared_ptr<const TenantSnapshot>& snapshot,
    absl::Time as_of) {
  std::vector<int32_t> lookbacks;
  for (store::AovIndex index : {store::AovIndex::kBigSpender, store::AovIndex::kLowSpender}) {
    if (AovIndexInUse(snapshot->config, index)) {
      lookbacks.push_back(SpenderRuleOf(snapshot->config, index).lookback_days);
    }
  }
  if (lookbacks.empty()) return snapshot->classifier;
  {
    absl::MutexLock lock(&mu_);
    if (auto it = classifiers_at_.find(tenant); it != classifiers_at_.end() &&
                                                it->second.snapshot.lock() == snapshot &&
                                                it->second.as_of == as_of) {
      return it->second.classifier;
    }
  }
  engine::PopulationStats stats = snapshot->stats;
  for (int32_t lookback : lookbacks) {
    absl::StatusOr<engine::WindowTotals> window = WindowAt(tenant, lookback, as_of);
    if (!window.ok()) return window.status();
    stats.windows.erase(
        std::remove_if(stats.windows.begin(), stats.windows.end(),
                       [&](const engine::WindowTotals& w) { return w.lookback_days == lookback; }),
        stats.windows.end());
    stats.windows.push_back(*window);
  }
  absl::StatusOr<engine::Classifier> made = engine::Classifier::Create(snapshot->config, stats);
  if (!made.ok()) return made.status();
  auto classifier = std::make_shared<const engine::Classifier>(*std::move(made));
  absl::MutexLock lock(&mu_);
  classifiers_at_[tenant] = {snapshot, as_of, classifier};
  return classifier;
}

absl::StatusOr<std::shared_ptr<const TenantSnapshot>> TenantContexts::Load(
    const std::string& tenant) {
  auto snapshot = std::make_shared<TenantSnapshot>();
  snapshot->loaded_at = options_.now();
  absl::StatusOr<std::pair<engine::SegmentConfig, int64_t>> config = LoadConfig(store_, tenant);
  if (!config.ok()) return config.status();
  snapshot->config = std::move(config->first);
  snapshot->config_version = config->second;
  absl::StatusOr<engine::PopulationStats> stats =
      ComputeStats(tenant, snapshot->config, snapshot->loaded_at);
  if (!stats.ok()) return stats.status();
  snapshot->stats = *std::move(stats);
  absl::StatusOr<engine::Classifier> classifier =
      engine::Classifier::Create(snapshot->config, snapshot->stats);
  if (!classifier.ok()) return classifier.status();
  snapshot->classifier = std::make_shared<const engine::Classifier>(*std::move(classifier));
  absl::StatusOr<std::vector<std::string>> names = store_->CategoryNames(tenant);
  if (!names.ok()) return names.status();
  snapshot->category_names = std::make_shared<const std::vector<std::string>>(*std::move(names));
  for (size_t id = 0; id < snapshot->category_names->size(); ++id) {
    snapshot->category_ids.emplace((*snapshot->category_names)[id],
                                   static_cast<engine::CategoryId>(id));
  }

  snapshot->stats_in_use =
      StatsInUseField(replica_id_, StatsInUseOf(snapshot->config, snapshot->stats));
  if (absl::Status s = MarkStatsInUse(tenant, snapshot->stats_in_use, snapshot->loaded_at);
      !s.ok()) {
    return s;
  }

  std::shared_ptr<const TenantSnapshot> result = std::move(snapshot);
  absl::MutexLock lock(&mu_);
  snapshots_[tenant] = result;
  issued_[tenant].push_back(result);
  return result;
}

std::vector<std::shared_ptr<const TenantSnapshot>> TenantContexts::Issued(
    const std::string& tenant) {
  absl::MutexLock lock(&mu_);
  auto it = issued_.find(tenant);
  if (it == issued_.end()) return {};
  return it->second;
}

std::vector<const TenantSnapshot*> TenantContexts::Settled(const std::string& tenant) {
  absl::MutexLock lock(&mu_);
  std::vector<const TenantSnapshot*> settled;
  auto it = issued_.find(tenant);
  if (it == issued_.end()) return settled;
  for (const std::shared_ptr<const TenantSnapshot>& s : it->second) {
    if (s.use_count() == 1) settled.push_back(s.get());
  }
  return settled;
}

absl::Status TenantContexts::Retire(const std::string& tenant,
                                    const std::vector<const TenantSnapshot*>& settled) {
  std::vector<std::string> fields;  // of the snapshots retired
  {
    absl::MutexLock lock(&mu_);
    auto it = issued_.find(tenant);
    if (it == issued_.end()) return absl::OkStatus();
    const absl::flat_hash_set<const TenantSnapshot*> gone(settled.begin(), settled.end());
    std::vector<std::shared_ptr<const TenantSnapshot>>& list = it->second;
    for (const std::shared_ptr<const TenantSnapshot>& s : list) {
      if (gone.contains(s.get())) fields.push_back(s->stats_in_use);
    }
    list.erase(std::remove_if(list.begin(), list.end(),
                              [&](const std::shared_ptr<const TenantSnapshot>& s) {
                                return gone.contains(s.get());
                              }),
               list.end());
  }
  absl::MutexLock lock(&stats_mu_);
  absl::flat_hash_map<std::string, int>& users = stats_in_use_[tenant];
  std::vector<std::string>& unused = stats_unremoved_[tenant];
  for (const std::string& field : fields) {
    auto it = users.find(field);
    if (it == users.end() || --it->second > 0) continue;
    users.erase(it);
    unused.push_back(field);
  }
  if (unused.empty()) return absl::OkStatus();
  if (absl::Status s = store_->RemoveStatsInUse(tenant, unused); !s.ok()) return s;
  unused.clear();
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const TenantSnapshot>> TenantContexts::Get(
    const std::string& tenant) {
  {
    absl::MutexLock lock(&mu_);
    auto it = snapshots_.find(tenant);
    if (it != snapshots_.end()) {
      if (ServedWithoutReadLocked(tenant, *it->second)) return it->second;
      // This caller reloads it, unless another's reload is taking long: then
      // it loads for itself below.
      if (!reloading_.contains(tenant)) {
        reloading_.insert(tenant);
        mu_.Unlock();
        absl::StatusOr<std::shared_ptr<const TenantSnapshot>> loaded = Load(tenant);
        mu_.Lock();
        reloading_.erase(tenant);
        return loaded;
      }
    }
  }
  return Load(tenant);
}

absl::StatusOr<std::shared_ptr<const TenantSnapshot>> TenantContexts::GetCurrent(
    const std::string& tenant) {
  absl::StatusOr<std::optional<store::VersionedBlob>> stored = store_->ReadConfig(tenant);
  if (!stored.ok()) return stored.status();
  return GetAtVersion(tenant, stored->has_value() ? (*stored)->version : 0);
}

absl::StatusOr<std::shared_ptr<const TenantSnapshot>> TenantContexts::GetAtVersion(
    const std::string& tenant, int64_t version) {
  absl::StatusOr<std::shared_ptr<const TenantSnapshot>> snapshot = Get(tenant);
  if (!snapshot.ok() || (*snapshot)->config_version == version) return snapshot;
  return Reload(tenant);
}

absl::StatusOr<std::shared_ptr<const TenantSnapshot>> TenantContexts::Reload(
    const std::string& tenant) {
  return Load(tenant);
}

bool TenantContexts::ServedWithoutReadLocked(const std::string& tenant,
                                             const TenantSnapshot& snapshot) const {
  const absl::Duration age = options_.now() - snapshot.loaded_at;
  // Past max_age, while another caller reloads it, the snapshot still serves
  // for as long again.
  return age < options_.max_age || (reloading_.contains(tenant) && age < 2 * options_.max_age);
}

std::optional<std::vector<engine::CategoryId>> TenantContexts::KnownCategoryIds(
    const std::string& tenant, const std::vector<std::string>& names) {
  std::shared_ptr<const TenantSnapshot> snapshot;
  {
    absl::MutexLock lock(&mu_);
    auto it = snapshots_.find(tenant);
    if (it == snapshots_.end() || !ServedWithoutReadLocked(tenant, *it->second)) {
      return std::nullopt;
    }
    snapshot = it->second;
  }
  std::vector<engine::CategoryId> ids;
  ids.reserve(names.size());
  for (const std::string& name : names) {
    auto it = snapshot->category_ids.find(name);
    if (it == snapshot->category_ids.end()) return std::nullopt;
    ids.push_back(it->second);
  }
  return ids;
}

absl::StatusOr<std::vector<engine::CategoryId>> TenantContexts::InternCategories(
    const std::string& tenant, const std::vector<std::string>& names) {
  if (names.empty()) return std::vector<engine::CategoryId>();
  {
    absl::StatusOr<std::shared_ptr<const TenantSnapshot>> snapshot = Get(tenant);
    if (!snapshot.ok()) return snapshot.status();
    std::vector<engine::CategoryId> known;
    for (const std::string& name : names) {
      auto it = (*snapshot)->category_ids.find(name);
      if (it == (*snapshot)->category_ids.end()) break;
      known.push_back(it->second);
    }
    if (known.size() == names.size()) return known;
  }
  absl::StatusOr<std::vector<uint16_t>> ids = store_->InternCategories(tenant, names);
  if (!ids.ok()) return ids.status();
  absl::StatusOr<std::shared_ptr<const TenantSnapshot>> snapshot = Get(tenant);
  if (!snapshot.ok()) return snapshot.status();
  for (uint16_t id : *ids) {
    if (id >= (*snapshot)->category_names->size()) {
      // A name new to this snapshot: reload so the id can be named.
      snapshot = Reload(tenant);
      if (!snapshot.ok()) return snapshot.status();
      break;
    }
  }
  return std::vector<engine::CategoryId>(ids->begin(), ids->end());
}

}  // namespace segmentd
