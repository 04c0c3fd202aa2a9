// WebSocketBridge: construction of the lws context and vhosts, the loop thread, and the MQTT
// side of each WebSocket connection. The lws callbacks that call in here are in callbacks.cpp.
#include "bridge/ws_bridge.hpp"

#include <arpa/inet.h>
#include <libwebsockets.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <mutex>
#include <stdexcept>

#include "bridge/callbacks.hpp"
#include "core/broker.hpp"
#include "util/log.hpp"

namespace hydrant::bridge {

namespace {

constexpr size_t kMaxFramePayload = 64 * 1024;  // bytes handed to lws_write per wake-up
constexpr lws_usec_t kTickUs = 250 * LWS_US_PER_MS;
constexpr unsigned kHeaderBuffers = 1024;  // 32 MiB at most in header buffers

// lws's own warnings and errors go to our log. A failing condition can repeat a line thousands
// of times a second (lws logs every failed accept(), and its listener stays polled): a line that
// repeats the previous one within kLogRepeatWindow is counted, and the count is logged with the
// next different line or after the window.
constexpr auto kLogRepeatWindow = std::chrono::seconds(5);

void lws_log_line(int level, const char* line) {
  static std::mutex mutex;
  static std::string last;
  static uint64_t repeats = 0;
  static std::chrono::steady_clock::time_point last_logged;
  std::string_view text(line);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  // lws prefixes a timestamp ("[2024/01/01 00:00:00:0000] E: "): compare what follows it.
  const size_t body_at = text.starts_with('[') ? text.find("] ") : std::string_view::npos;
  const std::string_view body = body_at == std::string_view::npos ? text : text.substr(body_at + 2);
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex);
  if (body == last && now - last_logged < kLogRepeatWindow) {
    ++repeats;
    return;
  }
  if (repeats > 0) log::warn("bridge lws: previous line repeated {} times", repeats);
  repeats = 0;
  last.assign(body);
  last_logged = now;
  if (level & LLL_ERR) {
    log::error("bridge lws: {}", text);
  } else {
    log::warn("bridge lws: {}", text);
  }
}

// Binds `l` once with a socket of our own, so that an address that cannot be bound stops
// start-up with the reason (lws retries some bind failures later, silently), and a host that is
// not an IP literal is refused (lws would read it as an interface name).
void check_bindable(const HttpListener& l) {
  const bool any = l.host.empty() || l.host == "0.0.0.0";
  auto ip = util::PeerAddress::parse_ip(any ? "0.0.0.0" : l.host);
  if (!ip) throw std::runtime_error(fmt::format("bridge: listen {}: not an IP address", l.host));
  ip->port = l.port;
  sockaddr_storage ss{};
  const socklen_t len = ip->to_sockaddr(ss);
  const int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(fmt::format("bridge: socket: {}", std::strerror(errno)));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  const int rc = bind(fd, reinterpret_cast<sockaddr*>(&ss), len);
  const int err = errno;
  ::close(fd);
  if (rc != 0) {
    throw std::runtime_error(fmt::format("bridge: cannot listen on {}:{} ({}): {}", l.host, l.port,
                                         l.tls ? "https" : "http", std::strerror(err)));
  }
}

}  // namespace

struct WebSocketBridge::Connection {
  Connection(lws* w, session::Services& services, uint64_t id, util::PeerAddress peer,
             fanout::Clock::time_point now)
      : wsi(w), link(services, id, peer, now) {}
  lws* wsi;
  session::ClientLink link;
  size_t message_bytes = 0;  // of the WebSocket message being received
  bool closing = false;      // flush what is queued, then close
  bool dirty = false;        // in dirty_
  bool write_failed = false;  // a direct write failed: the WRITEABLE callback closes it
};

struct WebSocketBridge::TickTimer {
  lws_sorted_usec_list_t sul{};  // first: the callback recovers the TickTimer from it
  lws_sorted_usec_list_t ready_sul{};
  WebSocketBridge* bridge = nullptr;
};

