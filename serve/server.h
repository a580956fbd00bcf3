// serve/server.h — `nnfmri serve ROOT`: serve/run_index.h over HTTP with cpp-httplib (Debian's
// libcpp-httplib-dev; this folder's server.cpp is the one translation unit that includes httplib.h).
//
// Promise: binds `host` (127.0.0.1 unless --host) on `port` (0: a free port the kernel picks), prints
// one line "serving N runs at http://HOST:PORT/ (Ctrl-C stops)" on stdout (flushed), and answers GET
// requests with RunIndex::handle until SIGINT or SIGTERM, then returns 0.  Read-only: only GET (and
// HEAD) are routed, every other method gets 405; a Host header naming anything but localhost, an IP
// address or `host` gets 403 (DNS rebinding), and a Range header is ignored.  Every error answer, the
// library's own refusals included, is run_index.h's {"error": "<one line>"}.  Bounded: `threads` worker threads, requests of at
// most kMaxRequestBytes of body and httplib's 8 KiB URI and header-line limits, a request (line,
// headers and body) of at most kMaxHeadBytes in all (431), a whole request within kTimeoutSeconds of
// its first byte (408), at most kKeepAliveRequests requests per connection, kTimeoutSeconds write timeouts.
// Requests sent back to back on one connection (pipelining) are answered in order.  A host that is no address of
// this machine is one base::Error naming --host; a port that cannot be bound then, one naming --port
// and the host.  Loopback hosts listen quietly; any other gets a WARNING line on stderr.
#pragma once
#include <string>

namespace serve {

constexpr size_t kMaxRequestBytes = 4096;
constexpr size_t kMaxHeadBytes = size_t(64) << 10;
constexpr int kKeepAliveRequests = 100;
constexpr int kTimeoutSeconds = 5;
// How long a connection that has sent nothing yet keeps its worker thread while other connections
// wait for one (it keeps it up to kTimeoutSeconds when none waits).
constexpr int kIdleGraceMs = 100;

struct ServeOptions {
  std::string root;
  std::string host = "127.0.0.1";
  int port = 6006;
  int threads = 8;
};

int serve(const ServeOptions& options);

}  // namespace serve
