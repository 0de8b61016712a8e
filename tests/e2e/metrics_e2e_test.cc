// End-to-end test of the Prometheus endpoint: the real segmentd binary with
// --metrics_listen, on a real redis-server, scraped over HTTP while events,
// time-driven changes and bad calls go through gRPC.
#include <arpa/inet.h>
#include <grpcpp/generic/generic_stub.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "segmentd/v1/ingest.grpc.pb.h"
#include "testing/e2e_stack.h"
#include "testing/segmentd_process.h"

namespace segmentd {
namespace {

using ::segmentd::testing::E2eStack;
using ::segmentd::testing::NewContext;
using ::segmentd::testing::OrderEvent;
using ::segmentd::testing::PollUntil;
using ::segmentd::testing::RegisteredEvent;
using ::testing::HasSubstr;
using ::testing::Not;

// GET http://127.0.0.1:<port><path> over a plain socket: the whole response
// (status line, headers, body), or "" when the connection fails.
std::string HttpGet(int port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  std::string response;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string request = absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
    if (write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
      char buffer[8192];
      ssize_t n;
      while ((n = read(fd, buffer, sizeof(buffer))) > 0) response.append(buffer, n);
    }
  }
  close(fd);
  return response;
}

// The value of the series named exactly `series` (name and labels as
// exposed) in a scrape, or nullopt when absent.
std::optional<double> Value(const std::string& scrape, const std::string& series) {
  for (absl::string_view line : absl::StrSplit(scrape, '\n')) {
    if (!absl::StartsWith(line, series + " ")) continue;
    double value = 0;
    if (absl::SimpleAtod(line.substr(series.size() + 1), &value)) return value;
  }
  return std::nullopt;
}

class MetricsE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    E2eStack::Options options;
    options.tenants = {"acme"};
    options.segmentd_flags = {"--metrics_listen=127.0.0.1:0"};
    absl::StatusOr<std::unique_ptr<E2eStack>> stack = E2eStack::Start(options);
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
    port_ = stack_->segmentd().MetricsPort();
    ASSERT_NE(port_, 0) << stack_->segmentd().Log();
    ingest_ = v1::IngestService::NewStub(stack_->channel());
  }

  std::string Scrape() { return HttpGet(port_, "/metrics"); }

  grpc::Status PlaceOrder(const v1::Event& event) {
    v1::PlaceOrderRequest request;
    *request.mutable_event() = event.order_placed();
    v1::PlaceOrderResponse response;
    auto context = NewContext(stack_->keys("acme").write);
    return ingest_->PlaceOrder(context.get(), request, &response);
  }

  std::unique_ptr<E2eStack> stack_;
  int port_ = 0;
  std::unique_ptr<v1::IngestService::Stub> ingest_;
};

constexpr char kPlaceOrderOk[] =
    "segmentd_rpc_duration_seconds_count{code="
    "\"OK\",method=\"/segmentd.v1.IngestService/"
    "PlaceOrder\"}";
constexpr char kPlaceOrderInvalid[] =
    "segmentd_rpc_duration_seconds_count{code=\"INVALID_ARGUMENT\",method=\"/"
    "segmentd.v1.IngestService/PlaceOrder\"}";

