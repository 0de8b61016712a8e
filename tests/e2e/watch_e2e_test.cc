// End-to-end tests of WatchService: the real segmentd binary on a real
// redis-server, over gRPC. Changes caused by events, a segment filter,
// resuming from a position, and a time-driven transition seen without any
// new event.
#include <signal.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "segmentd/v1/classification.grpc.pb.h"
#include "segmentd/v1/ingest.grpc.pb.h"
#include "segmentd/v1/watch.grpc.pb.h"
#include "testing/e2e_stack.h"
#include "testing/segmentd_process.h"

namespace segmentd {
namespace {

using ::segmentd::testing::CreateApiKeyWithId;
using ::segmentd::testing::CreatedKey;
using ::segmentd::testing::E2eStack;
using ::segmentd::testing::FromTimestamp;
using ::segmentd::testing::IngestBatch;
using ::segmentd::testing::NewContext;
using ::segmentd::testing::OrderEvent;
using ::segmentd::testing::RevokeApiKey;
using ::segmentd::testing::TenantKeys;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

// Parses a "<ms>-<seq>" position for ordering checks.
std::pair<uint64_t, uint64_t> ParsePosition(const std::string& p) {
  const size_t dash = p.find('-');
  return {std::stoull(p.substr(0, dash)), std::stoull(p.substr(dash + 1))};
}

// An open Watch call: the context must outlive the reader.
struct OpenWatch {
  std::unique_ptr<grpc::ClientContext> ctx;
  std::unique_ptr<grpc::ClientReader<v1::WatchResponse>> reader;
};

// Opens a Watch (authorized by `key`) of `segments` (none: all) after
// `resume_after`, ending by `timeout`.
OpenWatch StartWatch(v1::WatchService::Stub& stub, const std::string& key,
                     const std::string& resume_after, const std::vector<std::string>& segments,
                     absl::Duration timeout) {
  OpenWatch watch;
  watch.ctx = NewContext(key, timeout);
  v1::WatchRequest request;
  request.set_resume_after(resume_after);
  for (const std::string& s : segments) request.add_segments(s);
  watch.reader = stub.Watch(watch.ctx.get(), request);
  return watch;
}

// Reads a watch's first response: where it starts (`position`), no change.
void ReadStart(grpc::ClientReader<v1::WatchResponse>& reader, const std::string& position) {
  v1::WatchResponse start;
  ASSERT_TRUE(reader.Read(&start));
  EXPECT_EQ(start.changes_size(), 0) << start.DebugString();
  EXPECT_EQ(start.position(), position);
}

// Whether a watch authorized by `key` opens within ~5 s, once a closed one
// freed its place: the server notices a cancellation at its next read (a
// poll of 500 ms).
bool OpensAgain(v1::WatchService::Stub& stub, const std::string& key) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    OpenWatch again = StartWatch(stub, key, "", {}, absl::Seconds(20));
    v1::WatchResponse response;
    const bool opened = again.reader->Read(&response);
    again.ctx->TryCancel();
    again.reader->Finish();
    if (opened) return true;
    absl::SleepFor(absl::Milliseconds(100));
  }
  return false;
}

class WatchE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    E2eStack::Options options;
    options.tenants = {"shop"};
    absl::StatusOr<std::unique_ptr<E2eStack>> stack = E2eStack::Start(options);
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
    keys_ = stack_->keys("shop");
    ingest_ = v1::IngestService::NewStub(stack_->channel());
    classify_ = v1::ClassificationService::NewStub(stack_->channel());
    watch_ = v1::WatchService::NewStub(stack_->channel());
  }

  void Ingest(const std::vector<v1::Event>& events) {
    absl::StatusOr<v1::BulkIngestResponse> reply =
        IngestBatch(*stack_->channel(), keys_.write, events);
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->rejected(), 0u) << reply->DebugString();
  }

  // Reads exactly `count` changes from a Watch(resume_after, segments), failing
  // the test if they do not arrive within `timeout`.
  std::vector<v1::MembershipChange> ReadChanges(const std::string& resume_after, size_t count,
                                                std::vector<std::string> segments = {},
                                                absl::Duration timeout = absl::Seconds(15)) {
    auto [ctx, reader] = StartWatch(*watch_, keys_.read, resume_after, segments, timeout);
    std::vector<v1::MembershipChange> out;
    v1::WatchResponse batch;
    while (out.size() < count && reader->Read(&batch)) {
      out.insert(out.end(), batch.changes().begin(), batch.changes().end());
    }
    ctx->TryCancel();
    reader->Finish();
    EXPECT_GE(out.size(), count) << "Watch ended early";
    return out;
  }

  // Turns off the segments that depend on population statistics (VIP, value
  // tiers, spenders): their changes arrive asynchronously with cause
  // STATISTICS, and this test wants every change to come from its events.
  void DisableStatisticalSegments() {
    absl::Status status =
        ::segmentd::testing::DisableStatisticalSegments(*stack_->channel(), keys_.admin);
    ASSERT_TRUE(status.ok()) << status;
  }

  v1::Membership Classify(const std::string& id) {
    v1::ClassifyCustomerRequest request;
    request.set_customer_id(id);
    v1::ClassifyCustomerResponse response;
    auto ctx = NewContext(keys_.read);
    EXPECT_TRUE(classify_->ClassifyCustomer(ctx.get(), request, &response).ok());
    return response.classification().membership();
  }

  std::unique_ptr<E2eStack> stack_;
  TenantKeys keys_;
  std::unique_ptr<v1::IngestService::Stub> ingest_;
  std::unique_ptr<v1::ClassificationService::Stub> classify_;
  std::unique_ptr<v1::WatchService::Stub> watch_;
};

