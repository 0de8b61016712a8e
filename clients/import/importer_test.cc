#include "clients/import/importer.h"

#include <sstream>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "clients/import/cdnow_mapping.h"
#include "clients/import/retail_mapping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace segmentd::clients {
namespace {

using ::testing::HasSubstr;

// What the server stand-ins answer: each order id applied once (`seen`),
// amounts of 999 cents rejected.
BatchAck Apply(const std::vector<ImportedOrder>& batch, absl::flat_hash_set<std::string>& seen) {
  BatchAck ack;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (batch[i].amount == 999) {
      ++ack.rejected;
      ack.rejections.push_back({static_cast<int>(i), "order.amount: not allowed"});
    } else if (seen.insert(batch[i].order_id).second) {
      ++ack.applied;
    } else {
      ++ack.duplicates;
    }
  }
  return ack;
}

// A server stand-in (Apply) that can fail after some batches.
class FakeSink : public OrderSink {
 public:
  absl::StatusOr<BatchAck> Send(const std::vector<ImportedOrder>& batch) override {
    if (fail_after_batches >= 0 && batches >= fail_after_batches) {
      return absl::UnavailableError("connection lost");
    }
    ++batches;
    sizes.push_back(batch.size());
    return Apply(batch, seen);
  }

  absl::flat_hash_set<std::string> seen;
  std::vector<size_t> sizes;
  int batches = 0;
  int fail_after_batches = -1;
};

std::string CdnowFile(int rows) {
  std::string s = " customer_id  date number_of_cds  dollar_value\n";
  for (int i = 0; i < rows; ++i) absl::StrAppend(&s, " ", 10000 + i % 7, " 19970101 1 ", i, ".50\n");
  return s;
}

absl::StatusOr<ImportReport> Import(const std::string& text, OrderSink& sink, ImportOptions options) {
  std::istringstream in(text);
  CdnowMapping mapping;
  return RunImport(in, static_cast<int64_t>(text.size()), mapping, sink, options);
}

TEST(ImporterTest, BatchesAndReRunIsIdempotent) {
  FakeSink sink;
  ImportOptions options;
  options.batch_size = 4;
  std::vector<int64_t> acks;
  options.on_acknowledged = [&](int64_t n, int64_t) { acks.push_back(n); };
  absl::StatusOr<ImportReport> first = Import(CdnowFile(10), sink, options);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->rows, 11);
  EXPECT_EQ(first->orders, 10);
  EXPECT_EQ(first->applied, 10);
  EXPECT_THAT(sink.sizes, ::testing::ElementsAre(4, 4, 2));
  EXPECT_THAT(acks, ::testing::ElementsAre(4, 8, 10));
  absl::StatusOr<ImportReport> again = Import(CdnowFile(10), sink, options);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->applied, 0);
  EXPECT_EQ(again->duplicates, 10);
}

TEST(ImporterTest, ResumeSkipsAcknowledgedOrders) {
  FakeSink sink;
  sink.fail_after_batches = 2;
  ImportOptions options;
  options.batch_size = 3;
  int64_t acked = 0;
  options.on_acknowledged = [&](int64_t n, int64_t) { acked = n; };
  EXPECT_EQ(Import(CdnowFile(10), sink, options).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(acked, 6);
  sink.fail_after_batches = -1;
  options.resume_after_orders = acked;
  absl::StatusOr<ImportReport> resumed = Import(CdnowFile(10), sink, options);
  ASSERT_TRUE(resumed.ok());
  EXPECT_EQ(resumed->orders_resumed, 6);
  EXPECT_EQ(resumed->applied, 4);
  EXPECT_EQ(resumed->duplicates, 0);
  EXPECT_EQ(acked, 10);
  EXPECT_EQ(sink.seen.size(), 10u);
}

TEST(ImporterTest, SkipReportsBadRowsWithLineNumbers) {
  FakeSink sink;
  std::string text = CdnowFile(3) + " 1 1997 x\n" + " 10001 19970102 1 9.99\n" + " 10002 19970102 1 1.00\n";
  absl::StatusOr<ImportReport> r = Import(text, sink, {});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->stopped);
  EXPECT_EQ(r->bad_rows, 1);
  EXPECT_EQ(r->rejected, 1);
  EXPECT_EQ(r->applied, 4);
  ASSERT_EQ(r->errors.size(), 2u);
  EXPECT_EQ(r->errors[0].line, 5);
  EXPECT_THAT(r->errors[0].message, HasSubstr("expected 4 fields"));
  EXPECT_EQ(r->errors[1].line, 6);
  EXPECT_THAT(r->errors[1].message, HasSubstr("rejected by the server"));
}

