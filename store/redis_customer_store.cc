#include "store/redis_customer_store.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "store/customer_store_validation.h"
#include "store/order_log.h"
#include "store/redis/redis_reply.h"
#include "store/redis/redis_script.h"
#include "store/redis_customer_keys.h"
#include "store/redis_customer_scripts.h"
#include "store/tenant_keys.h"
#include "store/tenant_presence.h"

namespace segmentd::store {
namespace {

using redis::ErrorReplyAsStatus;
using redis::RedisCommand;
using redis::RedisReply;
using redis::RedisScript;

// The daily totals' field holding the first day whose log is complete: every
// change of the tenant's totals booked into that day or a later one was
// logged. The write giving the tenant ordinal 1 sets kLogsFromStart (the
// write script spells both out); OrderTotalsIn marks an older tenant's.
constexpr char kLogsFromField[] = "f";
constexpr int64_t kLogsFromStart = -2147483648;
// Customers per IndexRegistrations script: each costs Redis three commands
// from Lua (HEXISTS, HSETNX, ZADD; ~6 us each at scale), so a script stays
// under a millisecond, far from the 5 ms no command may take.
constexpr size_t kIndexRegistrationsPage = 50;
// Orders per RecordOrders pipeline.
constexpr size_t kRecordOrdersPage = 1000;
// Customers per AddRechecks / ClearRechecks script: ~1-2 us of Redis each
// (0.5-0.9 ms per script measured, docs/benchmarks.md, eighteenth pass), so
// one call stays near a millisecond.
constexpr size_t kRecheckPage = 500;

constexpr char kOrders[] = "orders";
// Most ordinals ScanCustomers reads per call, whatever `count` asks.
constexpr int kMaxScanCustomers = 10'000;
constexpr char kRevenue[] = "revenue";

const RedisScript& ScriptFor(const CustomerWrite& write) {
  return write.bookkeeping_only ? BookkeepingScript() : WriteScript();
}

// Encodes a segment list as "<len>:<name>" repeated: binary-safe.
std::string EncodeSegments(const std::vector<std::string>& segments) {
  std::string out;
  for (const std::string& s : segments) absl::StrAppend(&out, s.size(), ":", s);
  return out;
}

absl::StatusOr<std::vector<std::string>> DecodeSegments(absl::string_view list) {
  std::vector<std::string> segments;
  while (!list.empty()) {
    const size_t colon = list.find(':');
    size_t len = 0;
    if (colon == absl::string_view::npos || !absl::SimpleAtoi(list.substr(0, colon), &len) ||
        len > list.size() - colon - 1) {
      return absl::DataLossError("stored segment list cannot be decoded");
    }
    segments.emplace_back(list.substr(colon + 1, len));
    list.remove_prefix(colon + 1 + len);
  }
  return segments;
}

std::string MsOrNone(const std::optional<absl::Time>& t) {
  return t.has_value() ? absl::StrCat(absl::ToUnixMillis(*t)) : "";
}
std::string IntOrNone(const std::optional<int64_t>& value) {
  return value.has_value() ? absl::StrCat(*value) : "";
}

// Whether `write` only re-classifies the stored facts: no order claim, daily
// total, ordinal or measure index entry to write, so a version check is all
// it needs before its commands (RedisCustomerStore::ReadAndWriteBatch).
bool Reclassifies(const CustomerWrite& write) {
  return write.bookkeeping_only || write.measures_as_stored;
}

// The write scripts' -1 and -2, and the same refusals of ReadAndWriteBatch.
absl::Status UndecodableSegments(const CustomerWrite& write) {
  return absl::DataLossError(
      absl::StrCat("stored segment list of customer ", write.customer_id, " cannot be decoded"));
}

// Why Redis refused customer `write`'s script (`error`: WRONGTYPE). A key of
// another type under the tenant's prefix is a stored state segmentd cannot
// have written: DATA_LOSS, as reads say. Redis does not roll a script back,
// so that write's commands before the failing one stay applied
// (docs/redis-keys.md).
absl::Status ScriptRefusal(const CustomerWrite& write, const absl::Status& error) {
  return absl::DataLossError(absl::StrCat("write of customer ", write.customer_id,
                                          " refused by Redis: ", error.message()));
}

// What the write scripts' index() does, as a command: moves `id`'s entry in
// the sorted set `key` from `stored` (its field; nil or "": none) to `value`
// ("": none); nothing when unchanged.
void MoveEntry(redis::MemberCommands& commands, const std::string& key, const RedisReply& stored,
               const std::string& value, const std::string& id) {
  if (value == stored.str()) return;
  if (value.empty()) {
    commands.Add("ZREM", key, {id});
  } else {
    commands.Add("ZADD", key, {value, id});
  }
}

absl::StatusOr<int64_t> ParseInt(const RedisReply& reply, absl::string_view what) {
  int64_t value = 0;
  if (reply.is_integer()) return reply.integer();
  if (!reply.is_string() || !absl::SimpleAtoi(reply.str(), &value)) {
    return absl::DataLossError(absl::StrCat("stored ", what, " is not a number"));
  }
  return value;
}

// Parses the customer hash's AOV index entry fields (`a0`, `a1`: one reply
// each, from `f`); an empty or absent field is no entry.
absl::Status ParseAovEntries(const RedisReply* f, std::optional<int64_t> (&out)[kNumAovIndexes]) {
  for (int k = 0; k < kNumAovIndexes; ++k) {
    out[k].reset();
    if (f[k].str().empty()) continue;
    absl::StatusOr<int64_t> aov = ParseInt(f[k], "AOV index entry");
    if (!aov.ok()) return aov.status();
    out[k] = *aov;
  }
  return absl::OkStatus();
}

// Parses a sorted-set score that holds an integer.
absl::StatusOr<int64_t> ParseScore(const RedisReply& reply) {
  double score = 0;
  if (!reply.is_string() || !absl::SimpleAtod(reply.str(), &score) || !std::isfinite(score)) {
    return absl::DataLossError("stored score is not a number");
  }
  return static_cast<int64_t>(std::llround(score));
}

absl::Status Unexpected(const RedisReply& reply, absl::string_view command) {
  return absl::InternalError(
      absl::StrCat("unexpected reply to ", command, ": ", reply.DebugString()));
}

// The answer to `command`, one whose answer is an integer (SCARD, HLEN, ...).
absl::StatusOr<int64_t> IntegerReply(absl::StatusOr<RedisReply> reply, absl::string_view command) {
  reply = ErrorReplyAsStatus(std::move(reply));
  if (!reply.ok()) return reply.status();
  if (!reply->is_integer()) return Unexpected(*reply, command);
  return reply->integer();
}

absl::StatusOr<int64_t> IntegerCommand(redis::RedisClient& client, RedisCommand command) {
  const std::string name = command.front();
  return IntegerReply(client.Command(command), name);
}

// The score of the first entry of a sorted-set range read WITHSCORES
// (ZRANGE ... 0 0, ZRANGEBYSCORE ... LIMIT 0 1) as an instant; nullopt for
// an empty range.
absl::StatusOr<std::optional<absl::Time>> FirstScore(absl::StatusOr<RedisReply> reply,
                                                     absl::string_view command) {
  reply = ErrorReplyAsStatus(std::move(reply));
  if (!reply.ok()) return reply.status();
  if (!reply->is_array()) return Unexpected(*reply, command);
  if (reply->elements().size() < 2) return std::optional<absl::Time>();
  absl::StatusOr<int64_t> ms = ParseScore(reply->elements()[1]);
  if (!ms.ok()) return ms.status();
  return std::optional<absl::Time>(absl::FromUnixMillis(*ms));
}

// The values of `keys` (MGET), in order; nil for a key that is absent.
absl::StatusOr<std::vector<RedisReply>> MGet(redis::RedisClient& client,
                                             std::vector<std::string> keys) {
  const size_t n = keys.size();
  keys.insert(keys.begin(), "MGET");
  absl::StatusOr<RedisReply> reply = ErrorReplyAsStatus(client.Command(keys));
  if (!reply.ok()) return reply.status();
  if (!reply->is_array() || reply->elements().size() != n) return Unexpected(*reply, "MGET");
  return std::move(reply->mutable_elements());
}

absl::Status ValidateCount(int count, absl::string_view field) {
  if (count < 1) return absl::InvalidArgumentError(absl::StrCat(field, ": must be >= 1"));
  return absl::OkStatus();
}

// Parses one XREAD/XRANGE entry [id, [field, value, ...]].
absl::StatusOr<StoredChange> ParseChange(const RedisReply& entry) {
  if (!entry.is_array() || entry.elements().size() != 2 || !entry.elements()[1].is_array()) {
    return absl::DataLossError("change-stream entry has an unexpected shape");
  }
  StoredChange change;
  change.position = entry.elements()[0].str();
  const std::vector<RedisReply>& fields = entry.elements()[1].elements();
  int seen = 0;
  for (size_t i = 0; i + 1 < fields.size(); i += 2) {
    const std::string& name = fields[i].str();
    const std::string& value = fields[i + 1].str();
    int64_t number = 0;
    if (name == "c") {
      change.customer_id = value;
    } else if (name == "s") {
      change.segment = value;
    } else if (name == "e") {
      change.entered = value == "1";
    } else if (name == "t" && absl::SimpleAtoi(value, &number)) {
      change.changed_at = absl::FromUnixMillis(number);
    } else if (name == "k" && absl::SimpleAtoi(value, &number) &&
               number >= static_cast<int>(ChangeCause::kEvent) &&
               number <= static_cast<int>(ChangeCause::kStatistics)) {
      change.cause = static_cast<ChangeCause>(number);
    } else {
      continue;
    }
    ++seen;
  }
  if (seen != 5) {
    return absl::DataLossError(
        absl::StrCat("change-stream entry ", change.position, " cannot be decoded"));
  }
  return change;
}

// The fields of a customer's hash that make its CustomerState (and what a
// re-classification's commands depend on), as a state read asks for them.
enum StateField {
  kVersion,
  kOrdinal,
  kProfile,
  kMembership,
  kSegments,
  kNextChange,
  kAov0,  // kAov0 + k: AOV index k
  kAov1,
  kHistory,
  kRegistered,
  kNumStateFields,
};
constexpr const char* kStateFields[kNumStateFields] = {"v", "o",  "p",  "m", "s",
                                                       "n", "a0", "a1", "h", "g"};

// The error of a read of customer `id`'s hash. A key of another type under
// its name (not written by segmentd) is stored data no retry mends, as a
// field that does not parse is: DATA_LOSS. Others as RedisErrorToStatus
// maps them.
absl::Status CustomerReadStatus(const RedisReply& reply, absl::string_view id) {
  if (reply.IsErrorWithPrefix("WRONGTYPE")) {
    return absl::DataLossError(
        absl::StrCat("customer ", id, ": its key holds another type than a hash"));
  }
  return redis::RedisErrorToStatus(reply);
}

// Parses the HMGET of kStateFields on `id`'s hash into `state` (version 0:
// not stored).
absl::Status ParseState(const RedisReply& reply, const std::string& id, CustomerState& state) {
  if (absl::Status s = CustomerReadStatus(reply, id); !s.ok()) return s;
  if (!reply.is_array() || reply.elements().size() != kNumStateFields) {
    return Unexpected(reply, "HMGET");
  }
  const std::vector<RedisReply>& f = reply.elements();
  state.customer_id = id;
  if (f[kVersion].is_nil()) return absl::OkStatus();
  absl::StatusOr<int64_t> version = ParseInt(f[kVersion], "version");
  absl::StatusOr<int64_t> ordinal = ParseInt(f[kOrdinal], "ordinal");
  if (!version.ok()) return version.status();
  if (!ordinal.ok()) return ordinal.status();
  state.version = *version;
  state.ordinal = static_cast<uint32_t>(*ordinal);
  state.profile = f[kProfile].str();
  state.membership = f[kMembership].str();
  absl::StatusOr<std::vector<std::string>> segments = DecodeSegments(f[kSegments].str());
  if (!segments.ok()) return segments.status();
  state.segments = *std::move(segments);
  if (!f[kNextChange].str().empty()) {
    absl::StatusOr<int64_t> ms = ParseInt(f[kNextChange], "next change");
    if (!ms.ok()) return ms.status();
    state.next_change = absl::FromUnixMillis(*ms);
  }
  if (absl::Status s = ParseAovEntries(&f[kAov0], state.aov_milli); !s.ok()) return s;
  state.history = f[kHistory].str();
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<RedisCustomerStore>> RedisCustomerStore::Create(
    redis::RedisClient* client, Options options) {
  if (client == nullptr) return absl::InvalidArgumentError("client: must not be null");
  if (options.max_changes < 1) {
    return absl::InvalidArgumentError("options.max_changes: must be >= 1");
  }
  if (options.write_batch < 1) {
    return absl::InvalidArgumentError("options.write_batch: must be >= 1");
  }
  if (options.small_call_batch < 1) {
    return absl::InvalidArgumentError("options.small_call_batch: must be >= 1");
  }
  if (options.small_call_writes < 0) {
    return absl::InvalidArgumentError("options.small_call_writes: must be >= 0");
  }
  if (options.read_page < 1) return absl::InvalidArgumentError("options.read_page: must be >= 1");
  if (options.max_block < absl::Milliseconds(1)) {
    return absl::InvalidArgumentError("options.max_block: must be >= 1 ms");
  }
  return std::unique_ptr<RedisCustomerStore>(new RedisCustomerStore(client, options));
}

RedisCustomerStore::RedisCustomerStore(redis::RedisClient* client, Options options)
    : client_(client), options_(options) {}

absl::StatusOr<std::vector<RedisReply>> RedisCustomerStore::ReadEach(
    absl::string_view tenant, absl::Span<const std::string> customer_ids,
    const std::vector<std::string>& command) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  std::vector<RedisCommand> commands;
  commands.reserve(customer_ids.size());
  for (const std::string& id : customer_ids) {
    if (absl::Status s = ValidateCustomerId(id); !s.ok()) return s;
    RedisCommand c = {command[0], CustomerKey(tenant, id)};
    c.insert(c.end(), command.begin() + 1, command.end());
    commands.push_back(std::move(c));
  }
  return client_->Pipeline(commands);
}

absl::StatusOr<std::vector<CustomerState>> RedisCustomerStore::Read(
    absl::string_view tenant, absl::Span<const std::string> customer_ids) {
  std::vector<std::string> command = {"HMGET"};
  command.insert(command.end(), std::begin(kStateFields), std::end(kStateFields));
  absl::StatusOr<std::vector<RedisReply>> replies = ReadEach(tenant, customer_ids, command);
  if (!replies.ok()) return replies.status();
  std::vector<CustomerState> states(customer_ids.size());
  for (size_t i = 0; i < customer_ids.size(); ++i) {
    if (absl::Status s = ParseState((*replies)[i], customer_ids[i], states[i]); !s.ok()) return s;
  }
  return states;
}

absl::StatusOr<std::vector<ProfileRead>> RedisCustomerStore::ReadProfiles(
    absl::string_view tenant, absl::Span<const std::string> customer_ids) {
  // The profile and three short fields, not the whole state (nine fields
  // with the membership history): a config update reads every candidate.
  absl::StatusOr<std::vector<RedisReply>> replies =
      ReadEach(tenant, customer_ids, {"HMGET", "p", "a0", "a1", "o"});
  if (!replies.ok()) return replies.status();
  std::vector<ProfileRead> profiles(replies->size());
  for (size_t i = 0; i < replies->size(); ++i) {
    const RedisReply& reply = (*replies)[i];
    if (absl::Status s = CustomerReadStatus(reply, customer_ids[i]); !s.ok()) return s;
    if (!reply.is_array() || reply.elements().size() != 2 + kNumAovIndexes) {
      return Unexpected(reply, "HMGET profile");
    }
    const std::vector<RedisReply>& f = reply.elements();
    if (!f[0].is_string() && !f[0].is_nil()) return Unexpected(reply, "HMGET profile");
    profiles[i].profile = f[0].str();
    if (absl::Status s = ParseAovEntries(&f[1], profiles[i].aov_milli); !s.ok()) return s;
    if (!f[1 + kNumAovIndexes].is_nil()) {
      absl::StatusOr<int64_t> ordinal = ParseInt(f[1 + kNumAovIndexes], "ordinal");
      if (!ordinal.ok()) return ordinal.status();
      profiles[i].ordinal = static_cast<uint32_t>(*ordinal);
    }
  }
  return profiles;
}

std::vector<std::string> RedisCustomerStore::WriteKeys(absl::string_view tenant,
                                                       const CustomerWrite& write) const {
  return {CustomerKey(tenant, write.customer_id),
          OrdinalsKey(tenant),
          OrdinalCounterKey(tenant),
          ScheduleKey(tenant),
          ChangesKey(tenant),
          MeasureKey(tenant, kOrders),
          MeasureKey(tenant, kRevenue),
          ConfigKey(tenant),
          DailyKey(tenant),
          AovKey(tenant, AovIndex::kBigSpender),
          AovKey(tenant, AovIndex::kLowSpender),
          RegistrationKey(tenant),
          RegistrationCompleteKey(tenant),
          OrderRecordCompleteKey(tenant),
          AovIndexesKeptKey(tenant),
          TenantPresenceKey(tenant)};
}

std::vector<std::string> RedisCustomerStore::WriteArgs(absl::string_view tenant,
                                                       const CustomerWrite& write) const {
  if (write.bookkeeping_only) {
    return {write.customer_id,
            absl::StrCat(write.expected_version),
            absl::StrCat(write.expected_version + 1),
            write.membership,
            EncodeSegments(write.segments),
            MsOrNone(write.next_change),
            absl::StrCat(write.config_version),
            IntOrNone(write.aov_milli[0]),
            IntOrNone(write.aov_milli[1])};
  }
  std::vector<std::string> args = {write.customer_id,
                                   absl::StrCat(write.expected_version),
                                   absl::StrCat(write.expected_version + 1),
                                   write.profile,
                                   write.membership,
                                   EncodeSegments(write.segments),
                                   MsOrNone(write.next_change),
                                   absl::StrCat(static_cast<int>(write.cause)),
                                   absl::StrCat(absl::ToUnixMillis(write.changed_at)),
                                   write.measures_as_stored ? "="
                                   : write.lifetime_orders >= 1
                                       ? absl::StrCat(write.lifetime_orders)
                                       : "",
                                   absl::StrCat(write.lifetime_revenue),
                                   SegmentPrefix(tenant),
                                   absl::StrCat(options_.max_changes),
                                   absl::StrCat(write.config_version)};
  for (const std::optional<int64_t>& aov : write.aov_milli) args.push_back(IntOrNone(aov));
  // Per day: its totals' change and the records of each change.
  struct DayChange {
    int64_t orders = 0;
    int64_t revenue = 0;
    std::string log;
  };
  std::map<int64_t, DayChange> days;
  for (const OrderTotalsDelta& d : write.order_totals) {
    DayChange& day = days[UtcDayOf(d.placed_ms)];
    day.orders += d.orders;
    day.revenue += d.revenue;
    AppendOrderLogRecord(d, day.log);
  }
  args.push_back(absl::StrCat(days.size()));
  args.push_back(write.history);
  args.push_back(IntOrNone(write.registered_non_buyer_ms));
  args.push_back(absl::StrCat(write.placed_orders.size()));
  args.push_back(DayLogPrefix(tenant));
  for (auto& [day, change] : days) {
    args.push_back(absl::StrCat(day));
    args.push_back(absl::StrCat(change.orders));
    args.push_back(absl::StrCat(change.revenue));
    args.push_back(std::move(change.log));
  }
  for (uint64_t order : write.placed_orders) {
    args.push_back(OrderOwnersKey(tenant, order));
    args.push_back(OrderField(order));
  }
  args.insert(args.end(), write.segments.begin(), write.segments.end());
  return args;
}

absl::Status RedisCustomerStore::WriteBatch(absl::string_view tenant,
                                            absl::Span<const CustomerWrite> writes,
                                            std::vector<WriteResult>& committed) {
  std::vector<WriteResult> done(writes.size(), WriteResult::kConflict);
  // Re-classifications go through one transaction; a customer written twice
  // in the batch goes through scripts, which run in order (its second write
  // must see the first), as does every write when a watched key changed.
  absl::flat_hash_map<absl::string_view, int> writes_of;
  for (const CustomerWrite& w : writes) ++writes_of[w.customer_id];
  std::vector<size_t> scripted, reclassified;
  for (size_t i = 0; i < writes.size(); ++i) {
    const bool alone = writes_of[writes[i].customer_id] == 1;
    (alone && Reclassifies(writes[i]) ? reclassified : scripted).push_back(i);
  }
  if (!reclassified.empty()) {
    // Read under WATCH, then as written: the transaction checks each
    // version against the state it read.
    std::vector<std::string> ids;
    ids.reserve(reclassified.size());
    for (size_t i : reclassified) ids.push_back(writes[i].customer_id);
    std::vector<WriteResult> results;
    absl::Status s = ReadAndWriteBatch(
        tenant, ids,
        [&](const std::vector<CustomerState>&) -> absl::StatusOr<std::vector<CustomerWrite>> {
          std::vector<CustomerWrite> same;
          same.reserve(reclassified.size());
          for (size_t i : reclassified) same.push_back(writes[i]);
          return same;
        },
        results);
    if (!s.ok()) return s;
    for (size_t k = 0; k < reclassified.size(); ++k) done[reclassified[k]] = results[k];
  }
  if (absl::Status s = RunWriteScripts(tenant, writes, scripted, done); !s.ok()) return s;
  committed.insert(committed.end(), done.begin(), done.end());
  return absl::OkStatus();
}

absl::Status RedisCustomerStore::RunWriteScripts(absl::string_view tenant,
                                                 absl::Span<const CustomerWrite> writes,
                                                 absl::Span<const size_t> which,
                                                 std::vector<WriteResult>& done) {
  // Runs writes[i] through Eval, which loads its script when Redis lacks it.
  auto eval = [&](size_t i) -> absl::StatusOr<RedisReply> {
    return client_->Eval(ScriptFor(writes[i]), WriteKeys(tenant, writes[i]),
                         WriteArgs(tenant, writes[i]));
  };
  // Interprets the script's answer to writes[i].
  auto record = [&](absl::StatusOr<RedisReply> answer, size_t i) -> absl::Status {
    // Redis forgot the script (restart, SCRIPT FLUSH): EVALSHA ran nothing,
    // so run this write again through Eval, which reloads it.
    if (answer.ok() && answer->IsErrorWithPrefix("NOSCRIPT")) answer = eval(i);
    // Refused for the presence key: a tenant older than the key gets it from
    // the registry and the write runs again; a lost store's does not.
    answer = UnlessTenantAbsent(std::move(answer), client_, tenant, [&] { return eval(i); });
    if (!answer.ok()) return answer.status();  // the connection: every write unknown
    // Redis's answer to this write alone. A key of another type under the
    // tenant's prefix refuses this customer, not the writes pipelined with it
    // (committed, or still to send). Any other error (OOM, READONLY, LOADING,
    // BUSY, ...) is the store's, not the customer's: the whole call fails, as
    // it must for callers that retry (a background pass) rather than skip.
    const RedisReply& reply = *answer;
    if (absl::Status s = redis::RedisErrorToStatus(reply); !s.ok()) {
      if (!reply.IsErrorWithPrefix("WRONGTYPE")) return s;
      done[i] = WriteResult::Refused(ScriptRefusal(writes[i], std::move(s)));
      return absl::OkStatus();
    }
    if (!reply.is_integer()) return Unexpected(reply, "write script");
    if (reply.integer() == -1 || reply.integer() == -2) {
      done[i] = WriteResult::Refused(reply.integer() == -1 ? UndecodableSegments(writes[i])
                                                           : OtherSegmentsThanStored(writes[i]));
      return absl::OkStatus();
    }
    done[i] = reply.integer() == 1    ? WriteResult::kCommitted
              : reply.integer() == -3 ? WriteResult::kOrderTaken
                                      : WriteResult::kConflict;
    return absl::OkStatus();
  };
  std::vector<RedisCommand> commands;
  std::vector<size_t> pipelined;  // the write of each command
  commands.reserve(which.size());
  // Sends the writes gathered so far, in order.
  auto send = [&]() -> absl::Status {
    if (commands.empty()) return absl::OkStatus();
    absl::StatusOr<std::vector<RedisReply>> replies = client_->Pipeline(commands);
    if (!replies.ok()) return replies.status();
    for (size_t c = 0; c < pipelined.size(); ++c) {
      if (absl::Status s = record(std::move((*replies)[c]), pipelined[c]); !s.ok()) return s;
    }
    commands.clear();
    pipelined.clear();
    return absl::OkStatus();
  };
  for (size_t i : which) {
    const std::string sha1 = ScriptFor(writes[i]).sha1();
    if (sha1.empty()) {
      // The script's first use: Eval loads it, later writes are pipelined.
      // The writes gathered before it go first: a customer's second write
      // (another script) must run after its first.
      if (absl::Status s = send(); !s.ok()) return s;
      if (absl::Status s = record(eval(i), i); !s.ok()) return s;
      continue;
    }
    std::vector<std::string> keys = WriteKeys(tenant, writes[i]);
    RedisCommand command = {"EVALSHA", sha1, absl::StrCat(keys.size())};
    for (std::string& key : keys) command.push_back(std::move(key));
    for (std::string& arg : WriteArgs(tenant, writes[i])) command.push_back(std::move(arg));
    commands.push_back(std::move(command));
    pipelined.push_back(i);
  }
  return send();
}

absl::StatusOr<std::vector<WriteResult>> RedisCustomerStore::ReadAndWrite(
    absl::string_view tenant, absl::Span<const std::string> customer_ids, WritesOf decide) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  for (const std::string& id : customer_ids) {
    if (absl::Status s = ValidateCustomerId(id); !s.ok()) return s;
  }
  // A transaction per write_batch customers (as WriteWithResults's batches
  // of a large call): its EXEC must stay well within Redis's 5 ms budget for
  // one command.
  std::vector<WriteResult> results;
  for (size_t begin = 0; begin < customer_ids.size(); begin += options_.write_batch) {
    const size_t n =
        std::min(customer_ids.size() - begin, static_cast<size_t>(options_.write_batch));
    absl::Status s = ReadAndWriteBatch(tenant, customer_ids.subspan(begin, n), decide, results);
    if (!s.ok()) return s;
  }
  return results;
}

absl::Status RedisCustomerStore::ReadAndWriteBatch(absl::string_view tenant,
                                                   absl::Span<const std::string> customer_ids,
                                                   WritesOf decide,
                                                   std::vector<WriteResult>& results) {
  // Watched: the config (a write computed with a replaced config is refused)
  // and each customer; read: the config version and each customer's state.
  std::vector<std::string> watch = {ConfigKey(tenant)};
  std::vector<RedisCommand> reads = {{"HGET", ConfigKey(tenant), "v"}};
  for (const std::string& id : customer_ids) {
    watch.push_back(CustomerKey(tenant, id));
    RedisCommand read = {"HMGET", watch.back()};
    read.insert(read.end(), std::begin(kStateFields), std::end(kStateFields));
    reads.push_back(std::move(read));
  }
  // Last, the presence key: without it every write goes to the scripts,
  // which refuse it (or set the key, for a tenant older than it).
  watch.push_back(TenantPresenceKey(tenant));
  reads.push_back({"EXISTS", watch.back()});
  std::vector<CustomerWrite> writes;
  std::vector<size_t> transacted, scripted;  // indexes into `writes`
  auto body =
      [&](const std::vector<RedisReply>& read) -> absl::StatusOr<std::vector<RedisCommand>> {
    if (before_reclassify_commit_for_test_) before_reclassify_commit_for_test_();
    if (absl::Status s = redis::RedisErrorToStatus(read[0]); !s.ok()) return s;
    const std::string config_version = read[0].is_nil() ? "0" : read[0].str();
    const bool present = read.back().is_integer() && read.back().integer() == 1;
    std::vector<CustomerState> states(customer_ids.size());
    absl::flat_hash_map<absl::string_view, size_t> read_at;
    for (size_t k = 0; k < customer_ids.size(); ++k) {
      if (absl::Status s = ParseState(read[1 + k], customer_ids[k], states[k]); !s.ok()) return s;
      read_at.emplace(customer_ids[k], k);
    }
    absl::StatusOr<std::vector<CustomerWrite>> made = decide(states);
    if (!made.ok()) return made.status();
    writes = *std::move(made);
    if (absl::Status s = ValidateWrites(writes); !s.ok()) return s;
    // Re-classifications of customers read here, once each, go in the
    // transaction with the scripts' checks done in C++ on what was read; the
    // rest through their scripts, which run in order, after it.
    absl::flat_hash_map<absl::string_view, int> writes_of;
    for (const CustomerWrite& w : writes) ++writes_of[w.customer_id];
    transacted.clear();
    scripted.clear();
    std::vector<RedisCommand> out;
    // The member-set and sorted-set moves of every write, one command per
    // key after the writes' other commands.
    redis::MemberCommands members;
    for (size_t i = 0; i < writes.size(); ++i) {
      const CustomerWrite& w = writes[i];
      auto at = read_at.find(w.customer_id);
      if (!present || at == read_at.end() || writes_of[w.customer_id] != 1 || !Reclassifies(w)) {
        scripted.push_back(i);
        continue;
      }
      if (w.expected_version != states[at->second].version ||
          config_version != absl::StrCat(w.config_version)) {
        continue;  // a conflict, as the scripts answer it
      }
      const std::vector<RedisReply>& stored = read[1 + at->second].elements();
      if (absl::Status s = AppendReclassification(tenant, w, stored, out, members); !s.ok()) {
        return s;
      }
      transacted.push_back(i);
    }
    members.AppendTo(out);
    return out;
  };
  absl::StatusOr<std::optional<std::vector<RedisReply>>> replies =
      client_->Transaction(watch, reads, body);
  if (!replies.ok()) return replies.status();
  std::vector<WriteResult> done(writes.size(), WriteResult::kConflict);
  if (replies->has_value()) {
    // Redis runs a transaction's later commands after one fails; only keys
    // of the wrong type make these fail, and then the stored state is not
    // ours.
    for (const RedisReply& reply : **replies) {
      if (absl::Status s = redis::RedisErrorToStatus(reply); !s.ok()) return s;
    }
    for (size_t i : transacted) done[i] = WriteResult::kCommitted;
  } else {
    // A watched key changed: nothing ran. The scripts check each version.
    scripted.insert(scripted.end(), transacted.begin(), transacted.end());
    std::sort(scripted.begin(), scripted.end());
  }
  if (absl::Status s = RunWriteScripts(tenant, writes, scripted, done); !s.ok()) return s;
  results.insert(results.end(), done.begin(), done.end());
  return absl::OkStatus();
}

absl::Status RedisCustomerStore::AppendReclassification(absl::string_view tenant,
                                                        const CustomerWrite& w,
                                                        const std::vector<RedisReply>& stored,
                                                        std::vector<RedisCommand>& out,
                                                        redis::MemberCommands& members) const {
  // stored: kStateFields, as ReadAndWriteBatch reads them.
  const std::string& id = w.customer_id;
  const std::string segments = EncodeSegments(w.segments);
  const std::string next_change = MsOrNone(w.next_change);
  const std::string aov[kNumAovIndexes] = {IntOrNone(w.aov_milli[0]), IntOrNone(w.aov_milli[1])};
  const std::string version = absl::StrCat(w.expected_version + 1);
  if (w.bookkeeping_only) {
    if (stored[kSegments].str() != segments) return OtherSegmentsThanStored(w);
  } else {
    absl::StatusOr<std::vector<std::string>> was = DecodeSegments(stored[kSegments].str());
    if (!was.ok()) return UndecodableSegments(w);
    const absl::flat_hash_set<absl::string_view> before(was->begin(), was->end());
    const absl::flat_hash_set<absl::string_view> after(w.segments.begin(), w.segments.end());
    const std::string cause = absl::StrCat(static_cast<int>(w.cause));
    const std::string at = absl::StrCat(absl::ToUnixMillis(w.changed_at));
    auto change = [&](const std::string& name, const char* entered) {
      out.push_back({"XADD", ChangesKey(tenant), "MAXLEN", "~", absl::StrCat(options_.max_changes),
                     "*", "c", id, "s", name, "e", entered, "t", at, "k", cause});
    };
    for (const std::string& name : *was) {
      if (after.contains(name)) continue;
      members.Add("SREM", SegmentKey(tenant, name), {id});
      change(name, "0");
    }
    for (const std::string& name : w.segments) {
      if (before.contains(name)) continue;
      members.Add("SADD", SegmentKey(tenant, name), {id});
      change(name, "1");
    }
    MoveEntry(members, RegistrationKey(tenant), stored[kRegistered],
              IntOrNone(w.registered_non_buyer_ms), id);
  }
  MoveEntry(members, ScheduleKey(tenant), stored[kNextChange], next_change, id);
  MoveEntry(members, AovKey(tenant, AovIndex::kBigSpender), stored[kAov0], aov[0], id);
  MoveEntry(members, AovKey(tenant, AovIndex::kLowSpender), stored[kAov1], aov[1], id);
  RedisCommand hset = {"HSET", CustomerKey(tenant, id),
                       "v",    version,
                       "m",    w.membership,
                       "n",    next_change,
                       "a0",   aov[0],
                       "a1",   aov[1]};
  if (!w.bookkeeping_only) {
    hset.insert(hset.end(), {"p", w.profile, "s", segments, "h", w.history, "g",
                             IntOrNone(w.registered_non_buyer_ms)});
  }
  out.push_back(std::move(hset));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<WriteResult>> RedisCustomerStore::WriteWithResults(
    absl::string_view tenant, absl::Span<const CustomerWrite> writes) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  if (absl::Status s = ValidateWrites(writes); !s.ok()) return s;
  std::vector<WriteResult> committed;
  committed.reserve(writes.size());
  const size_t batch = static_cast<size_t>(
      writes.size() <= static_cast<size_t>(options_.small_call_writes) ? options_.small_call_batch
                                                                       : options_.write_batch);
  for (size_t begin = 0; begin < writes.size(); begin += batch) {
    const size_t n = std::min(writes.size() - begin, batch);
    if (absl::Status s = WriteBatch(tenant, writes.subspan(begin, n), committed); !s.ok()) {
      return s;
    }
  }
  return committed;
}

absl::StatusOr<std::vector<uint32_t>> RedisCustomerStore::OrderOwners(
    absl::string_view tenant, absl::Span<const uint64_t> orders) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  if (orders.empty()) return std::vector<uint32_t>();
  std::vector<RedisCommand> commands;
  commands.reserve(orders.size());
  for (uint64_t order : orders) {
    commands.push_back({"HGET", OrderOwnersKey(tenant, order), OrderField(order)});
  }
  absl::StatusOr<std::vector<RedisReply>> replies = client_->Pipeline(commands);
  if (!replies.ok()) return replies.status();
  std::vector<uint32_t> owners;
  owners.reserve(orders.size());
  for (const RedisReply& reply : *replies) {
    if (absl::Status s = redis::RedisErrorToStatus(reply); !s.ok()) return s;
    uint32_t owner = 0;
    if (!reply.is_nil() &&
        (!reply.is_string() || !absl::SimpleAtoi(reply.str(), &owner) || owner == 0)) {
      return Unexpected(reply, "order owner");
    }
    owners.push_back(owner);
  }
  return owners;
}

