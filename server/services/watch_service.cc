#include "server/services/watch_service.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/segment.h"
#include "server/field_error.h"
#include "server/grpc_status.h"
#include "server/proto_time.h"
#include "server/targeting/expression.h"

namespace segmentd {
namespace {

v1::ChangeCause ToProto(store::ChangeCause cause) {
  switch (cause) {
    case store::ChangeCause::kEvent:
      return v1::CHANGE_CAUSE_EVENT;
    case store::ChangeCause::kTime:
      return v1::CHANGE_CAUSE_TIME;
    case store::ChangeCause::kConfig:
      return v1::CHANGE_CAUSE_CONFIG;
    case store::ChangeCause::kStatistics:
      return v1::CHANGE_CAUSE_STATISTICS;
  }
  return v1::CHANGE_CAUSE_UNSPECIFIED;
}

// A stream position, "<ms>-<seq>" (a Redis stream id), as numbers.
using Position = std::pair<uint64_t, uint64_t>;

// Parses a position; nullopt unless it is two decimal numbers that fit 64 bits.
std::optional<Position> ParsePosition(absl::string_view position) {
  const size_t dash = position.find('-');
  if (dash == absl::string_view::npos) return std::nullopt;
  const absl::string_view ms = position.substr(0, dash);
  const absl::string_view seq = position.substr(dash + 1);
  auto digits = [](absl::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), absl::ascii_isdigit);
  };
  Position p;
  if (!digits(ms) || !digits(seq) || !absl::SimpleAtoi(ms, &p.first) ||
      !absl::SimpleAtoi(seq, &p.second)) {
    return std::nullopt;
  }
  return p;
}

// Returns true when position `a` is before the retained entry `b`, i.e. the
// entry right after `a` might have been dropped. Both parse (ParsePosition).
bool PositionBefore(absl::string_view a, absl::string_view b) {
  // `a` names the last entry the reader has; the gap is real only if the first
  // retained entry is not the one right after it, which the stream cannot
  // tell, so any `a` older than the oldest retained entry is refused.
  return ParsePosition(a) < ParsePosition(b);
}

// Why a watch from `position` cannot go on: the stream's cap dropped
// changes after it. `what` names the position's source.
absl::Status NotRetained(absl::string_view what, absl::string_view position,
                         absl::string_view oldest) {
  return absl::OutOfRangeError(absl::StrCat(
      what, ": changes after ", position, " are no longer retained (oldest kept: ", oldest,
      "); watch from now, record its first position, then re-read current "
      "membership"));
}

}  // namespace

WatchServiceImpl::WatchServiceImpl(Authenticator* authenticator, store::CustomerStore* store,
                                   Options options)
    : store_(store),
      options_(options),
      authorizer_(authenticator, v1::WatchService::service_full_name()),
      open_(options.max_per_tenant),
      all_(options.max_total) {}

