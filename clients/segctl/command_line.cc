#include "clients/segctl/command_line.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace segmentd::segctl {

absl::StatusOr<CommandLine> CommandLine::Parse(const std::vector<std::string>& args) {
  CommandLine line;
  bool flags_done = false;
  for (const std::string& arg : args) {
    if (flags_done || arg == "-" || arg.empty() || arg[0] != '-') {
      line.positional_.push_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_done = true;
      continue;
    }
    if (!absl::StartsWith(arg, "--")) {
      if (arg == "-h") {
        line.flags_.emplace("help", "true");
        line.has_value_["help"] = false;
        continue;
      }
      return absl::InvalidArgumentError(absl::StrCat("flags are written --name=value, not ", arg));
    }
    const size_t eq = arg.find('=');
    const std::string name = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    if (name.empty()) return absl::InvalidArgumentError(absl::StrCat("malformed flag ", arg));
    line.flags_.emplace(name, eq == std::string::npos ? "true" : arg.substr(eq + 1));
    line.has_value_[name] = eq != std::string::npos;
  }
  return line;
}

void CommandLine::ConsumeWords(size_t n) {
  positional_.erase(positional_.begin(), positional_.begin() + std::min(n, positional_.size()));
}

std::string CommandLine::Get(const std::string& name, const std::string& fallback) const {
  auto range = flags_.equal_range(name);
  if (range.first == range.second) return fallback;
  return std::prev(range.second)->second;  // the last one wins
}

std::vector<std::string> CommandLine::GetAll(const std::string& name) const {
  std::vector<std::string> out;
  auto range = flags_.equal_range(name);
  for (auto it = range.first; it != range.second; ++it) out.push_back(it->second);
  return out;
}

absl::StatusOr<bool> CommandLine::GetBool(const std::string& name, bool fallback) const {
  if (!Has(name)) return fallback;
  const std::string v = absl::AsciiStrToLower(Get(name));
  if (v == "true" || v == "1" || v == "yes") return true;
  if (v == "false" || v == "0" || v == "no") return false;
  return absl::InvalidArgumentError(absl::StrCat("--", name, " takes true or false, not \"", v, "\""));
}

absl::Status CommandLine::CheckFlags(const std::vector<FlagSpec>& allowed) const {
  for (const auto& [name, value] : flags_) {
    const FlagSpec* spec = nullptr;
    for (const FlagSpec& f : allowed) {
      if (f.name == name) spec = &f;
    }
    if (spec == nullptr) return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    if (!spec->value.empty() && !has_value_.at(name)) {
      return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value: --", name, "=", spec->value));
    }
  }
  return absl::OkStatus();
}

}  // namespace segmentd::segctl
