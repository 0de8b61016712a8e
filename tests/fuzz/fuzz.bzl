"""fuzz_target(): a libFuzzer target with its seed test and its fuzzing binary.

For a target `name` whose `srcs` define LLVMFuzzerTestOneInput and
segmentd::fuzz::Seeds() (tests/fuzz/fuzz_target.h):
  - `<name>_seed_test` runs every seed, and every file in the package's
    `testdata/<name>/` (inputs that once failed, or seeds kept as files),
    through the target with the normal toolchain: part of `bazel test //...`;
  - `<name>` is the libFuzzer binary. It links only under --config=fuzz (which
    supplies libFuzzer's main), so it is tagged manual; scripts/fuzz.sh builds
    and runs it with AddressSanitizer and UndefinedBehaviorSanitizer.
"""

def fuzz_target(name, srcs, deps):
    native.cc_library(
        name = name + "_lib",
        testonly = True,
        srcs = srcs,
        deps = deps + ["//tests/fuzz:fuzz_target"],
        alwayslink = True,
    )
    regressions = "testdata/" + name
    files = native.glob([regressions + "/*"], allow_empty = True)
    native.cc_test(
        name = name + "_seed_test",
        size = "small",
        data = files,
        args = [native.package_name() + "/" + regressions] if files else [],
        deps = [
            ":" + name + "_lib",
            "//tests/fuzz:seed_corpus_main",
        ],
    )
    native.cc_binary(
        name = name,
        testonly = True,
        tags = ["manual"],
        deps = [":" + name + "_lib"],
    )