absl::StatusOr<std::optional<uint32_t>> RedisCustomerStore::UnfilledFrom(
    absl::string_view tenant, const std::string& marker_key, const std::string& cursor_key) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  absl::StatusOr<std::vector<RedisReply>> values =
      MGet(*client_, {marker_key, OrdinalCounterKey(tenant), cursor_key});
  if (!values.ok()) return values.status();
  const RedisReply& complete = (*values)[0];
  const RedisReply& cursor = (*values)[2];
  if (!complete.is_nil()) return std::nullopt;
  if ((*values)[1].is_nil()) return 0;  // no customer: its first write sets the marker
  uint32_t next = 1;
  if (!cursor.is_nil() &&
      (!cursor.is_string() || !absl::SimpleAtoi(cursor.str(), &next) || next == 0)) {
    return Unexpected(cursor, cursor_key);
  }
  return next;
}

absl::Status RedisCustomerStore::MoveBackfillCursor(absl::string_view tenant,
                                                    const std::string& marker_key,
                                                    const std::string& cursor_key,
                                                    uint32_t next_ordinal) {
  if (next_ordinal == 0) return absl::OkStatus();
  return ErrorReplyAsStatus(client_->Eval(BackfillCursorScript(),
                                          {cursor_key, marker_key, OrdinalCounterKey(tenant)},
                                          {absl::StrCat(next_ordinal)}))
      .status();
}

