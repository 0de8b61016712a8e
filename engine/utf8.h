#ifndef SEGMENTD_ENGINE_UTF8_H_
#define SEGMENTD_ENGINE_UTF8_H_

// UTF-8 validity, as protobuf's proto3 strings require it: a name that is not
// valid UTF-8 cannot even be sent in a request, so the config's validator and
// segctl (before it sends one) refuse it with a message naming the field.

#include "absl/strings/string_view.h"

namespace segmentd::engine {

// Whether `s` is well-formed UTF-8: no truncated or overlong sequences, no
// surrogates, nothing above U+10FFFF.
bool IsValidUtf8(absl::string_view s);

}  // namespace segmentd::engine

#endif  // SEGMENTD_ENGINE_UTF8_H_