TEST(ImporterTest, StopSendsNothingAfterTheBadRow) {
  FakeSink sink;
  ImportOptions options;
  options.on_error = OnError::kStop;
  std::string text = CdnowFile(3) + " 1 1997 x\n" + " 10002 19970102 1 1.00\n";
  absl::StatusOr<ImportReport> r = Import(text, sink, options);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->stopped);
  EXPECT_EQ(r->applied, 3);
  EXPECT_EQ(sink.seen.size(), 3u);
}

TEST(ImporterTest, StopOnABadGroupSendsNoGroupedOrder) {
  FakeSink sink;
  ImportOptions options;
  options.on_error = OnError::kStop;
  std::string text =
      "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
      "1,A,x,1,2011-01-01 10:00:00,1.00,1.0,UK\n"
      "2,A,x,-5,2011-01-01 10:00:00,1.00,2.0,UK\n";
  std::istringstream in(text);
  RetailMapping mapping;
  absl::StatusOr<ImportReport> r = RunImport(in, 0, mapping, sink, options);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->stopped);
  EXPECT_EQ(sink.batches, 0);
  ASSERT_EQ(r->errors.size(), 1u);
  EXPECT_EQ(r->errors[0].line, 3);
}

// Excel's "CSV UTF-8" starts the file with a byte order mark: a header
// behind one is still the header, and a first row behind one keeps its data
// (cdnow took it for a header and dropped the purchase; retail refused every
// row for a header it did not recognize).
TEST(ImporterTest, AByteOrderMarkIsNotPartOfTheFirstLine) {
  const std::string bom = "\xEF\xBB\xBF";
  FakeSink cdnow_sink;
  absl::StatusOr<ImportReport> cdnow =
      Import(bom + " 10001 19970101 1 12.50\r\n 10002 19970102 1 3.00\r\n", cdnow_sink, {});
  ASSERT_TRUE(cdnow.ok()) << cdnow.status();
  EXPECT_EQ(cdnow->orders, 2);
  EXPECT_EQ(cdnow->bad_rows, 0);
  EXPECT_TRUE(cdnow->skipped.empty());

  FakeSink retail_sink;
  std::istringstream in(
      bom +
      "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\r\n"
      "1,A,x,1,2011-01-01 10:00:00,1.00,1.0,UK\r\n");
  RetailMapping mapping;
  absl::StatusOr<ImportReport> retail = RunImport(in, 0, mapping, retail_sink, {});
  ASSERT_TRUE(retail.ok()) << retail.status();
  EXPECT_EQ(retail->orders, 1);
  EXPECT_EQ(retail->bad_rows, 0);
}