absl::StatusOr<std::optional<uint32_t>> RedisCustomerStore::OrdersUnrecordedFrom(
    absl::string_view tenant) {
  return UnfilledFrom(tenant, OrderRecordCompleteKey(tenant), OrderRecordNextKey(tenant));
}

absl::StatusOr<int64_t> RedisCustomerStore::RecordOrders(absl::string_view tenant,
                                                         absl::Span<const RecordedOrder> orders,
                                                         uint32_t next_ordinal) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  if (absl::Status s = ValidateRecordedOrders(orders); !s.ok()) return s;
  // Plain pipelined commands, not a script: from Lua each HSETNX cost Redis
  // ~6 us (200k customers, every order in another bucket), so a script of
  // 1,000 blocked it for 5-7 ms (docs/benchmarks.md, thirteenth pass).
  int64_t taken = 0;
  for (size_t begin = 0; begin < orders.size(); begin += kRecordOrdersPage) {
    const size_t end = std::min(orders.size(), begin + kRecordOrdersPage);
    std::vector<RedisCommand> claims;
    claims.reserve(end - begin);
    for (size_t i = begin; i < end; ++i) {
      claims.push_back({"HSETNX", OrderOwnersKey(tenant, orders[i].order),
                        OrderField(orders[i].order), absl::StrCat(orders[i].ordinal)});
    }
    absl::StatusOr<int64_t> page_taken = ClaimOrders(claims);
    if (!page_taken.ok()) return page_taken.status();
    taken += *page_taken;
  }
  // The cursor moves only once every order below it is recorded: a failure
  // above leaves it where it was, and recording again is harmless.
  if (absl::Status s = MoveBackfillCursor(tenant, OrderRecordCompleteKey(tenant),
                                          OrderRecordNextKey(tenant), next_ordinal);
      !s.ok()) {
    return s;
  }
  return taken;
}

