// segctl voucher put|get|list|delete|stats: the voucher targets a voucher
// service checks customers against, managed from the command line.
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "clients/segctl/command.h"
#include "clients/segctl/table.h"
#include "clients/segctl/target_flags.h"
#include "segmentd/v1/insights.pb.h"
#include "segmentd/v1/targeting.pb.h"

namespace segmentd::segctl {
namespace {

std::string FormatArms(const v1::VoucherTarget& t) {
  std::vector<std::string> arms;
  for (const v1::Arm& a : t.arms()) arms.push_back(absl::StrCat(a.name(), ":", a.weight()));
  return arms.empty() ? "-" : absl::StrJoin(arms, ",");
}

// A server error about the target, in the flags' terms: a segment as
// InFlagTerms names it, an arm ("target.arms[1].weight: ...") as
// "--arms, arm 2 weight: ...".
absl::Status PutError(const absl::Status& status) {
  absl::string_view message = status.message();
  if (!absl::ConsumePrefix(&message, "target.arms")) return InFlagTerms(status);
  int index = 0;
  const size_t close = message.find(']');
  if (absl::ConsumePrefix(&message, "[") && close != absl::string_view::npos &&
      absl::SimpleAtoi(message.substr(0, close - 1), &index)) {
    message.remove_prefix(close);
    absl::ConsumePrefix(&message, ".");
    return absl::Status(status.code(), absl::StrCat("--arms, arm ", index + 1,
                                                    message.front() == ':' ? "" : " ", message));
  }
  return absl::Status(status.code(), absl::StrCat("--arms", message));
}

int Put(const Context& ctx) {
  v1::VoucherTarget target;
  target.set_voucher_id(ctx.args->positional()[0]);
  absl::StatusOr<v1::TargetExpression> expression = ExpressionFromFlags(ctx);
  if (!expression.ok()) return ctx.Usage(std::string(expression.status().message()));
  *target.mutable_expression() = *std::move(expression);
  if (ctx.args->Has("arms")) {
    absl::StatusOr<std::vector<v1::Arm>> arms = ArmsFromFlag(ctx.args->Get("arms"));
    if (!arms.ok()) return ctx.Usage(std::string(arms.status().message()));
    for (v1::Arm& a : *arms) *target.add_arms() = std::move(a);
  }
  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());
  absl::StatusOr<v1::PutVoucherTargetResponse> r = (*client)->PutVoucherTarget(target);
  if (!r.ok()) return ctx.Fail(PutError(r.status()));
  if (ctx.json) {
    ctx.PrintJson(*r);
  } else {
    *ctx.out << "stored voucher " << EscapeCell(r->target().voucher_id()) << ": "
             << EscapeCell(FormatExpression(r->target().expression())) << ", arms "
             << EscapeCell(FormatArms(r->target())) << "\n";
  }
  // Stored, but probably not what was meant (a segment the config disables).
  for (const std::string& w : r->warnings()) {
    *ctx.err << "segctl: " << ctx.command << ": warning: " << EscapeCell(w) << "\n";
  }
  return kExitOk;
}

int Get(const Context& ctx) {
  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());
  absl::StatusOr<v1::VoucherTarget> t = (*client)->GetVoucherTarget(ctx.args->positional()[0]);
  if (!t.ok()) return ctx.Fail(t.status());
  if (ctx.json) {
    ctx.PrintJson(*t);
    return kExitOk;
  }
  *ctx.out << "voucher     " << EscapeCell(t->voucher_id()) << "\n"
           << "expression  " << EscapeCell(FormatExpression(t->expression())) << "\n"
           << "arms        " << EscapeCell(FormatArms(*t)) << "\n"
           << "updated     " << FormatTimestamp(t->updated_at()) << "\n";
  return kExitOk;
}

