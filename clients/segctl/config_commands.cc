// segctl config get|set|preset|presets|preview, segments.
#include <algorithm>
#include <cstdint>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "clients/segctl/command.h"
#include "clients/segctl/config_paths.h"
#include "clients/segctl/table.h"
#include "engine/config.h"
#include "engine/segment.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace segmentd::segctl {
namespace {

const FlagSpec kExpectedVersion{"expected_version", "N",
                                "fail (ABORTED) unless the stored config has this version", ""};
const FlagSpec kAsOf{"as_of", "TIME", "evaluate at this instant (RFC 3339 or YYYY-MM-DD)", "now"};

// Applies PATH=VALUE words to `config`; returns the paths.
absl::StatusOr<std::vector<std::string>> ApplySettings(const std::vector<std::string>& words,
                                                       v1::SegmentConfig* config) {
  std::vector<std::string> paths;
  std::map<std::string, std::string> alternatives;  // group -> the path setting it
  for (const std::string& word : words) {
    const size_t eq = word.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(absl::StrCat("\"", word, "\" is not PATH=VALUE"));
    }
    const std::string path = word.substr(0, eq);
    // Given twice, one value would be dropped without a word; so would one of
    // two alternatives (the last set wins in a oneof).
    if (std::find(paths.begin(), paths.end(), path) != paths.end()) {
      return absl::InvalidArgumentError(absl::StrCat(path, " is set twice"));
    }
    if (const std::string group = AlternativesOf(path); !group.empty()) {
      auto [it, first] = alternatives.emplace(group, path);
      if (!first) {
        return absl::InvalidArgumentError(absl::StrCat(
            it->second, " and ", path, " are alternatives (", group, "): set one of them"));
      }
    }
    absl::Status s = SetConfigPath(path, word.substr(eq + 1), config);
    if (!s.ok()) return s;
    paths.push_back(path);
  }
  return paths;
}