TEST_F(MetricsE2eTest, CountsEventsWritesAndRpcsAsTheyHappen) {
  const std::string before = Scrape();
  ASSERT_THAT(before, HasSubstr("200 OK"));
  EXPECT_EQ(Value(before, "segmentd_redis_up"), 1);
  EXPECT_EQ(Value(before, "segmentd_ingest_events_total{outcome=\"applied\"}"), 0);
  EXPECT_EQ(Value(before, kPlaceOrderOk), std::nullopt);  // no such call yet

  const absl::Time now = absl::Now();
  const v1::Event order = OrderEvent("c1", "o1", now - absl::Hours(1), 2500);
  ASSERT_TRUE(PlaceOrder(order).ok());
  ASSERT_TRUE(PlaceOrder(order).ok());  // the same order again: a duplicate
  v1::Event bad = order;
  bad.mutable_order_placed()->clear_customer_id();
  EXPECT_EQ(PlaceOrder(bad).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  const std::string after = Scrape();
  EXPECT_EQ(Value(after, "segmentd_ingest_events_total{outcome=\"applied\"}"), 1);
  EXPECT_EQ(Value(after, "segmentd_ingest_events_total{outcome=\"duplicate\"}"), 1);
  EXPECT_EQ(Value(after, "segmentd_ingest_events_total{outcome=\"rejected\"}"), 1);
  // The applied order wrote its customer; the duplicate wrote nothing.
  EXPECT_EQ(Value(after, "segmentd_customer_writes_total{cause=\"event\"}"), 1);
  EXPECT_EQ(Value(after, kPlaceOrderOk), 2);
  EXPECT_EQ(Value(after, kPlaceOrderInvalid), 1);
  EXPECT_GE(Value(after, "segmentd_store_write_seconds_count").value_or(0), 1);
}

TEST_F(MetricsE2eTest, CountsEachItemOfABulkBatch) {
  const absl::Time now = absl::Now();
  const v1::Event order = OrderEvent("b1", "o1", now - absl::Hours(1), 2500);
  v1::Event bad = OrderEvent("b2", "o2", now - absl::Hours(1), 2500);
  bad.mutable_order_placed()->clear_order_id();
  // A new order, the same order again, a bad one and another customer.
  absl::StatusOr<v1::BulkIngestResponse> reply = ::segmentd::testing::IngestBatch(
      *stack_->channel(), stack_->keys("acme").write,
      {order, order, bad, OrderEvent("b3", "o3", now - absl::Hours(2), 900)});
  ASSERT_TRUE(reply.ok()) << reply.status();
  ASSERT_EQ(reply->applied(), 2u);
  ASSERT_EQ(reply->duplicates(), 1u);
  ASSERT_EQ(reply->rejected(), 1u);

  const std::string scrape = Scrape();
  EXPECT_EQ(Value(scrape, "segmentd_ingest_events_total{outcome=\"applied\"}"), 2);
  EXPECT_EQ(Value(scrape, "segmentd_ingest_events_total{outcome=\"duplicate\"}"), 1);
  EXPECT_EQ(Value(scrape, "segmentd_ingest_events_total{outcome=\"rejected\"}"), 1);
  // One write per customer with applied events (b1's two orders are one).
  EXPECT_EQ(Value(scrape, "segmentd_customer_writes_total{cause=\"event\"}"), 2);
}

TEST_F(MetricsE2eTest, APathTheServerDoesNotServeIsLabelledUnknown) {
  // Any client can ask for any path: the metrics must not grow a series per
  // invented name.
  grpc::GenericStub generic(stack_->channel());
  grpc::CompletionQueue queue;
  grpc::ClientContext context;
  grpc::ByteBuffer response;
  grpc::Status status;
  auto call = generic.PrepareUnaryCall(&context, "/segmentd.v1.IngestService/NoSuchMethod",
                                       grpc::ByteBuffer(), &queue);
  call->StartCall();
  call->Finish(&response, &status, reinterpret_cast<void*>(1));
  void* tag = nullptr;
  bool ok = false;
  ASSERT_TRUE(queue.Next(&tag, &ok));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED);

  const std::string scrape = Scrape();
  EXPECT_EQ(Value(scrape,
                  "segmentd_rpc_duration_seconds_count{code=\"UNIMPLEMENTED\",method=\"unknown\"}"),
            1);
  EXPECT_THAT(scrape, Not(HasSubstr("NoSuchMethod")));
}

TEST_F(MetricsE2eTest, ObservesTimeDrivenChanges) {
  // Registered 14 days ago less 2 s: NEW_DOWNLOAD (14 days by default) ends
  // for this customer 2 s from now, with no event.
  const v1::Event registered =
      RegisteredEvent("newcomer", absl::Now() - absl::Hours(24 * 14) + absl::Seconds(2));
  v1::RegisterCustomerRequest request;
  *request.mutable_event() = registered.customer_registered();
  v1::RegisterCustomerResponse response;
  auto context = NewContext(stack_->keys("acme").write);
  ASSERT_TRUE(ingest_->RegisterCustomer(context.get(), request, &response).ok());

  std::string scrape;
  ASSERT_TRUE(PollUntil(
      [&] {
        scrape = Scrape();
        return Value(scrape, "segmentd_customer_writes_total{cause=\"time\"}").value_or(0) >= 1;
      },
      absl::Seconds(20)))
      << scrape;
  // The scheduler saw the customer due and measured how late it took it.
  EXPECT_GE(Value(scrape, "segmentd_transition_lag_seconds_count").value_or(0), 1);
}

}  // namespace
}  // namespace segmentd