WebSocketBridge::WebSocketBridge(core::Broker& broker, uint32_t index, session::Limits limits,
                                 BridgeOptions options)
    : SessionHost(broker, index, limits),
      options_(std::move(options)),
      loop_(std::make_unique<uv_loop_t>()),
      next_conn_id_((static_cast<uint64_t>(index) << 40) + 1),
      write_buf_(LWS_PRE + kMaxFramePayload),
      tick_(std::make_unique<TickTimer>()),
      mounts_(std::make_unique<MountTable>()) {
  mounts_->web_root = options_.web_root;
  if (char real[PATH_MAX]; realpath(options_.web_root.c_str(), real)) real_web_root_ = real;
  fill_mounts(*mounts_);
  for (const HttpListener& l : options_.listeners) check_bindable(l);
  lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_line);
  create_context();
  for (const HttpListener& l : options_.listeners) add_listener(l);
  tick_->bridge = this;
}

// The lws context on our libuv loop, listening nowhere yet.
void WebSocketBridge::create_context() {
  if (const int rc = uv_loop_init(loop_.get()); rc != 0) {
    throw std::runtime_error(fmt::format("bridge: libuv loop: {}", uv_strerror(rc)));
  }
  lws_context_creation_info info;
  std::memset(&info, 0, sizeof info);
  // lws on our libuv loop ("foreign": lws neither runs nor closes it, and leaves signals alone).
  void* foreign_loops[1] = {loop_.get()};
  info.foreign_loops = foreign_loops;
  info.pcontext = &live_context_;  // lws clears it when the context is freed
  info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT |
                 LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_UV_NO_SIGSEGV_SIGFPE_SPIN;
  info.port = CONTEXT_PORT_NO_LISTEN;
  info.protocols = protocols();
  info.user = this;
  // Room for a URI or headers somewhat over our limits, so that those get a 414 / 431 from
  // http.cpp rather than lws's close without a status; one buffer per connection while its
  // headers arrive, at most kHeaderBuffers of them at once (later ones wait for a free one).
  info.max_http_header_data2 = kHttpHeaderBuffer;
  info.max_http_header_pool2 = kHeaderBuffers;
  context_ = lws_create_context(&info);
  if (!context_) {
    uv_loop_close(loop_.get());
    throw std::runtime_error(
        "bridge: cannot create the libwebsockets context (its libuv event library, "
        "libwebsockets-evlib-uv, must be installed)");
  }
}

// One vhost per HTTP listener (ws or wss), bound now; throws when it cannot listen.
void WebSocketBridge::add_listener(const HttpListener& l) {
  lws_context_creation_info info;
  std::memset(&info, 0, sizeof info);
  info.port = l.port;
  // lws binds an IPv6 socket unless told not to, and reads an IPv4 address given for it into
  // the wrong field: "127.0.0.1" bound "::", every interface. An IPv4 host (0.0.0.0 included,
  // as for the MQTT listeners) therefore gets an IPv4-only socket bound to exactly it.
  const bool ipv4 = l.host.empty() || l.host.find(':') == std::string::npos;
  const bool any = l.host == "0.0.0.0" || l.host == "::" || l.host.empty();
  info.iface = any ? nullptr : l.host.c_str();
  info.protocols = protocols();
  info.mounts = &mounts_->files;
  info.alpn = "http/1.1";  // WebSocket upgrades are HTTP/1.1 ones
  info.vhost_name = l.tls ? "https" : "http";
  info.options = LWS_SERVER_OPTION_VALIDATE_UTF8 | (l.tls ? LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT : 0) |
                 (ipv4 ? LWS_SERVER_OPTION_DISABLE_IPV6 : 0);
  if (l.tls) {
    info.ssl_cert_filepath = options_.tls_cert.c_str();
    info.ssl_private_key_filepath = options_.tls_key.c_str();
    // Modern versions only: TLS 1.2 and 1.3.
    info.ssl_options_set = SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 |
                           SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION;
    info.ssl_cipher_list =
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
        "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
  }
  lws_vhost* vh = lws_create_vhost(context_, &info);
  if (!vh) {
    destroy_context();
    throw std::runtime_error(fmt::format("bridge: cannot listen on {}:{} ({})", l.host, l.port,
                                         l.tls ? "https" : "http"));
  }
  ports_.push_back(static_cast<uint16_t>(lws_get_vhost_listen_port(vh)));
}

WebSocketBridge::~WebSocketBridge() { destroy_context(); }

