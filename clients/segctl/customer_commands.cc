// segctl classify, watch, check, targets.
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <functional>
#include <optional>
#include <thread>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "clients/segctl/command.h"
#include "clients/segctl/table.h"
#include "clients/segctl/target_flags.h"
#include "google/protobuf/struct.pb.h"
#include "segmentd/v1/classification.pb.h"
#include "segmentd/v1/watch.pb.h"

namespace segmentd::segctl {
namespace {

int Classify(const Context& ctx) {
  clients::ClassifyOptions options;
  absl::StatusOr<std::optional<absl::Time>> as_of = OptionalInstant(ctx, "as_of");
  if (!as_of.ok()) return ctx.Usage(std::string(as_of.status().message()));
  options.as_of = *as_of;
  absl::StatusOr<bool> reasons = ctx.args->GetBool("reasons");
  if (!reasons.ok()) return ctx.Usage(std::string(reasons.status().message()));
  options.include_reasons = *reasons;
  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());
  absl::StatusOr<v1::ClassifyCustomersResponse> result =
      (*client)->ClassifyCustomers(ctx.args->positional(), options);
  if (!result.ok()) return ctx.Fail(result.status());
  if (ctx.json) {
    ctx.PrintJson(*result);  // with `as_of`: the instant evaluated
    return kExitOk;
  }
  Table t({"CUSTOMER", "PRIMARY", "SEGMENTS", "NEXT_CHANGE"});
  for (const v1::CustomerClassification& c : result->classifications()) {
    if (!c.found()) {
      t.AddRow({c.customer_id(), "(unknown customer)", "", ""});
      continue;
    }
    const v1::Membership& m = c.membership();
    t.AddRow({c.customer_id(), m.primary_segment().empty() ? "-" : m.primary_segment(),
              absl::StrJoin(m.segments(), ","), FormatTimestamp(m.next_change_at())});
  }
  t.Print(*ctx.out);
  if (options.include_reasons) {
    for (const v1::CustomerClassification& c : result->classifications()) {
      for (const v1::SegmentReason& r : c.reasons()) {
        *ctx.out << "  " << EscapeCell(c.customer_id()) << " " << EscapeCell(r.segment()) << ": "
                 << EscapeCell(r.reason()) << "\n";
      }
    }
  }
  return kExitOk;
}

// The write end of StopSignalHook's pipe, for its signal handler.
std::atomic<int> stop_signal_pipe{-1};

void WriteStopSignal(int signal) {
  const int saved = errno;
  const char byte = static_cast<char>(signal);
  (void)!write(stop_signal_pipe.load(), &byte, 1);
  errno = saved;
}

// While it exists, SIGINT (Ctrl-C) and SIGTERM (what systemd, Docker and
// kill send) run `on_signal` on a thread of its own instead of ending the
// process; then their previous actions are back. A signal ignored already
// (SIGINT in a background job of a script) stays ignored. One at a time.
// Not thread-safe.
class StopSignalHook {
 public:
  explicit StopSignalHook(std::function<void()> on_signal) {
    if (pipe(fds_) != 0) return;  // then the signals end segctl as before
    stop_signal_pipe = fds_[1];
    thread_ = std::thread([this, on_signal = std::move(on_signal)] {
      while (true) {
        char byte = 0;
        const ssize_t n = read(fds_[0], &byte, 1);
        if (n < 0 && errno == EINTR) continue;
        if (n != 1 || byte == 0) return;
        int none = 0;
        fired_.compare_exchange_strong(none, byte);  // the first signal is the one reported
        on_signal();
      }
    });
    for (size_t i = 0; i < kSignals.size(); ++i) {
      struct sigaction current = {};
      if (sigaction(kSignals[i], nullptr, &current) != 0 || current.sa_handler == SIG_IGN) continue;
      struct sigaction action = {};
      action.sa_handler = WriteStopSignal;
      action.sa_flags = SA_RESTART;
      sigemptyset(&action.sa_mask);
      hooked_[i] = sigaction(kSignals[i], &action, &previous_[i]) == 0;
    }
  }
  ~StopSignalHook() {
    if (!thread_.joinable()) return;
    for (size_t i = 0; i < kSignals.size(); ++i) {
      if (hooked_[i]) sigaction(kSignals[i], &previous_[i], nullptr);
    }
    const char done = 0;
    (void)!write(fds_[1], &done, 1);
    thread_.join();
    stop_signal_pipe = -1;
    close(fds_[0]);
    close(fds_[1]);
  }
  StopSignalHook(const StopSignalHook&) = delete;
  StopSignalHook& operator=(const StopSignalHook&) = delete;

