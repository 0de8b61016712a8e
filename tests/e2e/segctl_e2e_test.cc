// End-to-end tests of segctl (and through it the client library and the CSV
// import): the real segctl binary against the real segmentd on a real
// redis-server. The real data files come from $SEGMENTD_DATA (scripts/test.sh
// passes it) or else ../shared/data beside the source tree; the expected
// segment sizes are computed here from the files, independently of the
// importer.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "clients/client.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "segmentd/v1/admin.pb.h"
#include "segmentd/v1/config.pb.h"
#include "segmentd/v1/targeting.pb.h"
#include "segmentd/v1/watch.pb.h"
#include "testing/e2e_stack.h"
#include "testing/segmentd_process.h"

namespace segmentd {
namespace {

using ::segmentd::testing::E2eStack;
using ::testing::HasSubstr;
using ::testing::Not;

// The columns of the tests' CSV rows: customer, order, YYYY-MM-DD, amount.
constexpr char kRowColumns[] = "--columns=customer_id=1,order_id=2,placed_at=3:%Y-%m-%d,amount=4";

std::string TmpDir() {
  const char* d = std::getenv("TEST_TMPDIR");
  return d != nullptr ? d : "/tmp";
}

std::string Runfile(const std::string& path) {
  return absl::StrCat(std::getenv("TEST_SRCDIR"), "/segmentd/", path);
}

// The directory of the real data files, or "" when none is found.
std::string DataDir() {
  const char* env = std::getenv("SEGMENTD_DATA");
  std::vector<std::string> candidates;
  if (env != nullptr && *env != '\0') candidates.push_back(env);
  // This file's runfile is a symlink into the source tree: <repo>/tests/e2e/.
  char real[PATH_MAX];
  if (realpath(Runfile("tests/e2e/segctl_e2e_test.cc").c_str(), real) != nullptr) {
    std::string repo = real;
    for (int i = 0; i < 3; ++i) repo = repo.substr(0, repo.find_last_of('/'));
    candidates.push_back(repo + "/../shared/data");
  }
  for (const std::string& dir : candidates) {
    if (access((dir + "/cdnow_master.txt").c_str(), R_OK) == 0) return dir;
  }
  return "";
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

struct SegctlRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

class SegctlE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TmpDir() + "/segctl-" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    ASSERT_EQ(std::system(("mkdir -p " + Quote(dir_)).c_str()), 0);
    operator_key_ = dir_ + "/operator.key";
    E2eStack::Options options;
    options.operator_key_file = operator_key_;
    options.segmentd_flags = SegmentdFlags();
    absl::StatusOr<std::unique_ptr<E2eStack>> stack = E2eStack::Start(options);
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
    key_ = dir_ + "/admin.key";
    // The operator creates a tenant and its admin key, with segctl itself.
    SegctlRun created = Segctl({"tenant", "create", "shop", "--display_name=The Shop"});
    ASSERT_EQ(created.exit_code, 0) << created.err;
    SegctlRun key =
        Segctl({"key", "create", "--tenant=shop", "--name=e2e", "--scopes=admin", "--as_operator"});
    ASSERT_EQ(key.exit_code, 0) << key.err;
    std::ofstream(key_) << key.out;
  }

  // More flags for the test's segmentd.
  virtual std::vector<std::string> SegmentdFlags() const { return {}; }

  // Runs segctl with the connection flags and `args`; returns exit code and output.
  SegctlRun Segctl(const std::vector<std::string>& args) { return SegctlWith("", true, args); }

  // Runs segctl with `env` ("NAME=VALUE ..." or "") in its environment, the
  // key file flags only when `key_flags`, and `args`.
  SegctlRun SegctlWith(const std::string& env, bool key_flags,
                       const std::vector<std::string>& args) {
    static int n = 0;
    const std::string out = absl::StrCat(dir_, "/out", ++n), err = absl::StrCat(dir_, "/err", n);
    std::string command = env.empty() ? "" : "env " + env + " ";
    command += Quote(Runfile("clients/segctl/segctl"));
    command += " " + Quote("--target=" + stack_->segmentd().address());
    if (key_flags) {
      command +=
          " " + Quote("--key_file=" + key_) + " " + Quote("--operator_key_file=" + operator_key_);
    }
    for (const std::string& a : args) command += " " + Quote(a);
    command += " >" + Quote(out) + " 2>" + Quote(err) + " </dev/null";
    const int status = std::system(command.c_str());
    SegctlRun run;
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    run.out = ReadAll(out);
    run.err = ReadAll(err);
    return run;
  }

