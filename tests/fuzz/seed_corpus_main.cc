// The main of every `<target>_seed_test` (tests/fuzz/fuzz.bzl).
//
//   <target>_seed_test [DIR]       runs every seed of the target and every
//                                  file in DIR through it; exits 0 when all
//                                  ran clean (a broken property aborts)
//   <target>_seed_test --write DIR writes the seeds into DIR, one file each,
//                                  as libFuzzer's starting corpus
#include <dirent.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_target.h"

namespace {

void Run(const std::string& input) {
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
}

// The files of `dir` (no subdirectories), or false when it cannot be read.
bool ReadDir(const std::string& dir, std::vector<std::string>* files) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return false;
  while (const dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream in(dir + "/" + e->d_name, std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    files->push_back(bytes.str());
  }
  closedir(d);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> seeds = segmentd::fuzz::Seeds();
  if (argc == 3 && std::string(argv[1]) == "--write") {
    for (size_t i = 0; i < seeds.size(); ++i) {
      const std::string path = std::string(argv[2]) + "/seed-" + std::to_string(i);
      std::ofstream out(path, std::ios::binary);
      out << seeds[i];
      if (!out) {
        std::fprintf(stderr, "cannot write %s\n", path.c_str());
        return 1;
      }
    }
    std::printf("wrote %zu seeds to %s\n", seeds.size(), argv[2]);
    return 0;
  }
  if (argc > 2) {
    std::fprintf(stderr, "usage: %s [DIR] | --write DIR\n", argv[0]);
    return 2;
  }
  std::vector<std::string> files;
  if (argc == 2 && !ReadDir(argv[1], &files)) {
    std::fprintf(stderr, "cannot read the directory %s\n", argv[1]);
    return 1;
  }
  for (const std::string& seed : seeds) Run(seed);
  for (const std::string& file : files) Run(file);
  std::printf("%zu seeds and %zu files ran clean\n", seeds.size(), files.size());
  // A target with nothing to run would pass without testing anything.
  return seeds.size() + files.size() > 0 ? 0 : 1;
}