TEST_F(WatchE2eTest, EventChangesAreOrderedFilterableAndResumable) {
  ASSERT_NO_FATAL_FAILURE(DisableStatisticalSegments());
  const absl::Time now = absl::Now();
  const std::vector<std::string> customers = {"w1", "w2", "w3", "w4"};
  std::vector<v1::Event> events;
  for (size_t c = 0; c < customers.size(); ++c) {
    for (size_t o = 0; o <= c; ++o) {
      events.push_back(OrderEvent(customers[c], absl::StrCat(customers[c], "-", o),
                                  now - absl::Hours(24 * (o + 1)), 1000 * (c + 1)));
    }
  }
  Ingest(events);

  // Everything from the start of the stream: a first call that reads until
  // the stream is quiet would need a sleep, so count what the final
  // memberships imply instead and read exactly that many.
  std::map<std::string, std::set<std::string>> current;
  size_t total_segments = 0;
  for (const std::string& id : customers) {
    v1::Membership m = Classify(id);
    current[id] = {m.segments().begin(), m.segments().end()};
    total_segments += current[id].size();
  }
  // Replaying ENTERED/LEFT must give the current memberships. Each customer
  // may have entered and left segments along the way, so read until the
  // replay matches (bounded), then check nothing is inconsistent.
  std::vector<v1::MembershipChange> all;
  std::map<std::string, std::set<std::string>> replay;
  {
    auto [ctx, reader] = StartWatch(*watch_, keys_.read, "0-0", {}, absl::Seconds(15));
    v1::WatchResponse batch;
    while (replay != current && reader->Read(&batch)) {
      for (const v1::MembershipChange& change : batch.changes()) {
        all.push_back(change);
        EXPECT_EQ(change.cause(), v1::CHANGE_CAUSE_EVENT) << change.DebugString();
        std::set<std::string>& segs = replay[change.customer_id()];
        if (change.kind() == v1::CHANGE_KIND_ENTERED) {
          EXPECT_TRUE(segs.insert(change.segment()).second) << "entered twice: "
                                                            << change.DebugString();
        } else {
          ASSERT_EQ(change.kind(), v1::CHANGE_KIND_LEFT);
          EXPECT_EQ(segs.erase(change.segment()), 1u) << "left without entering: "
                                                      << change.DebugString();
        }
      }
    }
    ctx->TryCancel();
    reader->Finish();
  }
  ASSERT_EQ(replay, current);
  ASSERT_GE(all.size(), total_segments);
  for (size_t i = 1; i < all.size(); ++i) {
    EXPECT_LT(ParsePosition(all[i - 1].position()), ParsePosition(all[i].position()));
  }

  // Resuming after any position gives exactly the rest: no gap, no duplicate.
  for (size_t k : {size_t{0}, all.size() / 2, all.size() - 2}) {
    std::vector<v1::MembershipChange> rest =
        ReadChanges(all[k].position(), all.size() - k - 1);
    ASSERT_EQ(rest.size(), all.size() - k - 1);
    for (size_t i = 0; i < rest.size(); ++i) {
      EXPECT_EQ(rest[i].SerializeAsString(), all[k + 1 + i].SerializeAsString()) << i;
    }
  }

  // A filter keeps exactly the changes of the listed segments.
  std::vector<v1::MembershipChange> expected;
  for (const v1::MembershipChange& change : all) {
    if (change.segment() == "FIRST_TIME_BUYER" || change.segment() == "REPEAT_CUSTOMER") {
      expected.push_back(change);
    }
  }
  ASSERT_FALSE(expected.empty());
  std::vector<v1::MembershipChange> filtered =
      ReadChanges("0-0", expected.size(), {"FIRST_TIME_BUYER", "REPEAT_CUSTOMER"});
  ASSERT_EQ(filtered.size(), expected.size());
  for (size_t i = 0; i < filtered.size(); ++i) {
    EXPECT_EQ(filtered[i].SerializeAsString(), expected[i].SerializeAsString()) << i;
  }

  // Live: a watcher positioned at the end sees the next event's changes, and a
  // filtered one skips everything else. w1 has one order; a second makes it
  // leave FIRST_TIME_BUYER and enter REPEAT_CUSTOMER.
  const std::string end = all.back().position();
  {
    auto [ctx, reader] =
        StartWatch(*watch_, keys_.read, end, {"REPEAT_CUSTOMER"}, absl::Seconds(15));
    ASSERT_NO_FATAL_FAILURE(ReadStart(*reader, end));
    Ingest({OrderEvent("w1", "w1-new", now - absl::Minutes(1), 500)});
    v1::WatchResponse batch;
    ASSERT_TRUE(reader->Read(&batch));
    ASSERT_GE(batch.changes_size(), 1);
    const v1::MembershipChange& change = batch.changes(0);
    EXPECT_EQ(change.customer_id(), "w1");
    EXPECT_EQ(change.segment(), "REPEAT_CUSTOMER");
    EXPECT_EQ(change.kind(), v1::CHANGE_KIND_ENTERED);
    EXPECT_EQ(change.cause(), v1::CHANGE_CAUSE_EVENT);
    EXPECT_LT(ParsePosition(end), ParsePosition(change.position()));
    ctx->TryCancel();
    reader->Finish();
  }
  std::vector<v1::MembershipChange> next = ReadChanges(end, 1, {"FIRST_TIME_BUYER"});
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].customer_id(), "w1");
  EXPECT_EQ(next[0].kind(), v1::CHANGE_KIND_LEFT);
}

