#include "testing/redis_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace segmentd::testing {
namespace {

// How often readiness and exit are polled.
constexpr absl::Duration kPollInterval = absl::Milliseconds(10);

bool IsExecutable(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
         access(path.c_str(), X_OK) == 0;
}

// Returns the absolute path of `binary`, searching $PATH and the usual
// Debian locations when it has no slash.
absl::StatusOr<std::string> FindBinary(const std::string& binary) {
  if (binary.find('/') != std::string::npos) {
    if (IsExecutable(binary)) return binary;
    return absl::NotFoundError(absl::StrCat(
        "redis-server binary \"", binary,
        "\" not found or not executable (install the Debian package "
        "redis-server)"));
  }
  std::vector<std::string> dirs;
  if (const char* path = getenv("PATH"); path != nullptr) {
    dirs = absl::StrSplit(path, ':', absl::SkipEmpty());
  }
  for (const char* dir : {"/usr/bin", "/usr/local/bin", "/usr/sbin"}) {
    dirs.push_back(dir);
  }
  for (const std::string& dir : dirs) {
    std::string candidate = absl::StrCat(dir, "/", binary);
    if (IsExecutable(candidate)) return candidate;
  }
  return absl::NotFoundError(absl::StrCat(
      "\"", binary,
      "\" not found on $PATH or in /usr/bin (install the Debian package "
      "redis-server)"));
}

absl::StatusOr<std::string> MakeTempDir(const std::string& base) {
  std::string templ = absl::StrCat(base, "/redis-XXXXXX");
  if (mkdtemp(templ.data()) == nullptr) {
    return absl::InternalError(
        absl::StrCat("mkdtemp(", templ, "): ", strerror(errno)));
  }
  return templ;
}

// Returns a TCP port on 127.0.0.1 that was free a moment ago: binds port 0 and
// reads back the port the kernel chose.
absl::StatusOr<int> PickUnusedTcpPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    absl::Status status =
        absl::InternalError(absl::StrCat("bind 127.0.0.1:0: ", strerror(errno)));
    close(fd);
    return status;
  }
  close(fd);
  return ntohs(addr.sin_port);
}

