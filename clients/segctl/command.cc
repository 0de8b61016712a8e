#include "clients/segctl/command.h"

#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/json_util.h"

namespace segmentd::segctl {
namespace {

// Marks a status as a bad setting of the caller's (a key file that cannot
// be read): Fail() answers it as a usage error (exit 2), as main does a bad
// --tls_ca_file, not as the server's refusal (exit 1).
constexpr absl::string_view kUsagePayload = "type.segmentd.dev/segctl.usage";

}  // namespace

absl::StatusOr<std::unique_ptr<clients::SegmentdClient>> Context::Connect(bool as_operator) const {
  clients::SegmentdClient::Options options;
  options.target = target;
  const std::string& file = as_operator ? operator_key_file : key_file;
  if (!file.empty()) {
    absl::StatusOr<std::string> key = clients::ReadApiKeyFile(file);
    if (!key.ok()) {  // say which setting named the file
      absl::Status bad(key.status().code(),
                       absl::StrCat(key.status().message(), " (",
                                    as_operator ? operator_key_file_origin : key_file_origin, ")"));
      bad.SetPayload(kUsagePayload, absl::Cord());
      return bad;
    }
    options.api_key = *std::move(key);
  }
  options.tls_ca_file = tls_ca_file;
  options.default_deadline = timeout;
  return clients::SegmentdClient::Connect(options);
}

int Context::Fail(const absl::Status& status) const {
  if (status.GetPayload(kUsagePayload).has_value()) return Usage(std::string(status.message()));
  *err << "segctl: " << command << ": " << absl::StatusCodeToString(status.code()) << ": "
       << status.message() << "\n";
  return kExitError;
}

int Context::Usage(const std::string& message) const {
  *err << "segctl: " << command << ": " << message << "\n"
       << "Run 'segctl " << command << " --help' for usage.\n";
  return kExitUsage;
}

void Context::PrintJson(const google::protobuf::Message& message) const {
  std::string json_text;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  // Every field, zero and false included: a script reads "eligible": false,
  // not a missing key (proto3 JSON omits defaults). int64 stays a string.
  options.always_print_primitive_fields = true;
  (void)google::protobuf::util::MessageToJsonString(message, &json_text, options);
  *out << json_text << "\n";
}

std::string FormatTimestamp(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0) return "-";
  const absl::Time at = absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", at, absl::UTCTimeZone());
}

absl::StatusOr<absl::Time> ParseInstant(absl::string_view flag, const std::string& text) {
  if (text == "now") return absl::Now();
  absl::Time t;
  std::string error;
  if (absl::ParseTime(absl::RFC3339_full, text, &t, &error)) return t;
  if (absl::ParseTime("%Y-%m-%d", text, absl::UTCTimeZone(), &t, &error)) return t;
  return absl::InvalidArgumentError(absl::StrCat(
      "--", flag, ": \"", text, "\" is not a time like 2026-01-01T00:00:00Z, 2026-01-01 or now"));
}

absl::StatusOr<std::optional<absl::Time>> OptionalInstant(const Context& ctx,
                                                          absl::string_view flag) {
  const std::string name(flag);
  if (!ctx.args->Has(name)) return std::nullopt;
  absl::StatusOr<absl::Time> t = ParseInstant(flag, ctx.args->Get(name));
  if (!t.ok()) return t.status();
  return *t;
}

}  // namespace segmentd::segctl