// A watcher of a segment no change touches still learns how far the stream
// was read (responses with a position and no changes), and resuming there
// re-reads nothing.
TEST_F(WatchE2eTest, AFilteredWatchIsToldHowFarTheStreamWasRead) {
  ASSERT_NO_FATAL_FAILURE(DisableStatisticalSegments());
  // One order each: customers enter segments (never ABANDONED_CART) and
  // leave none, so the changes are as many as their final memberships.
  const std::vector<std::string> customers = {"f1", "f2", "f3"};
  std::vector<v1::Event> events;
  for (const std::string& id : customers) {
    events.push_back(OrderEvent(id, id + "-o", absl::Now() - absl::Hours(1), 500));
  }
  Ingest(events);
  size_t total = 0;
  for (const std::string& id : customers) total += Classify(id).segments_size();
  ASSERT_GT(total, 0u);
  const std::vector<v1::MembershipChange> all = ReadChanges("0-0", total);
  ASSERT_EQ(all.size(), total);
  const std::string last = all.back().position();

  std::string reached;
  {
    auto [ctx, reader] =
        StartWatch(*watch_, keys_.read, "0-0", {"ABANDONED_CART"}, absl::Seconds(15));
    v1::WatchResponse response;
    while (reached != last && reader->Read(&response)) {
      EXPECT_EQ(response.changes_size(), 0) << response.DebugString();
      ASSERT_FALSE(response.position().empty());
      if (!reached.empty()) {
        EXPECT_LT(ParsePosition(reached), ParsePosition(response.position()));
      }
      reached = response.position();
    }
    ctx->TryCancel();
    reader->Finish();
  }
  ASSERT_EQ(reached, last);

  // An unfiltered watch's responses end at their last change.
  Ingest({OrderEvent("f4", "f4-o", absl::Now() - absl::Hours(1), 500)});
  auto [ctx, reader] = StartWatch(*watch_, keys_.read, reached, {}, absl::Seconds(15));
  v1::WatchResponse response;
  ASSERT_TRUE(reader->Read(&response));  // where it starts
  EXPECT_EQ(response.changes_size(), 0);
  EXPECT_EQ(response.position(), reached);
  ASSERT_TRUE(reader->Read(&response));
  ASSERT_GT(response.changes_size(), 0);
  for (const v1::MembershipChange& change : response.changes()) {
    EXPECT_EQ(change.customer_id(), "f4");
  }
  EXPECT_EQ(response.position(), response.changes(response.changes_size() - 1).position());
  ctx->TryCancel();
  reader->Finish();
}

