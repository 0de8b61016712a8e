// Example: the voucher service's side of segmentd.
//
// Registers a win-back voucher for "(LAPSED or LOST_CUSTOMER) and not VIP" with
// a 90/10 offer/holdout split, counts its audience, and checks the customers
// named on the command line (eligible? which arm? which segments matched?).
//
//   bazel run //clients/examples:voucher_service -- --target=127.0.0.1:50051
//       --key_file=$PWD/.segmentd/demo.key 00004 00021   (one command line)
//
// Eligibility fails closed: any error (server down, Redis down, targeting not
// available) is reported as such and never treated as "eligible".
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_join.h"
#include "clients/client.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "segmentd host:port");
ABSL_FLAG(std::string, key_file, ".segmentd/demo.key", "API key with write scope (read to only check)");
ABSL_FLAG(std::string, voucher, "winback-10", "the voucher id to register and check");

namespace {

using segmentd::clients::SegmentdClient;
namespace v1 = segmentd::v1;

// (LAPSED or LOST_CUSTOMER) and not VIP.
v1::TargetExpression WinBack() {
  v1::TargetExpression e;
  v1::ExpressionList* all = e.mutable_all_of();
  v1::ExpressionList* any = all->add_children()->mutable_any_of();
  any->add_children()->set_segment("LAPSED");
  any->add_children()->set_segment("LOST_CUSTOMER");
  all->add_children()->mutable_none_of()->add_children()->set_segment("VIP");
  return e;
}

int Fail(const char* what, const absl::Status& status) {
  if (status.code() == absl::StatusCode::kUnimplemented) {
    std::cerr << what << ": TargetingService is UNIMPLEMENTED on this server (" << status.message() << ")\n";
  } else {
    std::cerr << what << " failed: " << status << "\n";
  }
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("voucher_service [--target=...] [--key_file=...] CUSTOMER_ID...");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  SegmentdClient::Options options;
  options.target = absl::GetFlag(FLAGS_target);
  options.api_key_file = absl::GetFlag(FLAGS_key_file);
  absl::StatusOr<std::unique_ptr<SegmentdClient>> client = SegmentdClient::Connect(options);
  if (!client.ok()) return Fail("connect", client.status());

  v1::VoucherTarget target;
  target.set_voucher_id(absl::GetFlag(FLAGS_voucher));
  *target.mutable_expression() = WinBack();
  v1::Arm* offer = target.add_arms();
  offer->set_name("offer");
  offer->set_weight(90);
  v1::Arm* holdout = target.add_arms();
  holdout->set_name("holdout");
  holdout->set_weight(10);
  absl::StatusOr<v1::PutVoucherTargetResponse> stored = (*client)->PutVoucherTarget(target);
  if (!stored.ok()) return Fail("PutVoucherTarget", stored.status());
  std::cout << "voucher " << stored->target().voucher_id()
            << ": (LAPSED or LOST_CUSTOMER) and not VIP, 90/10 offer/holdout\n";
  // E.g. a segment of the expression disabled in the tenant's config.
  for (const std::string& w : stored->warnings()) std::cout << "warning: " << w << "\n";

  v1::TargetRef ref;
  ref.set_voucher_id(stored->target().voucher_id());
  absl::StatusOr<v1::CountTargetsResponse> count = (*client)->CountTargets(ref);
  if (!count.ok()) return Fail("CountTargets", count.status());
  std::cout << "audience: " << count->customers() << " customers";
  for (const v1::ArmCount& arm : count->arms()) std::cout << ", " << arm.arm() << " " << arm.customers();
  std::cout << "\n";

  for (size_t i = 1; i < args.size(); ++i) {
    absl::StatusOr<v1::Eligibility> e = (*client)->CheckEligibility(ref, args[i]);
    if (!e.ok()) return Fail("CheckEligibility", e.status());
    std::cout << args[i] << ": " << (e->eligible() ? "eligible, arm " + e->arm() : "not eligible")
              << " (matched: " << absl::StrJoin(e->matched_segments(), ",") << ")\n";
  }
  return 0;
}
