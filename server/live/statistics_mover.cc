#include "server/live/statistics_mover.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "server/live/customer_measures.h"
#include "server/live/stats_in_use.h"
#include "server/log.h"
#include "server/log_throttle.h"

namespace segmentd {
namespace {

}  // namespace

StatisticsMover::StatisticsMover(store::CustomerStore* store, TenantContexts* contexts,
                                 LiveMembership* live, TenantLister tenants, Options options)
    : store_(store),
      contexts_(contexts),
      live_(live),
      tenants_(std::move(tenants)),
      options_(options) {}

void StatisticsMover::Start() {
  // A failed pass (Redis down) is retried on the next tick.
  task_ = std::make_unique<PeriodicTask>(options_.interval, [this] { RunOnce().IgnoreError(); });
  // Apart from the passes, so that a long or failing pass never lets this
  // replica's liveness lapse (others would adopt entries it still uses).
  // Logged once when the marks start failing and once when they work again,
  // not every beat (every 2 s through a Redis outage the probe already
  // reports). A store that lost segmentd's data is reported by the probe alone.
  heartbeat_ =
      std::make_unique<PeriodicTask>(contexts_->alive_for() / 5, [this, failing = false]() mutable {
        const absl::Status s = contexts_->MarkAlive();
        if (!s.ok() && !failing && !absl::IsDataLoss(s)) {
          LogError(absl::StrCat("marking this replica (", contexts_->replica_id(),
                                ") alive: ", s.message(), " (retried every ",
                                absl::FormatDuration(contexts_->alive_for() / 5), ")"));
        } else if (s.ok() && failing) {
          LogInfo(absl::StrCat("marking this replica (", contexts_->replica_id(),
                               ") alive works again"));
        }
        failing = !s.ok();
      });
}

absl::StatusOr<std::vector<std::string>> StatisticsMover::Affected(
    const std::string& tenant, const engine::SegmentConfig& config, const StatsInUse& before,
    const StatsInUse& after) {
  absl::flat_hash_set<std::string> ids;
  auto add = [&ids](absl::StatusOr<std::vector<std::string>> found) -> absl::Status {
    if (!found.ok()) return found.status();
    ids.insert(found->begin(), found->end());
    return absl::OkStatus();
  };
  // Cut-offs are values of the measures, whatever config made them.
  const engine::StatsChange change = engine::DiffStats(before.stats, after.stats, config);
  for (const engine::MeasureRange& r : change.lifetime_orders) {
    if (absl::Status s = add(store_->CustomersByOrders(tenant, r.lo, r.hi)); !s.ok()) return s;
  }
  for (const engine::MeasureRange& r : change.lifetime_revenue) {
    if (absl::Status s = add(store_->CustomersByRevenue(tenant, r.lo, r.hi)); !s.ok()) return s;
  }
  for (int k = 0; k < store::kNumAovIndexes; ++k) {
    const auto index = static_cast<store::AovIndex>(k);
    const SpenderThreshold& was = before.spenders[k];
    const SpenderThreshold& is = after.spenders[k];
    // A rule off on either side has no member a statistics move could
    // leave behind: the config update that turned it on or off wrote its
    // members under the current statistics.
    if (!was.enabled || !is.enabled || was == is) continue;
    // Index entries are floor(AOV * 1000) over the index's lookback: widen
    // to whole thousandths so the range holds every AOV between the two
    // thresholds (re-classifying a few extra customers is harmless; missing
    // one is not). Either threshold undefined (nobody qualified), or either
    // measured over another lookback than the index holds (a write under an
    // earlier config): every customer the index holds.
    int64_t lo = std::numeric_limits<int64_t>::min();
    int64_t hi = std::numeric_limits<int64_t>::max();
    const int32_t lookback = AovIndexLookback(config, index);
    if (was.amount && is.amount && was.lookback_days == lookback && is.lookback_days == lookback) {
      lo = static_cast<int64_t>(std::floor(std::min(*was.amount, *is.amount) * 1000)) - 1;
      hi = static_cast<int64_t>(std::floor(std::max(*was.amount, *is.amount) * 1000)) + 2;
    }
    if (absl::Status s = add(store_->CustomersByAov(tenant, index, lo, hi)); !s.ok()) return s;
  }
  return std::vector<std::string>(ids.begin(), ids.end());
}

absl::StatusOr<int64_t> StatisticsMover::ResumeConfig(const std::string& tenant, bool* claimed) {
  *claimed = false;
  absl::StatusOr<std::optional<store::VersionedBlob>> config = store_->ReadConfig(tenant);
  if (!config.ok()) return config.status();
  if (!config->has_value() || !(*config)->reclassification_pending) return 0;
  const std::string& claimant = (*config)->reclassifying_replica;
  const std::string& me = contexts_->replica_id();
  if (claimant == me) {
    // This replica's: at work while its call lives; a failed call's once not.
    if (contexts_->ApplyingConfig(tenant)) return 0;
  } else if (!claimant.empty()) {
    // Another replica's: at work while it lives. Once its liveness mark
    // lapses (it died midway), take over at once.
    absl::StatusOr<std::vector<bool>> alive = store_->ReplicasAlive({claimant});
    if (!alive.ok()) return alive.status();
    if ((*alive)[0]) return 0;
  } else if (options_.now() - (*config)->updated_at < options_.config_grace) {
    // Unclaimed (an older build's, or a claim that failed): an UpdateConfig
    // call may still be at it.
    return 0;
  }
  const int64_t version = (*config)->version;
  absl::StatusOr<bool> claim = store_->ClaimReclassification(tenant, version, claimant, me);
  if (!claim.ok()) return claim.status();
  if (!*claim) return 0;  // another replica took it over, or a newer config was stored
  *claimed = true;
  LogInfo(absl::StrCat("tenant ", tenant, ": finishing the re-classification under config version ",
                       version));
  if (absl::Status s = contexts_->Reload(tenant).status(); !s.ok()) return s;
  absl::StatusOr<int64_t> moved = live_->ReevaluateAll(tenant, store::ChangeCause::kConfig);
  if (!moved.ok()) return moved.status();
  if (absl::Status s = store_->ConfigApplied(tenant, version); !s.ok()) return s;
  return moved;
}

absl::Status StatisticsMover::Abandoned(const std::string& tenant, std::vector<StatsInUse>* adopted,
                                        std::vector<std::string>* fields, bool* unreadable) {
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> entries =
      store_->StatsInUse(tenant);
  if (!entries.ok()) return entries.status();
  std::vector<StatsInUseEntry> parsed;
  std::vector<std::string> others;  // other replicas named, once each
  for (const auto& [field, value] : *entries) {
    parsed.push_back(ParseStatsInUse(field));
    const std::string& replica = parsed.back().replica;
    if (replica != contexts_->replica_id() &&
        std::find(others.begin(), others.end(), replica) == others.end()) {
      others.push_back(replica);
    }
  }
  absl::StatusOr<std::vector<bool>> alive = store_->ReplicasAlive(others);
  if (!alive.ok()) return alive.status();
  std::vector<int> adopted_of(others.size(), 0);  // entries adopted, per replica
  for (size_t i = 0; i < parsed.size(); ++i) {
    const StatsInUseEntry& entry = parsed[i];
    const auto other = std::find(others.begin(), others.end(), entry.replica);
    // This replica's own, and a live replica's (whatever its format: a later
    // build's entries are that build's to handle), are not adopted.
    if (other == others.end() || (*alive)[other - others.begin()]) continue;
    fields->push_back((*entries)[i].first);
    if (entry.used.has_value()) {
      ++adopted_of[other - others.begin()];
      adopted->push_back(*entry.used);
    } else {
      LogError(absl::StrCat("tenant ", tenant,
                            ": an unreadable statistics-in-use entry of "
                            "replica ",
                            entry.replica, ", no longer alive (\"", (*entries)[i].first,
                            "\"): re-classifying every customer"));
      *unreadable = true;
    }
  }
  // One line per replica, not per entry it left (a replica records one per
  // statistics snapshot its writes used).
  for (size_t r = 0; r < others.size(); ++r) {
    if (adopted_of[r] == 0) continue;
    LogInfo(absl::StrCat("tenant ", tenant, ": applying the statistics moves replica ", others[r],
                         " left (no longer alive; ", adopted_of[r],
                         adopted_of[r] == 1 ? " entry)" : " entries)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> StatisticsMover::RunTenant(
    const std::string& tenant, const store::CustomerStore::TenantSurvey& survey) {
  // A failing resumption (e.g. one hot customer) must not hold up statistics
  // moves, nor restart every pass: it is retried after config_grace. Unless
  // Redis could not be reached: before the work was claimed that says
  // nothing about the work, which the first pass to reach Redis again takes
  // up (the outage is logged where noticed); once claimed, the work starts
  // over after 1 s, 2 s, 4 s ... up to config_grace, so that Redis back
  // from a restart gets it done within about a second or two, while Redis
  // busy (BUSY, LOADING, timeouts) is not pressed every pass.
  int64_t resumed = 0;
  bool resume = false;
  if (survey.reclassification_pending) {
    absl::MutexLock lock(&resume_mu_);
    resume = options_.now() >= resume_after_[tenant];
  }
  if (resume) {
    bool claimed = false;
    absl::StatusOr<int64_t> n = ResumeConfig(tenant, &claimed);
    const bool unreachable = n.status().code() == absl::StatusCode::kUnavailable;
    if (n.ok()) {
      resumed = *n;
      absl::MutexLock lock(&resume_mu_);
      unreachable_wait_.erase(tenant);
    } else if (claimed || !unreachable) {
      absl::MutexLock lock(&resume_mu_);
      absl::Duration wait = options_.config_grace;
      if (unreachable) {
        absl::Duration& last = unreachable_wait_[tenant];
        last = std::min(options_.config_grace,
                        last == absl::ZeroDuration() ? absl::Seconds(1) : 2 * last);
        wait = last;
      }
      LogError(absl::StrCat("tenant ", tenant,
                            ": finishing a config re-classification: ", n.status().message(),
                            " (tried again in ", absl::FormatDuration(wait), ")"));
      resume_after_[tenant] = options_.now() + wait;
    }
  }
  // A tenant without customers has no statistics to move, and its writers
  // load what they use themselves: unless this replica issued snapshots of
  // it (a read loads one every second or so), which only this pass retires,
  // nothing below is needed (it is ~5 round trips a tenant, every pass).
  // Entries other replicas left wait until a replica reads the tenant or it
  // gains customers.
  if (survey.customers == 0 && contexts_->Issued(tenant).empty()) return resumed;
  // Publish fresh statistics first, so writes starting now use them.
  absl::StatusOr<std::shared_ptr<const TenantSnapshot>> current = contexts_->Reload(tenant);
  if (!current.ok()) return current.status();
  const TenantSnapshot& now = **current;
  // Before any read: only snapshots no write holds now may be forgotten
  // after this pass. A write holding one commits whenever it commits; if
  // that is after the reads below, only a later pass sees what it wrote
  // (checking holders after the reads instead lost such writes: a bulk
  // import left 2 of 1M customers outside VIP for good).
  const std::vector<const TenantSnapshot*> settled = contexts_->Settled(tenant);
  std::vector<StatsInUse> used_stats;
  for (const std::shared_ptr<const TenantSnapshot>& used : contexts_->Issued(tenant)) {
    used_stats.push_back(StatsInUseOf(used->config, used->stats));
  }
  const StatsInUse in_use_now = StatsInUseOf(now.config, now.stats);
  std::vector<std::string> adopted;
  bool unreadable = false;
  if (absl::Status s = Abandoned(tenant, &used_stats, &adopted, &unreadable); !s.ok()) return s;
  absl::flat_hash_set<std::string> ids;
  {
    std::vector<StatsInUse> compared;
    for (const StatsInUse& used : used_stats) {
      // Snapshots of an earlier config count too: a config update
      // re-classifies only the customers its rules can move
      // (LiveMembership::ReevaluateAll) under the current statistics, so
      // others keep what was written under the earlier config's. Cut-off
      // ranges do not depend on the config; spender ranges run from the
      // threshold the write used (its config's) to the current one.
      if (used == in_use_now) continue;
      if (std::find(compared.begin(), compared.end(), used) != compared.end()) continue;
      compared.push_back(used);
      absl::StatusOr<std::vector<std::string>> affected =
          Affected(tenant, now.config, used, in_use_now);
      if (!affected.ok()) return affected.status();
      ids.insert(affected->begin(), affected->end());
    }
  }
  int64_t moved = 0;
  if (unreadable) {
    absl::StatusOr<int64_t> n = live_->ReevaluateAll(tenant, store::ChangeCause::kStatistics);
    if (!n.ok()) return n.status();
    moved = *n;
  } else if (!ids.empty()) {
    absl::StatusOr<int64_t> n = live_->Reevaluate(
        tenant, std::vector<std::string>(ids.begin(), ids.end()), store::ChangeCause::kStatistics);
    if (!n.ok()) return n.status();
    moved = *n;
  }
  if (absl::Status s = store_->RemoveStatsInUse(tenant, adopted); !s.ok()) return s;
  // Snapshots issued or still held when the pass began are compared again
  // on the next.
  if (absl::Status s = contexts_->Retire(tenant, settled); !s.ok()) return s;
  return moved + resumed;
}

absl::StatusOr<int64_t> StatisticsMover::RunOnce() {
  if (absl::Status s = contexts_->MarkAlive(); !s.ok()) return s;
  absl::StatusOr<std::vector<std::string>> tenants = tenants_();
  if (!tenants.ok()) return tenants.status();
  // What each tenant needs, read many tenants per round trip.
  absl::StatusOr<std::vector<store::CustomerStore::TenantSurvey>> survey =
      store_->SurveyTenants(*tenants);
  if (!survey.ok()) return survey.status();
  int64_t moved = 0;
  absl::Status first_error;
  for (size_t i = 0; i < tenants->size(); ++i) {
    const std::string& tenant = (*tenants)[i];
    // One tenant's trouble must not hold up the others: note it and go on.
    absl::StatusOr<int64_t> n = (*survey)[i].status.ok()
                                    ? RunTenant(tenant, (*survey)[i])
                                    : absl::StatusOr<int64_t>((*survey)[i].status);
    if (n.ok()) {
      moved += *n;
      continue;
    }
    LogErrorThrottled(absl::StrCat("statistics of tenant ", tenant, ": ", n.status().message()));
    if (first_error.ok()) first_error = n.status();
  }
  if (!first_error.ok()) return first_error;
  return moved;
}

}  // namespace segmentd