  // The signal that arrived first, 0 if none.
  int fired() const { return fired_; }

 private:
  static constexpr std::array<int, 2> kSignals = {SIGINT, SIGTERM};
  int fds_[2] = {-1, -1};
  std::array<struct sigaction, 2> previous_ = {};
  std::array<bool, 2> hooked_ = {false, false};
  std::atomic<int> fired_{0};
  std::thread thread_;
};

int Watch(const Context& ctx) {
  clients::WatchOptions options;
  for (const std::string& s : ctx.args->GetAll("segment")) {
    for (absl::string_view part : absl::StrSplit(s, ',', absl::SkipWhitespace())) {
      options.segments.emplace_back(part);
    }
  }
  options.resume_after = ctx.args->Get("resume_after");
  int64_t limit = -1;
  if (ctx.args->Has("limit") && (!absl::SimpleAtoi(ctx.args->Get("limit"), &limit) || limit < 1)) {
    return ctx.Usage("--limit takes a count >= 1");
  }
  if (ctx.args->Has("for")) {
    absl::Duration d;
    if (!absl::ParseDuration(ctx.args->Get("for"), &d) || d <= absl::ZeroDuration()) {
      return ctx.Usage("--for takes a duration such as 30s or 5m");
    }
    options.timeout = d;
  }
  // Where to resume: the last change printed, or past it where the stream
  // was read further (changes of segments not asked for).
  std::string resume_after;
  // Announced once the server has accepted the watch (its first response is
  // a position), not before a refusal.
  bool announced = ctx.json;
  options.on_position = [&](const std::string& position) {
    resume_after = position;
    if (announced) return;
    announced = true;
    *ctx.err << "watching "
             << (options.segments.empty() ? "all segments" : absl::StrJoin(options.segments, ","))
             << " (Ctrl-C stops)\n";
  };
  // Ctrl-C (or SIGTERM) ends the watch as --limit does: where to go on
  // from is printed.
  clients::WatchStopper stopper;
  options.stopper = &stopper;
  StopSignalHook stop_signal([&stopper] { stopper.Stop(); });
  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());
  int64_t seen = 0;
  absl::Status s = (*client)->Watch(options, [&](const v1::MembershipChange& c) {
    if (ctx.json) {
      ctx.PrintJson(c);
    } else {
      *ctx.out << FormatTimestamp(c.changed_at()) << "  " << EscapeCell(c.customer_id()) << "  "
               << (c.kind() == v1::CHANGE_KIND_ENTERED ? "ENTERED" : "LEFT   ") << "  "
               << EscapeCell(c.segment())
               << "  cause=" << v1::ChangeCause_Name(c.cause()).substr(13)
               << "  position=" << c.position() << "\n";
    }
    ctx.out->flush();
    resume_after = c.position();
    return limit < 0 || ++seen < limit;
  });
  // Where to go on from: for people on stderr, for scripts (--json) as the
  // last object on stdout, {"resume_after":"POSITION"}.
  if (!resume_after.empty()) {
    if (ctx.json) {
      google::protobuf::Struct end;
      (*end.mutable_fields())["resume_after"].set_string_value(resume_after);
      ctx.PrintJson(end);
    } else {
      *ctx.err << "to go on from here: --resume_after=" << resume_after << "\n";
    }
  }
  if (stop_signal.fired() == SIGINT) return kExitInterrupted;
  if (stop_signal.fired() != 0) return 128 + stop_signal.fired();  // 143: SIGTERM
  // The --for time running out is the normal end of a bounded watch.
  if (!s.ok() && !(s.code() == absl::StatusCode::kDeadlineExceeded && ctx.args->Has("for"))) {
    return ctx.Fail(s);
  }
  return kExitOk;
}

