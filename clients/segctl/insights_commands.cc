// segctl kpis, flows (InsightsService, issue 6).
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "clients/segctl/command.h"
#include "clients/segctl/table.h"

namespace segmentd::segctl {
namespace {

// Reads --FROM_FLAG/--TO_FLAG (default: the last 30 days up to now), and
// refuses what the server would, naming the flags rather than its fields
// (period.end, to): --to before --from (or, with `to_after_from`, not after
// it), or more than the minute of clock skew the server allows past now.
absl::Status Period(const Context& ctx, const char* from_flag, const char* to_flag,
                    bool to_after_from, absl::Time* from, absl::Time* to) {
  *to = absl::Now();
  if (ctx.args->Has(to_flag)) {
    absl::StatusOr<absl::Time> t = ParseInstant(to_flag, ctx.args->Get(to_flag));
    if (!t.ok()) return t.status();
    *to = *t;
  }
  *from = *to - absl::Hours(24 * 30);
  if (ctx.args->Has(from_flag)) {
    absl::StatusOr<absl::Time> t = ParseInstant(from_flag, ctx.args->Get(from_flag));
    if (!t.ok()) return t.status();
    *from = *t;
  }
  if (to_after_from ? *to <= *from : *to < *from) {
    // Name the default when --to was not given: "--to must be after --from"
    // reads as a complaint about a flag the user never passed.
    const std::string to_named = ctx.args->Has(to_flag)
                                     ? absl::StrCat("--", to_flag)
                                     : absl::StrCat("--", to_flag, " (not given: now)");
    return absl::InvalidArgumentError(absl::StrCat(to_named, ": must be ",
                                                   to_after_from ? "after" : "at or after", " --",
                                                   from_flag, " (", ctx.args->Get(from_flag), ")"));
  }
  if (*to > absl::Now() + absl::Minutes(1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", to_flag,
                     ": must not be later than now: membership ahead of it is not "
                     "known yet"));
  }
  return absl::OkStatus();
}

int Kpis(const Context& ctx) {
  absl::Time from, to;
  if (absl::Status s = Period(ctx, "from", "to", /*to_after_from=*/true, &from, &to); !s.ok()) {
    return ctx.Usage(std::string(s.message()));
  }
  std::vector<std::string> segments;
  for (const std::string& s : ctx.args->GetAll("segment")) {
    for (absl::string_view part : absl::StrSplit(s, ',', absl::SkipWhitespace())) segments.emplace_back(part);
  }
  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());
  absl::StatusOr<v1::GetSegmentKpisResponse> r = (*client)->GetSegmentKpis(from, to, segments);
  if (!r.ok()) return ctx.Fail(r.status());
  if (ctx.json) {
    ctx.PrintJson(*r);
    return kExitOk;
  }
  // Amounts as classify's reasons show them (the API's minor units / 100,
  // two decimals; --json keeps minor units), conversion as a percentage.
  auto amount = [](double minor) { return absl::StrFormat("%.2f", minor / 100); };
  Table t({"SEGMENT", "START", "END", "ENTERED", "LEFT", "ORDERS", "NET_REVENUE", "AOV", "LTV",
           "CONVERSION"});
  for (const v1::SegmentKpis& k : r->segments()) {
    t.AddRow({k.segment(), absl::StrCat(k.size_at_start()), absl::StrCat(k.size_at_end()),
              absl::StrCat(k.entered()), absl::StrCat(k.left()), absl::StrCat(k.orders()),
              amount(static_cast<double>(k.net_revenue())), amount(k.average_order_value()),
              amount(k.mean_lifetime_value()),
              absl::StrFormat("%.2f%%", 100 * k.conversion_rate())});
  }
  t.Print(*ctx.out);
  return kExitOk;
}

int Flows(const Context& ctx) {
  absl::Time from, to;
  if (absl::Status s = Period(ctx, "from", "to", /*to_after_from=*/false, &from, &to); !s.ok()) {
    return ctx.Usage(std::string(s.message()));
  }
  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());
  absl::StatusOr<v1::GetSegmentFlowsResponse> r = (*client)->GetSegmentFlows(from, to);
  if (!r.ok()) return ctx.Fail(r.status());
  if (ctx.json) {
    ctx.PrintJson(*r);
    return kExitOk;
  }
  Table t({"FROM", "TO", "CUSTOMERS"});
  for (const v1::FlowCell& c : r->cells()) {
    t.AddRow({c.from_segment().empty() ? "(none)" : c.from_segment(),
              c.to_segment().empty() ? "(none)" : c.to_segment(), absl::StrCat(c.customers())});
  }
  t.Print(*ctx.out);
  // Then each segment's movement (any of its members, not just by primary),
  // the segments nobody entered or left left out.
  Table m({"SEGMENT", "ENTERED", "LEFT"});
  for (const v1::SegmentMovement& s : r->movements()) {
    if (s.entered() == 0 && s.left() == 0) continue;
    m.AddRow({s.segment(), absl::StrCat(s.entered()), absl::StrCat(s.left())});
  }
  *ctx.out << "\n";
  if (m.size() > 0) {
    m.Print(*ctx.out);
  } else {
    *ctx.out << "No segment gained or lost a member.\n";
  }
  return kExitOk;
}

}  // namespace

std::vector<Command> InsightsCommands() {
  const FlagSpec from{"from", "TIME", "period start (RFC 3339 or YYYY-MM-DD)", "30 days before --to"};
  const FlagSpec to{"to", "TIME", "period end, exclusive (at most now)", "now"};
  const FlagSpec flows_from{"from", "TIME", "the first instant (RFC 3339 or YYYY-MM-DD)",
                            "30 days before --to"};
  const FlagSpec flows_to{"to", "TIME",
                          "the second instant, at or after --from (at most now; a change at it "
                          "counts)",
                          "now"};
  return {
      {"kpis",
       "",
       "KPIs per segment over a period (sizes, entered/left, orders, revenue, conversion)",
       "",
       {from, to, {"segment", "SEG[,SEG]", "only these segments (repeatable)", "all"}},
       0,
       0,
       Kpis},
      {"flows",
       "",
       "customers moving between primary segments from --from to --to, then each segment's "
       "entered/left",
       "",
       {flows_from, flows_to},
       0,
       0,
       Flows},
  };
}

}  // namespace segmentd::segctl