// Parses `json` for `config set --file`: a SegmentConfig, or an object with a
// "config" member holding one (what `config get --json` prints; its version and
// the rest are not used). Errors carry the JSON parser's message, which names
// the field.
absl::Status ParseConfigJson(const std::string& json, v1::SegmentConfig* config) {
  // The parser's own message, e.g. "(frequent_buyer.min_orders): invalid value ...".
  auto message = [](const google::protobuf::util::Status& s) {
    return std::string(s.message().data(), s.message().size());
  };
  google::protobuf::Struct object;
  if (auto s = google::protobuf::util::JsonStringToMessage(json, &object); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("not a JSON object: ", message(s)));
  }
  if (object.fields().count("config") > 0) {
    v1::VersionedConfig versioned;
    if (auto s = google::protobuf::util::JsonStringToMessage(json, &versioned); !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("not a VersionedConfig (as config get --json prints): ", message(s)));
    }
    *config = versioned.config();
    return absl::OkStatus();
  }
  if (auto s = google::protobuf::util::JsonStringToMessage(json, config); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("not a SegmentConfig in JSON: ", message(s)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<int64_t>> ExpectedVersion(const Context& ctx) {
  if (!ctx.args->Has("expected_version")) return std::optional<int64_t>();
  int64_t v = 0;
  if (!absl::SimpleAtoi(ctx.args->Get("expected_version"), &v)) {
    return absl::InvalidArgumentError("--expected_version takes an integer");
  }
  return std::optional<int64_t>(v);
}

void PrintVersioned(const Context& ctx, const v1::VersionedConfig& config, int64_t changed) {
  *ctx.out << "config version " << config.version() << " (updated " << FormatTimestamp(config.updated_at())
           << ")";
  if (changed >= 0) *ctx.out << ", " << changed << " customers changed membership";
  if (config.schedule_updates_pending() > 0) {
    *ctx.out << "; next changes of " << config.schedule_updates_pending()
             << " customers still being recomputed in the background";
  }
  *ctx.out << "\n";
}

int ConfigGet(const Context& ctx) {
  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());
  absl::StatusOr<v1::VersionedConfig> config = (*client)->GetConfig();
  if (!config.ok()) return ctx.Fail(config.status());
  if (ctx.json) {
    ctx.PrintJson(*config);
    return kExitOk;
  }
  PrintVersioned(ctx, *config, -1);
  Table t({"PARAMETER", "VALUE"});
  for (const auto& [path, value] : FlattenConfig(config->config())) t.AddRow({path, value});
  // Unset, the priority in effect is the default one: shown, so that every
  // parameter in effect is on the page.
  if (config->config().primary_priority().empty()) {
    std::vector<std::string> names;
    for (engine::Segment s : engine::DefaultPrimaryPriority()) {
      names.emplace_back(engine::SegmentName(s));
    }
    t.AddRow({"primary_priority", absl::StrCat("(default) ", absl::StrJoin(names, ","))});
  }
  t.Print(*ctx.out);
  return kExitOk;
}

int ConfigSet(const Context& ctx) {
  v1::SegmentConfig config;
  std::vector<std::string> paths;
  if (ctx.args->Has("file")) {
    if (!ctx.args->positional().empty()) return ctx.Usage("give PATH=VALUE settings or --file, not both");
    std::ifstream in(ctx.args->Get("file"));
    if (!in) return ctx.Usage(absl::StrCat("cannot read ", ctx.args->Get("file")));
    std::stringstream s;
    s << in.rdbuf();
    absl::Status parsed = ParseConfigJson(s.str(), &config);
    if (!parsed.ok()) {
      return ctx.Usage(absl::StrCat(ctx.args->Get("file"), ": ", parsed.message()));
    }
  } else {
    if (ctx.args->positional().empty()) return ctx.Usage("give PATH=VALUE settings or --file=CONFIG.json");
    absl::StatusOr<std::vector<std::string>> applied = ApplySettings(ctx.args->positional(), &config);
    if (!applied.ok()) return ctx.Usage(std::string(applied.status().message()));
    paths = *applied;
  }
  absl::StatusOr<std::optional<int64_t>> expected = ExpectedVersion(ctx);
  if (!expected.ok()) return ctx.Usage(std::string(expected.status().message()));
  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());
  absl::StatusOr<v1::UpdateConfigResponse> r = (*client)->UpdateConfig(config, paths, *expected);
  if (!r.ok()) return ctx.Fail(r.status());
  if (ctx.json) {
    ctx.PrintJson(*r);
  } else {
    PrintVersioned(ctx, r->config(), r->customers_changed());
  }
  return kExitOk;
}

absl::StatusOr<v1::Preset> ParsePreset(const std::string& name) {
  std::string upper = absl::AsciiStrToUpper(name);
  if (upper.rfind("PRESET_", 0) != 0) upper = "PRESET_" + upper;
  v1::Preset preset;
  if (!v1::Preset_Parse(upper, &preset) || preset == v1::PRESET_UNSPECIFIED) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown preset \"", name, "\" (fast_food, fashion, grocery, electronics)"));
  }
  return preset;
}

int ConfigPreset(const Context& ctx) {
  absl::StatusOr<v1::Preset> preset = ParsePreset(ctx.args->positional()[0]);
  if (!preset.ok()) return ctx.Usage(std::string(preset.status().message()));
  absl::StatusOr<std::optional<int64_t>> expected = ExpectedVersion(ctx);
  if (!expected.ok()) return ctx.Usage(std::string(expected.status().message()));
  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());
  absl::StatusOr<v1::ApplyPresetResponse> r = (*client)->ApplyPreset(*preset, *expected);
  if (!r.ok()) return ctx.Fail(r.status());
  if (ctx.json) {
    ctx.PrintJson(*r);
  } else {
    *ctx.out << "applied " << v1::Preset_Name(*preset) << ": ";
    PrintVersioned(ctx, r->config(), r->customers_changed());
  }
  return kExitOk;
}