void WebSocketBridge::destroy_context() {
  lws_context* context;
  {
    std::lock_guard lock(context_mutex_);
    context = context_;
    context_ = nullptr;
  }
  if (!context) return;
  // On a foreign loop lws closes its libuv handles asynchronously: run the loop until they are
  // closed. lws 4.1 then frees the context only if its last connection closed after its other
  // handles; otherwise a second lws_context_destroy() finishes it (it clears live_context_ once
  // done). Bounded, so that a handle lws forgot cannot hang the shutdown.
  live_context_ = context;
  lws_context_destroy(context);
  bool handles_left = true;
  for (int i = 0; i < 1000 && (live_context_ || handles_left); ++i) {
    handles_left = uv_run(loop_.get(), UV_RUN_NOWAIT) != 0;
    if (!handles_left && live_context_) lws_context_destroy(context);
  }
  if (live_context_ || handles_left || uv_loop_close(loop_.get()) != 0) log::warn("bridge event=loop-not-closed");
}

void WebSocketBridge::start() {
  // The hosting worker's first pass opens lws's listening sockets: wait for it, so that a client
  // connecting right after start-up is not refused.
  std::future<void> ready = ready_.get_future();
  if (ready.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    log::warn("bridge event=slow-start note=\"listeners not serviced after 10 s\"");
  }
}

void WebSocketBridge::wake() {
  // The hosting worker runs run_once() before it waits: nothing to wake on its own thread.
  if (loop_thread_.load(std::memory_order_relaxed) == std::this_thread::get_id()) return;
  // Other hosts may post until they stop, which can be after the loop ended.
  std::lock_guard lock(context_mutex_);
  if (context_) lws_cancel_service(context_);
}

void WebSocketBridge::touch_clock() { now_ = fanout::Clock::now(); }

void WebSocketBridge::reload_certificate() {
  if (options_.tls_cert.empty()) return;
  auto read = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  auto cert = std::make_shared<std::string>(read(options_.tls_cert));
  auto key = std::make_shared<std::string>(read(options_.tls_key));
  post(core::CallTask{[this, cert, key] {
    if (!context_) return;
    const int rc = lws_tls_cert_updated(context_, options_.tls_cert.c_str(),
                                        options_.tls_key.c_str(), cert->data(), cert->size(),
                                        key->data(), key->size());
    // The pair was checked before (main's reload logs the outcome); only a failure here is news.
    if (rc != 0) {
      log::error("event=tls-reload-failed listener=https note=\"libwebsockets refused the checked "
                 "certificate; the https listener keeps the running one\"");
    }
  }});
}

void WebSocketBridge::attach() {
  loop_thread_.store(std::this_thread::get_id());
  touch_clock();
  lws_sul_schedule(context_, 0, &tick_->sul, [](lws_sorted_usec_list_t* sul) {
    auto* timer = reinterpret_cast<TickTimer*>(sul);
    timer->bridge->on_tick();
  }, kTickUs);
  lws_sul_schedule(context_, 0, &tick_->ready_sul, [](lws_sorted_usec_list_t* sul) {
    auto* timer = reinterpret_cast<TickTimer*>(reinterpret_cast<char*>(sul) -
                                               offsetof(TickTimer, ready_sul));
    timer->bridge->ready_.set_value();
  }, 1);
}

int WebSocketBridge::poll_fd() const { return uv_backend_fd(loop_.get()); }

int WebSocketBridge::timeout_ms() {
  return more_pending_ ? 0 : uv_backend_timeout(loop_.get());
}

void WebSocketBridge::run_once() {
  touch_clock();
  drain_inbox();  // what the hosting worker routed here in this pass
  // libuv applies watcher changes (a new connection's socket, lws asking for POLLOUT) in its
  // next poll phase, not when they are made: run it until a run made no changes — no lws
  // callback ran and nothing was queued — so that the worker's wait covers every socket.
  constexpr int kMaxRuns = 4;
  int runs = 0;
  do {
    flush_dirty();
    callbacks_ran_ = false;
    uv_run(loop_.get(), UV_RUN_NOWAIT);
  } while ((callbacks_ran_ || !dirty_.empty()) && ++runs < kMaxRuns);
  more_pending_ = callbacks_ran_ || !dirty_.empty();
}

void WebSocketBridge::detach() {
  lws_sul_cancel(&tick_->sul);
  lws_sul_cancel(&tick_->ready_sul);
  // Closing the context closes every connection (each one's CLOSED callback ends its link, as a
  // TCP worker does at shutdown).
  destroy_context();
}