  // Runs an import with --json and returns the report object.
  google::protobuf::Struct Import(std::vector<std::string> args, int expected_exit = 0) {
    args.insert(args.begin(), "import");
    args.push_back("--json");
    args.push_back("--progress_file=" + dir_ + "/progress." + args[1]);
    SegctlRun r = Segctl(args);
    EXPECT_EQ(r.exit_code, expected_exit) << r.err << r.out;
    google::protobuf::Struct report;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &report).ok()) << r.out;
    return report;
  }

  // Writes `rows` (CSV lines "customer,order,YYYY-MM-DD,amount") to a file
  // named `name` and imports it (no header); returns the report.
  google::protobuf::Struct ImportRows(const std::string& name, const std::string& rows) {
    const std::string file = dir_ + "/" + name;
    std::ofstream(file) << rows;
    return Import({"csv", file, "--header=false", kRowColumns});
  }

  // Returns the current segment sizes by `segctl segments --json`.
  std::map<std::string, int64_t> Sizes() {
    SegctlRun r = Segctl({"segments", "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    v1::PreviewConfigResponse preview;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &preview).ok()) << r.out;
    std::map<std::string, int64_t> sizes;
    for (const auto& s : preview.segments()) sizes[s.segment()] = s.current_size();
    return sizes;
  }

  // Turns off the segments that depend on population statistics, so every
  // membership is a function of the customer's own orders.
  void DisableStatisticalSegments() {
    SegctlRun r = Segctl({"config", "set", "vip.enabled=false", "value_tiers.enabled=false",
                          "big_spender.enabled=false", "low_spender.enabled=false"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  std::unique_ptr<clients::SegmentdClient> Client() {
    clients::SegmentdClient::Options o;
    o.target = stack_->segmentd().address();
    o.api_key_file = key_;
    absl::StatusOr<std::unique_ptr<clients::SegmentdClient>> c =
        clients::SegmentdClient::Connect(o);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? *std::move(c) : nullptr;
  }

  // FIRST_TIME_BUYER and REPEAT_CUSTOMER sizes implied by orders per customer
  // (exactly 1; 2..4, the defaults), checked by segment sizes and by
  // classifying every customer now and at `past` (after the data, but within
  // a rule window of it). The history is years old, so the server folds it:
  // its orders keep their placements and categories, and `past` is answered
  // exactly (it was refused OUT_OF_RANGE while folded orders kept neither).
  void ExpectPurchaseSegments(const std::map<std::string, int>& orders_per_customer,
                              absl::Time past) {
    int64_t first = 0, repeat = 0;
    for (const auto& [id, n] : orders_per_customer) {
      if (n == 1) ++first;
      if (n >= 2 && n <= 4) ++repeat;
    }
    std::map<std::string, int64_t> sizes = Sizes();
    EXPECT_EQ(sizes["FIRST_TIME_BUYER"], first);
    EXPECT_EQ(sizes["REPEAT_CUSTOMER"], repeat);
    std::vector<std::string> ids;
    for (const auto& [id, n] : orders_per_customer) ids.push_back(id);
    clients::ClassifyOptions now;
    clients::ClassifyOptions then;
    then.as_of = past;
    for (const clients::ClassifyOptions& options : {now, then}) {
      SCOPED_TRACE(options.as_of ? absl::FormatTime(*options.as_of) : "now");
      auto classified = Client()->ClassifyCustomers(ids, options);
      ASSERT_TRUE(classified.ok()) << classified.status();
      int64_t found = 0, first_seen = 0, repeat_seen = 0;
      for (const v1::CustomerClassification& c : classified->classifications()) {
        found += c.found();
        for (const std::string& s : c.membership().segments()) {
          first_seen += s == "FIRST_TIME_BUYER";
          repeat_seen += s == "REPEAT_CUSTOMER";
        }
      }
      EXPECT_EQ(found, static_cast<int64_t>(ids.size()));
      EXPECT_EQ(first_seen, first);
      EXPECT_EQ(repeat_seen, repeat);
    }
  }

  std::unique_ptr<E2eStack> stack_;
  std::string dir_;
  std::string operator_key_;
  std::string key_;
};

double Number(const google::protobuf::Struct& s, const std::string& field) {
  auto it = s.fields().find(field);
  return it == s.fields().end() ? -1 : it->second.number_value();
}

TEST_F(SegctlE2eTest, TenantsAndKeys) {
  SegctlRun list = Segctl({"tenant", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_THAT(list.out, HasSubstr("shop"));
  EXPECT_THAT(list.out, HasSubstr("The Shop"));
  SegctlRun json = Segctl({"tenant", "list", "--json"});
  EXPECT_THAT(json.out, HasSubstr("\"tenant_id\":\"shop\""));
  SegctlRun dup = Segctl({"tenant", "create", "shop"});
  EXPECT_EQ(dup.exit_code, 1);
  EXPECT_THAT(dup.err, HasSubstr("ALREADY_EXISTS"));

  // A read key made by the tenant's admin key.
  SegctlRun created =
      Segctl({"key", "create", "--tenant=shop", "--name=reader", "--scopes=read", "--json"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  v1::CreateApiKeyResponse key;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(created.out, &key).ok()) << created.out;
  EXPECT_THAT(key.secret(), ::testing::StartsWith("sd_"));
  SegctlRun keys = Segctl({"key", "list", "--tenant=shop"});
  ASSERT_EQ(keys.exit_code, 0) << keys.err;
  EXPECT_THAT(keys.out, HasSubstr(key.key().key_id()));
  EXPECT_THAT(keys.out, HasSubstr("reader"));
  // The read key reads, but may not change the config.
  const std::string reader = dir_ + "/reader.key";
  std::ofstream(reader) << key.secret();
  SegctlRun read = Segctl({"config", "get", "--key_file=" + reader});
  EXPECT_EQ(read.exit_code, 0) << read.err;
  SegctlRun denied = Segctl({"config", "set", "vip.enabled=false", "--key_file=" + reader});
  EXPECT_EQ(denied.exit_code, 1);
  EXPECT_THAT(denied.err, HasSubstr("PERMISSION_DENIED"));
  // No scope is a usage error, as a bad scope is (it was the server's
  // INVALID_ARGUMENT, exit 1).
  SegctlRun no_scope = Segctl({"key", "create", "--tenant=shop", "--name=x", "--scopes="});
  EXPECT_EQ(no_scope.exit_code, 2) << no_scope.err;
  EXPECT_THAT(no_scope.err, HasSubstr("--scopes: at least one of read, write, admin"));
  SegctlRun revoked = Segctl({"key", "revoke", "--tenant=shop", key.key().key_id()});
  ASSERT_EQ(revoked.exit_code, 0) << revoked.err;
  EXPECT_THAT(revoked.out, HasSubstr("revoked key " + key.key().key_id()));
  // --json prints the RPC's answer, the key wrapped as `key create` prints it.
  SegctlRun again = Segctl({"key", "revoke", "--tenant=shop", key.key().key_id(), "--json"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  v1::RevokeApiKeyResponse revoked_json;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(again.out, &revoked_json).ok())
      << again.out;
  EXPECT_EQ(revoked_json.key().key_id(), key.key().key_id());
  EXPECT_TRUE(revoked_json.key().has_revoked_at()) << again.out;
  SegctlRun after = Segctl({"config", "get", "--key_file=" + reader});
  EXPECT_EQ(after.exit_code, 1);
  EXPECT_THAT(after.err, HasSubstr("UNAUTHENTICATED"));
}

// The API cannot tell segctl which tenant a key belongs to, so the key commands
// need --tenant: without it they are a usage error naming the flag, never a
// call for a guessed tenant (it used to default to "demo": PERMISSION_DENIED
// with any other tenant's key).
TEST_F(SegctlE2eTest, KeyCommandsNeedTenant) {
  const std::vector<std::vector<std::string>> commands = {
      {"key", "list"},
      {"key", "list", "--tenant="},
      {"key", "list", "--as_operator"},
      {"key", "create", "--name=x", "--scopes=read"},
      {"key", "revoke", "0123456789abcdef"},
  };
  for (const std::vector<std::string>& args : commands) {
    SegctlRun r = Segctl(args);
    EXPECT_EQ(r.exit_code, 2) << absl::StrJoin(args, " ") << ": " << r.err;
    EXPECT_THAT(r.err, HasSubstr("--tenant=TENANT is required")) << absl::StrJoin(args, " ");
    EXPECT_THAT(r.err, ::testing::Not(HasSubstr("PERMISSION_DENIED"))) << absl::StrJoin(args, " ");
    EXPECT_EQ(r.out, "") << absl::StrJoin(args, " ");
  }
  // Nothing was created by the refused `key create`.
  SegctlRun keys = Segctl({"key", "list", "--tenant=shop", "--json"});
  ASSERT_EQ(keys.exit_code, 0) << keys.err;
  v1::ListApiKeysResponse listed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(keys.out, &listed).ok()) << keys.out;
  EXPECT_EQ(listed.keys_size(), 1);  // the fixture's admin key
  SegctlRun help = Segctl({"key", "list", "--help"});
  EXPECT_THAT(help.out, HasSubstr("(required)"));
}

// Customer ids are any bytes: table output escapes control characters (and
// backslash) C-style so that each row stays one line; --json is unchanged.
TEST_F(SegctlE2eTest, ControlCharactersInIdsAreEscaped) {
  ASSERT_NO_FATAL_FAILURE(DisableStatisticalSegments());
  const std::string odd = "a\nb{:}\r\n";    // not known to the server
  const std::string known = "k\tx\\y\x1b";  // one order, sent below
  // As printed in tables: both 11 characters, wider than "CUSTOMER".
  const std::string odd_cell = R"(a\nb{:}\r\n)";
  const std::string known_cell = R"(k\tx\\y\x1b)";
  v1::OrderPlaced order;
  order.set_customer_id(known);
  order.set_order_id("o1");
  order.mutable_placed_at()->set_seconds(absl::ToUnixSeconds(absl::Now() - absl::Hours(1)));
  order.set_amount(100);
  absl::StatusOr<v1::IngestResult> placed = Client()->PlaceOrder(order);
  ASSERT_TRUE(placed.ok()) << placed.status();
  auto lines = [](const std::string& text) { return std::count(text.begin(), text.end(), '\n'); };
  const std::string raw_controls = "\r\t\x1b";

  SegctlRun json = Segctl({"classify", odd, known, "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_EQ(lines(json.out), 1) << json.out;
  EXPECT_THAT(json.out, HasSubstr(R"("customer_id":"a\nb{:}\r\n")")) << json.out;
  v1::ClassifyCustomersResponse classified;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json.out, &classified).ok()) << json.out;
  ASSERT_EQ(classified.classifications_size(), 2);
  EXPECT_EQ(classified.classifications(0).customer_id(), odd);
  EXPECT_EQ(classified.classifications(1).customer_id(), known);
  const v1::Membership& membership = classified.classifications(1).membership();
  EXPECT_THAT(membership.segments(), ::testing::Contains("FIRST_TIME_BUYER"));

  SegctlRun classify = Segctl({"classify", odd, known, "--reasons"});
  ASSERT_EQ(classify.exit_code, 0) << classify.err;
  // Header, two rows, one reason line per segment of the known customer.
  EXPECT_EQ(lines(classify.out), 3 + membership.segments_size()) << classify.out;
  EXPECT_EQ(classify.out.find_first_of(raw_controls), std::string::npos) << classify.out;
  EXPECT_THAT(classify.out, HasSubstr("\n" + odd_cell + "  (unknown customer)\n")) << classify.out;
  EXPECT_THAT(classify.out,
              HasSubstr("\n" + known_cell + "  " + membership.primary_segment() + "  "))
      << classify.out;
  EXPECT_THAT(classify.out, HasSubstr("\n  " + known_cell + " FIRST_TIME_BUYER: ")) << classify.out;

  SegctlRun watch = Segctl(
      {"watch", "--segment=FIRST_TIME_BUYER", "--resume_after=0-0", "--limit=1", "--for=20s"});
  ASSERT_EQ(watch.exit_code, 0) << watch.err;
  EXPECT_EQ(lines(watch.out), 1) << watch.out;
  EXPECT_THAT(watch.out, HasSubstr("  " + known_cell + "  ENTERED  FIRST_TIME_BUYER  "))
      << watch.out;

  SegctlRun check = Segctl({"check", odd, known, "--any_of=FIRST_TIME_BUYER"});
  if (check.exit_code == 1) {  // a server without TargetingService
    EXPECT_THAT(check.err, HasSubstr("UNIMPLEMENTED"));
    return;
  }
  ASSERT_EQ(check.exit_code, 0) << check.err;
  EXPECT_EQ(lines(check.out), 3) << check.out;
  EXPECT_EQ(check.out.find_first_of(raw_controls), std::string::npos) << check.out;
  EXPECT_THAT(check.out, HasSubstr("\n" + odd_cell + "  no (unknown customer)\n")) << check.out;
  EXPECT_THAT(check.out, HasSubstr("\n" + known_cell + "  yes")) << check.out;
  SegctlRun check_json = Segctl({"check", odd, "--any_of=FIRST_TIME_BUYER", "--json"});
  ASSERT_EQ(check_json.exit_code, 0) << check_json.err;
  EXPECT_EQ(lines(check_json.out), 1) << check_json.out;
}

TEST_F(SegctlE2eTest, UsageErrorsAndHelp) {
  EXPECT_EQ(Segctl({}).exit_code, 2);
  EXPECT_EQ(Segctl({"help"}).exit_code, 0);
  // A group: its commands on request, a usage error without one.
  for (const std::vector<std::string>& asked :
       std::vector<std::vector<std::string>>{{"help", "config"}, {"config", "--help"}}) {
    SegctlRun group = Segctl(asked);
    EXPECT_EQ(group.exit_code, 0) << group.err;
    EXPECT_THAT(group.out, HasSubstr("config preview")) << group.out;
    EXPECT_THAT(group.out, Not(HasSubstr("classify"))) << group.out;
  }
  SegctlRun which = Segctl({"config"});
  EXPECT_EQ(which.exit_code, 2);
  EXPECT_THAT(which.err, HasSubstr("which one?"));
  for (const std::vector<std::string>& asked : std::vector<std::vector<std::string>>{
           {"help", "config", "bogus"}, {"config", "bogus", "--help"}, {"config", "bogus"}}) {
    SegctlRun bogus = Segctl(asked);
    EXPECT_EQ(bogus.exit_code, 2) << bogus.out;
    EXPECT_THAT(bogus.err, HasSubstr("config bogus: no such command")) << bogus.err;
  }
  SegctlRun unknown = Segctl({"frobnicate"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_THAT(unknown.err, HasSubstr("unknown command"));
  SegctlRun flag = Segctl({"classify", "x", "--no_such_flag=1"});
  EXPECT_EQ(flag.exit_code, 2);
  EXPECT_THAT(flag.err, HasSubstr("unknown flag --no_such_flag"));
  EXPECT_EQ(Segctl({"classify"}).exit_code, 2);
  EXPECT_EQ(Segctl({"import", "nope", "file"}).exit_code, 2);
  EXPECT_EQ(Segctl({"import", "csv", "file"}).exit_code, 2);  // no --columns
  EXPECT_EQ(Segctl({"config", "set", "vip.nope=1"}).exit_code, 2);
  SegctlRun twice = Segctl({"config", "set", "vip.top_percent=3", "vip.top_percent=4"});
  EXPECT_EQ(twice.exit_code, 2);
  EXPECT_THAT(twice.err, HasSubstr("vip.top_percent is set twice"));
  // Both alternatives of one threshold: the last would win without a word.
  SegctlRun alternatives = Segctl({"config", "set", "big_spender.threshold_amount=100",
                                   "big_spender.threshold_store_aov_multiple=3"});
  EXPECT_EQ(alternatives.exit_code, 2);
  EXPECT_THAT(alternatives.err,
              HasSubstr("big_spender.threshold_amount and "
                        "big_spender.threshold_store_aov_multiple are alternatives"));
  SegctlRun missing = Segctl({"import", "cdnow", dir_ + "/missing.txt"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("cannot read"));
  // An empty file is a failed export, not a successful import.
  { std::ofstream(dir_ + "/empty.txt"); }
  SegctlRun empty = Segctl({"import", "cdnow", dir_ + "/empty.txt"});
  EXPECT_EQ(empty.exit_code, 1);
  EXPECT_THAT(empty.err, HasSubstr("is empty"));
  // Only the error: no "imported ... 0 rows" report beside it (docs/CLI reviewer).
  EXPECT_EQ(empty.out, "");
  SegctlRun empty_json = Segctl({"import", "cdnow", dir_ + "/empty.txt", "--json"});
  EXPECT_EQ(empty_json.exit_code, 1);
  EXPECT_THAT(empty_json.err, HasSubstr("is empty"));
  EXPECT_EQ(empty_json.out, "");
  // A file ending inside a line may be cut short: refused before anything is
  // sent (an API reviewer's truncated export stored partial orders that the
  // whole file could not correct); --allow_unterminated imports it.
  { std::ofstream(dir_ + "/cut.txt") << "98001 19970101 1 11.77\n98002 19970112 1 12.0"; }
  SegctlRun cut = Segctl({"import", "cdnow", dir_ + "/cut.txt"});
  EXPECT_EQ(cut.exit_code, 1);
  EXPECT_THAT(cut.err, HasSubstr("does not end with a newline"));
  EXPECT_THAT(Segctl({"classify", "98001"}).out, HasSubstr("(unknown customer)"));
  SegctlRun allowed = Segctl({"import", "cdnow", dir_ + "/cut.txt", "--allow_unterminated"});
  EXPECT_EQ(allowed.exit_code, 0) << allowed.err;
  EXPECT_THAT(Segctl({"classify", "98001"}).out, Not(HasSubstr("(unknown customer)")));
  // A voucher and expression flags together: one would be dropped silently.
  SegctlRun both = Segctl({"targets", "--voucher=v", "--none_of=LAPSED"});
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_THAT(both.err, HasSubstr("not both"));
  SegctlRun when = Segctl({"flows", "--from=garbage", "--to=now"});
  EXPECT_EQ(when.exit_code, 2);
  EXPECT_THAT(when.err, HasSubstr("--from: \"garbage\" is not a time"));
  SegctlRun blank = Segctl({"check", "c1", "--all_of="});
  EXPECT_EQ(blank.exit_code, 2);
  EXPECT_THAT(blank.err, HasSubstr("--all_of: name at least one segment"));
  // --help for every command.
  for (const char* command :
       {"tenant create", "tenant list", "key create", "key list", "key revoke", "config get",
        "config set", "config preset", "config presets", "config preview", "segments", "import",
        "classify", "watch", "check", "targets", "kpis", "flows"}) {
    std::vector<std::string> args = absl::StrSplit(command, ' ');
    args.push_back("--help");
    SegctlRun help = Segctl(args);
    EXPECT_EQ(help.exit_code, 0) << command;
    EXPECT_THAT(help.out, HasSubstr(absl::StrCat("Usage: segctl ", command))) << command;
  }
  // The whole tenant id rule the server enforces, first byte included.
  SegctlRun tenant_help = Segctl({"tenant", "create", "--help"});
  EXPECT_THAT(tenant_help.out, HasSubstr("1-63 bytes of [a-z0-9_-]"));
  EXPECT_THAT(tenant_help.out, HasSubstr("starting with a letter or digit"));
  SegctlRun watch_help = Segctl({"watch", "--help"});
  EXPECT_THAT(watch_help.out, HasSubstr("{\"resume_after\":\"POSITION\"}"));
  // A server that is not there: exit 1, UNAVAILABLE.
  SegctlRun down = Segctl({"config", "get", "--target=127.0.0.1:1", "--timeout=2s"});
  EXPECT_EQ(down.exit_code, 1);
  EXPECT_THAT(down.err, HasSubstr("UNAVAILABLE"));
}

TEST_F(SegctlE2eTest, Config) {
  SegctlRun get = Segctl({"config", "get"});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_THAT(get.out, HasSubstr("frequent_buyer.min_orders"));
  // The priority in effect, though none is stored.
  EXPECT_THAT(get.out, HasSubstr("primary_priority"));
  EXPECT_THAT(get.out, HasSubstr("(default) "));
  SegctlRun set =
      Segctl({"config", "set", "frequent_buyer.min_orders=3", "lapsed.inactive_days=30"});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  EXPECT_THAT(set.out, HasSubstr("config version 1"));
  SegctlRun json = Segctl({"config", "get", "--json"});
  v1::VersionedConfig config;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json.out, &config).ok()) << json.out;
  EXPECT_EQ(config.version(), 1);
  EXPECT_EQ(config.config().frequent_buyer().min_orders(), 3u);
  EXPECT_EQ(config.config().lapsed().inactive_days(), 30u);
  SegctlRun invalid = Segctl({"config", "set", "lapsed.inactive_days=0"});
  EXPECT_EQ(invalid.exit_code, 1);
  EXPECT_THAT(invalid.err, HasSubstr("INVALID_ARGUMENT"));
  EXPECT_THAT(invalid.err, HasSubstr("lapsed.inactive_days"));
  SegctlRun stale = Segctl({"config", "set", "lapsed.inactive_days=40", "--expected_version=0"});
  EXPECT_EQ(stale.exit_code, 1);
  EXPECT_THAT(stale.err, HasSubstr("ABORTED"));
  SegctlRun presets = Segctl({"config", "presets"});
  ASSERT_EQ(presets.exit_code, 0) << presets.err;
  for (const char* p : {"fast_food", "fashion", "grocery", "electronics"})
    EXPECT_THAT(presets.out, HasSubstr(p));
  SegctlRun preset = Segctl({"config", "preset", "fashion"});
  ASSERT_EQ(preset.exit_code, 0) << preset.err;
  EXPECT_THAT(preset.out, HasSubstr("PRESET_FASHION"));
  SegctlRun after = Segctl({"config", "get", "--json"});
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(after.out, &config).ok());
  EXPECT_EQ(config.config().frequent_buyer().min_orders(), 4u);
  EXPECT_EQ(config.config().frequent_buyer().window_days(), 90u);
  EXPECT_EQ(Segctl({"config", "preset", "pizza"}).exit_code, 2);
}

// A small CSV through the generic mapping: bad rows with line numbers,
// skip vs stop, idempotent re-run; classify, preview and watch on the result.
TEST_F(SegctlE2eTest, CsvImportClassifyPreviewWatch) {
  ASSERT_NO_FATAL_FAILURE(DisableStatisticalSegments());
  const std::string file = dir_ + "/orders.csv";
  std::ofstream(file) << "customer,order,date,total\n"
                         "alice,a1,2026-01-05,12.50\n"
                         "alice,a2,2026-02-05,7.25\n"
                         "bob,b1,2026-02-06,not-money\n"
                         "carol,c1,2026-13-01,3.00\n"
                         "bob,b2,2026-02-07,30\n";
  const std::vector<std::string> csv = {
      "csv", file, "--columns=customer_id=1,order_id=2,placed_at=3:%Y-%m-%d,amount=4:decimal"};
  google::protobuf::Struct report = Import(csv);
  EXPECT_EQ(Number(report, "orders"), 3);
  EXPECT_EQ(Number(report, "applied"), 3);
  EXPECT_EQ(Number(report, "bad_rows"), 2);
  const auto& errors = report.fields().at("errors").list_value();
  ASSERT_EQ(errors.values_size(), 2);
  EXPECT_EQ(errors.values(0).struct_value().fields().at("line").number_value(), 4);
  EXPECT_EQ(errors.values(1).struct_value().fields().at("line").number_value(), 5);
  // Human output names file:line.
  std::vector<std::string> human = csv;
  human.insert(human.begin(), "import");
  human.push_back("--progress_file=" + dir_ + "/progress.human");
  SegctlRun again = Segctl(human);
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_THAT(again.err, HasSubstr(file + ":4: amount"));
  EXPECT_THAT(again.out, HasSubstr("0 applied, 3 duplicates"));
  // A mapping that fits no row (amount from the date column) imports nothing:
  // exit 1, not 0.
  SegctlRun misread = Segctl({"import", "csv", file,
                              "--columns=customer_id=1,order_id=2,placed_at=3:%Y-%m-%d,amount=3",
                              "--progress_file=" + dir_ + "/progress.misread"});
  EXPECT_EQ(misread.exit_code, 1) << misread.out << misread.err;
  EXPECT_THAT(misread.err, HasSubstr("no row of " + file + " could be imported"));
  // A row the server refuses (alice's order id for erin: order ids are
  // unique per tenant) is reported with its line and the field, once.
  const std::string taken = dir_ + "/taken.csv";
  std::ofstream(taken) << "erin,a1,2026-03-01,5\nerin,e1,2026-03-02,6\n";
  google::protobuf::Struct refused = Import({"csv", taken, "--header=false", kRowColumns});
  EXPECT_EQ(Number(refused, "applied"), 1);
  EXPECT_EQ(Number(refused, "rejected"), 1);
  const auto& refusals = refused.fields().at("errors").list_value();
  ASSERT_EQ(refusals.values_size(), 1);
  EXPECT_EQ(refusals.values(0).struct_value().fields().at("line").number_value(), 1);
  EXPECT_EQ(refusals.values(0).struct_value().fields().at("message").string_value(),
            "rejected by the server: events[0].order_placed.order_id: already placed by another "
            "customer (order ids are unique per tenant)");
  // --on_error=stop stops at line 4: nothing after it.
  std::vector<std::string> stop = csv;
  stop.push_back("--on_error=stop");
  google::protobuf::Struct stopped = Import(stop, /*expected_exit=*/1);
  EXPECT_TRUE(stopped.fields().at("stopped").bool_value());
  EXPECT_EQ(Number(stopped, "orders"), 2);

  SegctlRun classify = Segctl({"classify", "alice", "bob", "nobody", "--reasons"});
  ASSERT_EQ(classify.exit_code, 0) << classify.err;
  EXPECT_THAT(classify.out, HasSubstr("REPEAT_CUSTOMER"));
  EXPECT_THAT(classify.out, HasSubstr("(unknown customer)"));
  EXPECT_THAT(classify.out, HasSubstr("2 lifetime orders"));
  SegctlRun json = Segctl({"classify", "bob", "--json"});
  v1::ClassifyCustomersResponse classified;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json.out, &classified).ok()) << json.out;
  ASSERT_EQ(classified.classifications_size(), 1);
  EXPECT_THAT(classified.classifications(0).membership().segments(),
              ::testing::Contains("FIRST_TIME_BUYER"));

  std::map<std::string, int64_t> sizes = Sizes();
  EXPECT_EQ(sizes["FIRST_TIME_BUYER"], 2);  // bob and erin
  EXPECT_EQ(sizes["REPEAT_CUSTOMER"], 1);
  SegctlRun preview = Segctl({"config", "preview", "repeat_customer.enabled=false"});
  ASSERT_EQ(preview.exit_code, 0) << preview.err;
  EXPECT_THAT(preview.out, ::testing::ContainsRegex("REPEAT_CUSTOMER +1 +0 +0 +1"));

  // The stream from its start: bob entered FIRST_TIME_BUYER.
  SegctlRun watch = Segctl(
      {"watch", "--segment=FIRST_TIME_BUYER", "--resume_after=0-0", "--limit=1", "--for=20s"});
  ASSERT_EQ(watch.exit_code, 0) << watch.err;
  EXPECT_THAT(watch.out, ::testing::ContainsRegex("bob +ENTERED +FIRST_TIME_BUYER +cause=EVENT"));
  // It says where to go on: after the change it printed.
  const size_t at = watch.out.find("position=");
  ASSERT_NE(at, std::string::npos);
  const std::string printed = watch.out.substr(at + 9, watch.out.find('\n', at) - at - 9);
  EXPECT_THAT(watch.err, HasSubstr("--resume_after=" + printed + "\n"));
  // A watch of a segment nobody entered prints no change, but still learns
  // how far the stream was read, past the last change of any segment.
  SegctlRun quiet = Segctl({"watch", "--segment=ABANDONED_CART", "--resume_after=0-0", "--for=3s"});
  ASSERT_EQ(quiet.exit_code, 0) << quiet.err;
  EXPECT_THAT(quiet.out, Not(HasSubstr("ENTERED")));
  EXPECT_THAT(quiet.err, HasSubstr("--resume_after="));
  EXPECT_THAT(quiet.err, Not(HasSubstr("--resume_after=0-0")));
  // A live change seen by a watch started before it.
  const std::string live = dir_ + "/live.csv";
  std::ofstream(live) << "dave,d1,2026-03-01,5\n";
  const std::string watch_out = dir_ + "/watch.out";
  const std::string cmd =
      absl::StrCat(Quote(Runfile("clients/segctl/segctl")),
                   " watch --json --limit=1 --for=30s --segment=FIRST_TIME_BUYER ",
                   Quote("--target=" + stack_->segmentd().address()), " ",
                   Quote("--key_file=" + key_), " >", Quote(watch_out), " 2>&1 & echo $!");
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  int pid = 0;
  ASSERT_EQ(fscanf(p, "%d", &pid), 1);
  pclose(p);
  // The watch subscribes asynchronously; keep sending new customers until it reports one.
  bool seen = testing::PollUntil(
      [&] {
        static int n = 0;
        ++n;
        std::ofstream(live) << "dave" << n << ",d" << n << ",2026-03-01,5\n";
        Import({"csv", live, "--header=false", kRowColumns});
        return absl::StrContains(ReadAll(watch_out), "\"kind\":\"CHANGE_KIND_ENTERED\"");
      },
      absl::Seconds(20), absl::Milliseconds(300));
  EXPECT_TRUE(seen) << ReadAll(watch_out);
  EXPECT_THAT(ReadAll(watch_out), HasSubstr("\"customer_id\":\"dave"));
  kill(pid, SIGKILL);
}

// --json prints every field, zero and false included (proto3 JSON drops them
// by default: docs/CLI reviewer found no "eligible" for a customer who is not,
// no "found" for an unknown one); int64 stays a string.
TEST_F(SegctlE2eTest, JsonPrintsEveryField) {
  ASSERT_NO_FATAL_FAILURE(DisableStatisticalSegments());
  ImportRows("j.csv", "j1,o1,2026-01-05,1\n");

  SegctlRun classify = Segctl({"classify", "nobody", "--json"});
  ASSERT_EQ(classify.exit_code, 0) << classify.err;
  EXPECT_THAT(classify.out, HasSubstr("\"found\":false")) << classify.out;
  EXPECT_THAT(classify.out, HasSubstr("\"as_of\":\"")) << classify.out;  // the instant evaluated

  // Nobody is a repeat customer: a segment of size 0.
  SegctlRun segments = Segctl({"segments", "--json"});
  ASSERT_EQ(segments.exit_code, 0) << segments.err;
  google::protobuf::Struct preview;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(segments.out, &preview).ok())
      << segments.out;
  bool repeat_seen = false;
  for (const auto& v : preview.fields().at("segments").list_value().values()) {
    const auto& f = v.struct_value().fields();
    const auto size = f.find("current_size");
    ASSERT_NE(size, f.end()) << segments.out;
    if (f.at("segment").string_value() == "REPEAT_CUSTOMER") {
      repeat_seen = true;
      EXPECT_EQ(size->second.string_value(), "0") << segments.out;
    }
  }
  EXPECT_TRUE(repeat_seen) << segments.out;

  // A segment nobody was in: every KPI is zero, and printed.
  const std::string to =
      absl::FormatTime("--to=%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone());
  SegctlRun kpis = Segctl({"kpis", "--segment=REPEAT_CUSTOMER", "--from=2026-01-01", to, "--json"});
  ASSERT_EQ(kpis.exit_code, 0) << kpis.err;
  google::protobuf::Struct k;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(kpis.out, &k).ok()) << kpis.out;
  const auto& rows = k.fields().at("segments").list_value();
  ASSERT_EQ(rows.values_size(), 1) << kpis.out;
  for (const char* field : {"size_at_start", "size_at_end", "entered", "left", "orders",
                            "net_revenue", "average_order_value", "conversion_rate"}) {
    EXPECT_EQ(rows.values(0).struct_value().fields().count(field), 1u) << field << " " << kpis.out;
  }
  EXPECT_THAT(kpis.out, HasSubstr("\"orders\":\"0\"")) << kpis.out;

  // The stored value again: nobody moves, and the count says 0.
  SegctlRun set = Segctl({"config", "set", "vip.enabled=false", "--json"});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  EXPECT_THAT(set.out, HasSubstr("\"customers_changed\":\"0\"")) << set.out;

  SegctlRun check = Segctl({"check", "j1", "--all_of=REPEAT_CUSTOMER", "--json"});
  if (check.exit_code == 1) {  // a server without TargetingService
    EXPECT_THAT(check.err, HasSubstr("UNIMPLEMENTED"));
    return;
  }
  ASSERT_EQ(check.exit_code, 0) << check.err;
  EXPECT_THAT(check.out, HasSubstr("\"eligible\":false")) << check.out;
  EXPECT_THAT(check.out, HasSubstr("\"matched_segments\":[]")) << check.out;
}

// `watch --json` ends with where to go on from, as a last JSON object on
// stdout (human mode says it on stderr); docs/CLI reviewer found none.
TEST_F(SegctlE2eTest, WatchJsonEndsWithResumePosition) {
  ASSERT_NO_FATAL_FAILURE(DisableStatisticalSegments());
  ImportRows("w.csv", "w1,o1,2026-01-05,1\nw2,o2,2026-01-05,1\n");
  SegctlRun watch = Segctl({"watch", "--json", "--segment=FIRST_TIME_BUYER", "--resume_after=0-0",
                            "--limit=1", "--for=20s"});
  ASSERT_EQ(watch.exit_code, 0) << watch.err;
  std::vector<std::string> lines = absl::StrSplit(watch.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << watch.out;
  v1::MembershipChange change;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(lines[0], &change).ok()) << lines[0];
  EXPECT_EQ(change.segment(), "FIRST_TIME_BUYER");
  google::protobuf::Struct end;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(lines[1], &end).ok()) << lines[1];
  ASSERT_EQ(end.fields().count("resume_after"), 1u) << lines[1];
  const std::string position = end.fields().at("resume_after").string_value();
  EXPECT_EQ(position, change.position());
  EXPECT_EQ(watch.err, "");
  // Going on from there: the other customer's change, not the first again.
  SegctlRun next = Segctl({"watch", "--json", "--segment=FIRST_TIME_BUYER",
                           "--resume_after=" + position, "--limit=1", "--for=20s"});
  ASSERT_EQ(next.exit_code, 0) << next.err;
  std::vector<std::string> next_lines = absl::StrSplit(next.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(next_lines.size(), 2u) << next.out;
  v1::MembershipChange second;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(next_lines[0], &second).ok());
  EXPECT_NE(second.customer_id(), change.customer_id());
  EXPECT_THAT(next_lines[1], HasSubstr("\"resume_after\":\"" + second.position() + "\""));
}

// Ctrl-C ends a watch as --limit does, saying where to go on from (stderr,
// or the last JSON line with --json), and segctl exits 130; nothing was said
// before (a reviewer's finding). SIGTERM (a supervisor's stop) does the same
// and exits 143 (it used to end segctl at once): the table watch is stopped
// by the one, the JSON watch by the other.
TEST_F(SegctlE2eTest, WatchStoppedByCtrlCSaysWhereToGoOn) {
  ASSERT_NO_FATAL_FAILURE(DisableStatisticalSegments());
  for (const bool json : {false, true}) {
    const int stop_signal = json ? SIGTERM : SIGINT;
    const std::string tag = json ? "json" : "table";
    const std::string out = dir_ + "/sigint-" + tag + ".out";
    const std::string err = dir_ + "/sigint-" + tag + ".err";
    std::vector<std::string> args = {Runfile("clients/segctl/segctl"), "watch",
                                     "--target=" + stack_->segmentd().address(),
                                     "--key_file=" + key_};
    if (json) args.push_back("--json");
    // Started directly, not by a shell: a script's background job ignores SIGINT.
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      const int out_fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      const int err_fd = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (out_fd < 0 || err_fd < 0) _exit(127);
      dup2(out_fd, STDOUT_FILENO);
      dup2(err_fd, STDERR_FILENO);
      execv(argv[0], argv.data());
      _exit(127);
    }
    // The watch subscribes asynchronously: new customers until it shows one.
    int n = 0;
    const bool seen = testing::PollUntil(
        [&] {
          ++n;
          ImportRows("sigint.csv", absl::StrCat(tag, n, ",", tag, "-o", n, ",2026-03-01,5\n"));
          return absl::StrContains(ReadAll(out), json ? "\"position\"" : "position=");
        },
        absl::Seconds(20), absl::Milliseconds(300));
    kill(pid, stop_signal);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(seen) << ReadAll(out) << ReadAll(err);
    ASSERT_TRUE(WIFEXITED(status)) << "signal " << WTERMSIG(status);
    EXPECT_EQ(WEXITSTATUS(status), 128 + stop_signal) << ReadAll(err);
    // Unfiltered, the stream was read to the last change printed.
    const std::string printed = ReadAll(out);
    if (json) {
      std::vector<std::string> lines = absl::StrSplit(printed, '\n', absl::SkipEmpty());
      ASSERT_GE(lines.size(), 2u) << printed;
      v1::MembershipChange last;
      ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(lines[lines.size() - 2], &last).ok());
      EXPECT_EQ(lines.back(), "{\"resume_after\":\"" + last.position() + "\"}");
      EXPECT_EQ(ReadAll(err), "");
    } else {
      const size_t at = printed.rfind("position=");
      const std::string last = printed.substr(at + 9, printed.find('\n', at) - at - 9);
      EXPECT_THAT(ReadAll(err), HasSubstr("to go on from here: --resume_after=" + last + "\n"));
      EXPECT_THAT(ReadAll(err), Not(HasSubstr("CANCELLED")));
    }
  }
}

// A watch whose server drains and goes away reconnects, fails, and says
// why the stream ended (the server's "shutting down ... resume_after="),
// not only that the reconnects were refused (an ops reviewer's finding).
TEST_F(SegctlE2eTest, AWatchCutByADrainSaysWhy) {
  std::thread stop([this] {
    absl::SleepFor(absl::Milliseconds(1500));
    ::kill(stack_->segmentd().pid(), SIGTERM);
  });
  SegctlRun watch = Segctl({"watch", "--for=60s"});
  stop.join();
  EXPECT_EQ(watch.exit_code, 1) << watch.err;
  EXPECT_THAT(watch.err, HasSubstr("the stream had ended: segmentd is shutting down")) << watch.err;
  EXPECT_THAT(watch.err, HasSubstr("to go on from here: --resume_after=")) << watch.err;
}

// `config get --json > f; config set --file=f` round-trips (docs/CLI
// reviewer: it was refused); a bad file is refused with the parser's message.
TEST_F(SegctlE2eTest, ConfigSetTakesConfigGetJson) {
  ASSERT_EQ(Segctl({"config", "set", "frequent_buyer.min_orders=3"}).exit_code, 0);
  SegctlRun get = Segctl({"config", "get", "--json"});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  const std::string saved = dir_ + "/config.json";
  std::ofstream(saved) << get.out;
  ASSERT_EQ(Segctl({"config", "set", "frequent_buyer.min_orders=5"}).exit_code, 0);
  SegctlRun restore = Segctl({"config", "set", "--file=" + saved});
  ASSERT_EQ(restore.exit_code, 0) << restore.err;
  SegctlRun after = Segctl({"config", "get", "--json"});
  v1::VersionedConfig config;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(after.out, &config).ok()) << after.out;
  EXPECT_EQ(config.config().frequent_buyer().min_orders(), 3u);
  EXPECT_EQ(config.version(), 3);
  // A bare SegmentConfig still works.
  const std::string bare = dir_ + "/bare.json";
  std::ofstream(bare) << "{\"frequent_buyer\":{\"min_orders\":4}}";
  SegctlRun bare_set = Segctl({"config", "set", "--file=" + bare, "--json"});
  ASSERT_EQ(bare_set.exit_code, 0) << bare_set.err;
  // The parser's message names the field.
  const std::string bad = dir_ + "/bad.json";
  std::ofstream(bad) << "{\"frequent_buyer\":{\"min_orders\":\"x\"}}";
  SegctlRun refused = Segctl({"config", "set", "--file=" + bad});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_THAT(refused.err, HasSubstr("min_orders")) << refused.err;
  const std::string bad_wrapped = dir_ + "/bad_wrapped.json";
  std::ofstream(bad_wrapped) << "{\"config\":{\"lapsed\":{\"inactive_dayz\":3}}}";
  SegctlRun refused_wrapped = Segctl({"config", "set", "--file=" + bad_wrapped});
  EXPECT_EQ(refused_wrapped.exit_code, 2);
  EXPECT_THAT(refused_wrapped.err, HasSubstr("inactive_dayz")) << refused_wrapped.err;
  const std::string garbage = dir_ + "/garbage.json";
  std::ofstream(garbage) << "not json";
  SegctlRun refused_garbage = Segctl({"config", "set", "--file=" + garbage});
  EXPECT_EQ(refused_garbage.exit_code, 2);
  EXPECT_THAT(refused_garbage.err, HasSubstr("not a JSON object: ")) << refused_garbage.err;
}