// A watch names where it starts at once, before any change: a client that
// records it, then reads membership, misses nothing committed in between,
// and a stream that breaks before its first change leaves a position to
// resume from (a reviewer's finding: a quiet tenant's watch sent nothing).
TEST_F(WatchE2eTest, AWatchNamesWhereItStartsAtOnce) {
  ASSERT_NO_FATAL_FAILURE(DisableStatisticalSegments());
  std::string start;
  {
    auto [ctx, reader] = StartWatch(*watch_, keys_.read, "", {"VIP"}, absl::Seconds(5));
    v1::WatchResponse response;
    ASSERT_TRUE(reader->Read(&response)) << "no first response within 5 s";
    EXPECT_EQ(response.changes_size(), 0);
    start = response.position();
    EXPECT_EQ(start, "0-0");  // the tenant has no change yet
    ctx->TryCancel();
    reader->Finish();
  }
  // A change after the watch started (and after the membership a client
  // would read): resuming from the first position delivers it.
  Ingest({OrderEvent("s1", "s1-o", absl::Now() - absl::Hours(1), 500)});
  const std::vector<v1::MembershipChange> changes = ReadChanges(start, 1);
  ASSERT_FALSE(changes.empty());
  EXPECT_EQ(changes[0].customer_id(), "s1");
  // Resumed, a watch names its resume position first.
  const std::string after = changes[0].position();
  auto [ctx, reader] = StartWatch(*watch_, keys_.read, after, {}, absl::Seconds(5));
  v1::WatchResponse response;
  ASSERT_TRUE(reader->Read(&response));
  EXPECT_EQ(response.changes_size(), 0);
  EXPECT_EQ(response.position(), after);
  ctx->TryCancel();
  reader->Finish();
}

// An open watch does not outlive its key: revoked, the stream ends
// UNAUTHENTICATED (the check at the call's start is not the last).
TEST_F(WatchE2eTest, AWatchEndsWhenItsKeyIsRevoked) {
  absl::StatusOr<CreatedKey> key =
      CreateApiKeyWithId(*stack_->channel(), keys_.admin, keys_.tenant_id, {v1::SCOPE_READ});
  ASSERT_TRUE(key.ok()) << key.status();
  auto [ctx, reader] = StartWatch(*watch_, key->secret, "0-0", {}, absl::Seconds(20));
  ASSERT_NO_FATAL_FAILURE(ReadStart(*reader, "0-0"));
  Ingest({OrderEvent("r1", "r1-o", absl::Now() - absl::Hours(1), 500)});
  v1::WatchResponse response;
  ASSERT_TRUE(reader->Read(&response));  // the key works until revoked
  ASSERT_GT(response.changes_size(), 0);

  absl::Status revoked =
      RevokeApiKey(*stack_->channel(), keys_.admin, keys_.tenant_id, key->key_id);
  ASSERT_TRUE(revoked.ok()) << revoked;
  Ingest({OrderEvent("r2", "r2-o", absl::Now() - absl::Hours(1), 500)});
  while (reader->Read(&response)) {
  }
  grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << status.error_message();
}

