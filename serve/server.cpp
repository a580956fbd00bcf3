#include "serve/server.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <thread>

#include "base/error.h"
#include "serve/run_index.h"

namespace serve {

namespace {

// Whether a request with this Host header may be answered.  A web page can point a name it controls
// at 127.0.0.1 after loading (DNS rebinding) and then read this server as its own origin; its
// requests then carry that name.  So the name (the port aside) must be localhost, an IP address or
// the --host value, which no other site can serve pages under.  No Host header: not a browser.
bool host_allowed(std::string header, const std::string& own_host) {
  if (header.empty()) return true;
  std::transform(header.begin(), header.end(), header.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  const size_t name_end = header[0] == '[' ? header.find(']') + 1 : header.find(':');
  const std::string name = header.substr(0, name_end);
  std::string own = own_host;
  std::transform(own.begin(), own.end(), own.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  unsigned char address[sizeof(in6_addr)];
  return name == "localhost" || name == own || name == "[" + own + "]" || inet_pton(AF_INET, name.c_str(), address) == 1 ||
         (name.size() > 2 && name[0] == '[' && inet_pton(AF_INET6, name.substr(1, name.size() - 2).c_str(), address) == 1);
}

// Whether every address `host` names is a loopback one (127.0.0.0/8, ::1); base::Error naming
// --host when it names none this machine can listen on (checked by binding port 0), so that a later
// failure to bind is the port's.
bool loopback_only(const std::string& host) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  if (const int e = getaddrinfo(host.c_str(), "0", &hints, &found); e != 0)
    throw base::Error("flag --host '" + host + "': expected an address of this machine (" + gai_strerror(e) + ")");
  bool loopback = true, bindable = false;
  for (const addrinfo* a = found; a; a = a->ai_next) {
    if (a->ai_family == AF_INET)
      loopback &= ntohl(reinterpret_cast<const sockaddr_in*>(a->ai_addr)->sin_addr.s_addr) >> 24 == 127;
    else
      loopback &= a->ai_family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&reinterpret_cast<const sockaddr_in6*>(a->ai_addr)->sin6_addr);
    const int fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    bindable |= fd >= 0 && bind(fd, a->ai_addr, a->ai_addrlen) == 0;
    if (fd >= 0) close(fd);
  }
  freeaddrinfo(found);
  if (!bindable) throw base::Error("flag --host '" + host + "': expected an address of this machine (none it names can be listened on)");
  return loopback;
}

// Why the connection stream (below) cut the current request short, for the error handler of the
// same worker thread; none when it did not.  `refused`: a request answered before it was read whole
// (a request line the library cannot parse, a method serve does not answer, a body it does not read),
// whose remaining bytes are no next request: its connection ends after the answer.
enum class Cut { none, slow, large, refused };
thread_local Cut t_cut = Cut::none;

// Ends the connection after the answer being written (see Cut::refused).
void end_connection(httplib::Response& res) {
  if (t_cut == Cut::none) t_cut = Cut::refused;
  res.set_header("Connection", "close");
}

// One connection as cpp-httplib's Stream, bounding what the library (0.11) does not: its read
// timeout is per read and its line limits are checked only after a line was read whole, so a
// client could trickle header lines for ever (holding a worker thread) or send them without end
// (memory).  Here a request — its line, headers and body (at most kMaxRequestBytes) — is at most
// kMaxHeadBytes bytes in all and must arrive within kTimeoutSeconds of its first byte; past either
// the stream reads as ended, the library answers 400, and the error handler makes that 431 or 408.
// The bytes read ahead stay in the stream for the connection's next request (pipelining: the
// library's own stream lived for one request and dropped them).
class ConnectionStream final : public httplib::Stream {
 public:
  explicit ConnectionStream(socket_t fd) : fd_(fd) {}