absl::StatusOr<std::optional<uint32_t>> RedisCustomerStore::RegistrationsUnindexedFrom(
    absl::string_view tenant) {
  return UnfilledFrom(tenant, RegistrationCompleteKey(tenant), RegistrationNextKey(tenant));
}

absl::StatusOr<int64_t> RedisCustomerStore::IndexRegistrations(
    absl::string_view tenant, absl::Span<const IndexedRegistration> customers,
    uint32_t next_ordinal) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  if (absl::Status s = ValidateIndexedRegistrations(customers); !s.ok()) return s;
  int64_t added = 0;
  for (size_t begin = 0; begin < customers.size(); begin += kIndexRegistrationsPage) {
    const size_t end = std::min(customers.size(), begin + kIndexRegistrationsPage);
    std::vector<std::string> args;
    args.reserve(3 * (end - begin));
    for (size_t i = begin; i < end; ++i) {
      const IndexedRegistration& r = customers[i];
      args.push_back(CustomerKey(tenant, r.customer_id));
      args.push_back(r.customer_id);
      args.push_back(absl::StrCat(r.registered_non_buyer_ms));
    }
    absl::StatusOr<RedisReply> reply = ErrorReplyAsStatus(
        client_->Eval(IndexRegistrationsScript(), {RegistrationKey(tenant)}, args));
    if (!reply.ok()) return reply.status();
    if (!reply->is_integer()) return Unexpected(*reply, "registration index script");
    added += reply->integer();
  }
  // As RecordOrders': only once every entry below the cursor is stored.
  if (absl::Status s = MoveBackfillCursor(tenant, RegistrationCompleteKey(tenant),
                                          RegistrationNextKey(tenant), next_ordinal);
      !s.ok()) {
    return s;
  }
  return added;
}