// Returns true when a redis-server answers PING on `socket_path`: PONG, or
// NOAUTH from a server that requires a password.
bool AnswersPing(const std::string& socket_path) {
  timeval tv{0, 200 * 1000};
  redisContext* ctx = redisConnectUnixWithTimeout(socket_path.c_str(), tv);
  if (ctx == nullptr) return false;
  bool ok = false;
  if (ctx->err == 0) {
    auto* reply = static_cast<redisReply*>(redisCommand(ctx, "PING"));
    ok = reply != nullptr &&
         ((reply->type == REDIS_REPLY_STATUS && std::string(reply->str, reply->len) == "PONG") ||
          (reply->type == REDIS_REPLY_ERROR &&
           std::string(reply->str, reply->len).rfind("NOAUTH", 0) == 0));
    if (reply != nullptr) freeReplyObject(reply);
  }
  redisFree(ctx);
  return ok;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RedisServer>> RedisServer::Start(Options options) {
  absl::StatusOr<std::string> binary_path = FindBinary(options.binary);
  if (!binary_path.ok()) return binary_path.status();

  const char* test_tmpdir = getenv("TEST_TMPDIR");
  std::string base =
      test_tmpdir != nullptr && *test_tmpdir != '\0' ? test_tmpdir : "/tmp";
  absl::StatusOr<std::string> dir = MakeTempDir(base);
  if (!dir.ok()) return dir.status();
  std::string data_dir = absl::StrCat(*dir, "/data");
  if (mkdir(data_dir.c_str(), 0700) != 0) {
    return absl::InternalError(
        absl::StrCat("mkdir(", data_dir, "): ", strerror(errno)));
  }
  // Unix socket paths are limited to sizeof(sun_path) - 1 bytes, and Bazel's
  // $TEST_TMPDIR is often longer than that: fall back to a short /tmp dir.
  std::string socket_dir = *dir;
  if (socket_dir.size() + sizeof("/redis.sock") > sizeof(sockaddr_un::sun_path)) {
    absl::StatusOr<std::string> short_dir = MakeTempDir("/tmp");
    if (!short_dir.ok()) return short_dir.status();
    socket_dir = *short_dir;
  }
  int tcp_port = 0;
  if (options.tcp) {
    absl::StatusOr<int> port = PickUnusedTcpPort();
    if (!port.ok()) return port.status();
    tcp_port = *port;
  }
  std::unique_ptr<RedisServer> server(new RedisServer(
      std::move(options), *std::move(binary_path), *dir, data_dir, socket_dir,
      absl::StrCat(socket_dir, "/redis.sock"), tcp_port));
  if (absl::Status status = server->Launch(); !status.ok()) return status;
  return server;
}

RedisServer::RedisServer(Options options, std::string binary_path,
                         std::string dir, std::string data_dir,
                         std::string socket_dir, std::string socket_path,
                         int tcp_port)
    : options_(std::move(options)),
      binary_path_(std::move(binary_path)),
      dir_(std::move(dir)),
      data_dir_(std::move(data_dir)),
      socket_dir_(std::move(socket_dir)),
      socket_path_(std::move(socket_path)),
      tcp_port_(tcp_port) {}

RedisServer::~RedisServer() {
  Kill().IgnoreError();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
  if (socket_dir_ != dir_) std::filesystem::remove_all(socket_dir_, ignored);
}

absl::Status RedisServer::Launch() {
  if (running()) {
    return absl::FailedPreconditionError("redis-server is already running");
  }
  unlink(socket_path_.c_str());  // A stale socket file from a killed server.

  std::vector<std::string> args = {
      binary_path_,
      "--port", absl::StrCat(tcp_port_),
      "--bind", "127.0.0.1",
      "--unixsocket", socket_path_,
      "--unixsocketperm", "700",
      "--dir", data_dir_,
      "--logfile", absl::StrCat(data_dir_, "/redis.log"),
      "--daemonize", "no",
      "--save", "",
      "--appendonly", options_.appendonly ? "yes" : "no",
      "--appendfsync", options_.appendfsync_always ? "always" : "everysec",
      "--enable-debug-command", "local",
      // As segmentd recommends (docs/redis-keys.md): compact customer hashes.
      "--hash-max-listpack-value", "1024",
  };
  args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
  // Everything the child needs is built before fork(): after it, only
  // async-signal-safe calls are allowed (the test may have other threads).
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const pid_t parent = getpid();

  pid_t pid = fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    int devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0) {
      dup2(devnull, STDIN_FILENO);
      dup2(devnull, STDOUT_FILENO);
      dup2(devnull, STDERR_FILENO);
    }
    execv(argv[0], argv.data());
    _exit(127);
  }
  pid_ = pid;

  const absl::Time deadline = absl::Now() + options_.startup_timeout;
  while (true) {
    int wstatus = 0;
    if (waitpid(pid_, &wstatus, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::UnavailableError(absl::StrCat(
          "redis-server (", binary_path_, ") exited during startup with ",
          WIFEXITED(wstatus) ? absl::StrCat("status ", WEXITSTATUS(wstatus))
                             : absl::StrCat("signal ", WTERMSIG(wstatus)),
          "; log tail:\n", LogTail()));
    }
    if (AnswersPing(socket_path_)) return absl::OkStatus();
    if (absl::Now() >= deadline) break;
    absl::SleepFor(kPollInterval);
  }
  Kill().IgnoreError();
  return absl::UnavailableError(absl::StrCat(
      "redis-server did not answer PING on ", socket_path_, " within ",
      absl::FormatDuration(options_.startup_timeout), "; log tail:\n",
      LogTail()));
}

bool RedisServer::SignalAndWait(int signal, absl::Duration timeout) {
  if (!running()) return true;
  kill(pid_, signal);
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    pid_t result = waitpid(pid_, nullptr, WNOHANG);
    if (result == pid_ || (result < 0 && errno == ECHILD)) {
      pid_ = -1;
      return true;
    }
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
}

absl::Status RedisServer::Stop() {
  if (SignalAndWait(SIGTERM, options_.shutdown_timeout)) return absl::OkStatus();
  Kill().IgnoreError();
  return absl::DeadlineExceededError(absl::StrCat(
      "redis-server ignored SIGTERM for ",
      absl::FormatDuration(options_.shutdown_timeout), "; killed it"));
}

absl::Status RedisServer::Kill() {
  if (!running()) return absl::OkStatus();
  kill(pid_, SIGKILL);
  while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  return absl::OkStatus();
}

absl::Status RedisServer::Restart() {
  if (absl::Status status = Stop(); !status.ok()) return status;
  return Launch();
}

std::string RedisServer::LogTail() const {
  std::ifstream log(absl::StrCat(data_dir_, "/redis.log"));
  if (!log) return "(no log)";
  std::vector<std::string> lines;
  for (std::string line; std::getline(log, line);) {
    lines.push_back(std::move(line));
    if (lines.size() > 20) lines.erase(lines.begin());
  }
  return absl::StrJoin(lines, "\n");
}

}  // namespace segmentd::testing
