// ImportCheckpoint: the small progress file that makes `--resume` possible.
//
// After every acknowledged batch the importer rewrites the file (write to a
// temporary file, then rename, so a crash leaves the old or the new record,
// never a torn one). A resumed import checks that the record names the same
// source file (path and size), the same mapping and the same destination
// (server and API key), then skips the orders already acknowledged: the
// record of an import into one tenant must never skip orders of an import
// into another.
#ifndef SEGMENTD_CLIENTS_IMPORT_IMPORT_CHECKPOINT_H_
#define SEGMENTD_CLIENTS_IMPORT_IMPORT_CHECKPOINT_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace segmentd::clients {

struct ImportCheckpoint {
  std::string source;        // the imported file's path as given
  int64_t source_bytes = 0;  // its size
  std::string mapping;       // e.g. "cdnow", or "csv customer_id=1,..."
  // Where the orders went: the server address and the API key's public id
  // (ImportDestination); "" in a record of a segctl before 2026-12-06.
  std::string destination;
  int64_t orders_acked = 0;  // orders of the file's sequence acknowledged
  int64_t last_line = 0;     // the line of the last acknowledged order
  bool complete = false;     // the whole file was imported

  // Returns whether `other` describes the same import (source, mapping and
  // destination; a record without a destination is no import this one can
  // resume).
  bool SameImport(const ImportCheckpoint& other) const {
    return source == other.source && source_bytes == other.source_bytes &&
           mapping == other.mapping && !destination.empty() && destination == other.destination;
  }
};

// The destination of an import to the server at `target` with the API key
// `api_key` ("sd_<key_id>_<secret>"): the target and the key's public id,
// never its secret.
std::string ImportDestination(const std::string& target, const std::string& api_key);

// Writes `checkpoint` to `path` atomically (temporary file + rename).
absl::Status WriteCheckpoint(const std::string& path, const ImportCheckpoint& checkpoint);

// Reads a checkpoint: NOT_FOUND when `path` does not exist, DATA_LOSS when it
// is not a checkpoint.
absl::StatusOr<ImportCheckpoint> ReadCheckpoint(const std::string& path);

}  // namespace segmentd::clients

#endif  // SEGMENTD_CLIENTS_IMPORT_IMPORT_CHECKPOINT_H_
