#include "server/targeting/disabled_segments.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/segment.h"
#include "server/targeting/expression.h"

namespace segmentd::targeting {

std::vector<std::string> DisabledSegmentWarnings(const v1::TargetExpression& expression,
                                                 const engine::SegmentConfig& config) {
  std::vector<std::string> warnings;
  for (const std::string& name : MentionedSegments(expression)) {
    bool enabled = true;
    if (absl::StartsWith(name, "category:")) {
      enabled = config.category_affinity.enabled;
    } else if (std::optional<engine::Segment> segment = engine::SegmentFromName(name)) {
      enabled = engine::SegmentEnabled(config, *segment);
    }
    if (!enabled) {
      warnings.push_back(absl::StrCat(
          name, " is disabled in the tenant's config: it has no members while disabled"));
    }
  }
  return warnings;
}

}  // namespace segmentd::targeting
