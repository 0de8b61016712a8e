#include "tests/fuzz/fuzz_target.h"

#include <cstdio>
#include <cstdlib>

namespace segmentd::fuzz {

void Fail(const char* file, int line, const std::string& what) {
  std::fprintf(stderr, "%s:%d: fuzz property failed: %s\n", file, line, what.c_str());
  std::abort();
}

}  // namespace segmentd::fuzz
