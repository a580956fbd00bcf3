// nnfmri serve ROOT [--host H] [--port P] [--threads N] — a local dashboard of the runs under ROOT that
// follows them while they train (serve/server.h, README "Watching runs live").
#include <cstdio>

#include "apps/commands.h"
#include "serve/server.h"

namespace app {

int cmd_serve(int argc, char** argv) {
  Flags flags(kServe, argc, argv);
  if (flags.help()) return std::fputs(flags.usage().c_str(), stdout), 0;
  serve::ServeOptions options;
  options.root = flags.operands()[0];
  options.host = flags.text("--host");
  options.port = int(flags.integer("--port"));
  options.threads = int(flags.integer("--threads"));
  return serve::serve(options);
}

}  // namespace app