// A --tls_ca_file without a PEM certificate is a usage error naming the flag,
// before any call (docs/CLI reviewer saw gRPC noise and "UNAVAILABLE: empty
// address list").
TEST_F(SegctlE2eTest, TlsCaFileIsChecked) {
  const std::string not_pem = dir_ + "/not.pem";
  std::ofstream(not_pem) << "this is not a certificate\n";
  SegctlRun bad = Segctl({"config", "get", "--tls_ca_file=" + not_pem});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_THAT(bad.err, HasSubstr("--tls_ca_file: " + not_pem + " holds no PEM certificate"));
  EXPECT_THAT(bad.err, Not(HasSubstr("UNAVAILABLE")));
  EXPECT_EQ(bad.out, "");
  SegctlRun missing = Segctl({"config", "get", "--tls_ca_file=" + dir_ + "/missing.pem"});
  EXPECT_EQ(missing.exit_code, 2) << missing.err;
  EXPECT_THAT(missing.err, HasSubstr("--tls_ca_file: cannot read " + dir_ + "/missing.pem"));
}

// Error messages say what to do (docs/CLI reviewer): an import refused before
// anything was acknowledged does not suggest --resume; a key file that cannot
// be read names the setting that chose it.
TEST_F(SegctlE2eTest, ErrorMessagesPointAtTheCause) {
  SegctlRun created =
      Segctl({"key", "create", "--tenant=shop", "--name=reader", "--scopes=read", "--json"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  v1::CreateApiKeyResponse key;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(created.out, &key).ok()) << created.out;
  const std::string reader = dir_ + "/reader.key";
  std::ofstream(reader) << key.secret();
  const std::string file = dir_ + "/r.csv";
  std::ofstream(file) << "r1,o1,2026-01-05,1\n";
  SegctlRun denied = Segctl({"import", "csv", file, "--header=false", "--key_file=" + reader,
                             kRowColumns, "--progress_file=" + dir_ + "/progress.denied"});
  EXPECT_EQ(denied.exit_code, 1);
  EXPECT_THAT(denied.err, HasSubstr("PERMISSION_DENIED"));
  EXPECT_THAT(denied.err, Not(HasSubstr("--resume"))) << denied.err;

  const std::string missing = dir_ + "/no.key";
  SegctlRun flag = Segctl({"config", "get", "--key_file=" + missing});
  EXPECT_EQ(flag.exit_code, 2);  // a bad setting, as a bad --tls_ca_file
  EXPECT_THAT(flag.err, HasSubstr("cannot read API key file " + missing + " (set by --key_file)"));
  SegctlRun env = SegctlWith("SEGCTL_KEY_FILE=" + Quote(missing), false, {"config", "get"});
  EXPECT_EQ(env.exit_code, 2);
  EXPECT_THAT(env.err,
              HasSubstr("cannot read API key file " + missing + " (set by $SEGCTL_KEY_FILE)"));
  SegctlRun operator_flag = Segctl({"tenant", "list", "--operator_key_file=" + missing});
  EXPECT_EQ(operator_flag.exit_code, 2);
  EXPECT_THAT(operator_flag.err, HasSubstr("(set by --operator_key_file)"));
  // The defaults are relative to the working directory: say so.
  SegctlRun defaults = SegctlWith("-u SEGCTL_KEY_FILE", false, {"config", "get"});
  EXPECT_EQ(defaults.exit_code, 2);
  EXPECT_THAT(defaults.err,
              HasSubstr("(the default of --key_file; set --key_file or $SEGCTL_KEY_FILE)"));
}

// kpis and flows over a period that holds the imported orders' arrival.
TEST_F(SegctlE2eTest, KpisAndFlows) {
  ASSERT_NO_FATAL_FAILURE(DisableStatisticalSegments());
  ImportRows("k.csv", "k1,o1,2026-01-05,1\nk1,o2,2026-01-06,1\nk2,o3,2026-01-06,1\n");
  // Up to now: membership ahead of the server's clock is refused.
  const std::string to =
      absl::FormatTime("--to=%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone());
  SegctlRun kpis = Segctl(
      {"kpis", "--segment=REPEAT_CUSTOMER,FIRST_TIME_BUYER", "--from=2026-01-01", to, "--json"});
  ASSERT_EQ(kpis.exit_code, 0) << kpis.err;
  v1::GetSegmentKpisResponse k;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(kpis.out, &k).ok()) << kpis.out;
  std::map<std::string, int64_t> at_end;
  for (const auto& s : k.segments()) at_end[s.segment()] = s.size_at_end();
  EXPECT_EQ(at_end["REPEAT_CUSTOMER"], 1);
  EXPECT_EQ(at_end["FIRST_TIME_BUYER"], 1);
  SegctlRun human = Segctl({"kpis", "--segment=REPEAT_CUSTOMER", "--from=2026-01-01", to});
  ASSERT_EQ(human.exit_code, 0) << human.err;
  // Sizes 0 -> 1, entered once (reconstructed before the import's record),
  // two orders of 1.00 (the file's amounts), AOV 1.00, lifetime value 2.00,
  // no member at the start.
  EXPECT_THAT(human.out, HasSubstr("NET_REVENUE  AOV   LTV   CONVERSION")) << human.out;
  EXPECT_THAT(human.out, ::testing::ContainsRegex(
                             "REPEAT_CUSTOMER +0 +1 +1 +0 +2 +2\\.00 +1\\.00 +2\\.00 +0\\.00%"))
      << human.out;
  SegctlRun flows = Segctl({"flows", "--from=2026-01-01", to});
  ASSERT_EQ(flows.exit_code, 0) << flows.err;
  EXPECT_THAT(flows.out, HasSubstr("FROM"));
  // Then each segment's entered/left between the two instants: at --from
  // neither customer was in any segment; at --to k1 is a repeat customer
  // and k2 a first-time buyer.
  EXPECT_THAT(flows.out, ::testing::ContainsRegex("SEGMENT +ENTERED +LEFT")) << flows.out;
  EXPECT_THAT(flows.out, ::testing::ContainsRegex("\nREPEAT_CUSTOMER +1 +0\n")) << flows.out;
  EXPECT_THAT(flows.out, ::testing::ContainsRegex("\nFIRST_TIME_BUYER +1 +0\n")) << flows.out;
  EXPECT_EQ(Segctl({"kpis", "--from=yesterday"}).exit_code, 2);
  // Periods the server would refuse are refused naming the flags.
  SegctlRun backwards = Segctl({"kpis", "--from=2026-02-01", "--to=2026-01-01"});
  EXPECT_EQ(backwards.exit_code, 2);
  EXPECT_THAT(backwards.err, HasSubstr("--to: must be after --from (2026-02-01)")) << backwards.err;
  // Without --to, the message says it is now rather than blaming a flag not given.
  SegctlRun future = Segctl({"kpis", "--from=2999-01-01"});
  EXPECT_EQ(future.exit_code, 2);
  EXPECT_THAT(future.err, HasSubstr("--to (not given: now): must be after --from (2999-01-01)"))
      << future.err;
  EXPECT_EQ(Segctl({"kpis", "--from=2026-01-01", "--to=2026-01-01"}).exit_code, 2);
  SegctlRun ahead = Segctl({"flows", "--from=2026-01-01", "--to=2999-01-01"});
  EXPECT_EQ(ahead.exit_code, 2);
  EXPECT_THAT(ahead.err, HasSubstr("--to: must not be later than now")) << ahead.err;
  EXPECT_EQ(Segctl({"flows", "--from=2026-01-01", "--to=2026-01-01"}).exit_code, 0);
}

// check / targets need TargetingService (issue 5): against a server without
// it they must fail with UNIMPLEMENTED (exit 1), never fake an answer.
TEST_F(SegctlE2eTest, CheckAndTargets) {
  ASSERT_NO_FATAL_FAILURE(DisableStatisticalSegments());
  ImportRows("o.csv", "x1,o1,2026-01-05,1\nx1,o2,2026-01-06,1\nx2,o3,2026-01-06,1\n");
  SegctlRun check = Segctl({"check", "x1", "x2", "--all_of=REPEAT_CUSTOMER"});
  SegctlRun count = Segctl({"targets", "--any_of=REPEAT_CUSTOMER,FIRST_TIME_BUYER", "--json"});
  if (check.exit_code == 1) {
    EXPECT_THAT(check.err, HasSubstr("UNIMPLEMENTED"));
    EXPECT_EQ(count.exit_code, 1);
    EXPECT_THAT(count.err, HasSubstr("UNIMPLEMENTED"));
    return;
  }
  ASSERT_EQ(check.exit_code, 0) << check.err;
  EXPECT_THAT(check.out, ::testing::ContainsRegex("x1 +yes"));
  EXPECT_THAT(check.out, ::testing::ContainsRegex("x2 +no"));
  ASSERT_EQ(count.exit_code, 0) << count.err;
  EXPECT_THAT(count.out, HasSubstr("\"customers\":\"2\""));
  EXPECT_EQ(Segctl({"targets"}).exit_code, 2);

  // At an instant between the orders x1 had bought once and x2 not at all.
  const std::string between = "--as_of=2026-01-05T12:00:00Z";
  SegctlRun then = Segctl({"check", "x1", "x2", "--any_of=FIRST_TIME_BUYER", between});
  ASSERT_EQ(then.exit_code, 0) << then.err;
  EXPECT_THAT(then.out, ::testing::ContainsRegex("x1 +yes"));
  EXPECT_THAT(then.out, ::testing::ContainsRegex("x2 +no"));
  SegctlRun count_then =
      Segctl({"targets", "--any_of=REPEAT_CUSTOMER,FIRST_TIME_BUYER", "--json", between});
  ASSERT_EQ(count_then.exit_code, 0) << count_then.err;
  EXPECT_THAT(count_then.out, HasSubstr("\"customers\":\"1\""));
  EXPECT_THAT(count_then.out, HasSubstr("2026-01-05T12:00:00Z"));
  SegctlRun bad = Segctl({"targets", "--any_of=REPEAT_CUSTOMER", "--as_of=yesterday"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr("--as_of"));
  // A segment the server refuses is named by the flag that gave it, not by
  // the expression segctl built around it.
  for (const char* command : {"targets", "check"}) {
    std::vector<std::string> args = {command, "--all_of=VIP", "--none_of=LAPSED,NO_SUCH_SEGMENT"};
    if (std::string(command) == "check") args.push_back("x1");
    SegctlRun unknown = Segctl(args);
    EXPECT_EQ(unknown.exit_code, 1) << command;
    EXPECT_THAT(unknown.err, HasSubstr("--none_of, segment 2")) << unknown.err;
    EXPECT_THAT(unknown.err, HasSubstr("NO_SUCH_SEGMENT")) << unknown.err;
    EXPECT_THAT(unknown.err, Not(HasSubstr("children"))) << unknown.err;
  }
}

// segctl voucher put|get|list|stats|delete: a target stored from flags,
// read back exactly, counted, and deleted.
TEST_F(SegctlE2eTest, VoucherTargetsFromTheCommandLine) {
  ASSERT_NO_FATAL_FAILURE(DisableStatisticalSegments());
  ImportRows("v.csv", "v1,o1,2026-01-05,1\nv2,o2,2026-01-05,1\nv2,o3,2026-01-06,1\n");
  SegctlRun put = Segctl({"voucher", "put", "w1", "--any_of=FIRST_TIME_BUYER,REPEAT_CUSTOMER",
                          "--none_of=WINDOW_SHOPPER", "--arms=offer:90,holdout:10"});
  ASSERT_EQ(put.exit_code, 0) << put.err;
  EXPECT_THAT(put.out,
              HasSubstr("stored voucher w1: all_of(any_of(FIRST_TIME_BUYER,"
                        "REPEAT_CUSTOMER),none_of(WINDOW_SHOPPER)), arms offer:90,holdout:10"))
      << put.out;
  EXPECT_EQ(put.err, "");
  // VIP is disabled (DisableStatisticalSegments): stored, with a warning.
  SegctlRun vip = Segctl({"voucher", "put", "w2", "--any_of=VIP"});
  ASSERT_EQ(vip.exit_code, 0) << vip.err;
  EXPECT_THAT(vip.err, HasSubstr("warning: VIP is disabled")) << vip.err;

  SegctlRun got = Segctl({"voucher", "get", "w1", "--json"});
  ASSERT_EQ(got.exit_code, 0) << got.err;
  v1::VoucherTarget target;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(got.out, &target).ok()) << got.out;
  ASSERT_EQ(target.arms_size(), 2);
  EXPECT_EQ(target.arms(1).name(), "holdout");
  EXPECT_EQ(target.arms(1).weight(), 10u);
  EXPECT_EQ(target.expression().all_of().children(1).none_of().children(0).segment(),
            "WINDOW_SHOPPER");
  SegctlRun listed = Segctl({"voucher", "list", "--json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  v1::ListVoucherTargetsResponse all;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(listed.out, &all).ok()) << listed.out;
  EXPECT_EQ(all.targets_size(), 2);
  SegctlRun list = Segctl({"voucher", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_THAT(list.out, ::testing::ContainsRegex("\nw1 +all_of\\(any_of"));
  EXPECT_THAT(list.out, ::testing::ContainsRegex("\nw2 +any_of\\(VIP\\) +- "));

  SegctlRun stats = Segctl({"voucher", "stats", "w1"});
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  EXPECT_THAT(stats.out, HasSubstr(": 2 targeted, 0 redeemed (0.00%)")) << stats.out;
  EXPECT_THAT(stats.out, ::testing::ContainsRegex("\noffer +[0-9]+ +0 +0.00%")) << stats.out;

  // Refusals: by the server in the flags' terms (exit 1), or usage (exit 2).
  SegctlRun unknown = Segctl({"voucher", "put", "w3", "--any_of=FIRST_TIME_BUYER,NOPE"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_THAT(unknown.err, HasSubstr("--any_of, segment 2")) << unknown.err;
  EXPECT_EQ(Segctl({"voucher", "put", "w4"}).exit_code, 2);
  SegctlRun gap = Segctl({"voucher", "put", "w4", "--any_of=LAPSED,,VIP"});
  EXPECT_EQ(gap.exit_code, 2);
  EXPECT_THAT(gap.err, HasSubstr("--any_of, segment 2: empty")) << gap.err;
  SegctlRun lower = Segctl({"voucher", "put", "w4", "--any_of=lapsed"});
  EXPECT_EQ(lower.exit_code, 1);
  EXPECT_THAT(lower.err, HasSubstr("did you mean LAPSED?")) << lower.err;
  SegctlRun arms = Segctl({"voucher", "put", "w5", "--any_of=VIP", "--arms=offer"});
  EXPECT_EQ(arms.exit_code, 2);
  EXPECT_THAT(arms.err, HasSubstr("--arms")) << arms.err;
  // The server's refusal of an arm, in the flag's terms too.
  SegctlRun weight = Segctl({"voucher", "put", "w5", "--any_of=VIP", "--arms=a:1,b:0"});
  EXPECT_EQ(weight.exit_code, 1);
  EXPECT_THAT(weight.err, HasSubstr("--arms, arm 2 weight: must be in [1, 1000000]")) << weight.err;
  // Lists beside --all_of print as one AND.
  SegctlRun mixed = Segctl({"voucher", "put", "w6", "--all_of=REPEAT_CUSTOMER", "--none_of=VIP"});
  ASSERT_EQ(mixed.exit_code, 0) << mixed.err;
  EXPECT_THAT(mixed.out, HasSubstr("stored voucher w6: all_of(REPEAT_CUSTOMER,none_of(VIP))"))
      << mixed.out;

  SegctlRun deleted = Segctl({"voucher", "delete", "w1"});
  ASSERT_EQ(deleted.exit_code, 0) << deleted.err;
  SegctlRun gone = Segctl({"voucher", "get", "w1"});
  EXPECT_EQ(gone.exit_code, 1);
  EXPECT_THAT(gone.err, HasSubstr("NOT_FOUND")) << gone.err;
}

// A server that allows a tenant two BulkIngest streams.
class SegctlStreamLimitE2eTest : public SegctlE2eTest {
 protected:
  std::vector<std::string> SegmentdFlags() const override {
    return {"--max_bulk_streams_per_tenant=2"};
  }
};

// segctl import opens a stream per batch in flight, each on its first
// batch: those beyond what the server allows are refused, and the import
// goes on with the others, saying so (until 2026-12-06 it failed, saying to
// pass a lower --streams), while --on_error=stop, one batch at a time, opens
// one stream whatever --streams says (it opened them all at once: a code
// reviewer's finding).
TEST_F(SegctlStreamLimitE2eTest, StreamsBeyondTheServersLimitAreDoneWithout) {
  const std::string file = dir_ + "/streams.csv";
  {
    std::ofstream out(file);
    for (int i = 0; i < 12; ++i)
      out << "s" << i << ",so" << i << ",2026-11-0" << 1 + i % 9 << ",5\n";
  }
  const std::string progress = "--progress_file=" + dir_ + "/progress.streams";
  SegctlRun fewer = Segctl({"import", "csv", file, "--header=false", kRowColumns, "--batch_size=1",
                            "--streams=3", progress});
  ASSERT_EQ(fewer.exit_code, 0) << fewer.err;
  EXPECT_THAT(fewer.err, HasSubstr("the server refused 1 of the 3 streams")) << fewer.err;
  EXPECT_THAT(fewer.out, HasSubstr("12 orders: 12 applied")) << fewer.out;
  // One batch at a time: one stream, however many --streams allows.
  const std::string stop_file = dir_ + "/stop.csv";
  {
    std::ofstream out(stop_file);
    for (int i = 0; i < 6; ++i) out << "t" << i << ",to" << i << ",2026-11-02,5\n";
  }
  google::protobuf::Struct stopped = Import({"csv", stop_file, "--header=false", kRowColumns,
                                             "--batch_size=1", "--streams=8", "--on_error=stop"});
  EXPECT_EQ(Number(stopped, "applied"), 6);
}

TEST_F(SegctlE2eTest, CdnowMasterEndToEnd) {
  const std::string data = DataDir();
  ASSERT_FALSE(data.empty()) << "set SEGMENTD_DATA to the directory of cdnow_master.txt";
  ASSERT_NO_FATAL_FAILURE(DisableStatisticalSegments());
  // Independent figures: rows per customer id (first field), header skipped.
  std::map<std::string, int> orders;
  std::ifstream in(data + "/cdnow_master.txt");
  std::string line;
  int64_t rows = 0;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id;
    fields >> id;
    if (id.empty() || id == "customer_id") continue;
    ++orders[id];
    ++rows;
  }
  ASSERT_EQ(rows, 69659);
  google::protobuf::Struct report = Import({"cdnow", data + "/cdnow_master.txt"});
  EXPECT_EQ(Number(report, "orders"), rows);
  EXPECT_EQ(Number(report, "applied"), rows);
  EXPECT_EQ(Number(report, "bad_rows"), 0);
  ExpectPurchaseSegments(orders, absl::FromCivil(absl::CivilDay(1999, 1, 1), absl::UTCTimeZone()));
  // Re-running changes nothing; --resume of a finished import sends nothing.
  google::protobuf::Struct again = Import({"cdnow", data + "/cdnow_master.txt"});
  EXPECT_EQ(Number(again, "applied"), 0);
  EXPECT_EQ(Number(again, "duplicates"), rows);
  google::protobuf::Struct resumed = Import({"cdnow", data + "/cdnow_master.txt", "--resume"});
  EXPECT_EQ(Number(resumed, "orders_resumed"), rows);
  EXPECT_EQ(Number(resumed, "applied") + Number(resumed, "duplicates"), 0);
  // The sample names the same purchases with the same ids: all duplicates.
  google::protobuf::Struct sample = Import({"cdnow", data + "/cdnow_sample.txt"});
  EXPECT_EQ(Number(sample, "applied"), 0);
  EXPECT_EQ(Number(sample, "duplicates"), 6919);
  ExpectPurchaseSegments(orders, absl::FromCivil(absl::CivilDay(1999, 1, 1), absl::UTCTimeZone()));
}

// The progress file records where its orders went: --resume of the same file
// with another tenant's key is refused, naming both destinations, rather than
// skipping what the first import acknowledged (it used to import nothing and
// exit 0); with the same key it skips them. A file holding a header alone is
// an export that failed (exit 1), as an empty one is.
TEST_F(SegctlE2eTest, ResumeOnlyIntoTheSameDestination) {
  const std::string file = dir_ + "/resume.csv";
  std::ofstream(file) << "r1,ro1,2026-11-01,10.00\nr2,ro2,2026-11-02,20.00\n";
  const std::string progress = "--progress_file=" + dir_ + "/progress.resume";
  SegctlRun first = Segctl({"import", "csv", file, "--header=false", kRowColumns, progress});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  ASSERT_EQ(Segctl({"tenant", "create", "elsewhere"}).exit_code, 0);
  SegctlRun created = Segctl({"key", "create", "--as_operator", "--tenant=elsewhere",
                              "--scopes=read,write,admin", "--json"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  v1::CreateApiKeyResponse key;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(created.out, &key).ok()) << created.out;
  const std::string elsewhere = dir_ + "/elsewhere.key";
  std::ofstream(elsewhere) << key.secret();
  SegctlRun other = Segctl({"import", "csv", file, "--header=false", kRowColumns, progress,
                            "--resume", "--key_file=" + elsewhere});
  EXPECT_EQ(other.exit_code, 1) << other.out;
  EXPECT_THAT(other.err, HasSubstr("not this one"));
  EXPECT_THAT(other.err, HasSubstr("key " + key.key().key_id()));
  // A key file that cannot be read is that usage error, not a refused resume.
  SegctlRun unreadable = Segctl({"import", "csv", file, "--header=false", kRowColumns, progress,
                                 "--resume", "--key_file=" + dir_ + "/no-such.key"});
  EXPECT_EQ(unreadable.exit_code, 2) << unreadable.err;
  EXPECT_THAT(unreadable.err, HasSubstr("no-such.key"));
  EXPECT_THAT(unreadable.err, Not(HasSubstr("not this one")));
  SegctlRun same =
      Segctl({"import", "csv", file, "--header=false", kRowColumns, progress, "--resume"});
  EXPECT_EQ(same.exit_code, 0) << same.err;
  EXPECT_THAT(same.out, HasSubstr("2 skipped by --resume"));

  const std::string header_only = dir_ + "/header_only.csv";
  std::ofstream(header_only) << "customer,order,date,amount\n\n";
  SegctlRun nothing = Segctl({"import", "csv", header_only, kRowColumns,
                              "--progress_file=" + dir_ + "/progress.header_only"});
  EXPECT_EQ(nothing.exit_code, 1) << nothing.out;
  EXPECT_THAT(nothing.err, HasSubstr("holds no row of data: nothing to import"));
}

TEST_F(SegctlE2eTest, OnlineRetailEndToEnd) {
  const std::string data = DataDir();
  ASSERT_FALSE(data.empty()) << "set SEGMENTD_DATA to the directory of online_retail_30k.csv";
  ASSERT_NO_FATAL_FAILURE(DisableStatisticalSegments());
  // Independent figures. InvoiceNo is the first field, CustomerID and Country
  // the last two (only Description is ever quoted, and no Country has a comma).
  std::map<std::string, std::set<std::string>> invoices;  // customer -> invoices
  int64_t without_customer = 0, cancellation_rows = 0;
  std::ifstream in(data + "/online_retail_30k.csv");
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::vector<std::string> f = absl::StrSplit(line, ',');
    ASSERT_GE(f.size(), 8u) << line;
    std::string customer = f[f.size() - 2];
    if (absl::EndsWith(customer, ".0")) customer.resize(customer.size() - 2);
    if (customer.empty()) {
      ++without_customer;
    } else if (f[0][0] == 'C') {
      ++cancellation_rows;
    } else {
      invoices[customer].insert(f[0]);
    }
  }
  std::map<std::string, int> orders;
  int64_t total = 0;
  for (const auto& [customer, set] : invoices) {
    orders[customer] = static_cast<int>(set.size());
    total += static_cast<int64_t>(set.size());
  }
  google::protobuf::Struct report = Import({"retail", data + "/online_retail_30k.csv"});
  EXPECT_EQ(Number(report, "rows"), 30001);
  EXPECT_EQ(Number(report, "orders"), total);
  EXPECT_EQ(Number(report, "applied"), total);
  EXPECT_EQ(Number(report, "bad_rows"), 0);
  const auto& skipped = report.fields().at("skipped").struct_value().fields();
  EXPECT_EQ(skipped.at("row without CustomerID").number_value(), without_customer);
  EXPECT_EQ(skipped.at("cancellation (C invoice) row").number_value(), cancellation_rows);
  ExpectPurchaseSegments(orders, absl::FromCivil(absl::CivilDay(2012, 1, 1), absl::UTCTimeZone()));
  google::protobuf::Struct again = Import({"retail", data + "/online_retail_30k.csv"});
  EXPECT_EQ(Number(again, "applied"), 0);
  EXPECT_EQ(Number(again, "duplicates"), total);
}

}  // namespace
}  // namespace segmentd