TEST_F(WatchE2eTest, BadRequestsFailInvalidArgument) {
  for (const auto& [segment, resume] : std::vector<std::pair<std::string, std::string>>{
           {"NOT_A_SEGMENT", ""},
           {"", "garbage"},
           {"", "99999999999999999999999-0"}}) {  // beyond 64 bits
    std::vector<std::string> segments;
    if (!segment.empty()) segments.push_back(segment);
    auto [ctx, reader] = StartWatch(*watch_, keys_.read, resume, segments, absl::Seconds(5));
    v1::WatchResponse batch;
    EXPECT_FALSE(reader->Read(&batch));
    grpc::Status status = reader->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr(segment.empty() ? "resume_after" : "segments[0]"));
  }
  // A segment named twice is a caller's mistake, refused as GetSegmentKpis
  // refuses it.
  {
    auto [ctx, reader] =
        StartWatch(*watch_, keys_.read, "", {"VIP", "LOYAL_CUSTOMER", "VIP"}, absl::Seconds(5));
    v1::WatchResponse batch;
    EXPECT_FALSE(reader->Read(&batch));
    grpc::Status status = reader->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr("segments[2]: \"VIP\" named twice"));
  }
  // A position ahead of the newest change was never returned: refused, not
  // waited on silently until the stream gets there.
  {
    auto [ctx, reader] = StartWatch(*watch_, keys_.read, "9999999999999-0", {}, absl::Seconds(5));
    v1::WatchResponse batch;
    EXPECT_FALSE(reader->Read(&batch));
    grpc::Status status = reader->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::OUT_OF_RANGE);
    EXPECT_THAT(status.error_message(), HasSubstr("resume_after: 9999999999999-0 is ahead"));
  }
  // Write cannot read.
  auto [ctx, reader] = StartWatch(*watch_, keys_.write, "", {}, absl::Seconds(5));
  v1::WatchResponse batch;
  EXPECT_FALSE(reader->Read(&batch));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(WatchE2eTest, TimeDrivenTransitionArrivesWithoutAnyEvent) {
  // NEW_CUSTOMER: first order within 30 days. This order leaves the window
  // 3 s from now; the server must move the customer by itself.
  const absl::Time placed = absl::Now() - absl::Hours(24 * 30) + absl::Seconds(3);
  v1::PlaceOrderRequest request;
  *request.mutable_event() = OrderEvent("tina", "t1", placed, 4200).order_placed();
  v1::PlaceOrderResponse response;
  auto ctx = NewContext(keys_.write);
  ASSERT_TRUE(ingest_->PlaceOrder(ctx.get(), request, &response).ok());
  const v1::Membership& m = response.result().membership();
  ASSERT_THAT(std::vector<std::string>(m.segments().begin(), m.segments().end()),
              Contains("NEW_CUSTOMER"));
  ASSERT_TRUE(m.has_next_change_at());
  const absl::Time due = absl::FromUnixMillis(absl::ToUnixMillis(placed)) + absl::Hours(24 * 30);
  EXPECT_EQ(FromTimestamp(m.next_change_at()), due);

  // The event's own changes are all ENTERED with cause EVENT; then the LEFT
  // of NEW_CUSTOMER with cause TIME, within 1 s of falling due (bounded wait,
  // generous for a loaded machine).
  std::vector<v1::MembershipChange> changes =
      ReadChanges("0-0", 1, {"NEW_CUSTOMER"}, absl::Seconds(20));
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].kind(), v1::CHANGE_KIND_ENTERED);
  EXPECT_EQ(changes[0].cause(), v1::CHANGE_CAUSE_EVENT);

  // Only NEW_CUSTOMER: value tiers may move meanwhile with cause STATISTICS
  // (this one buyer tops every cut-off once the statistics catch up).
  auto wctx = NewContext(keys_.read, absl::Seconds(20));
  v1::WatchRequest watch;
  watch.set_resume_after(changes[0].position());
  watch.add_segments("NEW_CUSTOMER");
  auto reader = watch_->Watch(wctx.get(), watch);
  v1::MembershipChange left;
  bool found = false;
  v1::WatchResponse batch;
  while (!found && reader->Read(&batch)) {
    for (const v1::MembershipChange& change : batch.changes()) {
      EXPECT_EQ(change.customer_id(), "tina");
      EXPECT_EQ(change.cause(), v1::CHANGE_CAUSE_TIME) << change.DebugString();
      if (change.segment() == "NEW_CUSTOMER") {
        left = change;
        found = true;
      }
    }
  }
  const absl::Time seen = absl::Now();
  wctx->TryCancel();
  reader->Finish();
  ASSERT_TRUE(found) << "no time-driven change within 20 s; log:\n" << stack_->segmentd().Log();
  EXPECT_EQ(left.kind(), v1::CHANGE_KIND_LEFT);
  // changed_at is the instant the change fell due, not when a pass applied it.
  EXPECT_EQ(FromTimestamp(left.changed_at()), due);
  EXPECT_GE(seen, due);
  EXPECT_LT(seen - due, absl::Seconds(5)) << "moved long after falling due";
  // Reads agree.
  v1::Membership after = Classify("tina");
  EXPECT_THAT(std::vector<std::string>(after.segments().begin(), after.segments().end()),
              Not(Contains("NEW_CUSTOMER")));
}