absl::StatusOr<int64_t> RedisCustomerStore::ClaimOrders(const std::vector<RedisCommand>& claims) {
  absl::StatusOr<std::vector<RedisReply>> claimed = client_->Pipeline(claims);
  if (!claimed.ok()) return claimed.status();
  // The orders recorded already: against whom? (A write script's claims and
  // their release happen within its one atomic run, so a field HSETNX found
  // is still there.)
  std::vector<RedisCommand> owners;
  std::vector<size_t> held;
  for (size_t i = 0; i < claims.size(); ++i) {
    const RedisReply& reply = (*claimed)[i];
    if (absl::Status s = redis::RedisErrorToStatus(reply); !s.ok()) return s;
    if (!reply.is_integer()) return Unexpected(reply, "HSETNX");
    if (reply.integer() == 1) continue;
    owners.push_back({"HGET", claims[i][1], claims[i][2]});
    held.push_back(i);
  }
  if (owners.empty()) return 0;
  absl::StatusOr<std::vector<RedisReply>> owner = client_->Pipeline(owners);
  if (!owner.ok()) return owner.status();
  int64_t taken = 0;
  for (size_t k = 0; k < held.size(); ++k) {
    const RedisReply& reply = (*owner)[k];
    if (absl::Status s = redis::RedisErrorToStatus(reply); !s.ok()) return s;
    if (!reply.is_string()) return Unexpected(reply, "HGET order owner");
    if (reply.str() != claims[held[k]][3]) ++taken;
  }
  return taken;
}

absl::StatusOr<std::vector<std::string>> RedisCustomerStore::Due(absl::string_view tenant,
                                                                 absl::Time now, int limit) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  if (absl::Status s = ValidateCount(limit, "limit"); !s.ok()) return s;
  absl::StatusOr<RedisReply> reply = ErrorReplyAsStatus(
      client_->Command({"ZRANGEBYSCORE", ScheduleKey(tenant), "-inf",
                        absl::StrCat(absl::ToUnixMillis(now)), "LIMIT", "0", absl::StrCat(limit)}));
  if (!reply.ok()) return reply.status();
  if (!reply->is_array()) return Unexpected(*reply, "ZRANGEBYSCORE");
  std::vector<std::string> due;
  for (const RedisReply& id : reply->elements()) due.push_back(id.str());
  return due;
}

absl::StatusOr<std::optional<absl::Time>> RedisCustomerStore::NextDueAfter(absl::string_view tenant,
                                                                           absl::Time after) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  return FirstScore(after == absl::InfinitePast()
                        ? client_->Command({"ZRANGE", ScheduleKey(tenant), "0", "0", "WITHSCORES"})
                        : client_->Command({"ZRANGEBYSCORE", ScheduleKey(tenant),
                                            absl::StrCat("(", absl::ToUnixMillis(after)), "+inf",
                                            "WITHSCORES", "LIMIT", "0", "1"}),
                    "ZRANGE");
}

absl::StatusOr<int64_t> RedisCustomerStore::SegmentSize(absl::string_view tenant,
                                                        absl::string_view segment) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  if (absl::Status s = ValidateSegment(segment); !s.ok()) return s;
  return IntegerCommand(*client_, {"SCARD", SegmentKey(tenant, segment)});
}

absl::StatusOr<std::vector<int64_t>> RedisCustomerStore::SegmentSizes(
    absl::string_view tenant, absl::Span<const std::string> segments) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  std::vector<RedisCommand> commands;
  commands.reserve(segments.size());
  for (const std::string& segment : segments) {
    if (absl::Status s = ValidateSegment(segment); !s.ok()) return s;
    commands.push_back({"SCARD", SegmentKey(tenant, segment)});
  }
  absl::StatusOr<std::vector<RedisReply>> replies = client_->Pipeline(commands);
  if (!replies.ok()) return replies.status();
  std::vector<int64_t> sizes;
  sizes.reserve(replies->size());
  for (const RedisReply& reply : *replies) {
    if (absl::Status s = redis::RedisErrorToStatus(reply); !s.ok()) return s;
    if (!reply.is_integer()) return Unexpected(reply, "SCARD");
    sizes.push_back(reply.integer());
  }
  return sizes;
}

namespace {

// The page of an SSCAN reply.
absl::StatusOr<IdPage> SscanPage(const RedisReply& reply) {
  if (absl::Status s = redis::RedisErrorToStatus(reply); !s.ok()) return s;
  std::optional<redis::SscanPage> sscan = redis::SscanPageOf(reply);
  if (!sscan.has_value()) return Unexpected(reply, "SSCAN");
  IdPage page;
  if (sscan->cursor != "0") page.next_cursor = std::move(sscan->cursor);
  page.ids = std::move(sscan->members);
  return page;
}

}  // namespace

absl::StatusOr<IdPage> RedisCustomerStore::ScanSegment(absl::string_view tenant,
                                                       absl::string_view segment,
                                                       absl::string_view cursor, int count) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  if (absl::Status s = ValidateSegment(segment); !s.ok()) return s;
  if (absl::Status s = ValidateCount(count, "count"); !s.ok()) return s;
  uint64_t position = 0;
  if (!cursor.empty() && !absl::SimpleAtoi(cursor, &position)) {
    return absl::InvalidArgumentError("cursor: not a cursor ScanSegment returned");
  }
  absl::StatusOr<RedisReply> reply = client_->Command(
      {"SSCAN", SegmentKey(tenant, segment), absl::StrCat(position), "COUNT", absl::StrCat(count)});
  if (!reply.ok()) return reply.status();
  return SscanPage(*reply);
}

absl::StatusOr<std::vector<IdPage>> RedisCustomerStore::ScanSegmentsFirstPages(
    absl::string_view tenant, absl::Span<const std::string> segments, int count) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  if (absl::Status s = ValidateCount(count, "count"); !s.ok()) return s;
  std::vector<RedisCommand> commands;
  commands.reserve(segments.size());
  for (const std::string& segment : segments) {
    if (absl::Status s = ValidateSegment(segment); !s.ok()) return s;
    commands.push_back({"SSCAN", SegmentKey(tenant, segment), "0", "COUNT", absl::StrCat(count)});
  }
  absl::StatusOr<std::vector<RedisReply>> replies = client_->Pipeline(commands);
  if (!replies.ok()) return replies.status();
  std::vector<IdPage> pages;
  pages.reserve(replies->size());
  for (const RedisReply& reply : *replies) {
    absl::StatusOr<IdPage> page = SscanPage(reply);
    if (!page.ok()) return page.status();
    pages.push_back(*std::move(page));
  }
  return pages;
}

absl::StatusOr<IdPage> RedisCustomerStore::ScanCustomers(absl::string_view tenant,
                                                         absl::string_view cursor, int count) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  if (absl::Status s = ValidateCount(count, "count"); !s.ok()) return s;
  uint64_t next = 1;
  if (!cursor.empty() && (!absl::SimpleAtoi(cursor, &next) || next < 1)) {
    return absl::InvalidArgumentError("cursor: not a cursor ScanCustomers returned");
  }
  const uint64_t end = next + static_cast<uint64_t>(std::min(count, kMaxScanCustomers));
  RedisCommand hmget = {"HMGET", OrdinalsKey(tenant)};
  for (uint64_t ordinal = next; ordinal < end; ++ordinal) hmget.push_back(absl::StrCat(ordinal));
  absl::StatusOr<std::vector<RedisReply>> replies =
      client_->Pipeline({{"GET", OrdinalCounterKey(tenant)}, hmget});
  if (!replies.ok()) return replies.status();
  for (const RedisReply& reply : *replies) {
    if (absl::Status s = redis::RedisErrorToStatus(reply); !s.ok()) return s;
  }
  int64_t last = 0;
  if (!(*replies)[0].is_nil()) {
    absl::StatusOr<int64_t> counter = ParseInt((*replies)[0], "ordinal counter");
    if (!counter.ok()) return counter.status();
    last = *counter;
  }
  IdPage page;
  for (const RedisReply& id : (*replies)[1].elements()) {
    if (id.is_string()) page.ids.push_back(id.str());
  }
  if (static_cast<int64_t>(end) <= last) page.next_cursor = absl::StrCat(end);
  return page;
}

absl::Status RedisCustomerStore::ByMeasurePages(absl::string_view tenant, const std::string& key,
                                                int64_t lo, int64_t hi, const IdPageSink& sink) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  if (hi <= lo) return absl::OkStatus();
  // Pages of read_page members in score order (O(log N + page) each), never
  // one unbounded range. Each page after the first starts right after the
  // last member read, located by ZRANK in the same script: paging by rank
  // alone would skip a member whenever one before it left the range between
  // two pages (a write changing its score), and writes land all the time.
  const std::string page_size = absl::StrCat(options_.read_page);
  const std::string from = absl::StrCat(lo), to = absl::StrCat(hi);
  std::string after, after_score;  // the last member read and its score
  while (true) {
    absl::StatusOr<RedisReply> page = ErrorReplyAsStatus(
        client_->Eval(MeasurePageScript(), {key}, {from, to, page_size, after, after_score}));
    if (!page.ok()) return page.status();
    if (!page->is_array()) return Unexpected(*page, "measure page");
    const std::vector<RedisReply>& e = page->elements();
    if (e.empty()) return absl::OkStatus();
    std::vector<std::string> ids;
    ids.reserve(e.size() - 1);
    for (size_t i = 0; i + 1 < e.size(); ++i) {
      if (!e[i].is_string()) return Unexpected(e[i], "measure page member");
      ids.push_back(e[i].str());
    }
    if (ids.empty() || !e.back().is_string()) return Unexpected(*page, "measure page");
    const bool last_page = ids.size() < static_cast<size_t>(options_.read_page);
    after = ids.back();
    after_score = e.back().str();
    if (absl::Status s = sink(std::move(ids)); !s.ok()) return s;
    if (last_page) return absl::OkStatus();
  }
}

