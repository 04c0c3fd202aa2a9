// WebSocketBridge: construction of the lws context and vhosts, the loop thread, and the MQTT
// side of each WebSocket connection. The lws callbacks that call in here are in callbacks.cpp.
#include "bridge/ws_bridge.hpp"

#include <arpa/inet.h>
#include <libwebsockets.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "bridge/callbacks.hpp"
#include "net/broker.hpp"
#include "util/log.hpp"

namespace hydrant::bridge {

namespace {

constexpr size_t kMaxFramePayload = 64 * 1024;  // bytes handed to lws_write per wake-up
constexpr lws_usec_t kTickUs = 250 * LWS_US_PER_MS;

void lws_log_line(int level, const char* line) {
  std::string_view text(line);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  if (level & LLL_ERR) {
    log::error("bridge lws: {}", text);
  } else {
    log::warn("bridge lws: {}", text);
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
};

struct WebSocketBridge::TickTimer {
  lws_sorted_usec_list_t sul{};  // first: the callback recovers the TickTimer from it
  lws_sorted_usec_list_t ready_sul{};
  WebSocketBridge* bridge = nullptr;
};

WebSocketBridge::WebSocketBridge(net::Broker& broker, uint32_t index, session::Limits limits,
                                 BridgeOptions options)
    : SessionHost(broker, index, limits),
      options_(std::move(options)),
      next_conn_id_((static_cast<uint64_t>(index) << 40) + 1),
      write_buf_(LWS_PRE + kMaxFramePayload),
      tick_(std::make_unique<TickTimer>()),
      mounts_(std::make_unique<MountTable>()) {
  mounts_->web_root = options_.web_root;
  fill_mounts(*mounts_);
  lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_line);
  lws_context_creation_info info;
  std::memset(&info, 0, sizeof info);
  info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
  info.port = CONTEXT_PORT_NO_LISTEN;
  info.protocols = protocols();
  info.user = this;
  context_ = lws_create_context(&info);
  if (!context_) throw std::runtime_error("bridge: cannot create the libwebsockets context");

  for (const HttpListener& l : options_.listeners) {
    std::memset(&info, 0, sizeof info);
    info.port = l.port;
    const bool any = l.host == "0.0.0.0" || l.host == "::" || l.host.empty();
    info.iface = any ? nullptr : l.host.c_str();
    info.protocols = protocols();
    info.mounts = &mounts_->files;
    info.alpn = "http/1.1";  // WebSocket upgrades are HTTP/1.1 ones
    info.vhost_name = l.tls ? "https" : "http";
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8 | (l.tls ? LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT : 0);
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
      lws_context_destroy(context_);
      context_ = nullptr;
      throw std::runtime_error(fmt::format("bridge: cannot listen on {}:{} ({})", l.host, l.port,
                                           l.tls ? "https" : "http"));
    }
    ports_.push_back(static_cast<uint16_t>(lws_get_vhost_listen_port(vh)));
  }
  tick_->bridge = this;
}

WebSocketBridge::~WebSocketBridge() {
  if (context_) lws_context_destroy(context_);
}

void WebSocketBridge::start() {
  // lws opens its listening sockets on the service thread's first pass: wait for it, so that a
  // client connecting right after start-up is not refused.
  std::future<void> ready = ready_.get_future();
  thread_ = std::thread([this] { run(); });
  if (ready.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    log::warn("bridge event=slow-start note=\"listeners not serviced after 10 s\"");
  }
}

void WebSocketBridge::join() {
  if (thread_.joinable()) thread_.join();
}

void WebSocketBridge::wake() {
  // Other hosts may post until they stop, which can be after this loop ended.
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
  post(net::CallTask{[this, cert, key] {
    if (!context_) return;
    const int rc = lws_tls_cert_updated(context_, options_.tls_cert.c_str(),
                                        options_.tls_key.c_str(), cert->data(), cert->size(),
                                        key->data(), key->size());
    if (rc == 0) {
      log::info("bridge event=tls-reloaded");
    } else {
      log::error("bridge event=tls-reload-refused (keeping the running certificate)");
    }
  }});
}

void WebSocketBridge::run() {
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
  while (!stopping()) {
    if (lws_service(context_, 0) < 0) break;
  }
  lws_sul_cancel(&tick_->sul);
  // Closing the context closes every connection (each one's CLOSED callback ends its link, as a
  // TCP worker does at shutdown).
  lws_context_destroy(context_);
  std::lock_guard lock(context_mutex_);
  context_ = nullptr;
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
    log::warn("bridge event=refused why=\"max-connections reached\"");
    return nullptr;
  }
  const uint64_t id = next_conn_id_++;
  auto conn = std::make_unique<Connection>(wsi, *this, id, client_address(wsi), now_);
  Connection* raw = conn.get();
  conns_.emplace(id, std::move(conn));
  counters_.connections_total.add();
  counters_.clients_connected.add(1);
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

int WebSocketBridge::on_writeable(Connection& c) {
  auto& out = c.link.out();
  if (!out.empty()) {
    // One frame per wake-up, copied once into the lws headroom buffer: the price of framing.
    iovec iov[64];
    const int n = out.gather(iov, 64);
    uint8_t* const payload = write_buf_.data() + LWS_PRE;
    size_t size = 0;
    for (int i = 0; i < n && size < kMaxFramePayload; ++i) {
      const size_t take = std::min(iov[i].iov_len, kMaxFramePayload - size);
      std::memcpy(payload + size, iov[i].iov_base, take);
      size += take;
    }
    if (lws_write(c.wsi, payload, size, LWS_WRITE_BINARY) < static_cast<int>(size)) return -1;
    out.consume(size);
    counters_.bytes_sent.add(size);
    c.link.on_write_progress(now_);
    if (out.pending_bytes() < limits_.outbound_budget) {
      if (auto* s = c.link.session()) s->pump(now_);
    }
  }
  if (!out.empty()) {
    lws_callback_on_writable(c.wsi);
    return 0;
  }
  if (c.closing) {
    lws_close_reason(c.wsi, LWS_CLOSE_STATUS_NORMAL, nullptr, 0);
    return -1;
  }
  return 0;
}

void WebSocketBridge::on_closed(Connection& c) {
  c.link.on_transport_closed();  // a no-op when the protocol already closed it
  const uint64_t id = c.link.conn_id();
  conns_.erase(id);
  counters_.clients_connected.add(-1);
  broker_.release_connection();
}

void WebSocketBridge::wants_write(session::ClientLink& link) {
  auto it = conns_.find(link.conn_id());
  if (it != conns_.end()) lws_callback_on_writable(it->second->wsi);
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

// ---- HTTP API ----

namespace {

// One HTTP request on an API path and its answer: the request while its body arrives, then the
// answer's body while it is written. Lives in the lws per-session slot.
struct HttpExchange {
  std::string method, path, query, authorization, peer;
  std::string body;
  bool too_large = false;
  bool answered = false;  // lws may report the end of an empty body after we answered
  std::string reply;
  size_t sent = 0;
};

constexpr size_t kMaxRequestBody = 64 * 1024;  // admin requests are a few hundred bytes

HttpAnswer json_error(int status, std::string_view error, std::string_view message) {
  HttpAnswer a;
  a.status = status;
  a.content_type = "application/json";
  a.body = fmt::format(R"({{"status":{},"error":"{}","message":"{}"}})", status, error,
                       message.substr(0, message.find_first_of("\"\\")));
  return a;
}

std::string header(lws* wsi, lws_token_indexes token) {
  const int len = lws_hdr_total_length(wsi, token);
  if (len <= 0) return {};
  std::string value(static_cast<size_t>(len) + 1, '\0');
  if (lws_hdr_copy(wsi, value.data(), len + 1, token) < 0) return {};
  value.resize(static_cast<size_t>(len));
  return value;
}

// The query string: lws keeps each name=value argument as a fragment of its own (and
// lws_hdr_copy joins them with nothing between), so join them with '&' again.
std::string query_string(lws* wsi) {
  std::string out;
  char buf[4096];
  for (int i = 0;; ++i) {
    const int n = lws_hdr_copy_fragment(wsi, buf, sizeof buf, WSI_TOKEN_HTTP_URI_ARGS, i);
    if (n < 0) break;
    if (!out.empty()) out += '&';
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

}  // namespace

int WebSocketBridge::serve_api(lws* wsi, void* session) {
  touch_clock();
  static constexpr std::pair<lws_token_indexes, const char*> kMethods[] = {
      {WSI_TOKEN_GET_URI, "GET"},       {WSI_TOKEN_HEAD_URI, "HEAD"},
      {WSI_TOKEN_POST_URI, "POST"},     {WSI_TOKEN_PUT_URI, "PUT"},
      {WSI_TOKEN_PATCH_URI, "PATCH"},   {WSI_TOKEN_DELETE_URI, "DELETE"},
      {WSI_TOKEN_OPTIONS_URI, "OPTIONS"},
  };
  auto* x = new HttpExchange;
  *static_cast<HttpExchange**>(session) = x;
  x->method = "UNKNOWN";
  for (const auto& [token, name] : kMethods) {
    if (lws_hdr_total_length(wsi, token) > 0) {
      x->method = name;
      x->path = header(wsi, token);
      break;
    }
  }
  x->query = query_string(wsi);
  x->authorization = header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
  x->peer = client_address(wsi).ip_string();
  // A request with a body is answered once the body is complete (HTTP_BODY_COMPLETION); lws
  // reports no completion for an empty one, so that is answered now.
  const std::string length = header(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH);
  const bool chunked = header(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) == "chunked";
  if (chunked || std::strtoull(length.c_str(), nullptr, 10) > 0) return 0;
  return answer_api(wsi, session);
}

int WebSocketBridge::api_body(void* session, const void* data, size_t len) {
  auto* x = *static_cast<HttpExchange**>(session);
  if (!x) return -1;
  if (x->body.size() + len > kMaxRequestBody) {
    x->too_large = true;
    return 0;
  }
  x->body.append(static_cast<const char*>(data), len);
  return 0;
}

int WebSocketBridge::answer_api(lws* wsi, void* session) {
  auto* x = *static_cast<HttpExchange**>(session);
  if (!x || x->answered) return 0;
  x->answered = true;
  std::optional<HttpAnswer> answer;
  if (x->too_large) {
    answer = json_error(413, "payload too large", "request bodies are 64 KiB at most");
  } else if (options_.api) {
    answer = options_.api(ApiRequest{x->method, x->path, x->query, x->authorization, x->body,
                                     x->peer});
  }
  if (!answer) answer = json_error(404, "not found", "no such path: " + x->path);

  uint8_t headers[LWS_PRE + 4096];
  uint8_t* const start = headers + LWS_PRE;
  uint8_t* p = start;
  uint8_t* const end = headers + sizeof headers - 1;
  if (lws_add_http_common_headers(wsi, static_cast<unsigned>(answer->status),
                                  answer->content_type.c_str(), answer->body.size(), &p, end)) {
    return 1;
  }
  for (const auto& [name, value] : answer->headers) {
    std::string key;
    for (char ch : name) key += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    key += ':';
    if (lws_add_http_header_by_name(wsi, reinterpret_cast<const unsigned char*>(key.c_str()),
                                    reinterpret_cast<const unsigned char*>(value.data()),
                                    static_cast<int>(value.size()), &p, end)) {
      return 1;
    }
  }
  if (lws_finalize_write_http_header(wsi, start, &p, end)) return 1;
  if (answer->body.empty() || x->method == "HEAD") {
    release_api_body(session);
    return lws_http_transaction_completed(wsi) ? -1 : 0;
  }
  x->reply = std::move(answer->body);
  x->sent = 0;
  lws_callback_on_writable(wsi);
  return 0;
}

int WebSocketBridge::write_api_body(lws* wsi, void* session) {
  auto* x = *static_cast<HttpExchange**>(session);
  if (!x || x->reply.empty()) return 0;
  const size_t chunk = std::min(x->reply.size() - x->sent, kMaxFramePayload);
  uint8_t* const payload = write_buf_.data() + LWS_PRE;
  std::memcpy(payload, x->reply.data() + x->sent, chunk);
  x->sent += chunk;
  const bool last = x->sent == x->reply.size();
  if (lws_write(wsi, payload, chunk, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) <
      static_cast<int>(chunk)) {
    return -1;
  }
  if (!last) {
    lws_callback_on_writable(wsi);
    return 0;
  }
  release_api_body(session);
  return lws_http_transaction_completed(wsi) ? -1 : 0;
}

void WebSocketBridge::release_api_body(void* session) {
  if (!session) return;
  auto** slot = static_cast<HttpExchange**>(session);
  delete *slot;
  *slot = nullptr;
}

}  // namespace hydrant::bridge