// A quoted field may span lines (valid CSV): the record is read whole and
// numbered by its first line, here an invoice with a two-line Description
// imported with both its rows. A quote left open at the end of the file is a
// bad row, and its invoice is not imported without it; the CDNOW format has
// no quoting, so a stray quote there spoils its own line only.
TEST(ImporterTest, AQuotedFieldMaySpanLines) {
  FakeSink sink;
  std::istringstream in(
      "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\r\n"
      "900042,A,ONE LINE,1,2011-01-01 10:00:00,1.00,42.0,UK\r\n"
      "900042,B,\"TWO\r\nLINES, \"\"QUOTED\"\"\",10,2011-01-01 10:00:00,1.00,42.0,UK\r\n"
      "900043,A,x,1,2011-01-02 10:00:00,5.00,43.0,UK\r\n"
      "900044,A,x,1,2011-01-03 10:00:00,7.00,44.0,UK\r\n"
      "900044,B,\"NEVER CLOSED,1,2011-01-03 10:00:00,1.00,44.0,UK\r\n");
  RetailMapping mapping;
  absl::StatusOr<ImportReport> r = RunImport(in, 0, mapping, sink, {});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->rows, 6);  // the header and five records, one of two lines
  ASSERT_EQ(r->orders, 2);
  EXPECT_EQ(sink.seen, (absl::flat_hash_set<std::string>{"retail-900042", "retail-900043"}));
  EXPECT_EQ(r->bad_rows, 1);  // the unterminated record; its invoice is skipped
  ASSERT_EQ(r->errors.size(), 1u);
  EXPECT_EQ(r->errors[0].line, 7);
  EXPECT_THAT(r->errors[0].message, HasSubstr("quote"));
  EXPECT_EQ(r->skipped.at("invoice with a bad row"), 1);

  FakeSink cdnow_sink;
  absl::StatusOr<ImportReport> cdnow =
      Import(" 10001 19970101 1 \"12.50\n 10002 19970102 1 3.00\n", cdnow_sink, {});
  ASSERT_TRUE(cdnow.ok()) << cdnow.status();
  EXPECT_EQ(cdnow->rows, 2);
  EXPECT_EQ(cdnow->orders, 1);
  EXPECT_EQ(cdnow->bad_rows, 1);
}

// A quote inside an unquoted field (12" VINYL) opens nothing: that row is
// bad alone, and the rows after it are imported (a code reviewer saw 48 rows
// swallowed into one bad record by a count of quotes). A quote that opens a
// field and never closes is its line's error; the lines read ahead for it
// are rows of their own again.
TEST(ImporterTest, AStrayQuoteSpoilsItsOwnRowOnly) {
  std::string file =
      "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
      "1,A,12\" VINYL,1,2011-01-01 10:00:00,1.00,41.0,UK\n";
  for (int i = 2; i < 50; ++i) {
    absl::StrAppend(&file, i, ",A,x,1,2011-01-01 10:00:00,1.00,4", i, ".0,UK\n");
  }
  absl::StrAppend(&file, "50,A,\"NEVER CLOSED,1,2011-01-01 10:00:00,1.00,42.0,UK\n");
  for (int i = 51; i < 60; ++i) {
    absl::StrAppend(&file, i, ",A,x,1,2011-01-01 10:00:00,1.00,4", i, ".0,UK\n");
  }
  FakeSink sink;
  std::istringstream in(file);
  RetailMapping mapping;
  absl::StatusOr<ImportReport> r = RunImport(in, 0, mapping, sink, {});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->rows, 60);
  EXPECT_EQ(r->orders, 57);  // all but 1 and 50
  EXPECT_EQ(r->bad_rows, 2);
  ASSERT_EQ(r->errors.size(), 2u);
  EXPECT_EQ(r->errors[0].line, 2);
  EXPECT_THAT(r->errors[0].message, HasSubstr("quote inside an unquoted field"));
  EXPECT_EQ(r->errors[1].line, 51);
  EXPECT_THAT(r->errors[1].message, HasSubstr("unterminated"));
}