absl::StatusOr<std::vector<std::string>> RedisCustomerStore::ByMeasure(absl::string_view tenant,
                                                                       const std::string& key,
                                                                       int64_t lo, int64_t hi) {
  std::vector<std::string> ids;
  absl::flat_hash_set<std::string> seen;  // a member re-read after its anchor moved: once
  absl::Status status = ByMeasurePages(tenant, key, lo, hi, [&](std::vector<std::string> page) {
    for (std::string& id : page) {
      if (seen.insert(id).second) ids.push_back(std::move(id));
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return ids;
}

absl::Status RedisCustomerStore::ScanCustomersByOrders(absl::string_view tenant, int64_t lo,
                                                       int64_t hi, const IdPageSink& page) {
  return ByMeasurePages(tenant, MeasureKey(tenant, kOrders), lo, hi, page);
}

absl::StatusOr<int64_t> RedisCustomerStore::CountCustomersByOrders(absl::string_view tenant,
                                                                   int64_t lo, int64_t hi) {
  return CountByMeasure(tenant, MeasureKey(tenant, kOrders), lo, hi);
}

absl::Status RedisCustomerStore::ScanCustomersByAov(absl::string_view tenant, AovIndex index,
                                                    int64_t lo, int64_t hi,
                                                    const IdPageSink& page) {
  return ByMeasurePages(tenant, AovKey(tenant, index), lo, hi, page);
}

absl::StatusOr<int64_t> RedisCustomerStore::CountCustomersByAov(absl::string_view tenant,
                                                                AovIndex index, int64_t lo,
                                                                int64_t hi) {
  return CountByMeasure(tenant, AovKey(tenant, index), lo, hi);
}

absl::StatusOr<bool> RedisCustomerStore::AovIndexesKeptFromStart(absl::string_view tenant) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  absl::StatusOr<int64_t> exists = IntegerCommand(*client_, {"EXISTS", AovIndexesKeptKey(tenant)});
  if (!exists.ok()) return exists.status();
  return *exists == 1;
}

absl::StatusOr<int64_t> RedisCustomerStore::CountByMeasure(absl::string_view tenant,
                                                           const std::string& key, int64_t lo,
                                                           int64_t hi) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  return IntegerCommand(*client_, {"ZCOUNT", key, absl::StrCat(lo), absl::StrCat("(", hi)});
}

absl::StatusOr<std::vector<std::string>> RedisCustomerStore::CustomersByOrders(
    absl::string_view tenant, int64_t lo, int64_t hi) {
  return ByMeasure(tenant, MeasureKey(tenant, kOrders), lo, hi);
}

absl::StatusOr<std::vector<std::string>> RedisCustomerStore::CustomersByRevenue(
    absl::string_view tenant, int64_t lo, int64_t hi) {
  return ByMeasure(tenant, MeasureKey(tenant, kRevenue), lo, hi);
}

absl::StatusOr<std::vector<std::string>> RedisCustomerStore::CustomersByAov(
    absl::string_view tenant, AovIndex index, int64_t lo, int64_t hi) {
  return ByMeasure(tenant, AovKey(tenant, index), lo, hi);
}

absl::Status RedisCustomerStore::ScanRegisteredNonBuyers(absl::string_view tenant, int64_t lo,
                                                         int64_t hi, const IdPageSink& page) {
  return ByMeasurePages(tenant, RegistrationKey(tenant), lo, hi, page);
}

absl::StatusOr<std::vector<DayTotals>> RedisCustomerStore::DailyTotals(absl::string_view tenant,
                                                                      int64_t first_day,
                                                                      int64_t last_day) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  if (absl::Status s = ValidateDayRange(first_day, last_day); !s.ok()) return s;
  RedisCommand command = {"HMGET", DailyKey(tenant)};
  for (int64_t day = first_day; day <= last_day; ++day) {
    command.push_back(absl::StrCat("o", day));
    command.push_back(absl::StrCat("r", day));
  }
  absl::StatusOr<RedisReply> reply = ErrorReplyAsStatus(client_->Command(command));
  if (!reply.ok()) return reply.status();
  const size_t days = static_cast<size_t>(last_day - first_day + 1);
  if (!reply->is_array() || reply->elements().size() != 2 * days) {
    return Unexpected(*reply, "HMGET");
  }
  std::vector<DayTotals> totals(days);
  for (size_t i = 0; i < days; ++i) {
    for (int k = 0; k < 2; ++k) {
      const RedisReply& field = reply->elements()[2 * i + k];
      if (field.is_nil()) continue;
      absl::StatusOr<int64_t> value = ParseInt(field, "daily total");
      if (!value.ok()) return value.status();
      (k == 0 ? totals[i].orders : totals[i].revenue) = *value;
    }
  }
  return totals;
}

absl::StatusOr<DayTotals> RedisCustomerStore::OrderTotalsIn(absl::string_view tenant,
                                                            int64_t after_ms, int64_t up_to_ms) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  if (absl::Status s = ValidateTotalsWindow(after_ms, up_to_ms); !s.ok()) return s;
  const int64_t first = UtcDayOf(after_ms);
  const int64_t last = UtcDayOf(up_to_ms);
  RedisCommand command = {"HMGET", DailyKey(tenant), kLogsFromField};
  for (int64_t day = first; day <= last; ++day) {
    command.push_back(absl::StrCat("o", day));
    command.push_back(absl::StrCat("r", day));
  }
  absl::StatusOr<RedisReply> reply = ErrorReplyAsStatus(client_->Command(command));
  if (!reply.ok()) return reply.status();
  if (!reply->is_array() || reply->elements().size() != command.size() - 2) {
    return Unexpected(*reply, "HMGET");
  }
  const std::vector<RedisReply>& fields = reply->elements();
  // The first day whose log is complete (none: whole days only).
  int64_t logs_from = std::numeric_limits<int64_t>::max();
  const RedisReply* from_field = &fields[0];
  absl::StatusOr<RedisReply> marked;
  if (from_field->is_nil()) {
    marked = ErrorReplyAsStatus(client_->Eval(
        MarkLogsFromScript(), {DailyKey(tenant), TenantPresenceKey(tenant)}, {kLogsFromField}));
    if (!marked.ok()) return marked.status();
    from_field = &*marked;
  }
  if (!from_field->is_nil()) {
    absl::StatusOr<int64_t> from = ParseInt(*from_field, "first logged day");
    if (!from.ok()) return from.status();
    logs_from = *from;
  }
  DayTotals sum;
  auto add = [&sum](const DayTotals& d) {
    sum.orders += d.orders;
    sum.revenue += d.revenue;
  };
  for (int64_t day = first; day <= last; ++day) {
    const bool starts = day == first, ends = day == last;
    if ((starts || ends) && day >= logs_from) {
      // Within the day: (after, up_to], to the millisecond.
      absl::StatusOr<DayTotals> part =
          order_logs_.Sum(*client_, absl::StrCat(DayLogPrefix(tenant), day),
                          starts ? after_ms - day * kDayMillis : -1,
                          ends ? up_to_ms - day * kDayMillis : kDayMillis);
      if (!part.ok()) return part.status();
      add(*part);
      continue;
    }
    if (starts && !ends) continue;  // unlogged: the window's first day counts none
    DayTotals whole;
    for (int k = 0; k < 2; ++k) {
      const RedisReply& field = fields[1 + 2 * (day - first) + k];
      if (field.is_nil()) continue;
      absl::StatusOr<int64_t> value = ParseInt(field, "daily total");
      if (!value.ok()) return value.status();
      (k == 0 ? whole.orders : whole.revenue) = *value;
    }
    add(whole);
  }
  return sum;
}

absl::StatusOr<int64_t> RedisCustomerStore::Buyers(absl::string_view tenant) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  return IntegerCommand(*client_, {"ZCARD", MeasureKey(tenant, kOrders)});
}

absl::StatusOr<std::optional<int64_t>> RedisCustomerStore::AtRank(absl::string_view tenant,
                                                                  absl::string_view measure,
                                                                  int64_t rank) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  if (rank < 1) return std::optional<int64_t>();
  const std::string index = absl::StrCat(rank - 1);
  absl::StatusOr<RedisReply> reply = ErrorReplyAsStatus(
      client_->Command({"ZREVRANGE", MeasureKey(tenant, measure), index, index, "WITHSCORES"}));
  if (!reply.ok()) return reply.status();
  if (!reply->is_array()) return Unexpected(*reply, "ZREVRANGE");
  if (reply->elements().size() < 2) return std::optional<int64_t>();
  absl::StatusOr<int64_t> value = ParseScore(reply->elements()[1]);
  if (!value.ok()) return value.status();
  return std::optional<int64_t>(*value);
}

absl::StatusOr<std::optional<int64_t>> RedisCustomerStore::OrdersAtRank(absl::string_view tenant,
                                                                        int64_t rank) {
  return AtRank(tenant, kOrders, rank);
}

absl::StatusOr<std::optional<int64_t>> RedisCustomerStore::RevenueAtRank(absl::string_view tenant,
                                                                         int64_t rank) {
  return AtRank(tenant, kRevenue, rank);
}

namespace {

// XREAD of up to `limit` entries of `key` after `id`, blocking for what is
// left of the caller's wait (`left`, at most `max_block`; none when nothing
// is left).
RedisCommand ReadChangesCommand(const std::string& key, const std::string& id, int limit,
                                absl::Duration left, absl::Duration max_block) {
  RedisCommand command = {"XREAD", "COUNT", absl::StrCat(limit)};
  if (left > absl::ZeroDuration()) {
    // XREAD BLOCK 0 would block forever: always at least 1 ms.
    const int64_t ms = std::max<int64_t>(1, absl::ToInt64Milliseconds(std::min(left, max_block)));
    command.insert(command.end(), {"BLOCK", absl::StrCat(ms)});
  }
  command.insert(command.end(), {"STREAMS", key, id});
  return command;
}

// Appends the entries of a reply to ReadChangesCommand to `changes` (nil:
// none arrived).
absl::Status AppendChanges(absl::StatusOr<RedisReply> reply, std::vector<StoredChange>& changes) {
  reply = ErrorReplyAsStatus(std::move(reply));
  if (!reply.ok()) return reply.status();
  if (reply->is_nil()) return absl::OkStatus();
  if (!reply->is_array()) return Unexpected(*reply, "XREAD");
  // [[key, [entry, ...]]]
  for (const RedisReply& stream : reply->elements()) {
    if (!stream.is_array() || stream.elements().size() != 2) return Unexpected(*reply, "XREAD");
    for (const RedisReply& entry : stream.elements()[1].elements()) {
      absl::StatusOr<StoredChange> change = ParseChange(entry);
      if (!change.ok()) return change.status();
      changes.push_back(*std::move(change));
    }
  }
  return absl::OkStatus();
}

// What RetainedFrom returns, from a reply to XINFO STREAM of the stream.
absl::StatusOr<std::optional<std::string>> RetainedFromInfo(absl::StatusOr<RedisReply> reply) {
  if (!reply.ok()) return reply.status();
  if (reply->is_error()) {
    // No stream yet: nothing was ever dropped. Any other error must not be
    // mistaken for that (a reader could then resume across a gap).
    if (absl::StrContains(reply->str(), "no such key")) return std::optional<std::string>();
    return redis::RedisErrorToStatus(*reply);
  }
  if (!reply->is_array()) return Unexpected(*reply, "XINFO STREAM");
  // Trimming by MAXLEN does not move max-deleted-entry-id, but it does make
  // entries-added exceed length.
  int64_t length = 0, added = 0;
  std::string first;
  const std::vector<RedisReply>& e = reply->elements();
  for (size_t i = 0; i + 1 < e.size(); i += 2) {
    const std::string& field = e[i].str();
    if (field == "length") length = e[i + 1].integer();
    if (field == "entries-added") added = e[i + 1].integer();
    if (field == "first-entry" && e[i + 1].is_array() && !e[i + 1].elements().empty()) {
      first = e[i + 1].elements()[0].str();
    }
  }
  if (added <= length || first.empty()) return std::optional<std::string>();
  return std::optional<std::string>(first);
}

// The customer count in a reply to GET of the ordinal counter (nil: none yet).
absl::StatusOr<int64_t> CustomerCountOf(absl::StatusOr<RedisReply> reply) {
  reply = ErrorReplyAsStatus(std::move(reply));
  if (!reply.ok()) return reply.status();
  if (reply->is_nil()) return 0;
  return ParseInt(*reply, "ordinal counter");
}

RedisCommand NewestChangeCommand(absl::string_view tenant) {
  return {"XREVRANGE", ChangesKey(tenant), "+", "-", "COUNT", "1"};
}

// The position in NewestChangeCommand's reply ("0-0": none).
absl::StatusOr<std::string> NewestChangePosition(absl::StatusOr<RedisReply> reply) {
  reply = ErrorReplyAsStatus(std::move(reply));
  if (!reply.ok()) return reply.status();
  if (!reply->is_array()) return Unexpected(*reply, "XREVRANGE");
  if (reply->elements().empty()) return std::string("0-0");
  const RedisReply& entry = reply->elements()[0];
  if (!entry.is_array() || entry.elements().empty()) return Unexpected(*reply, "XREVRANGE");
  return entry.elements()[0].str();
}

}  // namespace

