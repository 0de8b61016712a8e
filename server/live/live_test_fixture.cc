#include "server/live/live_test_fixture.h"

#include <utility>

namespace segmentd {

LiveTestFixture::LiveTestFixture(absl::Time start, TenantContexts::Options context_options)
    : now_(start) {
  context_options.now = [this] { return now_; };
  contexts_ = std::make_unique<TenantContexts>(&store_, std::move(context_options));
  LiveMembership::Options options;
  options.now = [this] { return now_; };
  live_ = std::make_unique<LiveMembership>(&store_, contexts_.get(), options);
}

}  // namespace segmentd