// Sinks sharing one server stand-in, sending concurrently: a sink's first
// batch waits (up to `overlap_wait`) until another sink's batch is in flight
// too, so an import that sent one batch at a time would be seen
// (`overlapped` false). The second batch to arrive sleeps 50 ms, so later
// ones are answered before it. The batch starting at line `fail_line`
// fails; the others are answered as Apply answers.
class Server {
 public:
  absl::StatusOr<BatchAck> Send(int sink, const std::vector<ImportedOrder>& batch) {
    int index;
    {
      absl::MutexLock lock(&mu_);
      index = batches_++;
      ++sends_[sink];
      max_per_sink_ = std::max(max_per_sink_, sends_[sink]);
      ++in_flight_;
      if (first_[sink]) {
        first_[sink] = false;
        overlapped_ |= mu_.AwaitWithTimeout(absl::Condition(
                                                +[](int* n) { return *n >= 2; }, &in_flight_),
                                            overlap_wait);
      }
    }
    if (index == 1) absl::SleepFor(absl::Milliseconds(50));
    absl::MutexLock lock(&mu_);
    --in_flight_;
    --sends_[sink];
    if (batch.front().line == fail_line) return absl::UnavailableError("connection lost");
    if (sink < refused_sinks) {
      return absl::ResourceExhaustedError("tenant t already has 2 BulkIngest streams open");
    }
    return Apply(batch, seen_);
  }

  absl::Duration overlap_wait = absl::Seconds(10);
  int64_t fail_line = -1;
  int refused_sinks = 0;  // sinks 0 .. refused_sinks - 1 refuse every batch
  bool overlapped() {
    absl::MutexLock lock(&mu_);
    return overlapped_;
  }
  int max_per_sink() {
    absl::MutexLock lock(&mu_);
    return max_per_sink_;
  }
  size_t seen() {
    absl::MutexLock lock(&mu_);
    return seen_.size();
  }

 private:
  absl::Mutex mu_;
  int batches_ = 0;
  int in_flight_ = 0;
  int sends_[3] = {0, 0, 0};
  bool first_[3] = {true, true, true};
  int max_per_sink_ = 0;
  bool overlapped_ = false;
  absl::flat_hash_set<std::string> seen_;
};

class ServerSink : public OrderSink {
 public:
  ServerSink(Server& server, int index) : server_(server), index_(index) {}
  absl::StatusOr<BatchAck> Send(const std::vector<ImportedOrder>& batch) override {
    return server_.Send(index_, batch);
  }
  bool Retire(const absl::Status& status) override {
    return status.code() == absl::StatusCode::kResourceExhausted;
  }

 private:
  Server& server_;
  const int index_;
};

absl::StatusOr<ImportReport> ImportOn(const std::string& text, Server& server,
                                      ImportOptions options) {
  ServerSink a(server, 0), b(server, 1), c(server, 2);
  std::istringstream in(text);
  CdnowMapping mapping;
  return RunImport(in, static_cast<int64_t>(text.size()), mapping, {&a, &b, &c}, options);
}

TEST(ImporterTest, SeveralSinksSendAtOnceAndAcknowledgeInFileOrder) {
  Server server;
  // Rows 10 and 15 (lines 11 and 16) are refused by the server, in
  // batches 2 and 3, both answered before batch 1.
  std::string text = " customer_id  date number_of_cds  dollar_value\n";
  for (int i = 0; i < 20; ++i) {
    absl::StrAppend(&text, " ", 10000 + i % 7, " 19970101 1 ", i == 10 || i == 15 ? "9.99" : "1.00",
                    "\n");
  }
  ImportOptions options;
  options.batch_size = 4;
  std::vector<std::pair<int64_t, int64_t>> acks;
  options.on_acknowledged = [&](int64_t n, int64_t line) { acks.push_back({n, line}); };
  absl::StatusOr<ImportReport> r = ImportOn(text, server, options);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(server.overlapped());
  EXPECT_EQ(server.max_per_sink(), 1);
  EXPECT_EQ(r->applied, 18);
  EXPECT_EQ(r->rejected, 2);
  EXPECT_THAT(acks, ::testing::ElementsAre(
                        std::pair<int64_t, int64_t>{4, 5}, std::pair<int64_t, int64_t>{8, 9},
                        std::pair<int64_t, int64_t>{12, 13}, std::pair<int64_t, int64_t>{16, 17},
                        std::pair<int64_t, int64_t>{20, 21}));
  ASSERT_EQ(r->errors.size(), 2u);
  EXPECT_EQ(r->errors[0].line, 12);
  EXPECT_EQ(r->errors[1].line, 17);
}