absl::StatusOr<int64_t> RedisCustomerStore::CustomerCount(absl::string_view tenant) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  return CustomerCountOf(client_->Command({"GET", OrdinalCounterKey(tenant)}));
}

absl::StatusOr<std::vector<RedisReply>> RedisCustomerStore::ReadChangesThen(
    absl::string_view tenant, absl::string_view after, int limit, absl::Duration wait,
    absl::Span<const RedisCommand> then, std::vector<StoredChange>& changes) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  if (absl::Status s = ValidateCount(limit, "limit"); !s.ok()) return s;
  absl::StatusOr<ChangePosition> from = ParseChangePosition(after);
  if (!from.ok()) return from.status();
  const std::string id = absl::StrCat(from->first, "-", from->second);
  const std::string key = ChangesKey(tenant);
  const absl::Time deadline = absl::Now() + wait;
  std::vector<RedisCommand> commands(1 + then.size());
  std::copy(then.begin(), then.end(), commands.begin() + 1);
  while (true) {
    const absl::Duration left = deadline - absl::Now();
    commands[0] = ReadChangesCommand(key, id, limit, left, options_.max_block);
    absl::StatusOr<std::vector<RedisReply>> replies = client_->Pipeline(commands);
    if (!replies.ok()) return replies.status();
    const size_t before = changes.size();
    if (absl::Status s = AppendChanges(std::move(replies->front()), changes); !s.ok()) return s;
    if (changes.size() > before || left <= absl::ZeroDuration() || absl::Now() >= deadline) {
      replies->erase(replies->begin());
      return replies;
    }
  }
}

absl::StatusOr<std::vector<StoredChange>> RedisCustomerStore::ReadChanges(absl::string_view tenant,
                                                                          absl::string_view after,
                                                                          int limit,
                                                                          absl::Duration wait) {
  std::vector<StoredChange> changes;
  absl::StatusOr<std::vector<RedisReply>> none =
      ReadChangesThen(tenant, after, limit, wait, {}, changes);
  if (!none.ok()) return none.status();
  return changes;
}

absl::StatusOr<ChangeTail> RedisCustomerStore::ReadChangeTail(absl::string_view tenant,
                                                              absl::string_view after, int limit,
                                                              absl::Duration wait) {
  ChangeTail tail;
  const RedisCommand then[] = {{"XINFO", "STREAM", ChangesKey(tenant)},
                               {"GET", OrdinalCounterKey(tenant)},
                               NewestChangeCommand(tenant)};
  absl::StatusOr<std::vector<RedisReply>> replies =
      ReadChangesThen(tenant, after, limit, wait, then, tail.changes);
  if (!replies.ok()) return replies.status();
  absl::StatusOr<std::optional<std::string>> retained = RetainedFromInfo(std::move((*replies)[0]));
  if (!retained.ok()) return retained.status();
  tail.retained_from = *std::move(retained);
  absl::StatusOr<int64_t> customers = CustomerCountOf(std::move((*replies)[1]));
  if (!customers.ok()) return customers.status();
  tail.customers = *customers;
  absl::StatusOr<std::string> newest = NewestChangePosition(std::move((*replies)[2]));
  if (!newest.ok()) return newest.status();
  tail.newest = *std::move(newest);
  return tail;
}

absl::StatusOr<std::string> RedisCustomerStore::LastChangePosition(absl::string_view tenant) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  return NewestChangePosition(client_->Command(NewestChangeCommand(tenant)));
}

absl::StatusOr<ChangeHead> RedisCustomerStore::ReadChangeHead(absl::string_view tenant) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  const RedisCommand commands[] = {NewestChangeCommand(tenant), {"GET", OrdinalCounterKey(tenant)}};
  absl::StatusOr<std::vector<RedisReply>> replies = client_->Pipeline(commands);
  if (!replies.ok()) return replies.status();
  absl::StatusOr<std::string> position = NewestChangePosition((*replies)[0]);
  if (!position.ok()) return position.status();
  absl::StatusOr<int64_t> customers = CustomerCountOf((*replies)[1]);
  if (!customers.ok()) return customers.status();
  return ChangeHead{*std::move(position), *customers};
}

absl::StatusOr<std::optional<std::string>> RedisCustomerStore::RetainedFrom(
    absl::string_view tenant) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  // XINFO STREAM (without FULL) is O(1).
  return RetainedFromInfo(client_->Command({"XINFO", "STREAM", ChangesKey(tenant)}));
}

absl::StatusOr<std::optional<VersionedBlob>> RedisCustomerStore::ReadConfig(
    absl::string_view tenant) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  absl::StatusOr<RedisReply> reply =
      ErrorReplyAsStatus(client_->Command({"HMGET", ConfigKey(tenant), "v", "b", "t", "p"}));
  if (!reply.ok()) return reply.status();
  if (!reply->is_array() || reply->elements().size() != 4) return Unexpected(*reply, "HMGET");
  const std::vector<RedisReply>& f = reply->elements();
  if (f[0].is_nil()) return std::optional<VersionedBlob>();
  absl::StatusOr<int64_t> version = ParseInt(f[0], "config version");
  absl::StatusOr<int64_t> ms = ParseInt(f[2], "config time");
  if (!version.ok()) return version.status();
  if (!ms.ok()) return ms.status();
  return std::optional<VersionedBlob>(
      VersionedBlob{*version, f[1].str(), absl::FromUnixMillis(*ms), !f[3].is_nil(),
                    f[3].is_nil() || f[3].str() == kUnclaimed ? "" : f[3].str()});
}

absl::StatusOr<bool> RedisCustomerStore::ClaimReclassification(absl::string_view tenant,
                                                               int64_t version,
                                                               absl::string_view from,
                                                               absl::string_view replica) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  if (absl::Status s = ValidateClaimant(replica); !s.ok()) return s;
  absl::StatusOr<RedisReply> reply = ErrorReplyAsStatus(
      client_->Eval(ClaimReclassificationScript(), {ConfigKey(tenant)},
                    {absl::StrCat(version), from.empty() ? kUnclaimed : std::string(from),
                     std::string(replica)}));
  if (!reply.ok()) return reply.status();
  if (!reply->is_integer()) return Unexpected(*reply, "claim");
  return reply->integer() == 1;
}

absl::Status RedisCustomerStore::ConfigApplied(absl::string_view tenant, int64_t version) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  return ErrorReplyAsStatus(
             client_->Eval(ConfigAppliedScript(), {ConfigKey(tenant)}, {absl::StrCat(version)}))
      .status();
}

absl::Status RedisCustomerStore::EvalRechecks(const RedisScript& script, absl::string_view tenant,
                                               absl::Span<const std::string> customer_ids,
                                               int64_t config_version) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  if (absl::Status s = ValidateRechecks(customer_ids, config_version); !s.ok()) return s;
  const std::vector<std::string> keys = {RechecksKey(tenant)};
  for (size_t begin = 0; begin < customer_ids.size(); begin += kRecheckPage) {
    const size_t end = std::min(customer_ids.size(), begin + kRecheckPage);
    std::vector<std::string> args = {absl::StrCat(config_version)};
    args.insert(args.end(), customer_ids.begin() + begin, customer_ids.begin() + end);
    absl::StatusOr<RedisReply> reply = ErrorReplyAsStatus(client_->Eval(script, keys, args));
    if (!reply.ok()) return reply.status();
  }
  return absl::OkStatus();
}

absl::Status RedisCustomerStore::AddRechecks(absl::string_view tenant,
                                             absl::Span<const std::string> customer_ids,
                                             int64_t config_version) {
  return EvalRechecks(AddRechecksScript(), tenant, customer_ids, config_version);
}

absl::Status RedisCustomerStore::ClearRechecks(absl::string_view tenant,
                                               absl::Span<const std::string> customer_ids,
                                               int64_t done_version) {
  return EvalRechecks(ClearRechecksScript(), tenant, customer_ids, done_version);
}

absl::StatusOr<std::vector<CustomerStore::Recheck>> RedisCustomerStore::Rechecks(
    absl::string_view tenant, int limit) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  if (absl::Status s = ValidateCount(limit, "limit"); !s.ok()) return s;
  absl::StatusOr<RedisReply> reply = ErrorReplyAsStatus(client_->Command(
      {"HRANDFIELD", RechecksKey(tenant), absl::StrCat(limit), "WITHVALUES"}));
  if (!reply.ok()) return reply.status();
  if (!reply->is_array() || reply->elements().size() % 2 != 0) {
    return Unexpected(*reply, "HRANDFIELD");
  }
  std::vector<Recheck> out;
  out.reserve(reply->elements().size() / 2);
  for (size_t i = 0; i < reply->elements().size(); i += 2) {
    const RedisReply& id = reply->elements()[i];
    if (!id.is_string()) return Unexpected(id, "HRANDFIELD field");
    absl::StatusOr<int64_t> version = ParseInt(reply->elements()[i + 1], "recheck version");
    if (!version.ok()) return version.status();
    out.push_back({id.str(), *version});
  }
  return out;
}

