#include "server/config_convert.h"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "server/field_error.h"

namespace segmentd {
namespace {

// Copies a present uint32 proto field into an int32 engine field. Values beyond
// int32 saturate, so validation reports them as out of range (not wrapped).
void Take(bool present, uint32_t value, int32_t* out) {
  if (!present) return;
  *out = value > static_cast<uint32_t>(std::numeric_limits<int32_t>::max())
             ? std::numeric_limits<int32_t>::max()
             : static_cast<int32_t>(value);
}

// The set uint32 parameters beyond int32, by path ("vip.top_percent"), with
// the value as sent: Take saturates them, and the error should quote what the
// caller sent, not the saturated value (every block is one level deep).
absl::flat_hash_map<std::string, uint32_t> ValuesBeyondInt32(const v1::SegmentConfig& proto) {
  using google::protobuf::FieldDescriptor;
  absl::flat_hash_map<std::string, uint32_t> out;
  const google::protobuf::Reflection* top = proto.GetReflection();
  std::vector<const FieldDescriptor*> blocks;
  top->ListFields(proto, &blocks);
  for (const FieldDescriptor* block : blocks) {
    if (block->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE || block->is_repeated()) continue;
    const google::protobuf::Message& m = top->GetMessage(proto, block);
    std::vector<const FieldDescriptor*> fields;
    m.GetReflection()->ListFields(m, &fields);
    for (const FieldDescriptor* f : fields) {
      if (f->cpp_type() != FieldDescriptor::CPPTYPE_UINT32 || f->is_repeated()) continue;
      const uint32_t value = m.GetReflection()->GetUInt32(m, f);
      if (value > static_cast<uint32_t>(std::numeric_limits<int32_t>::max())) {
        out[absl::StrCat(block->name(), ".", f->name())] = value;
      }
    }
  }
  return out;
}

void Take(bool present, double value, double* out) {
  if (present) *out = value;
}

// enabled + display_name, which every block has.
template <typename Proto, typename Engine>
void TakeCommon(const Proto& p, Engine* e) {
  if (p.has_enabled()) e->enabled = p.enabled();
  if (p.has_display_name()) e->display_name = p.display_name();
}

template <typename Engine, typename Proto>
void PutCommon(const Engine& e, Proto* p) {
  p->set_enabled(e.enabled);
  p->set_display_name(e.display_name);
}

template <typename Engine>
void TakeSpender(const v1::SpenderConfig& p, Engine* e) {
  TakeCommon(p, e);
  Take(p.has_lookback_days(), p.lookback_days(), &e->lookback_days);
  switch (p.threshold_case()) {
    case v1::SpenderConfig::kThresholdAmount:
      e->threshold_amount = p.threshold_amount();
      e->threshold_store_aov_multiple.reset();
      break;
    case v1::SpenderConfig::kThresholdStoreAovMultiple:
      e->threshold_store_aov_multiple = p.threshold_store_aov_multiple();
      e->threshold_amount.reset();
      break;
    case v1::SpenderConfig::THRESHOLD_NOT_SET:
      break;
  }
}

template <typename Engine>
void PutSpender(const Engine& e, v1::SpenderConfig* p) {
  PutCommon(e, p);
  p->set_lookback_days(e.lookback_days);
  if (e.threshold_amount.has_value()) p->set_threshold_amount(*e.threshold_amount);
  if (e.threshold_store_aov_multiple.has_value()) {
    p->set_threshold_store_aov_multiple(*e.threshold_store_aov_multiple);
  }
}

}  // namespace

absl::StatusOr<engine::SegmentConfig> ConfigFromProto(const v1::SegmentConfig& proto,
                                                      absl::string_view field_prefix) {
  engine::SegmentConfig c;
  {
    const auto& p = proto.frequent_buyer();
    TakeCommon(p, &c.frequent_buyer);
    Take(p.has_min_orders(), p.min_orders(), &c.frequent_buyer.min_orders);
    Take(p.has_window_days(), p.window_days(), &c.frequent_buyer.window_days);
  }
  {
    const auto& p = proto.new_download();
    TakeCommon(p, &c.new_download);
    Take(p.has_max_days(), p.max_days(), &c.new_download.max_days);
  }
  {
    const auto& p = proto.window_shopper();
    TakeCommon(p, &c.window_shopper);
    Take(p.has_min_days(), p.min_days(), &c.window_shopper.min_days);
  }
  {
    const auto& p = proto.new_customer();
    TakeCommon(p, &c.new_customer);
    Take(p.has_window_days(), p.window_days(), &c.new_customer.window_days);
  }
  {
    const auto& p = proto.returning_customer();
    TakeCommon(p, &c.returning_customer);
    Take(p.has_min_orders(), p.min_orders(), &c.returning_customer.min_orders);
    Take(p.has_window_days(), p.window_days(), &c.returning_customer.window_days);
  }
  {
    const auto& p = proto.loyal_customer();
    TakeCommon(p, &c.loyal_customer);
    Take(p.has_min_orders(), p.min_orders(), &c.loyal_customer.min_orders);
    Take(p.has_active_days(), p.active_days(), &c.loyal_customer.active_days);
  }
  {
    const auto& p = proto.lost_loyalty();
    TakeCommon(p, &c.lost_loyalty);
    Take(p.has_min_orders(), p.min_orders(), &c.lost_loyalty.min_orders);
    Take(p.has_inactive_days(), p.inactive_days(), &c.lost_loyalty.inactive_days);
  }
  {
    const auto& p = proto.one_time_wonder();
    TakeCommon(p, &c.one_time_wonder);
    Take(p.has_inactive_days(), p.inactive_days(), &c.one_time_wonder.inactive_days);
  }
  TakeSpender(proto.big_spender(), &c.big_spender);
  TakeSpender(proto.low_spender(), &c.low_spender);
  {
    const auto& p = proto.lost_customer();
    TakeCommon(p, &c.lost_customer);
    Take(p.has_min_orders(), p.min_orders(), &c.lost_customer.min_orders);
    Take(p.has_max_orders(), p.max_orders(), &c.lost_customer.max_orders);
    Take(p.has_inactive_days(), p.inactive_days(), &c.lost_customer.inactive_days);
  }
  TakeCommon(proto.first_time_buyer(), &c.first_time_buyer);
  {
    const auto& p = proto.repeat_customer();
    TakeCommon(p, &c.repeat_customer);
    Take(p.has_min_orders(), p.min_orders(), &c.repeat_customer.min_orders);
    Take(p.has_max_orders(), p.max_orders(), &c.repeat_customer.max_orders);
  }
  {
    const auto& p = proto.vip();
    TakeCommon(p, &c.vip);
    Take(p.has_top_percent(), p.top_percent(), &c.vip.top_percent);
    Take(p.has_min_orders(), p.min_orders(), &c.vip.min_orders);
  }
  {
    const auto& p = proto.lapsed();
    TakeCommon(p, &c.lapsed);
    Take(p.has_inactive_days(), p.inactive_days(), &c.lapsed.inactive_days);
  }
  {
    const auto& p = proto.value_tiers();
    TakeCommon(p, &c.value_tiers);
    Take(p.has_high_percent(), p.high_percent(), &c.value_tiers.high_percent);
    Take(p.has_medium_percent(), p.medium_percent(), &c.value_tiers.medium_percent);
    Take(p.has_low_percent(), p.low_percent(), &c.value_tiers.low_percent);
  }
  {
    const auto& p = proto.category_affinity();
    TakeCommon(p, &c.category_affinity);
    Take(p.has_min_orders(), p.min_orders(), &c.category_affinity.min_orders);
    Take(p.has_lookback_days(), p.lookback_days(), &c.category_affinity.lookback_days);
  }
  {
    const auto& p = proto.engagement();
    TakeCommon(p, &c.engagement);
    Take(p.has_window_days(), p.window_days(), &c.engagement.window_days);
    Take(p.has_min_messages(), p.min_messages(), &c.engagement.min_messages);
    Take(p.has_high_open_rate(), p.high_open_rate(), &c.engagement.high_open_rate);
    Take(p.has_high_action_rate(), p.high_action_rate(), &c.engagement.high_action_rate);
    Take(p.has_moderate_open_rate(), p.moderate_open_rate(), &c.engagement.moderate_open_rate);
  }
  {
    const auto& p = proto.abandoned_cart();
    TakeCommon(p, &c.abandoned_cart);
    Take(p.has_abandon_after_minutes(), p.abandon_after_minutes(),
         &c.abandoned_cart.abandon_after_minutes);
    Take(p.has_window_days(), p.window_days(), &c.abandoned_cart.window_days);
  }
  c.primary_priority.assign(proto.primary_priority().begin(), proto.primary_priority().end());

  const std::vector<engine::FieldViolation> violations = engine::FindViolations(c);
  if (!violations.empty()) {
    const absl::flat_hash_map<std::string, uint32_t> beyond = ValuesBeyondInt32(proto);
    const std::string saturated = absl::StrCat("got ", std::numeric_limits<int32_t>::max());
    std::vector<std::string> parts;
    for (const engine::FieldViolation& v : violations) {
      std::string description = v.description;
      const auto sent = beyond.find(v.field);
      if (sent != beyond.end() && absl::EndsWith(description, saturated)) {
        description.resize(description.size() - saturated.size());
        absl::StrAppend(&description, "got ", sent->second);
      }
      parts.push_back(absl::StrCat(field_prefix, v.field, ": ", description));
    }
    return absl::InvalidArgumentError(JoinErrors(parts));
  }
  return c;
}

v1::SegmentConfig ConfigToProto(const engine::SegmentConfig& c) {
  v1::SegmentConfig p;
  PutCommon(c.frequent_buyer, p.mutable_frequent_buyer());
  p.mutable_frequent_buyer()->set_min_orders(c.frequent_buyer.min_orders);
  p.mutable_frequent_buyer()->set_window_days(c.frequent_buyer.window_days);
  PutCommon(c.new_download, p.mutable_new_download());
  p.mutable_new_download()->set_max_days(c.new_download.max_days);
  PutCommon(c.window_shopper, p.mutable_window_shopper());
  p.mutable_window_shopper()->set_min_days(c.window_shopper.min_days);
  PutCommon(c.new_customer, p.mutable_new_customer());
  p.mutable_new_customer()->set_window_days(c.new_customer.window_days);
  PutCommon(c.returning_customer, p.mutable_returning_customer());
  p.mutable_returning_customer()->set_min_orders(c.returning_customer.min_orders);
  p.mutable_returning_customer()->set_window_days(c.returning_customer.window_days);
  PutCommon(c.loyal_customer, p.mutable_loyal_customer());
  p.mutable_loyal_customer()->set_min_orders(c.loyal_customer.min_orders);
  p.mutable_loyal_customer()->set_active_days(c.loyal_customer.active_days);
  PutCommon(c.lost_loyalty, p.mutable_lost_loyalty());
  p.mutable_lost_loyalty()->set_min_orders(c.lost_loyalty.min_orders);
  p.mutable_lost_loyalty()->set_inactive_days(c.lost_loyalty.inactive_days);
  PutCommon(c.one_time_wonder, p.mutable_one_time_wonder());
  p.mutable_one_time_wonder()->set_inactive_days(c.one_time_wonder.inactive_days);
  PutSpender(c.big_spender, p.mutable_big_spender());
  PutSpender(c.low_spender, p.mutable_low_spender());
  PutCommon(c.lost_customer, p.mutable_lost_customer());
  p.mutable_lost_customer()->set_min_orders(c.lost_customer.min_orders);
  p.mutable_lost_customer()->set_max_orders(c.lost_customer.max_orders);
  p.mutable_lost_customer()->set_inactive_days(c.lost_customer.inactive_days);
  PutCommon(c.first_time_buyer, p.mutable_first_time_buyer());
  PutCommon(c.repeat_customer, p.mutable_repeat_customer());
  p.mutable_repeat_customer()->set_min_orders(c.repeat_customer.min_orders);
  p.mutable_repeat_customer()->set_max_orders(c.repeat_customer.max_orders);
  PutCommon(c.vip, p.mutable_vip());
  p.mutable_vip()->set_top_percent(c.vip.top_percent);
  p.mutable_vip()->set_min_orders(c.vip.min_orders);
  PutCommon(c.lapsed, p.mutable_lapsed());
  p.mutable_lapsed()->set_inactive_days(c.lapsed.inactive_days);
  PutCommon(c.value_tiers, p.mutable_value_tiers());
  p.mutable_value_tiers()->set_high_percent(c.value_tiers.high_percent);
  p.mutable_value_tiers()->set_medium_percent(c.value_tiers.medium_percent);
  p.mutable_value_tiers()->set_low_percent(c.value_tiers.low_percent);
  PutCommon(c.category_affinity, p.mutable_category_affinity());
  p.mutable_category_affinity()->set_min_orders(c.category_affinity.min_orders);
  p.mutable_category_affinity()->set_lookback_days(c.category_affinity.lookback_days);
  PutCommon(c.engagement, p.mutable_engagement());
  p.mutable_engagement()->set_window_days(c.engagement.window_days);
  p.mutable_engagement()->set_min_messages(c.engagement.min_messages);
  p.mutable_engagement()->set_high_open_rate(c.engagement.high_open_rate);
  p.mutable_engagement()->set_high_action_rate(c.engagement.high_action_rate);
  p.mutable_engagement()->set_moderate_open_rate(c.engagement.moderate_open_rate);
  PutCommon(c.abandoned_cart, p.mutable_abandoned_cart());
  p.mutable_abandoned_cart()->set_abandon_after_minutes(c.abandoned_cart.abandon_after_minutes);
  p.mutable_abandoned_cart()->set_window_days(c.abandoned_cart.window_days);
  for (const std::string& name : c.primary_priority) p.add_primary_priority(name);
  return p;
}

}  // namespace segmentd