int List(const Context& ctx) {
  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());
  absl::StatusOr<std::vector<v1::VoucherTarget>> all = (*client)->ListVoucherTargets();
  if (!all.ok()) return ctx.Fail(all.status());
  if (ctx.json) {  // one object, as tenant list and key list print theirs
    v1::ListVoucherTargetsResponse response;
    for (const v1::VoucherTarget& v : *all) *response.add_targets() = v;
    ctx.PrintJson(response);
    return kExitOk;
  }
  Table t({"VOUCHER", "EXPRESSION", "ARMS", "UPDATED"});
  for (const v1::VoucherTarget& v : *all) {
    t.AddRow({v.voucher_id(), FormatExpression(v.expression()), FormatArms(v),
              FormatTimestamp(v.updated_at())});
  }
  t.Print(*ctx.out);
  return kExitOk;
}

int Delete(const Context& ctx) {
  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());
  const std::string& id = ctx.args->positional()[0];
  if (absl::Status s = (*client)->DeleteVoucherTarget(id); !s.ok()) return ctx.Fail(s);
  if (ctx.json) {
    ctx.PrintJson(v1::DeleteVoucherTargetResponse());
  } else {
    *ctx.out << "deleted voucher " << EscapeCell(id)
             << " (its redemptions are kept: a target put again under this id counts them)\n";
  }
  return kExitOk;
}

std::string Percent(double rate) { return absl::StrFormat("%.2f%%", 100 * rate); }

int Stats(const Context& ctx) {
  absl::StatusOr<std::optional<absl::Time>> as_of = OptionalInstant(ctx, "as_of");
  if (!as_of.ok()) return ctx.Usage(std::string(as_of.status().message()));
  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());
  absl::StatusOr<v1::GetVoucherStatsResponse> r =
      (*client)->GetVoucherStats(ctx.args->positional()[0], *as_of);
  if (!r.ok()) return ctx.Fail(r.status());
  if (ctx.json) {
    ctx.PrintJson(*r);
    return kExitOk;
  }
  *ctx.out << "voucher " << EscapeCell(r->voucher_id()) << " at "
           << FormatTimestamp(r->evaluated_at()) << ": " << r->targeted() << " targeted, "
           << r->redemptions() << " redeemed (" << Percent(r->conversion_rate()) << ")\n";
  if (r->arms_size() > 0) {
    Table t({"ARM", "TARGETED", "REDEEMED", "CONVERSION"});
    for (const v1::ArmStats& a : r->arms()) {
      t.AddRow({a.arm(), absl::StrCat(a.targeted()), absl::StrCat(a.redemptions()),
                Percent(a.conversion_rate())});
    }
    t.Print(*ctx.out);
  }
  return kExitOk;
}

}  // namespace

std::vector<Command> VoucherCommands() {
  return {
      {"voucher put",
       "VOUCHER_ID",
       "store (or replace) a voucher target: segments combined from --all_of/--any_of/--none_of",
       "The lists combine with AND, e.g. --any_of=LAPSED,LOST_CUSTOMER --none_of=VIP is\n"
       "\"(LAPSED or LOST_CUSTOMER) and not VIP\". A target naming a segment the config\n"
       "disables is stored, with a warning on stderr (it selects nobody while disabled).",
       {{"all_of", "SEG,SEG", "customers in every one of these segments", ""},
        {"any_of", "SEG,SEG", "customers in at least one of these segments", ""},
        {"none_of", "SEG,SEG", "customers in none of these segments", ""},
        {"arms", "NAME:WEIGHT,...",
         "split the audience, e.g. offer:90,holdout:10 (a customer's arm is stable; at most 16 "
         "arms, names of 1-64 bytes, weights 1-1000000)",
         "no split"}},
       1,
       1,
       Put},
      {"voucher get", "VOUCHER_ID", "show a voucher target", "", {}, 1, 1, Get},
      {"voucher list", "", "list the tenant's voucher targets", "", {}, 0, 0, List},
      {"voucher delete",
       "VOUCHER_ID",
       "delete a voucher target (its redemptions are kept)",
       "",
       {},
       1,
       1,
       Delete},
      {"voucher stats",
       "VOUCHER_ID",
       "targeted customers, redemptions and conversion, per arm too",
       "",
       {{"as_of", "TIME", "evaluate at this instant (RFC 3339 or YYYY-MM-DD)", "now"}},
       1,
       1,
       Stats},
  };
}

}  // namespace segmentd::segctl
