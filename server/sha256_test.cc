#include "server/sha256.h"

#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"

namespace segmentd {
namespace {

std::string Hex(const Sha256Digest& d) {
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(d.data()), d.size()));
}

// Expected values: FIPS 180-2 test vectors, and `sha256sum` for the rest.
TEST(Sha256Test, KnownDigests) {
  EXPECT_EQ(Hex(Sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Hex(Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Hex(Sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256Test, PrefixContinuedEqualsTheWholeInput) {
  const std::string prefix(100, 'p');  // longer than one 64-byte block
  const Sha256Prefix state(prefix);
  for (const std::string& tail : {std::string(), std::string("x"), std::string(200, 'y')}) {
    EXPECT_EQ(state.Finish({tail}), Sha256(prefix + tail)) << tail.size();
    EXPECT_EQ(state.Finish({tail.substr(0, tail.size() / 2), tail.substr(tail.size() / 2)}),
              Sha256(prefix + tail));
  }
  // Finishing leaves the shared state as it was.
  EXPECT_EQ(state.Finish({"abc"}), state.Finish({"abc"}));
}

}  // namespace
}  // namespace segmentd
