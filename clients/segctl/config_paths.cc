#include "clients/segctl/config_paths.h"

#include <cstdint>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "engine/config.h"
#include "engine/utf8.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace segmentd::segctl {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

namespace {

// SetConfigPath's work, on a config it may leave half-changed when it fails
// (an empty group created on the way to a bad value).
absl::Status SetPath(const std::string& path, const std::string& value, Message* message) {
  std::vector<std::string> parts = absl::StrSplit(path, '.');
  for (size_t i = 0; i < parts.size(); ++i) {
    const FieldDescriptor* field = message->GetDescriptor()->FindFieldByName(parts[i]);
    if (field == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("config has no parameter \"", path, "\""));
    }
    const Reflection* r = message->GetReflection();
    const bool last = i + 1 == parts.size();
    if (field->type() == FieldDescriptor::TYPE_MESSAGE) {
      if (last || field->is_repeated()) {
        return absl::InvalidArgumentError(
            absl::StrCat("\"", path, "\" is a group of parameters; name one, e.g. ", path, ".enabled"));
      }
      message = r->MutableMessage(message, field);
      continue;
    }
    if (!last) return absl::InvalidArgumentError(absl::StrCat("config has no parameter \"", path, "\""));
    auto bad = [&](const char* what) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": \"", value, "\" is not ", what));
    };
    // Not echoed: bytes that are not UTF-8 would garble the terminal.
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_STRING && !engine::IsValidUtf8(value)) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": not valid UTF-8"));
    }
    if (field->is_repeated()) {
      if (field->type() != FieldDescriptor::TYPE_STRING) return bad("supported");
      r->ClearField(message, field);
      for (absl::string_view item : absl::StrSplit(value, ',', absl::SkipWhitespace())) {
        r->AddString(message, field, std::string(item));
      }
      return absl::OkStatus();
    }
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_BOOL: {
        bool b = false;
        if (!absl::SimpleAtob(value, &b)) return bad("true or false");
        r->SetBool(message, field, b);
        break;
      }
      case FieldDescriptor::CPPTYPE_UINT32: {
        uint32_t n = 0;
        uint64_t wide = 0;
        if (!absl::SimpleAtoi(value, &n)) {
          return absl::SimpleAtoi(value, &wide) ? bad("at most 4294967295")
                                                : bad("a non-negative integer");
        }
        r->SetUInt32(message, field, n);
        break;
      }
      case FieldDescriptor::CPPTYPE_INT64: {
        int64_t n = 0;
        if (!absl::SimpleAtoi(value, &n)) return bad("an integer");
        r->SetInt64(message, field, n);
        break;
      }
      case FieldDescriptor::CPPTYPE_DOUBLE: {
        double d = 0;
        if (!absl::SimpleAtod(value, &d)) return bad("a number");
        r->SetDouble(message, field, d);
        break;
      }
      case FieldDescriptor::CPPTYPE_STRING:
        r->SetString(message, field, value);
        break;
      default:
        return bad("supported");
    }
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError("empty parameter path");
}

}  // namespace

std::string AlternativesOf(const std::string& path) {
  const google::protobuf::Descriptor* descriptor = v1::SegmentConfig::descriptor();
  std::vector<std::string> parts = absl::StrSplit(path, '.');
  for (size_t i = 0; i < parts.size(); ++i) {
    const FieldDescriptor* field = descriptor->FindFieldByName(parts[i]);
    if (field == nullptr) return "";
    if (i + 1 == parts.size()) {
      // (Not the synthetic oneof of a proto3 `optional` field.)
      const google::protobuf::OneofDescriptor* oneof = field->real_containing_oneof();
      if (oneof == nullptr) return "";
      parts.back() = oneof->name();
      return absl::StrJoin(parts, ".");
    }
    if (field->type() != FieldDescriptor::TYPE_MESSAGE) return "";
    descriptor = field->message_type();
  }
  return "";
}

absl::Status SetConfigPath(const std::string& path, const std::string& value,
                           v1::SegmentConfig* config) {
  v1::SegmentConfig changed = *config;
  if (absl::Status s = SetPath(path, value, &changed); !s.ok()) return s;
  *config = std::move(changed);
  return absl::OkStatus();
}

namespace {

std::string ScalarText(const Message& m, const FieldDescriptor* f) {
  const Reflection* r = m.GetReflection();
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_BOOL:
      return r->GetBool(m, f) ? "true" : "false";
    case FieldDescriptor::CPPTYPE_UINT32:
      return absl::StrCat(r->GetUInt32(m, f));
    case FieldDescriptor::CPPTYPE_INT32:
      return absl::StrCat(r->GetInt32(m, f));
    case FieldDescriptor::CPPTYPE_INT64:
      return absl::StrCat(r->GetInt64(m, f));
    case FieldDescriptor::CPPTYPE_UINT64:
      return absl::StrCat(r->GetUInt64(m, f));
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return engine::ShortestExact(r->GetDouble(m, f));
    case FieldDescriptor::CPPTYPE_STRING:
      return r->GetString(m, f);
    case FieldDescriptor::CPPTYPE_ENUM:
      return r->GetEnum(m, f)->name();
    default:
      return "?";
  }
}

void Flatten(const Message& m, const std::string& prefix,
             std::vector<std::pair<std::string, std::string>>* out) {
  std::vector<const FieldDescriptor*> fields;
  m.GetReflection()->ListFields(m, &fields);
  for (const FieldDescriptor* f : fields) {
    const std::string path = prefix.empty() ? f->name() : absl::StrCat(prefix, ".", f->name());
    const Reflection* r = m.GetReflection();
    if (f->is_repeated()) {
      std::vector<std::string> items;
      for (int i = 0; i < r->FieldSize(m, f); ++i) {
        items.push_back(f->cpp_type() == FieldDescriptor::CPPTYPE_STRING ? r->GetRepeatedString(m, f, i) : "?");
      }
      out->emplace_back(path, absl::StrJoin(items, ","));
    } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      Flatten(r->GetMessage(m, f), path, out);
    } else {
      out->emplace_back(path, ScalarText(m, f));
    }
  }
}

}  // namespace

std::vector<std::pair<std::string, std::string>> FlattenConfig(const v1::SegmentConfig& config) {
  std::vector<std::pair<std::string, std::string>> out;
  Flatten(config, "", &out);
  return out;
}

}  // namespace segmentd::segctl
