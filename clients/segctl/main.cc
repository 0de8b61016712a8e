// segctl: the segmentd command-line tool. `segctl help` lists the commands;
// `segctl COMMAND --help` explains one. Exit codes: 0 ok, 1 the server (or the
// data) refused, 2 usage error, 130 `watch` stopped by Ctrl-C (143: SIGTERM).
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "clients/segctl/command.h"
#include "clients/segctl/command_line.h"

namespace segmentd::segctl {
namespace {

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

// OK when `path` (the value of --tls_ca_file) is a readable file holding a PEM
// certificate; else INVALID_ARGUMENT naming the flag.
absl::Status CheckCaFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("--tls_ca_file: cannot read ", path));
  std::stringstream text;
  text << in.rdbuf();
  if (text.str().find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--tls_ca_file: ", path, " holds no PEM certificate (-----BEGIN CERTIFICATE-----)"));
  }
  return absl::OkStatus();
}

const std::vector<FlagSpec>& GlobalFlags() {
  static const auto* flags = new std::vector<FlagSpec>{
      {"target", "HOST:PORT", "the segmentd server ($SEGCTL_TARGET)", "127.0.0.1:50051"},
      {"key_file", "FILE", "the tenant API key ($SEGCTL_KEY_FILE)", ".segmentd/demo.key"},
      {"operator_key_file", "FILE",
       "the operator credential, for tenant commands and key commands with --as_operator",
       ".segmentd/operator.key"},
      {"tls_ca_file", "FILE", "use TLS, verifying the server with these CA certificates", ""},
      {"timeout", "DURATION", "deadline of each call attempt", "10s"},
      {"json", "", "print JSON (one object per line) instead of tables", ""},
      {"help", "", "explain the command", ""},
  };
  return *flags;
}

std::vector<Command> AllCommands() {
  std::vector<Command> all;
  for (auto group : {AdminCommands, ConfigCommands, CustomerCommands, VoucherCommands,
                     ImportCommands, InsightsCommands}) {
    for (Command& c : group()) all.push_back(std::move(c));
  }
  return all;
}

void PrintFlags(std::ostream& out, const std::vector<FlagSpec>& flags) {
  for (const FlagSpec& f : flags) {
    std::string left = absl::StrCat("  --", f.name, f.value.empty() ? "" : absl::StrCat("=", f.value));
    if (left.size() < 30) left.resize(30, ' ');
    out << left << " " << f.help;
    if (!f.default_value.empty()) out << " (default " << f.default_value << ")";
    out << "\n";
  }
}

void PrintOverview(std::ostream& out, const std::vector<Command>& commands) {
  out << "segctl: command-line client of segmentd.\n\nUsage: segctl COMMAND [ARGS] [FLAGS]\n\nCommands:\n";
  for (const Command& c : commands) {
    std::string left = absl::StrCat("  ", c.name, c.args.empty() ? "" : " ", c.args);
    if (left.size() < 36) left.resize(36, ' ');
    out << left << " " << c.summary << "\n";
  }
  out << "\nGlobal flags:\n";
  PrintFlags(out, GlobalFlags());
  out << "\nExit codes: 0 ok, 1 error from the server (or bad data), 2 usage error, 130 watch\n"
         "stopped by Ctrl-C (143 by SIGTERM).\n";
}

void PrintHelp(std::ostream& out, const Command& c) {
  out << "Usage: segctl " << c.name << (c.args.empty() ? "" : " ") << c.args << " [FLAGS]\n\n"
      << c.summary << "\n";
  if (!c.details.empty()) out << "\n" << c.details << "\n";
  if (!c.flags.empty()) {
    out << "\nFlags:\n";
    PrintFlags(out, c.flags);
  }
  out << "\nGlobal flags:\n";
  PrintFlags(out, GlobalFlags());
}

