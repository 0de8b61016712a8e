// Linked into the targets that parse messages: a string field with invalid
// UTF-8 is a parse failure the target skips, and protobuf would log every one,
// burying libFuzzer's own output.
#include "google/protobuf/stubs/logging.h"

namespace {

const bool kQuiet = (google::protobuf::SetLogHandler(nullptr), true);

}  // namespace