int Check(const Context& ctx) {
  absl::StatusOr<v1::TargetRef> ref = TargetFromFlags(ctx);
  if (!ref.ok()) return ctx.Usage(std::string(ref.status().message()));
  absl::StatusOr<std::optional<absl::Time>> as_of = OptionalInstant(ctx, "as_of");
  if (!as_of.ok()) return ctx.Usage(std::string(as_of.status().message()));
  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());
  Table t({"CUSTOMER", "ELIGIBLE", "ARM", "MATCHED"});
  for (const std::string& id : ctx.args->positional()) {
    // An operator's check must reflect what was just imported or sent, and
    // is not latency-bound: fully consistent.
    absl::StatusOr<v1::Eligibility> e =
        (*client)->CheckEligibility(*ref, id, v1::CONSISTENCY_FULLY_CONSISTENT, *as_of);
    if (!e.ok()) return ctx.Fail(InFlagTerms(e.status()));
    if (ctx.json) {
      ctx.PrintJson(*e);
    } else {
      // As classify says it: a mistyped id is not a customer who is not eligible.
      // At an as_of, a stored customer whose first fact is later is not found
      // either: not a customer yet.
      // (The server does not tell an id it never saw from one whose facts all
      // come later.)
      const char* not_found =
          as_of->has_value() ? "no (unknown, or no facts by --as_of)" : "no (unknown customer)";
      t.AddRow({id, e->eligible() ? "yes" : (e->found() ? "no" : not_found), e->arm(),
                absl::StrJoin(e->matched_segments(), ",")});
    }
  }
  if (!ctx.json) t.Print(*ctx.out);
  return kExitOk;
}

int Targets(const Context& ctx) {
  absl::StatusOr<v1::TargetRef> ref = TargetFromFlags(ctx);
  if (!ref.ok()) return ctx.Usage(std::string(ref.status().message()));
  absl::StatusOr<std::optional<absl::Time>> as_of = OptionalInstant(ctx, "as_of");
  if (!as_of.ok()) return ctx.Usage(std::string(as_of.status().message()));
  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());
  absl::StatusOr<v1::CountTargetsResponse> r = (*client)->CountTargets(*ref, *as_of);
  if (!r.ok()) return ctx.Fail(InFlagTerms(r.status()));
  if (ctx.json) {
    ctx.PrintJson(*r);
    return kExitOk;
  }
  *ctx.out << r->customers() << " customers\n";
  for (const v1::ArmCount& a : r->arms())
    *ctx.out << "  arm " << EscapeCell(a.arm()) << ": " << a.customers() << "\n";
  return kExitOk;
}

const std::vector<FlagSpec> kTargetFlags = {
    {"voucher", "ID", "a registered voucher target", ""},
    {"all_of", "SEG,SEG", "customers in every one of these segments", ""},
    {"any_of", "SEG,SEG", "customers in at least one of these segments", ""},
    {"none_of", "SEG,SEG", "customers in none of these segments", ""},
    {"as_of", "TIME",
     "evaluate at this instant (RFC 3339 or YYYY-MM-DD): classifies the stored facts there, "
     "every customer's for `targets` (seconds per million: raise --timeout for large tenants)",
     "now"},
};

}  // namespace

std::vector<Command> CustomerCommands() {
  return {
      {"classify",
       "CUSTOMER_ID...",
       "show customers' segments (primary, all, next change: by time alone, or at an event dated "
       "after the instant shown)",
       "",
       {{"as_of", "TIME", "evaluate at this instant (RFC 3339 or YYYY-MM-DD)", "now"},
        {"reasons", "", "also print why the customer is in each segment", ""}},
       1,
       SIZE_MAX,
       Classify},
      {"watch",
       "",
       "print membership changes as they happen (ENTERED/LEFT, cause)",
       "At the end (--limit or --for reached, Ctrl-C or SIGTERM, or the stream failed) it\n"
       "prints where to go on from: \"to go on from here: --resume_after=POSITION\" on\n"
       "stderr, or with --json a last line {\"resume_after\":\"POSITION\"} on stdout after\n"
       "the changes (one JSON object per line, MembershipChange objects before it); the\n"
       "server names the start position at once, so a watch that saw no change prints it\n"
       "too. Nothing when the stream was not read at all. Stopped by Ctrl-C (SIGINT), it\n"
       "exits 130; by SIGTERM, 143.",
       {{"segment", "SEG[,SEG]", "only these segments (repeatable)", "all"},
        {"resume_after", "POSITION",
         "continue after this position (printed with each change, and at the end: where to go on)",
         ""},
        {"limit", "N", "stop after N changes", ""},
        {"for", "DURATION", "stop after this long, e.g. 30s", ""}},
       0,
       0,
       Watch},
      {"check", "CUSTOMER_ID...",
       "is each customer eligible for a voucher target? (TargetingService; fully consistent: "
       "reflects every change acknowledged before the call)",
       "", kTargetFlags, 1, SIZE_MAX, Check},
      {"targets", "", "count the customers a voucher target selects (TargetingService)", "",
       kTargetFlags, 0, 0, Targets},
  };
}

}  // namespace segmentd::segctl