void WebSocketBridge::on_tick() {
  touch_clock();
  for (auto& [id, c] : conns_) {
    c->link.on_tick(now_);
    if (c->link.closing() && !c->closing) {
      c->closing = true;
      lws_callback_on_writable(c->wsi);
    }
  }
  expire_sessions();
  lws_sul_schedule(context_, 0, &tick_->sul, tick_->sul.cb, kTickUs);
}

// ---- connections ----

bool WebSocketBridge::accept_upgrade(lws* wsi) {
  char uri[256];
  if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) <= 0 || std::strcmp(uri, "/mqtt") != 0) {
    log::info("bridge event=upgrade-refused why=\"path is not /mqtt\"");
    return false;
  }
  if (!options_.allowed_origins.empty()) {
    char origin[256] = "";
    lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN);
    bool ok = false;
    for (const auto& allowed : options_.allowed_origins) ok = ok || allowed == origin;
    if (!ok) {
      log::info("bridge event=upgrade-refused why=\"origin not allowed\" origin=\"{}\"", origin);
      return false;
    }
  }
  return true;
}

util::PeerAddress WebSocketBridge::client_address(lws* wsi) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  util::PeerAddress peer;
  if (getpeername(lws_get_socket_fd(wsi), reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
    peer = util::PeerAddress::from_sockaddr(ss);
  }
  bool trusted = false;
  for (const auto& proxy : options_.trusted_proxies) {
    trusted = trusted || (proxy.family == peer.family && proxy.bytes == peer.bytes);
  }
  if (!trusted) return peer;
  // The proxy appends the address it saw: the last entry is the one it vouches for.
  char header[512];
  if (lws_hdr_copy(wsi, header, sizeof header, WSI_TOKEN_X_FORWARDED_FOR) <= 0) return peer;
  std::string_view list(header);
  const size_t comma = list.rfind(',');
  std::string_view last = comma == std::string_view::npos ? list : list.substr(comma + 1);
  while (!last.empty() && last.front() == ' ') last.remove_prefix(1);
  while (!last.empty() && last.back() == ' ') last.remove_suffix(1);
  if (auto forwarded = util::PeerAddress::parse_ip(last)) return *forwarded;
  return peer;
}

WebSocketBridge::Connection* WebSocketBridge::open_connection(lws* wsi) {
  if (!broker_.admit_connection()) {
    // Refused at once (lws closes it); one line per 5 s with a count, as the TCP workers do.
    if (const uint64_t n = refused_log_.add(now_)) {
      log::warn("bridge event=refused why=\"max-connections reached\" max={} count={}",
                broker_.max_connections(), n);
    }
    return nullptr;
  }
  const uint64_t id = next_conn_id_++;
  auto conn = std::make_unique<Connection>(wsi, *this, id, client_address(wsi), now_);
  Connection* raw = conn.get();
  raw->link.set_transport(lws_is_ssl(wsi) ? metrics::Transport::Wss : metrics::Transport::Ws);
  conns_.emplace(id, std::move(conn));
  counters_.connections_total.add();
  counters_.clients_connected.add(1);
  counters_.of(raw->link.transport()).connected.add(1);
  return raw;
}

int WebSocketBridge::on_message(Connection& c, const uint8_t* data, size_t len, bool binary,
                                bool first) {
  if (c.closing) return 0;  // input after the protocol ended is dropped, as a TCP linger does
  if (first) c.message_bytes = 0;
  c.message_bytes += len;
  if (!binary) {
    // MQTT travels in binary frames only [MQTT-6.0.0-1].
    log::info("conn={} event=closed why=\"text frame on MQTT WebSocket\"", c.link.conn_id());
    c.link.on_transport_closed();
    c.closing = true;
    lws_close_reason(c.wsi, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE, nullptr, 0);
    return -1;
  }
  if (c.message_bytes > options_.max_message) {
    log::info("conn={} event=closed why=\"WebSocket message over {} bytes\"", c.link.conn_id(),
              options_.max_message);
    c.link.on_transport_closed();
    c.closing = true;
    lws_close_reason(c.wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, nullptr, 0);
    return -1;
  }
  // Message boundaries mean nothing to MQTT: the bytes are one stream.
  c.link.on_bytes(codec::ByteView(data, len));
  if (c.link.closing()) {
    c.closing = true;
    lws_callback_on_writable(c.wsi);
  }
  return 0;
}