TEST(ImporterTest, AFailedBatchAmongSeveralSinksRecordsOnlyTheOrdersBeforeIt) {
  Server server;
  server.fail_line = 8;  // the third batch
  ImportOptions options;
  options.batch_size = 3;
  int64_t acked = 0;
  options.on_acknowledged = [&](int64_t n, int64_t) { acked = n; };
  EXPECT_EQ(ImportOn(CdnowFile(20), server, options).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(acked, 6);
  server.fail_line = -1;
  options.resume_after_orders = acked;
  absl::StatusOr<ImportReport> resumed = ImportOn(CdnowFile(20), server, options);
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_EQ(resumed->orders_resumed, 6);
  EXPECT_EQ(resumed->applied + resumed->duplicates, 14);
  EXPECT_EQ(acked, 20);
  EXPECT_EQ(server.seen(), 20u);
}

// A sink the server refuses (its limit on a tenant's streams) retires: its
// batch goes again on another sink, and the import goes on with the others,
// acknowledged in file order as ever.
TEST(ImporterTest, ARefusedSinkRetiresAndItsBatchGoesOnAnother) {
  for (const OnError on_error : {OnError::kSkip, OnError::kStop}) {
    Server server;
    server.overlap_wait = absl::Milliseconds(100);
    server.refused_sinks = 2;  // only the third sink gets through
    ImportOptions options;
    options.batch_size = 3;
    options.on_error = on_error;
    std::vector<int64_t> acks;
    options.on_acknowledged = [&](int64_t n, int64_t) { acks.push_back(n); };
    std::vector<size_t> left;
    options.on_sink_retired = [&](const absl::Status& why, size_t n) {
      EXPECT_THAT(std::string(why.message()), ::testing::HasSubstr("BulkIngest streams open"));
      left.push_back(n);
    };
    absl::StatusOr<ImportReport> r = ImportOn(CdnowFile(20), server, options);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->applied, 20);
    EXPECT_EQ(server.seen(), 20u);
    EXPECT_EQ(acks, (std::vector<int64_t>{3, 6, 9, 12, 15, 18, 20}));
    // kStop sends on the first sink and stands in with a spare, the last
    // one: the second is never tried.
    const std::vector<size_t> expected =
        on_error == OnError::kSkip ? std::vector<size_t>{2, 1} : std::vector<size_t>{2};
    EXPECT_EQ(left, expected);
  }
  // Every sink refused: the import fails with the refusal.
  Server server;
  server.overlap_wait = absl::Milliseconds(100);
  server.refused_sinks = 3;
  ImportOptions options;
  options.batch_size = 3;
  int retired = 0;
  options.on_sink_retired = [&](const absl::Status&, size_t) { ++retired; };
  EXPECT_EQ(ImportOn(CdnowFile(20), server, options).status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(retired, 3);
  EXPECT_EQ(server.seen(), 0u);
}

TEST(ImporterTest, StopSendsOneBatchAtATime) {
  Server server;
  server.overlap_wait = absl::Milliseconds(300);
  ImportOptions options;
  options.batch_size = 2;
  options.on_error = OnError::kStop;
  // Row 4 is refused by the server, in the third batch.
  std::string text = " customer_id  date number_of_cds  dollar_value\n";
  for (int i = 0; i < 9; ++i) {
    absl::StrAppend(&text, " ", 10000 + i, " 19970101 1 ", i == 4 ? "9.99" : "1.00", "\n");
  }
  absl::StatusOr<ImportReport> r = ImportOn(text, server, options);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(server.overlapped());
  EXPECT_TRUE(r->stopped);
  EXPECT_EQ(r->rejected, 1);
  EXPECT_EQ(r->applied, 5);
  EXPECT_EQ(server.seen(), 5u);  // nothing after the third batch was sent
}

}  // namespace
}  // namespace segmentd::clients