absl::StatusOr<int64_t> RedisCustomerStore::RecheckCount(absl::string_view tenant) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  return IntegerCommand(*client_, {"HLEN", RechecksKey(tenant)});
}

// Tenants surveyed per round trip: 2,048 small commands, a few hundred
// microseconds of Redis's time, so that other clients' commands are not held
// up behind one long pipeline.
constexpr size_t kSurveyTenantsPerRoundTrip = 512;

namespace {

// Fills `s` from one tenant's four survey replies (SurveyTenants' order).
absl::Status ReadSurvey(std::vector<RedisReply>& replies, size_t first,
                        CustomerStore::TenantSurvey& s) {
  absl::StatusOr<std::optional<absl::Time>> next_due =
      FirstScore(std::move(replies[first]), "ZRANGE");
  if (!next_due.ok()) return next_due.status();
  s.next_due = *next_due;
  absl::StatusOr<int64_t> rechecks = IntegerReply(std::move(replies[first + 1]), "HLEN");
  if (!rechecks.ok()) return rechecks.status();
  s.rechecks = *rechecks;
  absl::StatusOr<int64_t> customers = CustomerCountOf(std::move(replies[first + 2]));
  if (!customers.ok()) return customers.status();
  s.customers = *customers;
  absl::StatusOr<int64_t> pending = IntegerReply(std::move(replies[first + 3]), "HEXISTS");
  if (!pending.ok()) return pending.status();
  s.reclassification_pending = *pending == 1;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<CustomerStore::TenantSurvey>> RedisCustomerStore::SurveyTenants(
    absl::Span<const std::string> tenants) {
  std::vector<TenantSurvey> survey(tenants.size());
  for (size_t from = 0; from < tenants.size(); from += kSurveyTenantsPerRoundTrip) {
    const size_t to = std::min(tenants.size(), from + kSurveyTenantsPerRoundTrip);
    std::vector<RedisCommand> commands;
    std::vector<size_t> asked;  // the tenant of each group of four commands
    for (size_t t = from; t < to; ++t) {
      const std::string& tenant = tenants[t];
      survey[t].status = ValidateTenant(tenant);
      if (!survey[t].status.ok()) continue;
      asked.push_back(t);
      commands.push_back({"ZRANGE", ScheduleKey(tenant), "0", "0", "WITHSCORES"});
      commands.push_back({"HLEN", RechecksKey(tenant)});
      commands.push_back({"GET", OrdinalCounterKey(tenant)});
      commands.push_back({"HEXISTS", ConfigKey(tenant), "p"});
    }
    if (commands.empty()) continue;
    absl::StatusOr<std::vector<RedisReply>> replies = client_->Pipeline(commands);
    if (!replies.ok()) return replies.status();
    for (size_t i = 0; i < asked.size(); ++i) {
      survey[asked[i]].status = ReadSurvey(*replies, 4 * i, survey[asked[i]]);
    }
  }
  return survey;
}

// Records a statistics-in-use entry if the tenant's data is still there.
// KEYS[1] sd:{t}:stats:used, KEYS[2] the presence key; ARGV[1] field,
// ARGV[2] value. Returns 1, or kTenantAbsentReply (-4), writing nothing.
const RedisScript& AddStatsInUseScript() {
  static const RedisScript* const script = new RedisScript(R"lua(
    if redis.call('EXISTS', KEYS[2]) == 0 then return -4 end
    redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
    return 1
  )lua");
  return *script;
}

absl::Status RedisCustomerStore::AddStatsInUse(absl::string_view tenant, absl::string_view field,
                                               absl::string_view value) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  // Checked in the script: a replica re-recording its entries just after a
  // FLUSHALL, before the probe noticed, left them in the emptied Redis for
  // good (a reviewer's finding).
  auto write = [&] {
    return ErrorReplyAsStatus(client_->Eval(AddStatsInUseScript(),
                                            {StatsInUseKey(tenant), TenantPresenceKey(tenant)},
                                            {std::string(field), std::string(value)}));
  };
  return UnlessTenantAbsent(write(), client_, tenant, write).status();
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> RedisCustomerStore::StatsInUse(
    absl::string_view tenant) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  absl::StatusOr<RedisReply> reply =
      ErrorReplyAsStatus(client_->Command({"HGETALL", StatsInUseKey(tenant)}));
  if (!reply.ok()) return reply.status();
  if (!reply->is_array() || reply->elements().size() % 2 != 0) return Unexpected(*reply, "HGETALL");
  std::vector<std::pair<std::string, std::string>> out;
  for (size_t i = 0; i < reply->elements().size(); i += 2) {
    const RedisReply& field = reply->elements()[i];
    const RedisReply& value = reply->elements()[i + 1];
    if (!field.is_string() || !value.is_string()) return Unexpected(field, "HGETALL entry");
    out.emplace_back(field.str(), value.str());
  }
  return out;
}

absl::Status RedisCustomerStore::RemoveStatsInUse(absl::string_view tenant,
                                                  absl::Span<const std::string> fields) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  if (fields.empty()) return absl::OkStatus();
  RedisCommand command = {"HDEL", StatsInUseKey(tenant)};
  command.insert(command.end(), fields.begin(), fields.end());
  return ErrorReplyAsStatus(client_->Command(command)).status();
}

absl::StatusOr<bool> RedisCustomerStore::MarkReplicaAlive(absl::string_view replica,
                                                          absl::Duration ttl) {
  // SET ... GET answers the value before: nil when the key had expired.
  absl::StatusOr<RedisReply> reply = ErrorReplyAsStatus(client_->Command(
      {"SET", ReplicaKey(replica), "1", "PX",
       absl::StrCat(std::max<int64_t>(1, absl::ToInt64Milliseconds(ttl))), "GET"}));
  if (!reply.ok()) return reply.status();
  return !reply->is_nil();
}

absl::StatusOr<std::vector<bool>> RedisCustomerStore::ReplicasAlive(
    absl::Span<const std::string> replicas) {
  // One EXISTS per key, pipelined: the keys need not share a slot.
  std::vector<RedisCommand> exists;
  for (const std::string& replica : replicas) exists.push_back({"EXISTS", ReplicaKey(replica)});
  absl::StatusOr<std::vector<RedisReply>> replies = client_->Pipeline(exists);
  if (!replies.ok()) return replies.status();
  std::vector<bool> alive;
  for (const RedisReply& r : *replies) {
    if (!r.is_integer()) return Unexpected(r, "EXISTS");
    alive.push_back(r.integer() == 1);
  }
  return alive;
}

absl::StatusOr<int64_t> RedisCustomerStore::WriteConfig(absl::string_view tenant,
                                                        int64_t expected_version,
                                                        absl::string_view bytes, absl::Time at) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  if (expected_version < 0) {
    return absl::InvalidArgumentError("expected_version: must be >= 0");
  }
  auto write = [&] {
    return ErrorReplyAsStatus(
        client_->Eval(WriteConfigScript(), {ConfigKey(tenant), TenantPresenceKey(tenant)},
                      {absl::StrCat(expected_version), absl::StrCat(expected_version + 1),
                       std::string(bytes), absl::StrCat(absl::ToUnixMillis(at))}));
  };
  absl::StatusOr<RedisReply> reply = UnlessTenantAbsent(write(), client_, tenant, write);
  if (!reply.ok()) return reply.status();
  if (!reply->is_array() || reply->elements().size() != 2) {
    return Unexpected(*reply, "config script");
  }
  absl::StatusOr<int64_t> version = ParseInt(reply->elements()[1], "config version");
  if (!version.ok()) return version.status();
  if (reply->elements()[0].integer() != 1) {
    return absl::AbortedError(
        absl::StrCat("config: stored version is ", *version, ", expected ", expected_version));
  }
  return *version;
}

absl::StatusOr<std::vector<uint16_t>> RedisCustomerStore::InternCategories(
    absl::string_view tenant, absl::Span<const std::string> names) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  std::vector<uint16_t> ids;
  if (names.empty()) return ids;
  std::vector<std::string> args = {absl::StrCat(kMaxCategoryId + 1)};
  args.insert(args.end(), names.begin(), names.end());
  absl::StatusOr<RedisReply> reply = ErrorReplyAsStatus(
      client_->Eval(InternScript(), {CategoryIdsKey(tenant), CategoryNamesKey(tenant)}, args));
  if (!reply.ok()) return reply.status();
  if (reply->is_integer() && reply->integer() == -1) {
    return CategoryDictionaryFull();
  }
  if (!reply->is_array() || reply->elements().size() != names.size()) {
    return Unexpected(*reply, "intern script");
  }
  for (const RedisReply& id : reply->elements()) {
    if (!id.is_integer() || id.integer() < 0 || id.integer() > kMaxCategoryId) {
      return absl::DataLossError("stored category id is out of range");
    }
    ids.push_back(static_cast<uint16_t>(id.integer()));
  }
  return ids;
}

absl::StatusOr<std::vector<std::string>> RedisCustomerStore::CategoryNames(
    absl::string_view tenant) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  const std::string key = CategoryNamesKey(tenant);
  absl::StatusOr<int64_t> count = IntegerCommand(*client_, {"HLEN", key});
  if (!count.ok()) return count.status();
  std::vector<std::string> names;
  names.reserve(*count);
  for (int64_t first = 0; first < *count; first += options_.read_page) {
    RedisCommand hmget = {"HMGET", key};
    for (int64_t id = first; id < std::min(*count, first + options_.read_page); ++id) {
      hmget.push_back(absl::StrCat(id));
    }
    absl::StatusOr<RedisReply> page = ErrorReplyAsStatus(client_->Command(hmget));
    if (!page.ok()) return page.status();
    for (const RedisReply& name : page->elements()) {
      if (!name.is_string()) return absl::DataLossError("category ids are not dense");
      names.push_back(name.str());
    }
  }
  return names;
}

}  // namespace segmentd::store
