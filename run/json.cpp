#include "run/json.h"

#include "base/fileio.h"

namespace run {

void write_json(const std::string& path, const Json& document, int indent) {
  require_finite(document, path);
  base::write_file_atomic(path, json_text(document, indent) + "\n");
}

}  // namespace run
