// Runs the mapping fuzz target over its seed corpus (testdata/fuzz_seeds), so
// the seeds stay a regression test without a fuzzing toolchain.
#include <dirent.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

TEST(MappingFuzzSeedTest, EverySeedRunsClean) {
  const std::string dir =
      std::string(std::getenv("TEST_SRCDIR")) + "/segmentd/clients/import/testdata/fuzz_seeds";
  DIR* d = opendir(dir.c_str());
  ASSERT_NE(d, nullptr) << dir;
  int seeds = 0;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream in(dir + "/" + e->d_name, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    const std::string bytes = s.str();
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    ++seeds;
  }
  closedir(d);
  EXPECT_GE(seeds, 3);
}

}  // namespace
