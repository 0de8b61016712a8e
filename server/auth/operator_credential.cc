#include "server/auth/operator_credential.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace segmentd {
namespace {

absl::Status WriteNewTokenFile(const std::string& path, const std::string& text) {
  // O_EXCL: two servers starting at once on one data dir must not overwrite each
  // other's token; the loser reads the winner's file.
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return absl::AlreadyExistsError(path);
    // A missing directory or one segmentd may not write to: the flag names
    // a file no server can use (a usage error, main's exit status 2).
    return absl::InvalidArgumentError(
        absl::StrCat("operator_key_file: cannot create ", path, ": ", std::strerror(errno)));
  }
  const std::string line = text + "\n";
  const bool ok = write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
                  fsync(fd) == 0;
  close(fd);
  if (!ok) {
    unlink(path.c_str());
    return absl::FailedPreconditionError(absl::StrCat("cannot write operator key file ", path));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ApiKeyToken> LoadOrCreateOperatorToken(const std::string& path) {
  if (path.empty()) return absl::InvalidArgumentError("operator_key_file: must not be empty");
  std::ifstream in(path);
  if (!in) {
    const ApiKeyToken token = GenerateOperatorToken();
    absl::Status written = WriteNewTokenFile(path, FormatApiKeyToken(token));
    if (written.ok()) return token;
    if (!absl::IsAlreadyExists(written)) return written;
    in.open(path);
    if (!in)
      return absl::InvalidArgumentError(absl::StrCat("operator_key_file: cannot read ", path));
  }
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<ApiKeyToken> token =
      ParseApiKeyToken(absl::StripAsciiWhitespace(text.str()));
  if (!token.ok() || token->key_id != kOperatorKeyId) {
    return absl::InvalidArgumentError(absl::StrCat(
        "operator_key_file: ", path, " does not hold an operator token (sd_operator_<secret>)"));
  }
  return token;
}

}  // namespace segmentd
