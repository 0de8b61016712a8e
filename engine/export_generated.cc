// Writes a generated tenant as plain CSV tables, plus the engine's own
// membership for it, so the segment rules can be run elsewhere (as SQL in
// DuckDB: tools/duckdb_compare, docs/duckdb-comparison.md) and the answers
// compared.
//
//   bazel run -c opt //engine:export_generated -- --customers=1000000 --out_dir=/tmp/tenant
//
// The tenant is exactly the one //engine:classify_benchmark evaluates:
// GenerateCustomer with default GeneratorOptions for indices [0, customers),
// the default SegmentConfig, and as_of = GeneratorOptions::now. The engine's
// answer is computed as the benchmark computes it: profiles built through the
// mutation API and folded at as_of - LongestWindowDays, packed into a
// Population, StatsBuilder statistics, then Classifier::Classify at as_of.
//
// Files written into --out_dir (instants are int64 milliseconds since the Unix
// epoch, UTC; an empty field is NULL; category lists are '|'-separated ids):
//   customers.csv   customer_id,external_id,registered_at_ms,last_active_at_ms
//   orders.csv      order_id,customer_id,external_id,placed_at_ms,amount,
//                   refunded,cancelled,categories
//                   (amount before refunds; refunded = total refunded; the net
//                   amount is amount - refunded; cancelled is 0 or 1)
//   messages.csv    message_id,customer_id,sent_at_ms,opened_at_ms,acted_at_ms
//   carts.csv       customer_id,updated_at_ms,value,converted_at_ms,categories
//   categories.csv  category_id,name  (segment "category:<name>")
//   meta.json       as_of, sizes, the config parameters the rules use, and the
//                   engine's population statistics
//   engine_counts.csv      segment,members (every fixed segment and every
//                          category segment, zeros included)
//   engine_membership.csv  customer_id,segments ('|'-joined names, in enum
//                          order, then category segments by id); only with
//                          --membership
//
// customer_id and order_id are dense integer keys (the generator's index and
// a running ordinal); external_id carries the string ids the service would
// see ("cust-<i>", "c<i>-o<k>").

#include <cstdint>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "engine/classify.h"
#include "engine/config.h"
#include "engine/generator.h"
#include "engine/population.h"
#include "engine/segment.h"
#include "engine/stats.h"
#include "engine/time_ms.h"

ABSL_FLAG(int64_t, customers, 1'000'000, "number of generated customers (indices 0..N-1)");
ABSL_FLAG(std::string, out_dir, "", "existing directory to write the CSV files into");
ABSL_FLAG(bool, membership, true,
          "also write engine_membership.csv (every customer's segments, for diffs)");

namespace segmentd::engine {
namespace {

// A CSV file written through a large buffer.
class CsvFile {
 public:
  static absl::StatusOr<std::unique_ptr<CsvFile>> Open(const std::string& path,
                                                       absl::string_view header) {
    FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) return absl::NotFoundError(absl::StrCat("cannot create ", path));
    auto file = std::unique_ptr<CsvFile>(new CsvFile(f, path));
    file->buffer_.append(header.data(), header.size());
    file->buffer_.push_back('\n');
    return file;
  }
  ~CsvFile() {
    if (file_ != nullptr) std::fclose(file_);
  }

  // The buffer to append one row to; call EndRow() after it.
  std::string* row() { return &buffer_; }
  void EndRow() {
    buffer_.push_back('\n');
    if (buffer_.size() >= kFlushBytes) Flush();
  }
  absl::Status Close() {
    Flush();
    const bool ok = !failed_ && std::fclose(file_) == 0;
    file_ = nullptr;
    if (!ok) return absl::DataLossError(absl::StrCat("cannot write ", path_));
    return absl::OkStatus();
  }

 private:
  static constexpr size_t kFlushBytes = 1 << 20;
  CsvFile(FILE* f, std::string path) : file_(f), path_(std::move(path)) {}
  void Flush() {
    if (std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size()) {
      failed_ = true;
    }
    buffer_.clear();
  }