int ConfigPresets(const Context& ctx) {
  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());
  absl::StatusOr<std::vector<v1::PresetDescription>> presets = (*client)->ListPresets();
  if (!presets.ok()) return ctx.Fail(presets.status());
  if (ctx.json) {
    v1::ListPresetsResponse r;
    for (const auto& p : *presets) *r.add_presets() = p;
    ctx.PrintJson(r);
    return kExitOk;
  }
  Table t({"PRESET", "DESCRIPTION"});
  for (const auto& p : *presets) {
    std::string name = absl::AsciiStrToLower(v1::Preset_Name(p.preset()).substr(7));
    t.AddRow({name, p.description()});
  }
  t.Print(*ctx.out);
  return kExitOk;
}

// Shared by `config preview` (with settings) and `segments` (without).
int Preview(const Context& ctx, bool sizes_only) {
  absl::StatusOr<std::optional<absl::Time>> as_of = OptionalInstant(ctx, "as_of");
  if (!as_of.ok()) return ctx.Usage(std::string(as_of.status().message()));
  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());
  absl::StatusOr<v1::VersionedConfig> stored = (*client)->GetConfig();
  if (!stored.ok()) return ctx.Fail(stored.status());
  v1::SegmentConfig proposed = stored->config();
  absl::StatusOr<std::vector<std::string>> applied = ApplySettings(ctx.args->positional(), &proposed);
  if (!applied.ok()) return ctx.Usage(std::string(applied.status().message()));
  absl::StatusOr<v1::PreviewConfigResponse> r = (*client)->PreviewConfig(proposed, *as_of);
  if (!r.ok()) return ctx.Fail(r.status());
  if (ctx.json) {
    ctx.PrintJson(*r);
    return kExitOk;
  }
  if (sizes_only) {
    Table t({"SEGMENT", "CUSTOMERS"});
    for (const v1::SegmentPreview& s : r->segments()) t.AddRow({s.segment(), absl::StrCat(s.current_size())});
    t.Print(*ctx.out);
    return kExitOk;
  }
  Table t({"SEGMENT", "CURRENT", "PROPOSED", "ENTERING", "LEAVING"});
  for (const v1::SegmentPreview& s : r->segments()) {
    t.AddRow({s.segment(), absl::StrCat(s.current_size()), absl::StrCat(s.proposed_size()),
              absl::StrCat(s.entering()), absl::StrCat(s.leaving())});
  }
  t.Print(*ctx.out);
  return kExitOk;
}

}  // namespace

std::vector<Command> ConfigCommands() {
  return {
      {"config get",
       "",
       "show the segment config (every parameter, with its version)",
       "",
       {},
       0,
       0,
       ConfigGet},
      {"config set",
       "PATH=VALUE...",
       "change config parameters; membership is complete when it returns",
       "Example: segctl config set vip.enabled=false frequent_buyer.min_orders=3\n"
       "Paths are SegmentConfig field names (docs/engine.md); primary_priority takes a\n"
       "comma-separated list. --file replaces the whole config with a JSON SegmentConfig,\n"
       "or with the \"config\" member of what `config get --json` prints (its version is\n"
       "not checked: pass --expected_version for that).",
       {kExpectedVersion, {"file", "CONFIG.json", "replace the whole config with this JSON", ""}},
       0,
       SIZE_MAX,
       ConfigSet},
      {"config preset",
       "NAME",
       "apply a preset: fast_food, fashion, grocery, electronics",
       "",
       {kExpectedVersion},
       1,
       1,
       ConfigPreset},
      {"config presets", "", "list the presets", "", {}, 0, 0, ConfigPresets},
      {"config preview",
       "PATH=VALUE...",
       "segment sizes now and under the stored config with these changes (nothing saved)",
       "",
       {kAsOf},
       0,
       SIZE_MAX,
       [](const Context& ctx) { return Preview(ctx, false); }},
      {"segments",
       "",
       "segment sizes (customers per segment)",
       "",
       {kAsOf},
       0,
       0,
       [](const Context& ctx) { return Preview(ctx, true); }},
  };
}

}  // namespace segmentd::segctl
