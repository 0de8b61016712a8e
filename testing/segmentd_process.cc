#include "testing/segmentd_process.h"

#include <fcntl.h>
#include <grpcpp/impl/client_unary_call.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.pb.h"
#include "segmentd/v1/admin.grpc.pb.h"

namespace segmentd::testing {
namespace {

constexpr absl::Duration kPollInterval = absl::Milliseconds(20);
constexpr absl::string_view kPortMarker = "listening on port ";

absl::StatusOr<std::string> MakeTempDir() {
  const char* test_tmpdir = getenv("TEST_TMPDIR");
  std::string base = test_tmpdir != nullptr && *test_tmpdir != '\0' ? test_tmpdir : "/tmp";
  std::string templ = absl::StrCat(base, "/segmentd-XXXXXX");
  if (mkdtemp(templ.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp(", templ, "): ", strerror(errno)));
  }
  return templ;
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Returns the port after the first `marker` in `log` (by default the gRPC
// port's "listening on port N"), or 0.
int FindPort(absl::string_view log, absl::string_view marker = kPortMarker) {
  const size_t at = log.find(marker);
  if (at == absl::string_view::npos) return 0;
  absl::string_view rest = log.substr(at + marker.size());
  size_t digits = 0;
  while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') ++digits;
  if (digits == 0 || digits == rest.size()) return 0;  // the line may be half written
  int port = 0;
  if (!absl::SimpleAtoi(rest.substr(0, digits), &port)) return 0;
  return port;
}

}  // namespace

std::string DefaultSegmentdBinary() {
  const char* srcdir = getenv("TEST_SRCDIR");
  return absl::StrCat(srcdir != nullptr ? srcdir : ".", "/segmentd/server/segmentd");
}

absl::StatusOr<std::unique_ptr<SegmentdProcess>> SegmentdProcess::Start(Options options) {
  if (options.redis_address.empty()) {
    return absl::InvalidArgumentError("SegmentdProcess: redis_address is required");
  }
  std::string binary = options.binary.empty() ? DefaultSegmentdBinary() : options.binary;
  if (access(binary.c_str(), X_OK) != 0) {
    return absl::NotFoundError(absl::StrCat("segmentd binary \"", binary,
                                            "\" not found or not executable (add "
                                            "data = [\"//server:segmentd\"] to the test)"));
  }
  absl::StatusOr<std::string> dir = MakeTempDir();
  if (!dir.ok()) return dir.status();
  std::unique_ptr<SegmentdProcess> process(
      new SegmentdProcess(std::move(options), std::move(binary), *std::move(dir)));
  if (absl::Status status = process->Launch(0); !status.ok()) return status;
  return process;
}

SegmentdProcess::SegmentdProcess(Options options, std::string binary, std::string dir)
    : options_(std::move(options)),
      binary_(std::move(binary)),
      dir_(std::move(dir)),
      log_path_(absl::StrCat(dir_, "/segmentd.log")),
      operator_key_file_(options_.operator_key_file.empty()
                             ? absl::StrCat(dir_, "/operator.key")
                             : options_.operator_key_file) {}

SegmentdProcess::~SegmentdProcess() {
  Kill().IgnoreError();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string SegmentdProcess::address() const { return absl::StrCat("127.0.0.1:", port_); }

std::string SegmentdProcess::Log() const { return ReadWholeFile(log_path_); }

int SegmentdProcess::MetricsPort() const { return FindPort(Log(), "metrics on port "); }

absl::StatusOr<std::string> SegmentdProcess::OperatorToken() const {
  std::string contents = ReadWholeFile(operator_key_file_);
  std::string token(absl::StripAsciiWhitespace(contents));
  if (token.empty()) {
    return absl::NotFoundError(absl::StrCat("no operator token in ", operator_key_file_));
  }
  return token;
}

std::shared_ptr<grpc::Channel> SegmentdProcess::NewChannel() const {
  return grpc::CreateChannel(address(), grpc::InsecureChannelCredentials());
}

absl::Status SegmentdProcess::Launch(int listen_port) {
  if (running()) return absl::FailedPreconditionError("segmentd is already running");
  const int log_fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) {
    return absl::InternalError(absl::StrCat("open(", log_path_, "): ", strerror(errno)));
  }
  struct stat st;
  const off_t log_start = fstat(log_fd, &st) == 0 ? st.st_size : 0;

  std::vector<std::string> args = {
      binary_,
      absl::StrCat("--listen=127.0.0.1:", listen_port),
      absl::StrCat("--redis=", options_.redis_address),
      absl::StrCat("--operator_key_file=", operator_key_file_),
  };
  args.insert(args.end(), options_.extra_flags.begin(), options_.extra_flags.end());
  // Everything the child needs is built before fork(): after it only
  // async-signal-safe calls are allowed (the test has other threads).
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const pid_t parent = getpid();

  const pid_t pid = fork();
  if (pid < 0) {
    close(log_fd);
    return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    // The test process blocks no signals we care about, but be explicit: the
    // server relies on receiving SIGTERM through sigwait.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    const int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(log_fd);
  pid_ = pid;

  const absl::Time deadline = absl::Now() + options_.startup_timeout;
  while (true) {
    const std::string log = ReadWholeFile(log_path_);
    const int port =
        FindPort(absl::string_view(log).substr(std::min<size_t>(log.size(), log_start)));
    if (port > 0) {
      port_ = port;
      return absl::OkStatus();
    }
    int wstatus = 0;
    if (waitpid(pid_, &wstatus, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::UnavailableError(absl::StrCat(
          "segmentd exited during start-up with ",
          WIFEXITED(wstatus) ? absl::StrCat("status ", WEXITSTATUS(wstatus))
                             : absl::StrCat("signal ", WTERMSIG(wstatus)),
          "; log tail:\n", LogTail()));
    }
    if (absl::Now() >= deadline) break;
    absl::SleepFor(kPollInterval);
  }
  Kill().IgnoreError();
  return absl::UnavailableError(absl::StrCat("segmentd did not log its port within ",
                                             absl::FormatDuration(options_.startup_timeout),
                                             "; log tail:\n", LogTail()));
}

absl::StatusOr<int> SegmentdProcess::Terminate() {
  if (!running()) return absl::FailedPreconditionError("segmentd is not running");
  kill(pid_, SIGTERM);
  const absl::Time deadline = absl::Now() + options_.shutdown_timeout;
  while (true) {
    int wstatus = 0;
    const pid_t result = waitpid(pid_, &wstatus, WNOHANG);
    if (result == pid_) {
      pid_ = -1;
      return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
    }
    if (result < 0 && errno != EINTR) {
      pid_ = -1;
      return absl::InternalError(absl::StrCat("waitpid: ", strerror(errno)));
    }
    if (absl::Now() >= deadline) break;
    absl::SleepFor(kPollInterval);
  }
  Kill().IgnoreError();
  return absl::DeadlineExceededError(
      absl::StrCat("segmentd ignored SIGTERM for ", absl::FormatDuration(options_.shutdown_timeout),
                   "; killed it. Log tail:\n", LogTail()));
}

absl::Status SegmentdProcess::Kill() {
  if (!running()) return absl::OkStatus();
  kill(pid_, SIGKILL);
  while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  return absl::OkStatus();
}

absl::Status SegmentdProcess::Restart() {
  if (absl::Status status = Kill(); !status.ok()) return status;
  const int port = port_;
  if (absl::Status status = Launch(port); !status.ok()) return status;
  if (port_ != port) {
    return absl::InternalError(absl::StrCat("segmentd restarted on port ", port_, ", not ", port));
  }
  return absl::OkStatus();
}

std::string SegmentdProcess::LogTail() const {
  std::vector<std::string> lines = absl::StrSplit(Log(), '\n');
  if (lines.size() > 30) lines.erase(lines.begin(), lines.end() - 30);
  return absl::StrJoin(lines, "\n");
}

absl::Status FromGrpc(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

std::unique_ptr<grpc::ClientContext> NewContext(const std::string& bearer,
                                                absl::Duration timeout) {
  auto context = std::make_unique<grpc::ClientContext>();
  if (!bearer.empty()) context->AddMetadata("authorization", absl::StrCat("Bearer ", bearer));
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return context;
}

absl::Status CreateTenant(grpc::Channel& channel, const std::string& operator_token,
                          const std::string& tenant_id) {
  auto stub = v1::AdminService::NewStub(
      std::shared_ptr<grpc::Channel>(&channel, [](grpc::Channel*) {}));
  v1::CreateTenantRequest request;
  request.set_tenant_id(tenant_id);
  request.set_display_name(absl::StrCat("tenant ", tenant_id));
  v1::CreateTenantResponse response;
  std::unique_ptr<grpc::ClientContext> context = NewContext(operator_token);
  return FromGrpc(stub->CreateTenant(context.get(), request, &response));
}

absl::StatusOr<CreatedKey> CreateApiKeyWithId(grpc::Channel& channel, const std::string& bearer,
                                              const std::string& tenant_id,
                                              const std::vector<v1::Scope>& scopes) {
  auto stub = v1::AdminService::NewStub(
      std::shared_ptr<grpc::Channel>(&channel, [](grpc::Channel*) {}));
  v1::CreateApiKeyRequest request;
  request.set_tenant_id(tenant_id);
  request.set_name("e2e test key");
  for (v1::Scope scope : scopes) request.add_scopes(scope);
  v1::CreateApiKeyResponse response;
  std::unique_ptr<grpc::ClientContext> context = NewContext(bearer);
  if (absl::Status status = FromGrpc(stub->CreateApiKey(context.get(), request, &response));
      !status.ok()) {
    return status;
  }
  return CreatedKey{response.key().key_id(), response.secret()};
}

absl::StatusOr<std::string> CreateApiKey(grpc::Channel& channel, const std::string& bearer,
                                         const std::string& tenant_id,
                                         const std::vector<v1::Scope>& scopes) {
  absl::StatusOr<CreatedKey> key = CreateApiKeyWithId(channel, bearer, tenant_id, scopes);
  if (!key.ok()) return key.status();
  return key->secret;
}

absl::Status RevokeApiKey(grpc::Channel& channel, const std::string& bearer,
                          const std::string& tenant_id, const std::string& key_id) {
  auto stub =
      v1::AdminService::NewStub(std::shared_ptr<grpc::Channel>(&channel, [](grpc::Channel*) {}));
  v1::RevokeApiKeyRequest request;
  request.set_tenant_id(tenant_id);
  request.set_key_id(key_id);
  v1::RevokeApiKeyResponse response;
  std::unique_ptr<grpc::ClientContext> context = NewContext(bearer);
  return FromGrpc(stub->RevokeApiKey(context.get(), request, &response));
}

absl::StatusOr<TenantKeys> CreateTenantWithKeys(grpc::Channel& channel,
                                                const std::string& operator_token,
                                                const std::string& tenant_id) {
  if (absl::Status s = CreateTenant(channel, operator_token, tenant_id); !s.ok()) return s;
  TenantKeys keys;
  keys.tenant_id = tenant_id;
  const std::pair<std::string*, v1::Scope> wanted[] = {
      {&keys.admin, v1::SCOPE_ADMIN}, {&keys.write, v1::SCOPE_WRITE}, {&keys.read, v1::SCOPE_READ}};
  for (const auto& [out, scope] : wanted) {
    absl::StatusOr<std::string> secret = CreateApiKey(channel, operator_token, tenant_id, {scope});
    if (!secret.ok()) return secret.status();
    *out = *std::move(secret);
  }
  return keys;
}

absl::StatusOr<int> CheckHealth(grpc::Channel& channel, const std::string& service,
                                absl::Duration timeout) {
  // gRPC ships no C++ stub for the health service; call it the way generated
  // stubs do.
  static const grpc::internal::RpcMethod kCheck("/grpc.health.v1.Health/Check",
                                               grpc::internal::RpcMethod::NORMAL_RPC);
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  std::unique_ptr<grpc::ClientContext> context = NewContext("", timeout);
  grpc::Status status = grpc::internal::BlockingUnaryCall<
      grpc::health::v1::HealthCheckRequest, grpc::health::v1::HealthCheckResponse,
      grpc::protobuf::MessageLite, grpc::protobuf::MessageLite>(&channel, kCheck, context.get(),
                                                                request, &response);
  if (!status.ok()) return FromGrpc(status);
  return static_cast<int>(response.status());
}

google::protobuf::Timestamp ToTimestamp(absl::Time t) {
  const int64_t ms = absl::ToUnixMillis(t);
  int64_t seconds = ms / 1000;
  int64_t millis = ms % 1000;
  if (millis < 0) {
    millis += 1000;
    seconds -= 1;
  }
  google::protobuf::Timestamp ts;
  ts.set_seconds(seconds);
  ts.set_nanos(static_cast<int32_t>(millis * 1000000));
  return ts;
}

absl::Time FromTimestamp(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

}  // namespace segmentd::testing