  // Waits up to kTimeoutSeconds for a next request while `listening` is open (checked every
  // kIdleGraceMs, so that a stopping server does not wait for idle connections) — for the `first`
  // request only kIdleGraceMs while other connections wait for a worker thread (`waiting` > 0): a
  // connection that has sent nothing since it was accepted (queued meanwhile) is not about to.  (Not
  // between requests: a keep-alive client sends its next request on the connection it has, and one
  // closed as it does so fails.)  True when a request has begun.
  bool next_request(const std::atomic<socket_t>& listening, const std::atomic<int>& waiting, bool first) {
    if (t_cut != Cut::none) return false;  // a request cut short: the connection ends
    const auto now = std::chrono::steady_clock::now();
    const auto until = now + std::chrono::seconds(kTimeoutSeconds), grace = now + std::chrono::milliseconds(kIdleGraceMs);
    while (begin_ == end_) {
      const auto t = std::chrono::steady_clock::now();
      if (listening == INVALID_SOCKET || t >= until || (first && waiting > 0 && t >= grace)) return false;
      if (wait(POLLIN, kIdleGraceMs) && !fill()) return false;
    }
    deadline_ = std::chrono::steady_clock::now() + std::chrono::seconds(kTimeoutSeconds);
    budget_ = kMaxHeadBytes;
    return true;
  }

  bool is_readable() const override { return begin_ < end_ || wait(POLLIN, remaining_ms()); }
  bool is_writable() const override { return wait(POLLOUT, kTimeoutSeconds * 1000); }
  ssize_t read(char* ptr, size_t size) override {
    if (t_cut != Cut::none) return 0;
    if (begin_ == end_) {
      if (!wait(POLLIN, remaining_ms())) return (t_cut = Cut::slow), 0;
      if (!fill()) return 0;
    }
    const size_t n = std::min({size, end_ - begin_, budget_});
    if (n == 0) return (t_cut = Cut::large), 0;
    std::memcpy(ptr, buffer_ + begin_, n);
    begin_ += n, budget_ -= n;
    return ssize_t(n);
  }
  ssize_t write(const char* ptr, size_t size) override {
    if (!is_writable()) return -1;
    return send(fd_, ptr, size, MSG_NOSIGNAL);
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override { address(getpeername, ip, port); }
  void get_local_ip_and_port(std::string& ip, int& port) const override { address(getsockname, ip, port); }
  socket_t socket() const override { return fd_; }

 private:
  int remaining_ms() const {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - std::chrono::steady_clock::now());
    return int(std::max<long long>(0, left.count()));
  }
  // Whether `events` can be done on the socket within `ms` (an ended connection is readable: the
  // read then sees its end).
  bool wait(short events, int ms) const {
    pollfd p = {fd_, events, 0};
    int r;
    while ((r = poll(&p, 1, ms)) < 0 && errno == EINTR) {
    }
    if (r <= 0) return false;
    return events == POLLIN || !(p.revents & (POLLERR | POLLHUP | POLLNVAL));
  }
  // Reads what the socket holds into the empty buffer; false at the connection's end or an error.
  bool fill() {
    ssize_t n;
    while ((n = recv(fd_, buffer_, sizeof buffer_, 0)) < 0 && errno == EINTR) {
    }
    begin_ = 0, end_ = n > 0 ? size_t(n) : 0;
    return n > 0;
  }
  void address(int (*name)(int, sockaddr*, socklen_t*), std::string& ip, int& port) const {
    sockaddr_storage a{};
    socklen_t length = sizeof a;
    char host[NI_MAXHOST] = "", service[NI_MAXSERV] = "0";
    if (name(fd_, reinterpret_cast<sockaddr*>(&a), &length) == 0)
      getnameinfo(reinterpret_cast<sockaddr*>(&a), length, host, sizeof host, service, sizeof service, NI_NUMERICHOST | NI_NUMERICSERV);
    ip = host, port = std::atoi(service);
  }

  socket_t fd_;
  char buffer_[4096];
  size_t begin_ = 0, end_ = 0, budget_ = 0;
  std::chrono::steady_clock::time_point deadline_;
};

// The library's thread pool, counting the connections accepted and not yet taken by a worker thread.
class CountingPool final : public httplib::TaskQueue {
 public:
  CountingPool(size_t threads, std::atomic<int>& waiting) : pool_(threads), waiting_(waiting) {}
  void enqueue(std::function<void()> fn) override {
    ++waiting_;
    pool_.enqueue([this, fn = std::move(fn)] {
      --waiting_;
      fn();
    });
  }
  void shutdown() override { pool_.shutdown(); }

