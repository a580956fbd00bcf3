// run/json.h — the one JSON writer of the project; the reader is base/json.h, re-exported here.
//
// Writer promise: write_json(path, document, indent) writes document.dump(indent) + "\n" atomically
// (base::write_file_atomic: temp file + rename).  Every number must be finite: a NaN or infinity
// throws base::Error naming the file and the JSON pointer of the value (JSON has no NaN, and a
// silent null would read back as "missing").  Strings that are not valid UTF-8 (a class name read
// from a file) are written with U+FFFD in place of the bad bytes, never an exception.
#pragma once
#include <string>

#include "base/json.h"

namespace run {

using base::Json;
using base::json_text;
using base::kMaxJsonBytes;
using base::kMaxJsonDepth;
using base::Node;
using base::parse_json;
using base::pointer_token;
using base::read_json;
using base::read_optional_json;
using base::require_finite;

// require_finite, then json_text(document, indent) + "\n" written atomically to path.
void write_json(const std::string& path, const Json& document, int indent);

}  // namespace run
