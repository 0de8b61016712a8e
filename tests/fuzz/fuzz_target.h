#ifndef SEGMENTD_TESTS_FUZZ_FUZZ_TARGET_H_
#define SEGMENTD_TESTS_FUZZ_FUZZ_TARGET_H_

// What every fuzz target (tests/fuzz/fuzz.bzl) defines, and how it reports a
// broken property. A target returns normally for any input the code under
// test handles as documented (rejecting it included); anything else aborts,
// which libFuzzer and the seed test both report as a failure.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace segmentd::fuzz {

// Inputs that reach the target's interesting paths, built from the real
// messages: the seed test runs them, and scripts/fuzz.sh starts libFuzzer's
// corpus from them.
std::vector<std::string> Seeds();

// Prints where and what, then aborts.
[[noreturn]] void Fail(const char* file, int line, const std::string& what);

}  // namespace segmentd::fuzz

// Aborts with the condition and `detail` (a string) when `condition` is false.
#define FUZZ_CHECK(condition, detail)                                                        \
  do {                                                                                       \
    if (!(condition)) {                                                                      \
      ::segmentd::fuzz::Fail(__FILE__, __LINE__, std::string(#condition) + ": " + (detail)); \
    }                                                                                        \
  } while (false)

#endif  // SEGMENTD_TESTS_FUZZ_FUZZ_TARGET_H_