int Main(const std::vector<std::string>& argv) {
  absl::StatusOr<CommandLine> line = CommandLine::Parse(argv);
  if (!line.ok()) {
    std::cerr << "segctl: " << line.status().message() << "\n";
    return kExitUsage;
  }
  const std::vector<Command> commands = AllCommands();
  const std::vector<std::string>& words = line->positional();
  if (words.empty() || words[0] == "help") {
    if (words.size() <= 1) {
      PrintOverview(words.empty() && !line->Has("help") ? std::cerr : std::cout, commands);
      return words.empty() && !line->Has("help") ? kExitUsage : kExitOk;
    }
  }
  // `segctl help config get` is `segctl config get --help`.
  const bool help_word = !words.empty() && words[0] == "help";
  const size_t first = help_word ? 1 : 0;
  const Command* match = nullptr;
  size_t match_words = 0;
  for (const Command& c : commands) {
    std::vector<std::string> name = absl::StrSplit(c.name, ' ');
    if (name.size() > words.size() - first || name.size() <= match_words) continue;
    bool same = true;
    for (size_t i = 0; i < name.size(); ++i) same = same && words[first + i] == name[i];
    if (same) {
      match = &c;
      match_words = name.size();
    }
  }
  if (match == nullptr) {
    // A known group without a sub-command: list the group (its overview
    // when help was asked for: `segctl help config`, `segctl config --help`).
    std::vector<std::string> group;
    std::vector<Command> group_commands;
    for (const Command& c : commands) {
      if (absl::StartsWith(c.name, absl::StrCat(words[first], " "))) {
        group.push_back(c.name);
        group_commands.push_back(c);
      }
    }
    const bool bare = words.size() == first + 1;  // no sub-command after the group
    if (!group.empty() && bare && (help_word || line->Has("help"))) {
      PrintOverview(std::cout, group_commands);
      return kExitOk;
    }
    if (!group.empty()) {
      std::cerr << "segctl: "
                << (bare ? words[first] : absl::StrCat(words[first], " ", words[first + 1]))
                << (bare ? ": which one? " : ": no such command; one of ")
                << absl::StrJoin(group, " | ") << "\n";
    } else {
      std::cerr << "segctl: unknown command \"" << words[first] << "\"; run 'segctl help'\n";
    }
    return kExitUsage;
  }
  if (help_word || line->Has("help")) {
    PrintHelp(std::cout, *match);
    return kExitOk;
  }
  line->ConsumeWords(match_words);
  Context ctx;
  ctx.args = &*line;
  ctx.command = match->name;
  ctx.out = &std::cout;
  ctx.err = &std::cerr;
  std::vector<FlagSpec> allowed = GlobalFlags();
  allowed.insert(allowed.end(), match->flags.begin(), match->flags.end());
  if (absl::Status s = line->CheckFlags(allowed); !s.ok()) return ctx.Usage(std::string(s.message()));
  const size_t n = line->positional().size();
  if (n < match->min_args || n > match->max_args) {
    return ctx.Usage(n < match->min_args ? absl::StrCat("missing arguments: ", match->args)
                                         : absl::StrCat("unexpected argument \"", line->positional()[match->max_args], "\""));
  }
  absl::StatusOr<bool> json = line->GetBool("json");
  if (!json.ok()) return ctx.Usage(std::string(json.status().message()));
  ctx.json = *json;
  ctx.target = line->Get("target", EnvOr("SEGCTL_TARGET", "127.0.0.1:50051"));
  ctx.key_file = line->Get("key_file", EnvOr("SEGCTL_KEY_FILE", ".segmentd/demo.key"));
  ctx.key_file_origin = line->Has("key_file")                   ? "set by --key_file"
                        : !EnvOr("SEGCTL_KEY_FILE", "").empty() ? "set by $SEGCTL_KEY_FILE"
                                                                : "the default of --key_file; set "
                                                                  "--key_file or $SEGCTL_KEY_FILE";
  ctx.operator_key_file = line->Get("operator_key_file", ".segmentd/operator.key");
  ctx.operator_key_file_origin = line->Has("operator_key_file")
                                     ? "set by --operator_key_file"
                                     : "the default of --operator_key_file";
  ctx.tls_ca_file = line->Get("tls_ca_file");
  // Checked here, like the server checks its own TLS files: gRPC would only
  // log noise and fail every call UNAVAILABLE ("empty address list").
  if (!ctx.tls_ca_file.empty()) {
    if (absl::Status s = CheckCaFile(ctx.tls_ca_file); !s.ok()) {
      return ctx.Usage(std::string(s.message()));
    }
  }
  if (line->Has("timeout") && (!absl::ParseDuration(line->Get("timeout"), &ctx.timeout) ||
                               ctx.timeout <= absl::ZeroDuration())) {
    return ctx.Usage("--timeout takes a duration such as 10s");
  }
  return match->run(ctx);
}

}  // namespace
}  // namespace segmentd::segctl

int main(int argc, char** argv) {
  return segmentd::segctl::Main(std::vector<std::string>(argv + 1, argv + argc));
}
