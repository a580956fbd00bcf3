#include "run/layout.h"

#include <cstdio>

namespace run {

std::string epoch_name(int epoch) {
  char text[24];
  std::snprintf(text, sizeof text, "epoch_%03d", epoch);
  return text;
}

std::optional<int> parse_epoch_name(const std::string& name) {
  if (name.rfind("epoch_", 0) != 0 || name.size() == 6 || name.size() > 12 ||
      name.find_first_not_of("0123456789", 6) != std::string::npos)
    return std::nullopt;
  return std::stoi(name.substr(6));
}

std::string Layout::state(int epoch, long step) const {
  std::string name = checkpoints() + "/" + epoch_name(epoch);
  if (step > 0) {
    char text[32];
    std::snprintf(text, sizeof text, ".step_%06ld", step);
    name += text;
  }
  return name + ".state";
}

}  // namespace run