int WebSocketBridge::write_queued(Connection& c) {
  auto& out = c.link.out();
  if (out.empty()) return 0;
  // Everything queued, up to kMaxFramePayload, as one binary frame and one write (several MQTT
  // packets may share a frame), copied once into the lws headroom buffer: the price of framing.
  // A gather holds at most 64 pieces (about 32 messages): gather again until the frame is full.
  uint8_t* const payload = write_buf_.data() + LWS_PRE;
  size_t size = 0;
  while (size < kMaxFramePayload && !out.empty()) {
    iovec iov[64];
    const int n = out.gather(iov, 64);
    size_t taken = 0;
    for (int i = 0; i < n && size < kMaxFramePayload; ++i) {
      const size_t take = std::min(iov[i].iov_len, kMaxFramePayload - size);
      std::memcpy(payload + size, iov[i].iov_base, take);
      size += take;
      taken += take;
    }
    out.consume(taken);
  }
  // lws sends what the socket takes and keeps the rest (lws_partial_buffered), so the frame is
  // handed over whole either way; -1 only when the connection failed.
  if (lws_write(c.wsi, payload, size, LWS_WRITE_BINARY) < static_cast<int>(size)) return -1;
  counters_.bytes_sent.add(size);
  c.link.on_write_progress(now_);
  if (out.pending_bytes() < limits_.outbound_budget) {
    if (auto* s = c.link.session()) s->pump(now_);
  }
  return 0;
}

int WebSocketBridge::on_writeable(Connection& c) {
  if (c.write_failed || write_queued(c) != 0) return -1;
  if (!c.link.out().empty()) {
    lws_callback_on_writable(c.wsi);
    return 0;
  }
  if (c.closing) {
    lws_close_reason(c.wsi, LWS_CLOSE_STATUS_NORMAL, nullptr, 0);
    return -1;
  }
  return 0;
}

// As a TCP worker flushes before epoll_wait: what this loop pass queued is written now while
// the socket has room, instead of one poll round and one WRITEABLE callback per delivery (with
// one message in flight per subscriber, that round trip was most of a delivery's cost).
void WebSocketBridge::flush_dirty() {
  while (!dirty_.empty()) {
    dirty_batch_.swap(dirty_);
    for (const uint64_t id : dirty_batch_) {
      auto it = conns_.find(id);
      if (it == conns_.end()) continue;
      Connection& c = *it->second;
      c.dirty = false;
      // Closing goes through the callback (it sends the close frame); so does a connection
      // whose last frame lws still holds (the socket was full: lws asks for POLLOUT itself).
      // No poll() per connection to ask whether the socket has room, as the TCP path does not.
      if (c.closing || lws_partial_buffered(c.wsi)) {
        lws_callback_on_writable(c.wsi);
        continue;
      }
      if (write_queued(c) != 0) c.write_failed = true;
      if (c.write_failed || !c.link.out().empty()) lws_callback_on_writable(c.wsi);
    }
    dirty_batch_.clear();
  }
}

void WebSocketBridge::on_closed(Connection& c) {
  c.link.on_transport_closed();  // a no-op when the protocol already closed it
  const uint64_t id = c.link.conn_id();
  counters_.of(c.link.transport()).connected.add(-1);
  conns_.erase(id);
  counters_.clients_connected.add(-1);
  broker_.release_connection();
}

void WebSocketBridge::wants_write(session::ClientLink& link) {
  auto it = conns_.find(link.conn_id());
  if (it == conns_.end() || it->second->dirty) return;
  it->second->dirty = true;
  dirty_.push_back(link.conn_id());  // written by flush_dirty() at the end of this loop pass
}

session::ClientLink* WebSocketBridge::link_for(uint64_t conn_id) {
  auto it = conns_.find(conn_id);
  return it == conns_.end() ? nullptr : &it->second->link;
}

void WebSocketBridge::close_link(uint64_t conn_id) {
  auto it = conns_.find(conn_id);
  if (it == conns_.end()) return;
  it->second->closing = true;
  lws_callback_on_writable(it->second->wsi);
}

}  // namespace hydrant::bridge
