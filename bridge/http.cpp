// WebSocketBridge: plain HTTP requests. The API paths go to the broker's handler; every other
// path is a file of the web root, served only when its real path lies inside the root's (a
// symlink out of the root is not followed) and only to GET and HEAD (405 otherwise). Requests
// whose URI or headers are too long are answered 414 / 431 before anything else.
#include <libwebsockets.h>
#include <sys/stat.h>

#include <cctype>
#include <climits>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "bridge/ws_bridge.hpp"

namespace hydrant::bridge {

namespace {

// One HTTP request and its answer: the request while its body arrives, then the answer's body
// while it is written. Lives in the lws per-session slot.
struct HttpExchange {
  std::string method, path, query, authorization, peer;
  std::string body;
  bool too_large = false;
  bool answered = false;  // lws may report the end of an empty body after we answered
  std::optional<HttpAnswer> early;  // decided from the headers alone (414, 431)
  std::string reply;
  size_t sent = 0;
};

constexpr size_t kMaxRequestBody = 64 * 1024;  // admin requests are a few hundred bytes
constexpr size_t kWriteChunk = 64 * 1024;       // bytes handed to lws_write per wake-up

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

// The bytes of every header lws parsed (the URI included): what 431 is measured against.
size_t header_bytes(lws* wsi) {
  size_t total = 0;
  for (int t = 0; t < WSI_TOKEN_COUNT; ++t) {
    const int n = lws_hdr_total_length(wsi, static_cast<lws_token_indexes>(t));
    if (n > 0) total += static_cast<size_t>(n);
  }
  return total;
}

bool is_read_method(std::string_view method) { return method == "GET" || method == "HEAD"; }

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
  const int args = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS);
  if (x->path.size() + static_cast<size_t>(args > 0 ? args : 0) > kMaxHttpUri) {
    x->early = json_error(414, "uri too long", fmt::format("URIs are {} bytes at most", kMaxHttpUri));
  } else if (header_bytes(wsi) > kMaxHttpHeaders) {
    x->early = json_error(431, "request header fields too large",
                          fmt::format("request headers are {} bytes at most", kMaxHttpHeaders));
  }
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
  if (x->early || x->body.size() + len > kMaxRequestBody) {
    x->too_large = !x->early;
    return 0;  // dropped: the answer is already decided
  }
  x->body.append(static_cast<const char*>(data), len);
  return 0;
}

int WebSocketBridge::answer_api(lws* wsi, void* session) {
  auto* x = *static_cast<HttpExchange**>(session);
  if (!x || x->answered) return 0;
  x->answered = true;
  std::optional<HttpAnswer> answer;
  if (x->early) {
    answer = std::move(x->early);
  } else if (x->too_large) {
    answer = json_error(413, "payload too large", "request bodies are 64 KiB at most");
  } else if (options_.api) {
    answer = options_.api(ApiRequest{x->method, x->path, x->query, x->authorization, x->body,
                                     x->peer});
  }
  if (!answer) {
    // Not an API path: a file of the web root, which is only read.
    if (is_read_method(x->method)) return serve_file(wsi, session);
    answer = json_error(405, "method not allowed", "files are served to GET and HEAD only");
    answer->headers.emplace_back("Allow", "GET, HEAD");
  }
  return send_answer(wsi, session, std::move(*answer));
}

int WebSocketBridge::send_answer(lws* wsi, void* session, HttpAnswer answer) {
  auto* x = *static_cast<HttpExchange**>(session);
  uint8_t headers[LWS_PRE + 4096];
  uint8_t* const start = headers + LWS_PRE;
  uint8_t* p = start;
  uint8_t* const end = headers + sizeof headers - 1;
  if (lws_add_http_common_headers(wsi, static_cast<unsigned>(answer.status),
                                  answer.content_type.c_str(), answer.body.size(), &p, end)) {
    return 1;
  }
  for (const auto& [name, value] : answer.headers) {
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
  if (answer.body.empty() || x->method == "HEAD") {
    release_api_body(session);
    return lws_http_transaction_completed(wsi) ? -1 : 0;
  }
  x->reply = std::move(answer.body);
  x->sent = 0;
  lws_callback_on_writable(wsi);
  return 0;
}

// The file for `path` under the web root, by real path: "" when there is none, or when it lies
// outside the root (a symlink pointing out, say).
std::string WebSocketBridge::resolve_file(const std::string& path) const {
  if (real_web_root_.empty() || path.empty() || path.front() != '/') return {};
  std::string wanted = options_.web_root + path;
  if (wanted.back() == '/') wanted += "index.html";
  char real[PATH_MAX];
  if (!realpath(wanted.c_str(), real)) return {};
  struct stat st {};
  if (stat(real, &st) == 0 && S_ISDIR(st.st_mode)) {
    wanted = std::string(real) + "/index.html";
    if (!realpath(wanted.c_str(), real) || stat(real, &st) != 0) return {};
  }
  const std::string_view resolved(real);
  const bool inside = resolved.size() > real_web_root_.size() &&
                      resolved.starts_with(real_web_root_) &&
                      resolved[real_web_root_.size()] == '/';
  if (!inside || !S_ISREG(st.st_mode)) return {};
  return std::string(resolved);
}

int WebSocketBridge::serve_file(lws* wsi, void* session) {
  auto* x = *static_cast<HttpExchange**>(session);
  const std::string file = resolve_file(x->path);
  if (file.empty()) return send_answer(wsi, session, json_error(404, "not found", "no such path: " + x->path));
  release_api_body(session);  // lws writes the file itself from here on
  const char* type = lws_get_mimetype(file.c_str(), nullptr);
  const int rc = lws_serve_http_file(wsi, file.c_str(), type ? type : "application/octet-stream",
                                     nullptr, 0);
  return rc == 0 ? 0 : -1;
}

int WebSocketBridge::write_api_body(lws* wsi, void* session) {
  auto* x = *static_cast<HttpExchange**>(session);
  if (!x || x->reply.empty()) return 0;
  const size_t chunk = std::min(x->reply.size() - x->sent, kWriteChunk);
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