grpc::Status WatchServiceImpl::Watch(grpc::ServerContext* context, const v1::WatchRequest* request,
                                     grpc::ServerWriter<v1::WatchResponse>* writer) {
  absl::StatusOr<Caller> caller = authorizer_.Authorize(*context, "Watch");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  if (stopping_.load()) {
    return ToGrpcStatus(absl::UnavailableError(
        "segmentd is shutting down: watch another replica (with resume_after to go on)"));
  }
  const TenantSlots::Slot slot = open_.Take(caller->tenant_id);
  if (!slot.held()) {
    return ToGrpcStatus(absl::ResourceExhaustedError(absl::StrCat(
        "tenant ", caller->tenant_id, " already has ", options_.max_per_tenant,
        " watches open, the most allowed (--max_watches_per_tenant): close one, or filter one "
        "watch by several segments instead of opening one per segment")));
  }
  const TenantSlots::Slot server_slot = all_.Take("");
  if (!server_slot.held()) {
    return ToGrpcStatus(absl::ResourceExhaustedError(absl::StrCat(
        "this replica already has ", options_.max_total,
        " watches open, all tenants together, the most allowed (--max_watches, or what "
        "--max_threads leaves when it is unset: the start-up log says): watch another replica, "
        "or close one")));
  }
  absl::flat_hash_set<std::string> filter;
  for (int i = 0; i < request->segments_size(); ++i) {
    if (absl::Status s =
            targeting::ValidateSegmentName(request->segments(i), absl::StrCat("segments[", i, "]"));
        !s.ok()) {
      return ToGrpcStatus(s);
    }
    if (!filter.insert(request->segments(i)).second) {
      return ToGrpcStatus(FieldError(absl::StrCat("segments[", i, "]"),
                                     absl::StrCat(Excerpt(request->segments(i)), " named twice")));
    }
  }
  std::string position = request->resume_after();
  if (position.empty()) {
    absl::StatusOr<std::string> last = store_->LastChangePosition(caller->tenant_id);
    if (!last.ok()) return ToGrpcStatus(last.status());
    position = *last;
  } else if (!ParsePosition(position).has_value()) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        "resume_after: not a position returned by Watch (expected \"<ms>-<seq>\")"));
  } else {
    // Ahead of the newest change, the watch would wait silently for the
    // stream to get there (years, for a made-up position).
    absl::StatusOr<std::string> last = store_->LastChangePosition(caller->tenant_id);
    if (!last.ok()) return ToGrpcStatus(last.status());
    if (PositionBefore(*last, position)) {
      return ToGrpcStatus(absl::OutOfRangeError(absl::StrCat(
          "resume_after: ", position, " is ahead of this tenant's newest change (", *last,
          "): not a position its Watch returned, or the store went back since; re-read "
          "current membership after a new watch's first position")));
    }
    // Refuse to resume across a gap: a campaign tool must never silently miss
    // changes that the capped stream already dropped.
    absl::StatusOr<std::optional<std::string>> retained =
        store_->RetainedFrom(caller->tenant_id);
    if (!retained.ok()) return ToGrpcStatus(retained.status());
    if (retained->has_value() && PositionBefore(position, **retained)) {
      return ToGrpcStatus(NotRetained("resume_after", position, **retained));
    }
  }

  // A filtered watcher learns how far the stream was read even when no
  // change matched (WatchResponse.position), but not once per read.
  absl::Time position_sent = absl::InfinitePast();
  bool position_unsent = false;
  auto send = [&](v1::WatchResponse& response) {
    response.set_position(position);
    position_unsent = false;
    position_sent = absl::Now();
    return writer->Write(response);
  };
  // The first response names where the watch starts, before any change: a
  // client can record it at once, so a stream that breaks before its first
  // change still leaves a position to resume from, and a client that reads
  // membership after it misses nothing in between.
  {
    v1::WatchResponse start;
    if (!send(start)) return grpc::Status::OK;
  }
  StreamReauthorizer still_authorized(authorizer_, *context, "Watch", options_.reauthorize_every);
  while (!context->IsCancelled()) {
    if (stopping_.load()) {
      v1::WatchResponse response;
      if (position_unsent) send(response);
      return ToGrpcStatus(absl::UnavailableError(
          absl::StrCat("segmentd is shutting down: watch again (another replica) with "
                       "resume_after=",
                       position)));
    }
    if (absl::Status s = still_authorized.Check(); !s.ok()) return ToGrpcStatus(s);
    absl::StatusOr<store::ChangeTail> tail =
        store_->ReadChangeTail(caller->tenant_id, position, options_.batch, options_.poll);
    if (!tail.ok()) return ToGrpcStatus(tail.status());
    if (tail->changes.empty()) {
      // Quiet: the position the last reads reached, if not told yet.
      v1::WatchResponse response;
      if (position_unsent && !send(response)) break;
      continue;
    }
    // A watcher that fell further behind than the stream's cap would skip
    // what was dropped: end the stream instead, as a resume would be refused.
    if (tail->retained_from.has_value() && PositionBefore(position, *tail->retained_from)) {
      return ToGrpcStatus(NotRetained("this watch fell behind", position, *tail->retained_from));
    }
    v1::WatchResponse response;
    for (const store::StoredChange& change : tail->changes) {
      position = change.position;
      if (!filter.empty() && !filter.contains(change.segment)) continue;
      v1::MembershipChange* out = response.add_changes();
      out->set_customer_id(change.customer_id);
      out->set_segment(change.segment);
      out->set_kind(change.entered ? v1::CHANGE_KIND_ENTERED : v1::CHANGE_KIND_LEFT);
      *out->mutable_changed_at() = ToProtoTime(change.changed_at);
      out->set_cause(ToProto(change.cause));
      out->set_position(change.position);
    }
    if (response.changes_size() == 0 && absl::Now() - position_sent < options_.position_every) {
      position_unsent = true;
      continue;
    }
    if (!send(response)) break;
  }
  return grpc::Status::OK;
}

}  // namespace segmentd
