// The pieces every segctl command shares: its description (for dispatch and
// --help), the context it runs in, and exit codes.
#ifndef SEGMENTD_CLIENTS_SEGCTL_COMMAND_H_
#define SEGMENTD_CLIENTS_SEGCTL_COMMAND_H_

#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "clients/client.h"
#include "clients/segctl/command_line.h"
#include "google/protobuf/message.h"

namespace segmentd::segctl {

// Exit codes.
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;  // the server (or the data) refused
inline constexpr int kExitUsage = 2;  // the command line is wrong
inline constexpr int kExitInterrupted = 130;  // stopped by Ctrl-C (128 + SIGINT)

// What a command runs with. Not thread-safe.
struct Context {
  const CommandLine* args = nullptr;  // positional words after the command name
  std::string command;                 // e.g. "config get", for messages
  bool json = false;
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
  // Global connection flags.
  std::string target;
  std::string key_file;
  std::string operator_key_file;
  // Where each key file name came from, for errors: e.g. "set by --key_file".
  std::string key_file_origin = "set by --key_file";
  std::string operator_key_file_origin = "set by --operator_key_file";
  std::string tls_ca_file;
  absl::Duration timeout = absl::Seconds(10);

  // Returns a client with the tenant key (--key_file) or, when `as_operator`,
  // the operator credential (--operator_key_file). An error about the key
  // file says where its name came from (the flag, $SEGCTL_KEY_FILE, the default).
  absl::StatusOr<std::unique_ptr<clients::SegmentdClient>> Connect(bool as_operator = false) const;

  // Prints "segctl: <command>: <CODE>: <message>" and returns kExitError.
  int Fail(const absl::Status& status) const;
  // Prints the message and a pointer to --help; returns kExitUsage.
  int Usage(const std::string& message) const;
  // Prints `message` as one JSON line (proto3 JSON, enums by name, every
  // field even when zero or false). Every JSON segctl prints goes through it.
  void PrintJson(const google::protobuf::Message& message) const;
};

// One command: "tenant create", "import", ...
struct Command {
  std::string name;     // the words that select it
  std::string args;     // positional arguments, e.g. "ID..."
  std::string summary;  // one line
  std::string details;  // more lines for --help; may be empty
  std::vector<FlagSpec> flags;
  size_t min_args = 0;
  size_t max_args = 0;  // SIZE_MAX: any number
  std::function<int(const Context&)> run;
};

// The command groups, each in its own file.
std::vector<Command> AdminCommands();     // tenant create|list, key create|list|revoke
std::vector<Command> ConfigCommands();    // config get|set|preset|presets|preview, segments
std::vector<Command> CustomerCommands();  // classify, watch, check, targets
std::vector<Command> ImportCommands();    // import cdnow|retail|csv
std::vector<Command> InsightsCommands();  // kpis, flows
std::vector<Command> VoucherCommands();   // voucher put|get|list|delete|stats

// Formats `t` as RFC 3339 UTC with milliseconds; "-" for an unset timestamp.
std::string FormatTimestamp(const google::protobuf::Timestamp& t);
// Parses the value of --`flag`: RFC 3339 (e.g. 2026-01-01T00:00:00Z), a date
// (2026-01-01, UTC midnight) or "now"; the error names the flag.
absl::StatusOr<absl::Time> ParseInstant(absl::string_view flag, const std::string& text);
// The instant --`flag` gives (ParseInstant), or nullopt when it is absent.
absl::StatusOr<std::optional<absl::Time>> OptionalInstant(const Context& ctx,
                                                          absl::string_view flag);

}  // namespace segmentd::segctl

#endif  // SEGMENTD_CLIENTS_SEGCTL_COMMAND_H_
