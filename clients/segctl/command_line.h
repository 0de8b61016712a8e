// CommandLine: segctl's argument parsing. Arguments are positional words and
// flags written `--name=value` or `--name` (true for boolean flags); flags may
// come anywhere, `--` ends them. Every flag must be declared by the command (or
// be global), so a typo is a usage error instead of being ignored.
#ifndef SEGMENTD_CLIENTS_SEGCTL_COMMAND_LINE_H_
#define SEGMENTD_CLIENTS_SEGCTL_COMMAND_LINE_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace segmentd::segctl {

// A flag a command accepts.
struct FlagSpec {
  std::string name;   // without the dashes
  std::string value;  // what the value looks like, e.g. "FILE"; empty: boolean
  std::string help;
  std::string default_value;  // shown in --help; empty: none
};

// The split arguments of one invocation. A plain value; not thread-safe.
class CommandLine {
 public:
  // Splits `args` (argv without the program name) into positional words and
  // flags. INVALID_ARGUMENT for a malformed flag ("-x", "--=1").
  static absl::StatusOr<CommandLine> Parse(const std::vector<std::string>& args);

  const std::vector<std::string>& positional() const { return positional_; }
  // Drops the first `n` positional words (the command's name).
  void ConsumeWords(size_t n);

  // Returns the value of flag `name`, or `fallback` when absent.
  std::string Get(const std::string& name, const std::string& fallback = "") const;
  // Returns every value of a repeated flag, in order.
  std::vector<std::string> GetAll(const std::string& name) const;
  bool Has(const std::string& name) const { return flags_.count(name) > 0; }
  // Returns a boolean flag: absent -> `fallback`; "--x", "--x=true|1|yes" ->
  // true; "--x=false|0|no" -> false; anything else INVALID_ARGUMENT.
  absl::StatusOr<bool> GetBool(const std::string& name, bool fallback = false) const;

  // Returns INVALID_ARGUMENT naming the first flag not in `allowed`, or a
  // valued flag given without a value.
  absl::Status CheckFlags(const std::vector<FlagSpec>& allowed) const;

 private:
  std::vector<std::string> positional_;
  std::multimap<std::string, std::string> flags_;
  std::map<std::string, bool> has_value_;
};

}  // namespace segmentd::segctl

#endif  // SEGMENTD_CLIENTS_SEGCTL_COMMAND_LINE_H_
