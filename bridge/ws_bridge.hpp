// WebSocketBridge: the HTTP side of the broker on libwebsockets. One lws context, with a vhost
// per HTTP/HTTPS listener, is a SessionHost like a TCP worker: a WebSocket
// connection at /mqtt is just another transport for a normal session (same ClientLink, limits,
// access rules, fan-out path and outbound budget). The same vhosts serve the viewer's files at
// `/` and hand /api/, /metrics and /healthz to the HTTP API.
//
// The bridge has no thread of its own: lws runs on a libuv loop (Debian's lws 4.1 has no
// external-poll support, but drives a "foreign" libuv loop), and that loop is a LoopGuest of one
// TCP worker, which polls libuv's descriptor beside its sockets and runs the bridge at the end of
// every pass. Deliveries that worker routes to WebSocket subscribers are therefore written in
// the pass that routed them; tasks from other hosts wake the loop with lws_cancel_service().
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/fd_budget.hpp"
#include "net/loop_guest.hpp"
#include "core/session_host.hpp"
#include "util/peer_address.hpp"

struct lws;
struct lws_context;
struct lws_vhost;
struct uv_loop_s;

namespace hydrant::bridge {

struct HttpListener {
  std::string host;  // "0.0.0.0" or "::" = every interface
  uint16_t port = 0;
  bool tls = false;  // HTTPS/WSS with BridgeOptions' certificate
};

// What the bridge answers on the HTTP API paths; nullopt: not an API path (a file is served).
struct HttpAnswer {
  int status = 200;
  std::string content_type;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};
// One request on an API path; the views live as long as the call.
struct ApiRequest {
  std::string_view method;
  std::string_view path;
  std::string_view query;          // without '?'
  std::string_view authorization;  // the Authorization header, or empty
  std::string_view body;           // POST/PUT/PATCH, at most 64 KiB
  std::string_view peer;           // the client's IP address (X-Forwarded-For from a trusted proxy)
};
using ApiHandler = std::function<std::optional<HttpAnswer>(const ApiRequest&)>;

struct BridgeOptions {
  std::vector<HttpListener> listeners;
  std::string tls_cert;  // PEM chain; needed by TLS listeners
  std::string tls_key;
  std::string web_root;                      // the viewer's built files
  std::vector<std::string> allowed_origins;  // empty: any Origin may open /mqtt
  std::vector<util::PeerAddress> trusted_proxies;  // their X-Forwarded-For names the client
  size_t max_message = 1 << 20;  // largest WebSocket message before closing with 1009
  ApiHandler api;                // may be empty: API paths answer 404
};

class WebSocketBridge final : public core::SessionHost, public net::LoopGuest {
 public:
  // Creates the lws context and its listeners; throws std::runtime_error when one cannot listen.
  WebSocketBridge(core::Broker& broker, uint32_t index, session::Limits limits, BridgeOptions options);
  ~WebSocketBridge() override;

  // The hosting worker (Worker::host_guest) runs the bridge: start() waits until its loop has
  // served the listeners once; join() has nothing to wait for (the worker's join does).
  void start() override;
  void join() override {}
  // LoopGuest, on the hosting worker's thread.
  void attach() override;
  int poll_fd() const override;
  int timeout_ms() override;
  void run_once() override;
  void detach() override;
  // The port each listener got (in BridgeOptions order), for port 0 and for the startup log.
  const std::vector<uint16_t>& ports() const { return ports_; }

  void wants_write(session::ClientLink& link) override;
  // Re-reads options' certificate and key for the https listeners (SIGHUP, once the pair was
  // checked: lws takes a key that does not match); new connections use
  // them. Thread-safe: the files are read here, lws is updated on the bridge's loop.
  void reload_certificate();

  // ---- called from the lws callbacks (ws_callbacks.cpp); not part of the public interface ----
  struct Connection;
  bool accept_upgrade(lws* wsi);  // FILTER_PROTOCOL_CONNECTION: path, Origin
  Connection* open_connection(lws* wsi);
  // Nonzero: close the connection now (a text frame, a message over max_message).
  int on_message(Connection& c, const uint8_t* data, size_t len, bool binary, bool first);
  int on_writeable(Connection& c);  // nonzero: close the connection now
  void on_closed(Connection& c);
  void on_wake() { drain_inbox(); }
  // Any lws callback ran: the loop's watchers may have changed (see run_once).
  void note_callback() { callbacks_ran_ = true; }
  void on_tick();
  // LWS_CALLBACK_HTTP on an API path: the answer's headers once the request is complete, its
  // body when writeable.
  static constexpr size_t kHttpSessionSize = sizeof(void*);
  int serve_api(lws* wsi, void* session);
  int api_body(void* session, const void* data, size_t len);  // HTTP_BODY
  int answer_api(lws* wsi, void* session);                     // HTTP_BODY_COMPLETION, or GET
  int write_api_body(lws* wsi, void* session);
  static void release_api_body(void* session);
  void touch_clock();
  // Request limits answered with a status (lws closes without one only past its own header
  // buffer, kHttpHeaderBuffer): a longer URI gets 414, longer headers 431.
  static constexpr size_t kMaxHttpUri = 8 * 1024;
  static constexpr size_t kMaxHttpHeaders = 16 * 1024;
  static constexpr size_t kHttpHeaderBuffer = 32 * 1024;

 private:
  session::ClientLink* link_for(uint64_t conn_id) override;
  void close_link(uint64_t conn_id) override;
  void wake() override;
  void create_context();
  void add_listener(const HttpListener& l);
  void destroy_context();  // then closes the libuv loop; idempotent
  void flush_dirty();
  int write_queued(Connection& c);  // one frame of what is queued; nonzero: the write failed
  util::PeerAddress client_address(lws* wsi);
  int send_answer(lws* wsi, void* session, HttpAnswer answer);
  int serve_file(lws* wsi, void* session);  // GET/HEAD outside the API paths
  std::string resolve_file(const std::string& path) const;

  BridgeOptions options_;
  std::string real_web_root_;  // realpath of options_.web_root; "" when it does not exist
  std::mutex context_mutex_;  // wake() from other threads against detach()
  lws_context* context_ = nullptr;
  lws_context* live_context_ = nullptr;  // until lws has freed the context (destroy_context)
  std::unique_ptr<uv_loop_s> loop_;
  std::atomic<std::thread::id> loop_thread_{};  // the hosting worker's, once attached
  bool callbacks_ran_ = false;
  bool more_pending_ = false;  // run_once() stopped with work left: the worker must not wait
  std::vector<uint16_t> ports_;
  std::promise<void> ready_;  // set by the loop's first pass
  uint64_t next_conn_id_;
  std::unordered_map<uint64_t, std::unique_ptr<Connection>> conns_;
  std::vector<uint64_t> dirty_;        // connections with bytes queued in this loop pass
  std::vector<uint64_t> dirty_batch_;  // flush_dirty()'s working copy (kept: no allocation)
  core::RateLimitedCount refused_log_;  // max-connections refusals
  std::vector<uint8_t> write_buf_;  // LWS_PRE headroom + one frame's payload
  struct TickTimer;
  std::unique_ptr<TickTimer> tick_;
  std::unique_ptr<struct MountTable> mounts_;
};

}  // namespace hydrant::bridge
