#include "server/services/bulk_batch.h"

#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "server/field_error.h"
#include "server/services/event_conversion.h"

namespace segmentd {

absl::Status ApplyBulkBatch(TenantContexts* contexts, LiveMembership* live, Metrics* metrics,
                            const std::string& tenant, const v1::BulkIngestRequest& request,
                            v1::BulkIngestResponse* response) {
  if (request.events_size() > kMaxBulkEvents) {
    return absl::InvalidArgumentError(absl::StrCat("events: at most ", kMaxBulkEvents,
                                                   " per request, got ", request.events_size()));
  }
  const int n = request.events_size();
  std::vector<absl::Status> errors(n);
  std::vector<engine::EventOutcome> outcomes(n, engine::EventOutcome::kApplied);
  std::vector<absl::StatusOr<PreparedEvent>> prepared;
  prepared.reserve(n);
  std::vector<std::string> names;
  for (int i = 0; i < n; ++i) {
    prepared.push_back(PrepareEvent(request.events(i), absl::StrCat("events[", i, "].")));
    if (!prepared.back().ok()) {
      errors[i] = prepared.back().status();
      continue;
    }
    names.insert(names.end(), prepared.back()->category_names.begin(),
                 prepared.back()->category_names.end());
  }
  // Each event's category ids: all interned at once, or, when that would
  // overflow the tenant's dictionary, event by event, so that only the events
  // naming a category that no longer fits are refused (with their field).
  std::vector<std::vector<engine::CategoryId>> event_ids(n);
  absl::StatusOr<std::vector<engine::CategoryId>> ids = contexts->InternCategories(tenant, names);
  if (ids.ok()) {
    size_t next_id = 0;
    for (int i = 0; i < n; ++i) {
      if (!prepared[i].ok()) continue;
      const size_t count = prepared[i]->category_names.size();
      event_ids[i].assign(ids->begin() + next_id, ids->begin() + next_id + count);
      next_id += count;
    }
  } else if (absl::IsResourceExhausted(ids.status())) {
    for (int i = 0; i < n; ++i) {
      if (!prepared[i].ok()) continue;
      absl::StatusOr<std::vector<engine::CategoryId>> own =
          contexts->InternCategories(tenant, prepared[i]->category_names);
      if (absl::IsResourceExhausted(own.status())) {
        errors[i] = ScopeFieldError(own.status(), prepared[i]->field_prefix);
        continue;
      }
      if (!own.ok()) return own.status();
      event_ids[i] = *std::move(own);
    }
  } else {
    return ids.status();
  }

  // Group by customer, keeping each customer's events in stream order.
  std::vector<CustomerEvents> customers;
  std::vector<std::vector<int>> event_index;  // per customer: batch indexes
  absl::flat_hash_map<std::string, size_t> slot;
  for (int i = 0; i < n; ++i) {
    if (!prepared[i].ok() || !errors[i].ok()) continue;
    auto [it, inserted] = slot.try_emplace(prepared[i]->customer_id, customers.size());
    if (inserted) {
      customers.push_back(CustomerEvents{prepared[i]->customer_id, {}});
      event_index.emplace_back();
    }
    customers[it->second].mutations.push_back(prepared[i]->mutation(event_ids[i]));
    event_index[it->second].push_back(i);
  }
  absl::StatusOr<std::vector<CustomerOutcome>> applied = live->Apply(tenant, std::move(customers));
  if (!applied.ok()) return applied.status();
  // A batch is acknowledged whole: a customer that could not be committed
  // fails it, and the client re-sends it (events are idempotent).
  for (const CustomerOutcome& c : *applied) {
    if (!c.commit.ok()) return c.commit;
  }
  for (size_t c = 0; c < applied->size(); ++c) {
    for (size_t e = 0; e < event_index[c].size(); ++e) {
      const int i = event_index[c][e];
      errors[i] = ScopeFieldError((*applied)[c].events[e].status, prepared[i]->field_prefix);
      outcomes[i] = (*applied)[c].events[e].outcome;
    }
  }

  for (int i = 0; i < n; ++i) {
    if (metrics != nullptr) {
      if (errors[i].ok()) {
        metrics->CountEvent(outcomes[i]);
      } else {
        metrics->CountRejectedEvent();
      }
    }
    if (!errors[i].ok()) {
      v1::BulkItemResult* item = response->add_results();
      item->set_index(i);
      item->set_outcome(v1::ITEM_OUTCOME_REJECTED);
      item->mutable_error()->set_code(static_cast<int>(errors[i].code()));
      item->mutable_error()->set_field(FieldOf(errors[i]));
      item->mutable_error()->set_message(std::string(errors[i].message()));
      response->set_rejected(response->rejected() + 1);
    } else if (outcomes[i] != engine::EventOutcome::kApplied) {
      v1::BulkItemResult* item = response->add_results();
      item->set_index(i);
      item->set_outcome(ItemOutcomeProto(outcomes[i]));
      if (outcomes[i] == engine::EventOutcome::kDuplicate) {
        response->set_duplicates(response->duplicates() + 1);
      } else {
        response->set_ignored(response->ignored() + 1);
      }
    } else {
      response->set_applied(response->applied() + 1);
    }
  }
  return absl::OkStatus();
}

}  // namespace segmentd