  FILE* file_;
  std::string path_;
  std::string buffer_;
  bool failed_ = false;
};

void AppendMillis(std::string* out, absl::Time t) { absl::StrAppend(out, ToMillis(t)); }

void AppendOptionalMillis(std::string* out, const std::optional<absl::Time>& t) {
  if (t.has_value()) AppendMillis(out, *t);
}

void AppendCategories(std::string* out, const std::vector<CategoryId>& categories) {
  absl::StrAppend(out, absl::StrJoin(categories, "|"));
}

std::string CategoryName(CategoryId id) { return absl::StrFormat("cat%02d", id); }

std::string OptionalJson(const std::optional<int64_t>& v) {
  return v.has_value() ? absl::StrCat(*v) : "null";
}

// The rule parameters of `c` as a JSON object (what the SQL needs).
std::string ConfigJson(const SegmentConfig& c) {
  auto multiple = [](const std::optional<double>& m) {
    return m.has_value() ? absl::StrFormat("%.17g", *m) : std::string("null");
  };
  return absl::StrCat(
      "{\n    \"frequent_buyer\": {\"min_orders\": ", c.frequent_buyer.min_orders,
      ", \"window_days\": ", c.frequent_buyer.window_days, "},\n",
      "    \"new_download\": {\"max_days\": ", c.new_download.max_days, "},\n",
      "    \"window_shopper\": {\"min_days\": ", c.window_shopper.min_days, "},\n",
      "    \"new_customer\": {\"window_days\": ", c.new_customer.window_days, "},\n",
      "    \"returning_customer\": {\"min_orders\": ", c.returning_customer.min_orders,
      ", \"window_days\": ", c.returning_customer.window_days, "},\n",
      "    \"loyal_customer\": {\"min_orders\": ", c.loyal_customer.min_orders,
      ", \"active_days\": ", c.loyal_customer.active_days, "},\n",
      "    \"lost_loyalty\": {\"min_orders\": ", c.lost_loyalty.min_orders,
      ", \"inactive_days\": ", c.lost_loyalty.inactive_days, "},\n",
      "    \"one_time_wonder\": {\"inactive_days\": ", c.one_time_wonder.inactive_days, "},\n",
      "    \"big_spender\": {\"lookback_days\": ", c.big_spender.lookback_days,
      ", \"threshold_amount\": ", OptionalJson(c.big_spender.threshold_amount),
      ", \"threshold_store_aov_multiple\": ", multiple(c.big_spender.threshold_store_aov_multiple),
      "},\n", "    \"low_spender\": {\"lookback_days\": ", c.low_spender.lookback_days,
      ", \"threshold_amount\": ", OptionalJson(c.low_spender.threshold_amount),
      ", \"threshold_store_aov_multiple\": ", multiple(c.low_spender.threshold_store_aov_multiple),
      "},\n", "    \"lost_customer\": {\"min_orders\": ", c.lost_customer.min_orders,
      ", \"max_orders\": ", c.lost_customer.max_orders,
      ", \"inactive_days\": ", c.lost_customer.inactive_days, "},\n",
      "    \"repeat_customer\": {\"min_orders\": ", c.repeat_customer.min_orders,
      ", \"max_orders\": ", c.repeat_customer.max_orders, "},\n",
      "    \"vip\": {\"top_percent\": ", c.vip.top_percent, ", \"min_orders\": ", c.vip.min_orders,
      "},\n", "    \"lapsed\": {\"inactive_days\": ", c.lapsed.inactive_days, "},\n",
      "    \"value_tiers\": {\"high_percent\": ", c.value_tiers.high_percent,
      ", \"medium_percent\": ", c.value_tiers.medium_percent,
      ", \"low_percent\": ", c.value_tiers.low_percent, "},\n",
      "    \"category_affinity\": {\"min_orders\": ", c.category_affinity.min_orders,
      ", \"lookback_days\": ", c.category_affinity.lookback_days, "},\n",
      "    \"engagement\": {\"window_days\": ", c.engagement.window_days,
      ", \"min_messages\": ", c.engagement.min_messages,
      ", \"high_open_rate\": ", absl::StrFormat("%.17g", c.engagement.high_open_rate),
      ", \"high_action_rate\": ", absl::StrFormat("%.17g", c.engagement.high_action_rate),
      ", \"moderate_open_rate\": ", absl::StrFormat("%.17g", c.engagement.moderate_open_rate),
      "},\n", "    \"abandoned_cart\": {\"abandon_after_minutes\": ",
      c.abandoned_cart.abandon_after_minutes, ", \"window_days\": ", c.abandoned_cart.window_days,
      "}\n  }");
}

std::string StatsJson(const PopulationStats& s) {
  std::string windows;
  for (const WindowTotals& w : s.windows) {
    if (!windows.empty()) windows += ", ";
    absl::StrAppend(&windows, "{\"lookback_days\": ", w.lookback_days, ", \"orders\": ", w.orders,
                    ", \"net_revenue\": ", w.net_revenue, "}");
  }
  return absl::StrCat("{\"buyers\": ", s.buyers,
                      ", \"vip_order_cutoff\": ", OptionalJson(s.vip_order_cutoff),
                      ", \"high_value_cutoff\": ", OptionalJson(s.high_value_cutoff),
                      ", \"medium_value_cutoff\": ", OptionalJson(s.medium_value_cutoff),
                      ", \"windows\": [", windows, "]}");
}

absl::Status Run(int64_t customers, const std::string& dir, bool membership) {
  const GeneratorOptions options;
  const SegmentConfig config;
  const absl::Time as_of = options.now;
  const absl::Time horizon = as_of - absl::Hours(24) * LongestWindowDays(config);
  auto path = [&](absl::string_view name) { return absl::StrCat(dir, "/", name); };

  absl::StatusOr<std::unique_ptr<CsvFile>> customers_csv = CsvFile::Open(
      path("customers.csv"), "customer_id,external_id,registered_at_ms,last_active_at_ms");
  if (!customers_csv.ok()) return customers_csv.status();
  absl::StatusOr<std::unique_ptr<CsvFile>> orders_csv =
      CsvFile::Open(path("orders.csv"),
                    "order_id,customer_id,external_id,placed_at_ms,amount,refunded,cancelled,"
                    "categories");
  if (!orders_csv.ok()) return orders_csv.status();
  absl::StatusOr<std::unique_ptr<CsvFile>> messages_csv = CsvFile::Open(
      path("messages.csv"), "message_id,customer_id,sent_at_ms,opened_at_ms,acted_at_ms");
  if (!messages_csv.ok()) return messages_csv.status();
  absl::StatusOr<std::unique_ptr<CsvFile>> carts_csv = CsvFile::Open(
      path("carts.csv"), "customer_id,updated_at_ms,value,converted_at_ms,categories");
  if (!carts_csv.ok()) return carts_csv.status();

  // Generate, write the raw events, and build the engine's population.
  Population population;
  population.Reserve(customers, customers * 3);
  int64_t orders = 0, messages = 0, carts = 0;
  for (int64_t i = 0; i < customers; ++i) {
    const GeneratedCustomer c = GenerateCustomer(options, i);
    std::string* row = (*customers_csv)->row();
    absl::StrAppend(row, i, ",", c.customer_id, ",");
    AppendMillis(row, c.registered_at);
    row->push_back(',');
    AppendOptionalMillis(row, c.last_activity);
    (*customers_csv)->EndRow();
    for (const GeneratedOrder& o : c.orders) {
      row = (*orders_csv)->row();
      absl::StrAppend(row, orders++, ",", i, ",", o.order_id, ",");
      AppendMillis(row, o.placed_at);
      absl::StrAppend(row, ",", o.amount, ",", o.refunded, ",", o.cancelled ? 1 : 0, ",");
      AppendCategories(row, o.categories);
      (*orders_csv)->EndRow();
    }
    for (const GeneratedMessage& m : c.messages) {
      row = (*messages_csv)->row();
      absl::StrAppend(row, messages++, ",", i, ",");
      AppendMillis(row, m.sent_at);
      row->push_back(',');
      AppendOptionalMillis(row, m.opened_at);
      row->push_back(',');
      AppendOptionalMillis(row, m.acted_at);
      (*messages_csv)->EndRow();
    }
    if (c.cart.has_value()) {
      ++carts;
      row = (*carts_csv)->row();
      absl::StrAppend(row, i, ",");
      AppendMillis(row, c.cart->updated_at);
      absl::StrAppend(row, ",", c.cart->value, ",");
      AppendOptionalMillis(row, c.cart->converted_at);
      row->push_back(',');
      AppendCategories(row, c.cart->categories);
      (*carts_csv)->EndRow();
    }
    absl::StatusOr<Profile> profile = BuildProfile(c, horizon);
    if (!profile.ok()) return profile.status();
    population.Add(profile->view());
  }
  for (auto* f : {&customers_csv, &orders_csv, &messages_csv, &carts_csv}) {
    if (absl::Status s = (**f)->Close(); !s.ok()) return s;
  }

  absl::StatusOr<std::unique_ptr<CsvFile>> categories_csv =
      CsvFile::Open(path("categories.csv"), "category_id,name");
  if (!categories_csv.ok()) return categories_csv.status();
  for (int32_t id = 0; id < options.num_categories; ++id) {
    absl::StrAppend((*categories_csv)->row(), id, ",", CategoryName(id));
    (*categories_csv)->EndRow();
  }
  if (absl::Status s = (*categories_csv)->Close(); !s.ok()) return s;

  // The engine's answer, computed as BM_FullEvaluation computes it.
  StatsBuilder builder(config, as_of);
  for (size_t i = 0; i < population.size(); ++i) builder.Add(population.view(i));
  const PopulationStats stats = builder.Build();
  absl::StatusOr<Classifier> classifier = Classifier::Create(config, stats);
  if (!classifier.ok()) return classifier.status();
  std::vector<int64_t> fixed_counts(kNumSegments, 0);
  std::vector<int64_t> category_counts(options.num_categories, 0);
  std::unique_ptr<CsvFile> membership_csv;
  if (membership) {
    absl::StatusOr<std::unique_ptr<CsvFile>> f =
        CsvFile::Open(path("engine_membership.csv"), "customer_id,segments");
    if (!f.ok()) return f.status();
    membership_csv = *std::move(f);
  }
  Classification out;
  for (size_t i = 0; i < population.size(); ++i) {
    classifier->Classify(population.view(i), as_of, &out);
    std::string* row = membership ? membership_csv->row() : nullptr;
    if (row != nullptr) absl::StrAppend(row, i, ",");
    bool first = true;
    for (int s = 0; s < kNumSegments; ++s) {
      if (!out.segments.Contains(static_cast<Segment>(s))) continue;
      ++fixed_counts[s];
      if (row != nullptr) {
        absl::StrAppend(row, first ? "" : "|", SegmentName(static_cast<Segment>(s)));
        first = false;
      }
    }
    for (CategoryId id : out.categories) {
      ++category_counts[id];
      if (row != nullptr) {
        absl::StrAppend(row, first ? "" : "|", CategorySegmentName(CategoryName(id)));
        first = false;
      }
    }
    if (row != nullptr) membership_csv->EndRow();
  }
  if (membership_csv != nullptr) {
    if (absl::Status s = membership_csv->Close(); !s.ok()) return s;
  }

  absl::StatusOr<std::unique_ptr<CsvFile>> counts_csv =
      CsvFile::Open(path("engine_counts.csv"), "segment,members");
  if (!counts_csv.ok()) return counts_csv.status();
  for (int s = 0; s < kNumSegments; ++s) {
    absl::StrAppend((*counts_csv)->row(), SegmentName(static_cast<Segment>(s)), ",",
                    fixed_counts[s]);
    (*counts_csv)->EndRow();
  }
  for (int32_t id = 0; id < options.num_categories; ++id) {
    absl::StrAppend((*counts_csv)->row(), CategorySegmentName(CategoryName(id)), ",",
                    category_counts[id]);
    (*counts_csv)->EndRow();
  }
  if (absl::Status s = (*counts_csv)->Close(); !s.ok()) return s;

  absl::StatusOr<std::unique_ptr<CsvFile>> meta = CsvFile::Open(path("meta.json"), "{");
  if (!meta.ok()) return meta.status();
  absl::StrAppend((*meta)->row(), "  \"as_of\": \"",
                  absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", as_of, absl::UTCTimeZone()),
                  "\",\n  \"as_of_ms\": ", ToMillis(as_of), ",\n  \"seed\": ", options.seed,
                  ",\n  \"customers\": ", customers, ",\n  \"orders\": ", orders,
                  ",\n  \"messages\": ", messages, ",\n  \"carts\": ", carts,
                  ",\n  \"num_categories\": ", options.num_categories,
                  ",\n  \"fold_horizon_ms\": ", ToMillis(horizon),
                  ",\n  \"config\": ", ConfigJson(config),
                  ",\n  \"engine_stats\": ", StatsJson(stats), "\n}");
  (*meta)->EndRow();
  if (absl::Status s = (*meta)->Close(); !s.ok()) return s;

  std::cerr << "wrote " << customers << " customers, " << orders << " orders, " << messages
            << " messages, " << carts << " carts to " << dir << "\n";
  return absl::OkStatus();
}

}  // namespace
}  // namespace segmentd::engine

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "export_generated --out_dir=DIR [--customers=N] [--membership=false]");
  absl::ParseCommandLine(argc, argv);
  const int64_t customers = absl::GetFlag(FLAGS_customers);
  const std::string dir = absl::GetFlag(FLAGS_out_dir);
  if (dir.empty() || customers < 0) {
    std::cerr << "usage: export_generated --out_dir=DIR [--customers=N >= 0]\n";
    return 2;
  }
  if (absl::Status s = segmentd::engine::Run(customers, dir, absl::GetFlag(FLAGS_membership));
      !s.ok()) {
    std::cerr << s << "\n";
    return 1;
  }
  return 0;
}
