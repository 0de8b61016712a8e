#include "server/sha256.h"

#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>

namespace segmentd {
namespace {

[[noreturn]] void DigestFailed() {
  std::fprintf(stderr, "segmentd: SHA-256 failed (out of memory?)\n");
  std::abort();
}

struct CtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

const EVP_MD* Algorithm() {
  static const EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (sha256 == nullptr) DigestFailed();
  return sha256;
}

}  // namespace

Sha256Prefix::Sha256Prefix(absl::string_view prefix) {
  std::shared_ptr<EVP_MD_CTX> ctx(EVP_MD_CTX_new(), CtxFree());
  if (ctx == nullptr || EVP_DigestInit_ex(ctx.get(), Algorithm(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), prefix.data(), prefix.size()) != 1) {
    DigestFailed();
  }
  state_ = std::move(ctx);
}

Sha256Digest Sha256Prefix::Finish(std::initializer_list<absl::string_view> parts) const {
  thread_local const std::unique_ptr<EVP_MD_CTX, CtxFree> scratch(EVP_MD_CTX_new());
  if (scratch == nullptr || EVP_MD_CTX_copy_ex(scratch.get(), state_.get()) != 1) DigestFailed();
  for (absl::string_view part : parts) {
    if (EVP_DigestUpdate(scratch.get(), part.data(), part.size()) != 1) DigestFailed();
  }
  Sha256Digest digest;
  unsigned int size = 0;
  if (EVP_DigestFinal_ex(scratch.get(), digest.data(), &size) != 1 || size != digest.size()) {
    DigestFailed();
  }
  return digest;
}

Sha256Digest Sha256(absl::string_view data) {
  static const Sha256Prefix* const empty = new Sha256Prefix("");
  return empty->Finish({data});
}

}  // namespace segmentd
