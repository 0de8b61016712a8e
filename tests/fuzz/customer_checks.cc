#include "tests/fuzz/customer_checks.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/config.h"
#include "engine/profile_codec.h"
#include "engine/segment.h"
#include "engine/time_ms.h"
#include "tests/fuzz/fuzz_target.h"

namespace segmentd::fuzz {
namespace {

using engine::Classification;
using engine::FromMillis;
using engine::Millis;

std::string Show(const Classification& c) {
  std::string s = c.segments.DebugString();
  for (engine::CategoryId id : c.categories) absl::StrAppend(&s, " cat", id);
  for (engine::CategoryId id : c.cart_categories) absl::StrAppend(&s, " cart", id);
  absl::StrAppend(&s, " next ",
                  c.next_change ? absl::FormatTime(*c.next_change) : std::string("none"));
  return s;
}

void CheckNextChange(const engine::Classifier& classifier, const engine::ProfileView& view,
                     absl::Time as_of, const Classification& at) {
  if (!at.next_change) return;
  const absl::Time next = *at.next_change;
  FUZZ_CHECK(next > as_of, absl::StrCat("at ", absl::FormatTime(as_of), ": ", Show(at)));
  const Classification before = classifier.Classify(view, next - absl::Milliseconds(1));
  FUZZ_CHECK(before.SameMembership(at),
             absl::StrCat("1 ms before the next change: ", Show(before), "; at ",
                          absl::FormatTime(as_of), ": ", Show(at)));
  const Classification after = classifier.Classify(view, next);
  FUZZ_CHECK(!after.SameMembership(at),
             absl::StrCat("no change at the next change: ", Show(after)));
}

void CheckFolding(const engine::Classifier& classifier, const engine::Profile& profile,
                  absl::Time as_of, const Classification& at) {
  const Millis window = engine::DaysToMillis(engine::LongestWindowDays(classifier.config()));
  const Millis horizon = engine::ToMillis(as_of) - window;
  // Fold keeps instants from 1970 on; earlier horizons fold nothing.
  if (horizon < 0) return;
  engine::Profile folded = profile;
  folded.Fold(FromMillis(horizon));
  // Exact from EarliestExactInstant on, which a folded order's correction
  // dated after as_of puts later (its placement is gone: it cannot be undone).
  if (as_of < engine::EarliestExactInstant(folded.view(), classifier.config())) return;
  const Classification after = classifier.Classify(folded.view(), as_of);
  FUZZ_CHECK(after.SameMembership(at) && after.next_change == at.next_change,
             absl::StrCat("folded at ", absl::FormatTime(FromMillis(horizon)), ": ", Show(after),
                          "; unfolded: ", Show(at)));
}

// Folded at horizons after as_of (the first messages' sends, and as_of plus
// the longest window), messages sent before as_of may be dropped: where
// ExactAt still holds, membership is the full history's, and the next change
// looked for before KnownUntil (the first dropped send) is the full
// history's when that comes before it, else none.
void CheckFoldingAfter(const engine::Classifier& classifier, const engine::Profile& profile,
                       absl::Time as_of, const Classification& at) {
  const Millis t = engine::ToMillis(as_of);
  std::vector<Millis> horizons = {
      t + engine::DaysToMillis(engine::LongestWindowDays(classifier.config()))};
  for (size_t i = 0; i < profile.messages().size() && i < 3; ++i) {
    horizons.push_back(profile.messages()[i].sent_ms);
  }
  for (const Millis h : horizons) {
    if (h < t || h > engine::kMaxEventMillis) continue;
    engine::Profile folded = profile;
    folded.Fold(FromMillis(h));
    if (!engine::ExactAt(folded.view(), classifier.config(), as_of)) continue;
    const absl::Time until = engine::KnownUntil(folded.view(), classifier.config(), as_of);
    Classification c;
    classifier.ClassifyUntil(folded.view(), as_of, until, &c);
    // The full history's next change when it comes before `until`, else none.
    const bool expect_change = at.next_change.has_value() && *at.next_change < until;
    const bool same_next = expect_change
                               ? c.next_change.has_value() && *c.next_change == *at.next_change
                               : !c.next_change.has_value();
    FUZZ_CHECK(c.SameMembership(at) && same_next,
               absl::StrCat("folded at ", absl::FormatTime(FromMillis(h)), " (known until ",
                            absl::FormatTime(until), "): ", Show(c), "; unfolded: ", Show(at)));
  }
}

// Folded at a horizon inside some rule windows (a window lengthened after
// the fold), the profile is still a profile: its next change is exact for
// it. And where every windowed rule's window holds all its folded orders or
// none, with no correction of theirs after as_of, it answers as the full
// history does, category affinity and engagement aside (folding drops their
// inputs: checked under the same config without them). Horizons: half the
// longest window, and each of the first orders' placements.
void CheckFoldingWithinWindows(const engine::Classifier& classifier, const engine::Profile& profile,
                               absl::Time as_of) {
  engine::SegmentConfig k = classifier.config();
  k.category_affinity.enabled = false;
  k.engagement.enabled = false;
  absl::StatusOr<engine::Classifier> without = engine::Classifier::Create(k, classifier.stats());
  FUZZ_CHECK(without.ok(), without.status().ToString());
  const Millis t = engine::ToMillis(as_of);
  const Classification full = without->Classify(profile.view(), as_of);
  std::vector<Millis> horizons = {t - engine::DaysToMillis(engine::LongestWindowDays(k)) / 2};
  for (const engine::OrderFacts& o : profile.orders()) {
    if (o.placed_ms < t && horizons.size() < 4) horizons.push_back(o.placed_ms);
  }
  for (Millis horizon : horizons) {
    if (horizon < 0) continue;
    engine::Profile folded = profile;
    folded.Fold(FromMillis(horizon));
    const engine::ProfileView view = folded.view();
    const engine::FoldedTotals& f = view.folded;
    if (f.orders == 0) continue;
    const Classification after = without->Classify(view, as_of);
    CheckNextChange(*without, view, as_of, after);
    bool exact = true;
    for (int32_t days : {k.frequent_buyer.window_days, k.returning_customer.window_days,
                         k.big_spender.lookback_days, k.low_spender.lookback_days}) {
      const Millis start = t - engine::DaysToMillis(days);
      exact = exact && (f.AllWithin(start, t) || f.last_order_ms <= start);
    }
    for (const engine::OrderCorrection& c : view.corrections) {
      exact = exact && !(c.at_ms > t && !view.LiveOrder(c.order_fp).has_value());
    }
    if (!exact) continue;
    FUZZ_CHECK(after.SameMembership(full),
               absl::StrCat("folded within windows at ", absl::FormatTime(FromMillis(horizon)),
                            ": ", Show(after), "; unfolded: ", Show(full)));
  }
}

void CheckExplain(const engine::Classifier& classifier, const engine::ProfileView& view,
                  absl::Time as_of, const Classification& at) {
  for (const engine::SegmentExplanation& e : classifier.Explain(view, as_of)) {
    const std::optional<engine::Segment> segment = engine::SegmentFromName(e.segment);
    if (!segment) continue;  // a category: listed only when a member
    FUZZ_CHECK(e.member == at.segments.Contains(*segment),
               absl::StrCat(e.segment, " explained as ", e.member ? "member" : "not member", " (",
                            e.reason, "); classified: ", Show(at)));
  }
}

void CheckCodec(const engine::Profile& profile) {
  const std::string bytes = engine::EncodeProfile(profile);
  absl::StatusOr<engine::Profile> decoded = engine::DecodeProfile(bytes);
  FUZZ_CHECK(decoded.ok(), decoded.status().ToString());
  FUZZ_CHECK(*decoded == profile, "decoded profile differs");
  FUZZ_CHECK(engine::EncodeProfile(*decoded) == bytes, "re-encoded bytes differ");
}

}  // namespace

void CheckCustomer(const engine::Classifier& classifier, const engine::Profile& profile,
                   absl::Time as_of) {
  const engine::ProfileView view = profile.view();
  const Classification at = classifier.Classify(view, as_of);
  CheckNextChange(classifier, view, as_of, at);
  CheckFolding(classifier, profile, as_of, at);
  CheckFoldingAfter(classifier, profile, as_of, at);
  CheckFoldingWithinWindows(classifier, profile, as_of);
  CheckExplain(classifier, view, as_of, at);
  CheckCodec(profile);
}

std::vector<absl::Time> InstantsOf(const engine::Profile& profile, absl::Time now) {
  std::vector<Millis> marks;
  for (const engine::OrderFacts& o : profile.orders()) marks.push_back(o.placed_ms);
  for (const engine::MessageFacts& m : profile.messages()) marks.push_back(m.sent_ms);
  const engine::ProfileView view = profile.view();
  if (view.has_cart) marks.push_back(view.cart.updated_ms);
  if (view.registered_ms != engine::kNeverMillis) marks.push_back(view.registered_ms);
  std::vector<absl::Time> instants = {now};
  for (Millis m : marks) {
    for (Millis d : {-1, 0, 1}) instants.push_back(FromMillis(m + d));
  }
  return instants;
}

}  // namespace segmentd::fuzz