 private:
  httplib::ThreadPool pool_;
  std::atomic<int>& waiting_;
};

// cpp-httplib's server with each connection read through ConnectionStream: the keep-alive loop of
// the library's process_and_close_socket (at most kKeepAliveRequests requests, the last answered
// with "Connection: close"), over one stream for the whole connection.  A connection that has sent
// nothing gives its worker thread up after kIdleGraceMs when others wait for one: such connections (a
// browser's spare ones) held a thread kTimeoutSeconds each while requests queued.
class Server final : public httplib::Server {
 public:
  explicit Server(int threads) {
    new_task_queue = [this, threads] { return new CountingPool(size_t(threads), waiting_); };
  }

 private:
  std::atomic<int> waiting_{0};

  bool process_and_close_socket(socket_t sock) override {
    ConnectionStream stream(sock);
    bool ok = false;
    t_cut = Cut::none;
    for (int left = kKeepAliveRequests; left > 0 && stream.next_request(svr_sock_, waiting_, left == kKeepAliveRequests); --left) {
      bool closed = false;
      ok = process_request(stream, left == 1, closed, nullptr);
      if (!ok || closed) break;
    }
    t_cut = Cut::none;
    ::shutdown(sock, SHUT_RDWR);
    ::close(sock);
    return ok;
  }
};

void answer(httplib::Response& res, const Reply& reply) {
  res.status = reply.status;
  res.set_content(reply.body, reply.type.c_str());
}

}  // namespace

int serve(const ServeOptions& options) {
  const RunIndex index(options.root);
  Server server(options.threads);
  server.set_payload_max_length(kMaxRequestBytes);
  server.set_keep_alive_max_count(kKeepAliveRequests);
  server.set_keep_alive_timeout(kTimeoutSeconds);
  server.set_read_timeout(kTimeoutSeconds, 0);
  server.set_write_timeout(kTimeoutSeconds, 0);
  // Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm holds the second
  // until the client's delayed ACK (40 ms), which capped a keep-alive connection at ~22 requests/s.
  server.set_tcp_nodelay(true);
  // The library's default socket options set SO_REUSEPORT, with which a second server (another
  // `nnfmri serve` on the same port) binds beside the first and the kernel splits the connections
  // between them.  SO_REUSEADDR alone still allows a restart while old connections linger in
  // TIME_WAIT, but not a second listener: the bind fails and the port is reported in use.
  server.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  server.set_default_headers({{"Cache-Control", "no-store"}, {"X-Content-Type-Options", "nosniff"}});
  server.set_pre_routing_handler([&options](const httplib::Request& req, httplib::Response& res) {
    // No compression: Debian's library answers "Accept-Encoding: br" with brotli at its slowest
    // quality (24 s for a 2.2 MB run on this machine, against 0.07 s uncompressed), and the server is
    // meant for loopback.  No ranges: the library answers them under status 200 with a partial body,
    // and builds a many-range answer in memory with one copy of the file per range (without bound).
    // The request object is the library's own non-const one, passed here as const.
    httplib::Request& request = const_cast<httplib::Request&>(req);
    request.headers.erase("Accept-Encoding");
    request.headers.erase("Range");
    request.ranges.clear();
    if (!host_allowed(req.get_header_value("Host"), options.host)) {
      answer(res, error_reply(403, "Host '" + req.get_header_value("Host") +
                                       "': not localhost, an IP address or --host (a page of another site may not read the runs)"));
      return httplib::Server::HandlerResponse::Handled;
    }
    if (req.method != "GET" && req.method != "HEAD") {
      res.set_header("Allow", "GET, HEAD");
      answer(res, error_reply(405, "read-only: only GET and HEAD"));
      end_connection(res);  // its body, if any, is not read
      return httplib::Server::HandlerResponse::Handled;
    }
    // The library reads no body of a GET or HEAD: its bytes would be taken for the next request.
    if (req.has_header("Transfer-Encoding") || (req.has_header("Content-Length") && req.get_header_value("Content-Length") != "0")) {
      answer(res, error_reply(400, "a GET or HEAD request with a body (serve reads none)"));
      end_connection(res);
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  // The library's own refusals (before the handlers above: a request line it cannot parse, an unknown
  // method, an oversized URI or header, an unparsable Range) come with an empty body: given the JSON
  // error of every other answer.
  server.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    const_cast<httplib::Request&>(req).ranges.clear();
    if (t_cut == Cut::slow || t_cut == Cut::large)  // the stream cut the request short (the library saw an unreadable one: 400)
      res.status = t_cut == Cut::slow ? 408 : 431;
    end_connection(res);  // where the refused request ends is not known
    const std::string why = res.status == 408   ? "the request did not arrive within " + std::to_string(kTimeoutSeconds) + " s of its first byte"
                            : res.status == 431 ? "a request line, headers and body over " + std::to_string(kMaxHeadBytes >> 10) + " KiB in all"
                            : res.status == 400   ? "not a request the server can read (an HTTP/1.x request line with a known method, header lines of at most 8 KiB)"
                            : res.status == 413 ? "a request body over " + std::to_string(kMaxRequestBytes) + " bytes"
                            : res.status == 414 ? "a URI over 8 KiB"
                            : res.status == 416 ? "a Range header that cannot be parsed (serve ignores ranges)"
                                                : "HTTP status " + std::to_string(res.status);
    answer(res, error_reply(res.status, why));
    return httplib::Server::HandlerResponse::Handled;
  }));
  server.Get(".*", [&index](const httplib::Request& req, httplib::Response& res) {
    answer(res, index.handle(req.path));
  });

  // SIGINT and SIGTERM are taken by one thread with sigwait (the handler thread pool inherits the
  // blocked mask), which then stops the server: no work inside a signal handler.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const bool loopback = loopback_only(options.host);
  const std::string where = "--port " + std::to_string(options.port) + " on " + options.host;
  int port = options.port;
  if (port == 0) {
    port = server.bind_to_any_port(options.host);
    if (port < 0) throw base::Error(where + ": cannot bind a free port");
  } else if (!server.bind_to_port(options.host, port)) {
    throw base::Error(where + ": cannot listen there (the port is in use, or below 1024 for a user other than root)");
  }
  const size_t runs = index.run_list()["runs"].size();
  // An IPv6 address is bracketed in a URL: http://[::1]:6006/.
  const std::string shown = options.host.find(':') == std::string::npos ? options.host : "[" + options.host + "]";
  if (!loopback)
    std::fprintf(stderr,
                 "nnfmri serve: WARNING: --host %s: listening beyond this machine's loopback; anyone who can reach "
                 "%s:%d can read every run under %s\n",
                 options.host.c_str(), shown.c_str(), port, index.root().c_str());
  if (runs == 0)
    std::printf("no runs in %s yet (a run is a subdirectory with run.json); they appear on the page when written\n",
                index.root().c_str());
  std::printf("serving %zu run%s at http://%s:%d/ (Ctrl-C stops)\n", runs, runs == 1 ? "" : "s", shown.c_str(), port);
  std::fflush(stdout);

  std::atomic<bool> ended{false};
  std::thread stopper([&server, &ended, signals] {
    int signal = 0;
    sigwait(&signals, &signal);
    // stop() does nothing before the listening loop has started: a signal right after the start-up
    // line waits for it.
    while (!server.is_running() && !ended) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    server.stop();
  });
  const bool ok = server.listen_after_bind();
  ended = true;
  // Wakes the stopper when the listening ended by itself (it has returned otherwise; the signal then
  // stays pending, blocked, on a finished thread).
  pthread_kill(stopper.native_handle(), SIGTERM);
  stopper.join();
  if (!ok) throw base::Error(where + ": the server stopped accepting connections");
  return 0;
}

}  // namespace serve