// A statistics move, seen through Watch with no event of the moved customer:
// the VIP cut-off rises when bigger buyers arrive, and the former VIP leaves
// with cause STATISTICS.
TEST_F(WatchE2eTest, StatisticsMoveArrivesWithoutAnEventOfTheCustomer) {
  const absl::Time now = absl::Now();
  std::vector<v1::Event> events;
  auto buyer = [&](const std::string& customer, int orders) {
    for (int i = 0; i < orders; ++i) {
      events.push_back(OrderEvent(customer, absl::StrCat(customer, "-", i),
                                  now - absl::Hours(24 * (i + 1)), 1000));
    }
  };
  for (int i = 1; i <= 9; ++i) buyer(absl::StrCat("c", i), 2);
  buyer("top", 5);
  Ingest(events);
  // 10 buyers: the top 10% is one place, held by "top" (5 orders).
  auto vip_of = [&](const std::string& customer) {
    auto ctx = NewContext(keys_.read);
    v1::ClassifyCustomerRequest request;
    request.set_customer_id(customer);
    v1::ClassifyCustomerResponse response;
    EXPECT_TRUE(classify_->ClassifyCustomer(ctx.get(), request, &response).ok());
    const auto& segments = response.classification().membership().segments();
    return std::find(segments.begin(), segments.end(), "VIP") != segments.end();
  };
  ASSERT_TRUE(testing::PollUntil([&] { return vip_of("top"); }, absl::Seconds(10)))
      << "top never became VIP";

  // Two bigger buyers: 12 buyers, ceil(1.2) = 2 places, cut-off 8 orders.
  events.clear();
  buyer("bigger", 8);
  buyer("biggest", 9);
  Ingest(events);

  std::vector<v1::MembershipChange> changes;
  ASSERT_TRUE(testing::PollUntil(
      [&] {
        changes = ReadChanges("0-0", 1, {"VIP"}, absl::Seconds(1));
        for (const v1::MembershipChange& c : changes) {
          if (c.customer_id() == "top" && c.kind() == v1::CHANGE_KIND_LEFT) return true;
        }
        return false;
      },
      absl::Seconds(10)))
      << "top never left VIP";
  for (const v1::MembershipChange& c : changes) {
    if (c.customer_id() == "top" && c.kind() == v1::CHANGE_KIND_LEFT) {
      EXPECT_EQ(c.cause(), v1::CHANGE_CAUSE_STATISTICS) << c.DebugString();
    }
  }
  EXPECT_FALSE(vip_of("top"));
  EXPECT_TRUE(vip_of("biggest"));
}

// SIGTERM ends an open watch at once, with UNAVAILABLE naming the position to
// resume after (on another replica), rather than holding the shutdown for
// the whole drain timeout (30 s here) and then being cancelled with gRPC's
// "Cancelling all calls" (a README reviewer's finding).
TEST(WatchShutdownE2eTest, AShutdownEndsOpenWatchesSayingWhereToResume) {
  E2eStack::Options options;
  options.segmentd_flags = {"--drain_timeout=30s"};
  options.tenants = {"shop"};
  absl::StatusOr<std::unique_ptr<E2eStack>> stack = E2eStack::Start(options);
  ASSERT_TRUE(stack.ok()) << stack.status();
  const TenantKeys keys = (*stack)->keys("shop");
  absl::StatusOr<v1::BulkIngestResponse> ingested =
      IngestBatch(*(*stack)->channel(), keys.write,
                  {OrderEvent("s1", "s1-o", absl::Now() - absl::Hours(1), 500)});
  ASSERT_TRUE(ingested.ok()) << ingested.status();
  auto stub = v1::WatchService::NewStub((*stack)->channel());
  auto [ctx, reader] = StartWatch(*stub, keys.read, "0-0", {}, absl::Seconds(60));
  v1::WatchResponse response;
  ASSERT_TRUE(reader->Read(&response));
  std::string position = response.position();
  ASSERT_EQ(::kill((*stack)->segmentd().pid(), SIGTERM), 0);
  while (reader->Read(&response)) position = response.position();
  const grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_THAT(status.error_message(),
              HasSubstr("segmentd is shutting down: watch again (another replica) with "
                        "resume_after=" +
                        position));
  absl::StatusOr<int> exit_status = (*stack)->segmentd().Terminate();
  ASSERT_TRUE(exit_status.ok()) << exit_status.status();
  EXPECT_EQ(*exit_status, 0);
}

