// Example: a mobile app's backend reporting what a customer does and reading
// back the customer's segments and the vouchers they may be shown.
//
//   bazel run //clients/examples:mobile_backend -- --target=127.0.0.1:50051
//       --key_file=$PWD/.segmentd/demo.key --customer=app-user-1   (one command line)
//
// Every event is idempotent (ids and times make re-sends no-ops), so the
// client library retries them on UNAVAILABLE; running this twice changes
// nothing the second time.
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "clients/client.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "segmentd host:port");
ABSL_FLAG(std::string, key_file, ".segmentd/demo.key", "API key with write and read scope");
ABSL_FLAG(std::string, customer, "app-user-1", "the customer id");

namespace {

using segmentd::clients::SegmentdClient;
namespace v1 = segmentd::v1;

google::protobuf::Timestamp At(absl::Time t) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(absl::ToUnixSeconds(t));
  return ts;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  SegmentdClient::Options options;
  options.target = absl::GetFlag(FLAGS_target);
  options.api_key_file = absl::GetFlag(FLAGS_key_file);
  absl::StatusOr<std::unique_ptr<SegmentdClient>> client = SegmentdClient::Connect(options);
  if (!client.ok()) {
    std::cerr << "connect: " << client.status() << "\n";
    return 1;
  }
  const std::string id = absl::GetFlag(FLAGS_customer);
  // Fixed instants (whole days before today) keep re-runs idempotent within a day.
  const absl::Time today = absl::FromCivil(absl::ToCivilDay(absl::Now(), absl::UTCTimeZone()), absl::UTCTimeZone());

  std::vector<v1::Event> events(4);
  v1::CustomerRegistered* registered = events[0].mutable_customer_registered();
  registered->set_customer_id(id);
  *registered->mutable_registered_at() = At(today - absl::Hours(24 * 40));
  v1::OrderPlaced* first = events[1].mutable_order_placed();
  first->set_customer_id(id);
  first->set_order_id(absl::StrCat(id, "-order-1"));
  *first->mutable_placed_at() = At(today - absl::Hours(24 * 30));
  first->set_amount(4500);
  first->add_categories("shoes");
  v1::OrderPlaced* second = events[2].mutable_order_placed();
  second->set_customer_id(id);
  second->set_order_id(absl::StrCat(id, "-order-2"));
  *second->mutable_placed_at() = At(today - absl::Hours(24 * 3));
  second->set_amount(12000);
  second->add_categories("shoes");
  v1::ActivityRecorded* opened = events[3].mutable_activity();
  opened->set_customer_id(id);
  *opened->mutable_occurred_at() = At(today);
  for (const v1::Event& event : events) {
    absl::StatusOr<v1::IngestResult> result = (*client)->Ingest(event);
    if (!result.ok()) {
      std::cerr << "ingest: " << result.status() << "\n";
      return 1;
    }
    std::cout << "sent " << event.GetDescriptor()->FindFieldByNumber(event.kind_case())->name() << ": "
              << v1::ItemOutcome_Name(result->outcome()) << ", now in "
              << absl::StrJoin(result->membership().segments(), ",") << "\n";
  }

  segmentd::clients::ClassifyOptions classify;
  classify.include_reasons = true;
  absl::StatusOr<v1::CustomerClassification> c = (*client)->ClassifyCustomer(id, classify);
  if (!c.ok()) {
    std::cerr << "classify: " << c.status() << "\n";
    return 1;
  }
  std::cout << id << ": primary " << c->membership().primary_segment() << "\n";
  for (const v1::SegmentReason& r : c->reasons()) std::cout << "  " << r.segment() << ": " << r.reason() << "\n";

  absl::StatusOr<v1::ListEligibleVouchersResponse> vouchers = (*client)->ListEligibleVouchers(id);
  if (!vouchers.ok()) {
    if (vouchers.status().code() == absl::StatusCode::kUnimplemented) {
      std::cout << "eligible vouchers: TargetingService is UNIMPLEMENTED on this server\n";
      return 0;
    }
    std::cerr << "eligible vouchers: " << vouchers.status() << "\n";
    return 1;
  }
  std::cout << "eligible vouchers:";
  if (vouchers->vouchers().empty()) std::cout << " none";
  for (const v1::EligibleVoucher& v : vouchers->vouchers()) {
    std::cout << " " << v.voucher_id() << (v.arm().empty() ? "" : absl::StrCat(" (arm ", v.arm(), ")"));
  }
  std::cout << "\n";
  return 0;
}
