#include "tests/load/load_client.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace segmentd::load {

std::shared_ptr<grpc::Channel> NewChannel(const std::string& target, int index) {
  grpc::ChannelArguments args;
  // Channels with different arguments never share a subchannel, so each
  // index gets its own TCP connection.
  args.SetInt("segmentd_load.channel_index", index);
  args.SetMaxReceiveMessageSize(64 << 20);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

void PrepareContext(grpc::ClientContext* context, const std::string& key,
                    absl::Duration timeout) {
  context->AddMetadata("authorization", absl::StrCat("Bearer ", key));
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
}

absl::Status FromGrpc(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

google::protobuf::Timestamp ToTimestamp(absl::Time t) {
  const int64_t ms = absl::ToUnixMillis(t);
  google::protobuf::Timestamp ts;
  ts.set_seconds(ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000));
  ts.set_nanos(static_cast<int32_t>((ms - ts.seconds() * 1000) * 1'000'000));
  return ts;
}

std::string CategoryName(engine::CategoryId id) { return absl::StrFormat("cat%02d", id); }

engine::GeneratedCustomer SentPart(engine::GeneratedCustomer customer) {
  for (engine::GeneratedOrder& order : customer.orders) {
    order.cancelled = false;
    order.refunded = 0;
  }
  customer.messages.clear();
  customer.cart.reset();
  customer.last_activity.reset();
  return customer;
}

void AppendEvents(const engine::GeneratedCustomer& sent, std::vector<v1::Event>* events) {
  v1::Event registered;
  v1::CustomerRegistered* r = registered.mutable_customer_registered();
  r->set_customer_id(sent.customer_id);
  *r->mutable_registered_at() = ToTimestamp(sent.registered_at);
  events->push_back(std::move(registered));
  for (const engine::GeneratedOrder& order : sent.orders) {
    v1::Event placed;
    v1::OrderPlaced* o = placed.mutable_order_placed();
    o->set_customer_id(sent.customer_id);
    o->set_order_id(order.order_id);
    *o->mutable_placed_at() = ToTimestamp(order.placed_at);
    o->set_amount(order.amount);
    for (engine::CategoryId c : order.categories) o->add_categories(CategoryName(c));
    events->push_back(std::move(placed));
  }
}

namespace {

// What random events share: a customer of the generated population
// ("cust-<n>", n uniform in [0, customers)), an amount of 5.00-200.00 and
// one of the generator's 20 categories.
std::string RandomCustomer(std::mt19937_64& rng, int64_t customers) {
  return absl::StrCat("cust-", std::uniform_int_distribution<int64_t>(0, customers - 1)(rng));
}
int64_t RandomAmount(std::mt19937_64& rng) {
  return std::uniform_int_distribution<int64_t>(500, 20000)(rng);
}
std::string RandomCategory(std::mt19937_64& rng) {
  return CategoryName(
      static_cast<engine::CategoryId>(std::uniform_int_distribution<int>(0, 19)(rng)));
}

}  // namespace

void FillRandomOrder(std::mt19937_64& rng, int64_t customers, std::string order_id, absl::Time at,
                     v1::OrderPlaced* order) {
  order->set_customer_id(RandomCustomer(rng, customers));
  order->set_order_id(std::move(order_id));
  *order->mutable_placed_at() = ToTimestamp(at);
  order->set_amount(RandomAmount(rng));
  order->add_categories(RandomCategory(rng));
}

absl::StatusOr<std::vector<EventKind>> ParseEventKinds(absl::string_view names,
                                                       absl::string_view flag) {
  std::vector<EventKind> kinds;
  for (absl::string_view name : absl::StrSplit(names, ',')) {
    if (name == "order") {
      kinds.push_back(EventKind::kOrder);
    } else if (name == "activity") {
      kinds.push_back(EventKind::kActivity);
    } else if (name == "engagement") {
      kinds.push_back(EventKind::kEngagement);
    } else if (name == "cart") {
      kinds.push_back(EventKind::kCart);
    } else {
      return absl::InvalidArgumentError(absl::StrCat(flag, ": unknown event \"", name,
                                                     "\" (order, activity, engagement or cart)"));
    }
  }
  return kinds;
}

void FillRandomEvent(EventKind kind, std::mt19937_64& rng, int64_t customers, std::string id,
                     absl::Time at, v1::Event* event) {
  switch (kind) {
    case EventKind::kOrder:
      FillRandomOrder(rng, customers, std::move(id), at, event->mutable_order_placed());
      return;
    case EventKind::kActivity: {
      v1::ActivityRecorded* e = event->mutable_activity();
      e->set_customer_id(RandomCustomer(rng, customers));
      *e->mutable_occurred_at() = ToTimestamp(at);
      return;
    }
    case EventKind::kEngagement: {
      v1::EngagementEvent* e = event->mutable_engagement();
      e->set_customer_id(RandomCustomer(rng, customers));
      e->set_message_id(std::move(id));
      e->set_kind(v1::ENGAGEMENT_KIND_SENT);
      *e->mutable_occurred_at() = ToTimestamp(at);
      return;
    }
    case EventKind::kCart: {
      v1::CartUpdated* e = event->mutable_cart_updated();
      e->set_customer_id(RandomCustomer(rng, customers));
      e->set_value(RandomAmount(rng));
      e->add_categories(RandomCategory(rng));
      *e->mutable_updated_at() = ToTimestamp(at);
      return;
    }
  }
}

void LatencyRecorder::Add(absl::Duration latency) {
  micros_.push_back(absl::ToInt64Microseconds(latency));
  sorted_ = false;
}

void LatencyRecorder::Merge(const LatencyRecorder& other) {
  micros_.insert(micros_.end(), other.micros_.begin(), other.micros_.end());
  sorted_ = false;
}

double LatencyRecorder::QuantileMs(double q) {
  if (micros_.empty()) return 0;
  if (!sorted_) std::sort(micros_.begin(), micros_.end());
  sorted_ = true;
  // Nearest rank: the smallest value with at least q of the samples at or below it.
  const size_t rank = static_cast<size_t>(std::ceil(q * micros_.size()));
  const size_t i = rank == 0 ? 0 : std::min(rank - 1, micros_.size() - 1);
  return micros_[i] / 1000.0;
}

double LatencyRecorder::MaxMs() { return QuantileMs(1.0); }

void JsonLine::Key(const std::string& key) {
  if (!body_.empty()) body_ += ",";
  absl::StrAppend(&body_, "\"", key, "\":");
}

JsonLine& JsonLine::Add(const std::string& key, const std::string& value) {
  Key(key);
  std::string escaped;
  for (char c : value) {
    if (c == '"' || c == '\\') escaped += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    escaped += c;
  }
  absl::StrAppend(&body_, "\"", escaped, "\"");
  return *this;
}

JsonLine& JsonLine::Add(const std::string& key, const char* value) {
  return Add(key, std::string(value));
}

JsonLine& JsonLine::Add(const std::string& key, int64_t value) {
  Key(key);
  absl::StrAppend(&body_, value);
  return *this;
}

JsonLine& JsonLine::Add(const std::string& key, double value) {
  Key(key);
  absl::StrAppend(&body_, absl::StrFormat("%.3f", value));
  return *this;
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  if (!(in >> a >> b >> c)) return "";
  return absl::StrCat(a, " ", b, " ", c);
}

double ProcessCpuSeconds(int pid) {
  if (pid <= 0) return 0;
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  if (!std::getline(in, line)) return 0;
  // The command name (field 2) may contain spaces; fields after its ')' are fixed.
  const size_t paren = line.rfind(')');
  if (paren == std::string::npos) return 0;
  std::istringstream fields(line.substr(paren + 2));
  std::string field;
  double utime = 0, stime = 0;
  // Fields 3.. ; utime is field 14, stime 15.
  for (int i = 3; i <= 15 && (fields >> field); ++i) {
    if (i == 14) utime = std::atof(field.c_str());
    if (i == 15) stime = std::atof(field.c_str());
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

CpuMeter::CpuMeter(const LoadOptions& options)
    : segmentd_pid_(options.segmentd_pid),
      redis_pid_(options.redis_pid),
      segmentd0_(ProcessCpuSeconds(segmentd_pid_)),
      redis0_(ProcessCpuSeconds(redis_pid_)),
      self0_(ProcessCpuSeconds(getpid())),
      start_(absl::Now()) {}

double CpuMeter::Cores(int pid, double start) const {
  const double wall = absl::ToDoubleSeconds(absl::Now() - start_);
  if (pid <= 0 || wall <= 0) return 0;
  return (ProcessCpuSeconds(pid) - start) / wall;
}

double CpuMeter::SegmentdCores() const { return Cores(segmentd_pid_, segmentd0_); }
double CpuMeter::RedisCores() const { return Cores(redis_pid_, redis0_); }

std::string CpuMeter::Text() const {
  std::string out;
  if (segmentd_pid_ > 0) out = absl::StrFormat("segmentd %.2f cores, ", SegmentdCores());
  if (redis_pid_ > 0) absl::StrAppend(&out, absl::StrFormat("redis %.2f cores, ", RedisCores()));
  absl::StrAppend(&out, absl::StrFormat("load generator %.2f cores", Cores(getpid(), self0_)));
  return out;
}

}  // namespace segmentd::load