// A stack whose change stream keeps ~50 entries, with tenant "cap".
absl::StatusOr<std::unique_ptr<E2eStack>> StartWithACapOf50() {
  E2eStack::Options options;
  options.segmentd_flags = {"--change_stream_cap=50"};
  options.tenants = {"cap"};
  return E2eStack::Start(options);
}

// A reader resuming from a position the capped stream has already dropped is
// told so (OUT_OF_RANGE), never silently skipped past the gap.
TEST(WatchCapE2eTest, ResumingAcrossDroppedChangesIsOutOfRange) {
  absl::StatusOr<std::unique_ptr<E2eStack>> stack = StartWithACapOf50();
  ASSERT_TRUE(stack.ok()) << stack.status();
  const TenantKeys& keys = (*stack)->keys("cap");
  auto ingest = v1::IngestService::NewStub((*stack)->channel());
  auto watch = v1::WatchService::NewStub((*stack)->channel());

  auto place = [&](int i) {
    auto ctx = NewContext(keys.write);
    v1::PlaceOrderRequest request;
    *request.mutable_event() =
        OrderEvent(absl::StrCat("cust", i), absl::StrCat("o", i), absl::Now(), 100).order_placed();
    v1::PlaceOrderResponse response;
    ASSERT_TRUE(ingest->PlaceOrder(ctx.get(), request, &response).ok());
  };
  place(0);
  // The first change's position, as a reader would have kept it.
  std::string first;
  {
    auto [ctx, reader] = StartWatch(*watch, keys.read, "0-0", {}, absl::Seconds(5));
    ASSERT_NO_FATAL_FAILURE(ReadStart(*reader, "0-0"));
    v1::WatchResponse batch;
    ASSERT_TRUE(reader->Read(&batch));
    first = batch.changes(0).position();
    ctx->TryCancel();
    reader->Finish();
  }
  for (int i = 1; i <= 200; ++i) place(i);  // several changes each: far past the cap

  auto [ctx, reader] = StartWatch(*watch, keys.read, first, {}, absl::Seconds(5));
  v1::WatchResponse batch;
  EXPECT_FALSE(reader->Read(&batch));
  grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::OUT_OF_RANGE) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("resume_after"));
}

// A reader that stops reading while its watch is open falls behind the
// capped stream (flow control stalls the server's writes while the stream
// moves on): when the watch reaches the gap it ends with OUT_OF_RANGE rather
// than going on after it.
TEST(WatchCapE2eTest, AWatchThatFallsBehindTheCapEndsOutOfRange) {
  absl::StatusOr<std::unique_ptr<E2eStack>> stack = StartWithACapOf50();
  ASSERT_TRUE(stack.ok()) << stack.status();
  const TenantKeys& keys = (*stack)->keys("cap");
  auto watch = v1::WatchService::NewStub((*stack)->channel());

  auto [ctx, reader] = StartWatch(*watch, keys.read, "0-0", {}, absl::Seconds(60));
  ASSERT_NO_FATAL_FAILURE(ReadStart(*reader, "0-0"));
  auto ingest = [&](int first, int count) {
    std::vector<v1::Event> events;
    for (int i = first; i < first + count; ++i) {
      events.push_back(
          OrderEvent(absl::StrCat("cust", i), absl::StrCat("o", i), absl::Now(), 100 + i));
    }
    absl::StatusOr<v1::BulkIngestResponse> reply =
        IngestBatch(*(*stack)->channel(), keys.write, events);
    ASSERT_TRUE(reply.ok()) << reply.status();
    ASSERT_EQ(reply->rejected(), 0u);
  };
  ingest(0, 1);
  v1::WatchResponse batch;
  ASSERT_TRUE(reader->Read(&batch));
  // Far more changes than the window of a reader that does not read, and
  // than the cap (several changes per new customer).
  for (int i = 1; i < 20'000; i += 1000) ingest(i, 1000);

  std::string last = batch.changes(batch.changes_size() - 1).position();
  while (reader->Read(&batch)) {
    for (const v1::MembershipChange& change : batch.changes()) {
      ASSERT_LT(ParsePosition(last), ParsePosition(change.position()));
      last = change.position();
    }
  }
  grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::OUT_OF_RANGE) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("fell behind"));
  EXPECT_THAT(status.error_message(), HasSubstr(last));
}

