#include "clients/import/import_checkpoint.h"

#include <cstdio>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace segmentd::clients {

std::string ImportDestination(const std::string& target, const std::string& api_key) {
  // The key id is what lies between the token's first two underscores.
  std::vector<std::string> parts = absl::StrSplit(api_key, absl::MaxSplits('_', 2));
  const std::string key_id = parts.size() == 3 ? parts[1] : "";
  return absl::StrCat(target, " key ", key_id.empty() ? "?" : key_id);
}

absl::Status WriteCheckpoint(const std::string& path, const ImportCheckpoint& c) {
  const std::string tmp = absl::StrCat(path, ".tmp");
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", tmp));
    out << "segctl-import-checkpoint 1\n"
        << "source=" << c.source << "\n"
        << "source_bytes=" << c.source_bytes << "\n"
        << "mapping=" << c.mapping << "\n"
        << "destination=" << c.destination << "\n"
        << "orders_acked=" << c.orders_acked << "\n"
        << "last_line=" << c.last_line << "\n"
        << "complete=" << (c.complete ? 1 : 0) << "\n";
    out.flush();
    if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", tmp));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot rename ", tmp, " to ", path));
  }
  return absl::OkStatus();
}

absl::StatusOr<ImportCheckpoint> ReadCheckpoint(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("no checkpoint at ", path));
  std::string line;
  if (!std::getline(in, line) || line != "segctl-import-checkpoint 1") {
    return absl::DataLossError(absl::StrCat(path, " is not an import checkpoint"));
  }
  ImportCheckpoint c;
  int fields = 0;
  while (std::getline(in, line)) {
    std::pair<std::string, std::string> kv = absl::StrSplit(line, absl::MaxSplits('=', 1));
    int complete = 0;
    bool ok = true;
    if (kv.first == "source") {
      c.source = kv.second;
    } else if (kv.first == "source_bytes") {
      ok = absl::SimpleAtoi(kv.second, &c.source_bytes);
    } else if (kv.first == "mapping") {
      c.mapping = kv.second;
    } else if (kv.first == "destination") {
      c.destination = kv.second;
      continue;  // optional: absent from a record of an older segctl
    } else if (kv.first == "orders_acked") {
      ok = absl::SimpleAtoi(kv.second, &c.orders_acked);
    } else if (kv.first == "last_line") {
      ok = absl::SimpleAtoi(kv.second, &c.last_line);
    } else if (kv.first == "complete") {
      ok = absl::SimpleAtoi(kv.second, &complete);
      c.complete = complete != 0;
    } else {
      continue;
    }
    if (!ok) return absl::DataLossError(absl::StrCat(path, ": bad value in \"", line, "\""));
    ++fields;
  }
  if (fields < 6) return absl::DataLossError(absl::StrCat(path, " is incomplete"));
  return c;
}

}  // namespace segmentd::clients