// One tenant's watches are capped (each holds a server thread): one more is
// refused, another tenant is not, and a closed watch frees its place.
TEST(WatchLimitE2eTest, ATenantMayHoldAFewWatchesOpen) {
  E2eStack::Options options;
  options.segmentd_flags = {"--max_watches_per_tenant=2"};
  options.tenants = {"busy", "calm"};
  absl::StatusOr<std::unique_ptr<E2eStack>> stack = E2eStack::Start(options);
  ASSERT_TRUE(stack.ok()) << stack.status();
  auto watch = v1::WatchService::NewStub((*stack)->channel());
  for (const char* tenant : {"busy", "calm"}) {
    absl::StatusOr<v1::BulkIngestResponse> reply =
        IngestBatch(*(*stack)->channel(), (*stack)->keys(tenant).write,
                    {OrderEvent("c1", "o1", absl::Now() - absl::Hours(1), 500)});
    ASSERT_TRUE(reply.ok()) << reply.status();
  }
  const TenantKeys& busy = (*stack)->keys("busy");
  // Open once its first response arrived, i.e. counted by the server.
  auto open = [&](const TenantKeys& keys) {
    OpenWatch w = StartWatch(*watch, keys.read, "0-0", {}, absl::Seconds(20));
    v1::WatchResponse response;
    EXPECT_TRUE(w.reader->Read(&response)) << keys.tenant_id;
    return w;
  };
  OpenWatch first = open(busy);
  OpenWatch second = open(busy);
  {
    OpenWatch third = StartWatch(*watch, busy.read, "0-0", {}, absl::Seconds(20));
    v1::WatchResponse response;
    EXPECT_FALSE(third.reader->Read(&response));
    grpc::Status status = third.reader->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_THAT(status.error_message(), HasSubstr("busy"));
  }
  OpenWatch other = open((*stack)->keys("calm"));

  first.ctx->TryCancel();
  first.reader->Finish();
  EXPECT_TRUE(OpensAgain(*watch, busy.read));
  for (OpenWatch* w : {&second, &other}) {
    w->ctx->TryCancel();
    w->reader->Finish();
  }
}

// All tenants' watches together are capped too (each holds a Redis
// connection of the watches' own pool): one more is refused at once rather
// than making the open ones wait for a connection and end UNAVAILABLE, which
// took the targeting index's connections with them (a limits reviewer
// opened 80 watches over 5 tenants and another tenant's CheckEligibility
// failed "all 64 connections busy").
TEST(WatchLimitE2eTest, AReplicaCapsItsWatchesAllTenantsTogether) {
  E2eStack::Options options;
  options.segmentd_flags = {"--max_watches=2"};
  options.tenants = {"one", "two"};
  absl::StatusOr<std::unique_ptr<E2eStack>> stack = E2eStack::Start(options);
  ASSERT_TRUE(stack.ok()) << stack.status();
  auto watch = v1::WatchService::NewStub((*stack)->channel());
  auto open = [&](const std::string& tenant) {
    OpenWatch w = StartWatch(*watch, (*stack)->keys(tenant).read, "", {}, absl::Seconds(20));
    v1::WatchResponse response;
    EXPECT_TRUE(w.reader->Read(&response)) << tenant;
    return w;
  };
  OpenWatch first = open("one");
  OpenWatch second = open("two");
  {
    OpenWatch third = StartWatch(*watch, (*stack)->keys("one").read, "", {}, absl::Seconds(20));
    v1::WatchResponse response;
    EXPECT_FALSE(third.reader->Read(&response));
    grpc::Status status = third.reader->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_THAT(status.error_message(), HasSubstr("--max_watches")) << status.error_message();
  }
  // The open ones go on: a change reaches the first.
  absl::StatusOr<v1::BulkIngestResponse> reply =
      IngestBatch(*(*stack)->channel(), (*stack)->keys("one").write,
                  {OrderEvent("c1", "o1", absl::Now() - absl::Hours(1), 500)});
  ASSERT_TRUE(reply.ok()) << reply.status();
  v1::WatchResponse change;
  bool changed = false;
  while (!changed && first.reader->Read(&change)) changed = change.changes_size() > 0;
  EXPECT_TRUE(changed);
  second.ctx->TryCancel();
  second.reader->Finish();
  EXPECT_TRUE(OpensAgain(*watch, (*stack)->keys("one").read));
  first.ctx->TryCancel();
  first.reader->Finish();
}

}  // namespace
}  // namespace segmentd
