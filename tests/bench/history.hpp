// hydrant-loadgen --scenario history: --readers keep-alive HTTP/1.1 connections to the broker's
// HTTP listener (--ws-port), each reading the message log page by page,
//   GET /api/v1/history?filter=F&since=S&limit=N, then since=<the answer's "next">,
// until an answer says "more":false; then again from --since, until --duration has passed (a
// pass that has begun is finished). Counts the messages served (the "position" members of each
// page, so payloads must not contain that key) and the passes that did not find --expect.
// Prints one JSON line.
#pragma once

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/core.h>

#include "latency.hpp"
#include "options.hpp"

namespace loadgen {

// Cuts one HTTP/1.1 response off the front of `in` (Content-Length or chunked body).
// Returns 1 and fills status and body when one is complete, 0 if not yet, -1 if malformed.
inline int cut_response(std::string& in, int& status, std::string& body) {
  const size_t head_end = in.find("\r\n\r\n");
  if (head_end == std::string::npos) return in.size() > 65536 ? -1 : 0;
  if (in.compare(0, 9, "HTTP/1.1 ") != 0 || in.size() < 12) return -1;
  status = std::atoi(in.c_str() + 9);
  long length = -1;
  bool chunked = false;
  for (size_t at = in.find("\r\n") + 2; at < head_end;) {
    const size_t eol = in.find("\r\n", at);
    std::string line = in.substr(at, eol - at);
    for (char& ch : line) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (line.starts_with("content-length:")) length = std::atol(line.c_str() + 15);
    if (line.starts_with("transfer-encoding:") && line.find("chunked") != std::string::npos) chunked = true;
    at = eol + 2;
  }
  size_t at = head_end + 4;
  body.clear();
  if (!chunked) {
    if (length < 0) return -1;  // a keep-alive answer needs a length
    if (in.size() < at + static_cast<size_t>(length)) return 0;
    body.assign(in, at, static_cast<size_t>(length));
    in.erase(0, at + static_cast<size_t>(length));
    return 1;
  }
  for (;;) {  // chunks: hex size CRLF data CRLF ... 0 CRLF CRLF
    const size_t eol = in.find("\r\n", at);
    if (eol == std::string::npos) return 0;
    const size_t n = std::strtoul(in.c_str() + at, nullptr, 16);
    if (n == 0) {
      if (in.size() < eol + 4) return 0;
      in.erase(0, eol + 4);
      return 1;
    }
    if (in.size() < eol + 2 + n + 2) return 0;
    body.append(in, eol + 2, n);
    at = eol + 2 + n + 2;
  }
}

// What the reader needs from one page: its messages, "next" ("" when null) and "more".
struct Page {
  uint64_t messages = 0;
  std::string next;
  bool more = false, complete = true;
};
inline bool parse_page(std::string_view body, Page& p) {
  p = Page{};
  for (size_t at = 0; (at = body.find("\"position\":", at)) != std::string_view::npos; at += 11) {
    ++p.messages;
  }
  auto value = [&](std::string_view key) {  // the text right after "key": (spaces skipped)
    const size_t at = body.rfind(key);
    if (at == std::string_view::npos) return std::string_view();
    std::string_view v = body.substr(at + key.size());
    while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
    return v;
  };
  const std::string_view next = value("\"next\":"), more = value("\"more\":");
  if (next.empty() || more.empty()) return false;
  if (next.front() == '"') p.next = std::string(next.substr(1, next.find('"', 1) - 1));
  p.more = more.starts_with("true");
  p.complete = !value("\"complete\":").starts_with("false");
  return true;
}

class HistoryReader {
 public:
  explicit HistoryReader(Options o) : o_(std::move(o)), readers_(static_cast<size_t>(o_.readers)) {}

  int run() {
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    for (size_t i = 0; i < readers_.size(); ++i) {
      if (!open(i)) return 2;
    }
    const double cpu0 = cpu_s();
    start_ = now_us();
    end_ = start_ + static_cast<uint64_t>(o_.duration * 1e6);
    for (size_t i = 0; i < readers_.size(); ++i) {
      readers_[i].since = o_.since;
      if (!ask(i)) return 3;
    }
    std::vector<char> buf(1u << 20);
    size_t busy = readers_.size();
    const uint64_t give_up = end_ + 60000000u;  // a pass still running a minute late: stuck
    while (busy > 0) {
      if (now_us() > give_up) return fail(fmt::format("{} readers still busy 60 s after the end", busy));
      epoll_event evs[64];
      const int n = epoll_wait(ep_, evs, 64, 1000);
      for (int k = 0; k < n; ++k) {
        const size_t i = evs[k].data.u64;
        Reader& r = readers_[i];
        const ssize_t got = recv(r.fd, buf.data(), buf.size(), 0);
        if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (got <= 0) return fail(fmt::format("reader {}: {}", i, got == 0 ? "closed by the broker" : strerror(errno)));
        r.in.append(buf.data(), static_cast<size_t>(got));
        bytes_ += static_cast<uint64_t>(got);
        int status = 0;
        std::string body;
        const int cut = cut_response(r.in, status, body);
        if (cut < 0) return fail(fmt::format("reader {}: malformed HTTP answer", i));
        if (cut == 0) continue;
        if (status != 200) return fail(fmt::format("HTTP {}: {}", status, body.substr(0, 300)));
        Page page;
        if (!parse_page(body, page)) return fail("a page without next or more: " + body.substr(0, 300));
        const uint64_t t = now_us();
        page_hist_.add(t - r.asked_at);
        ++pages_;
        incomplete_ += page.complete ? 0 : 1;
        messages_ += page.messages;
        r.pass_messages += page.messages;
        if (page.more && !page.next.empty()) {
          r.since = page.next;
        } else {  // a whole pass
          ++passes_;
          if (o_.expect && r.pass_messages != static_cast<uint64_t>(o_.expect)) {
            if (!short_passes_++) first_short_ = r.pass_messages;
          }
          r.pass_messages = 0;
          r.since = o_.since;
          if (t >= end_) {
            --busy;
            last_ = t;
            continue;
          }
        }
        if (!ask(i)) return 3;
      }
    }
    const double run_s = static_cast<double>(last_ - start_) / 1e6;
    fmt::print(
        "{{\"scenario\":\"history\",\"label\":\"{}\",\"readers\":{},\"limit\":{},\"expect\":{},"
        "\"duration_s\":{:.3f},\"passes\":{},\"short_passes\":{},\"first_short\":{},\"pages\":{},"
        "\"incomplete_pages\":{},\"messages\":{},\"bytes\":{},\"messages_per_s\":{:.1f},"
        "\"mib_per_s\":{:.2f},\"page_p50_us\":{},\"page_p99_us\":{},\"loadgen_cpu\":{:.3f}}}\n",
        o_.label, o_.readers, o_.limit, o_.expect, run_s, passes_, short_passes_, first_short_,
        pages_, incomplete_, messages_, bytes_, static_cast<double>(messages_) / run_s,
        static_cast<double>(bytes_) / run_s / 1048576.0, page_hist_.quantile(0.5),
        page_hist_.quantile(0.99), (cpu_s() - cpu0) / run_s);
    std::fflush(stdout);
    return 0;
  }

 private:
  struct Reader {
    int fd = -1;
    std::string in, since;
    uint64_t asked_at = 0, pass_messages = 0;
  };

  int fail(const std::string& why) {
    fmt::print(stderr, "loadgen: history: {}\n", why);
    return 3;
  }

  bool open(size_t i) {
    Reader& r = readers_[i];
    r.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(r.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in dst{};
    dst.sin_family = AF_INET;
    dst.sin_port = htons(static_cast<uint16_t>(o_.ws_port > 0 ? o_.ws_port : o_.port));
    dst.sin_addr.s_addr = htonl(0x7F000001u);
    if (r.fd < 0 || connect(r.fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0) {
      fail(fmt::format("connect: {}", strerror(errno)));
      return false;
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    return epoll_ctl(ep_, EPOLL_CTL_ADD, r.fd, &ev) == 0;
  }

  // Sends reader i's next request (small: one blocking send on loopback).
  bool ask(size_t i) {
    Reader& r = readers_[i];
    const std::string req = fmt::format(
        "GET /api/v1/history?filter={}&since={}&limit={} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Accept: application/json\r\n\r\n",
        escape(o_.filter), escape(r.since), o_.limit);
    r.asked_at = now_us();
    if (send(r.fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
      fail(fmt::format("reader {}: send: {}", i, strerror(errno)));
      return false;
    }
    return true;
  }

  // Percent-encodes what a query value must not carry as is (# + & = % space).
  static std::string escape(std::string_view v) {
    std::string out;
    for (char ch : v) {
      if (ch && std::strchr("#+&=% ?", ch)) out += fmt::format("%{:02X}", static_cast<unsigned char>(ch));
      else out += ch;
    }
    return out;
  }

  Options o_;
  std::vector<Reader> readers_;
  int ep_ = -1;
  uint64_t start_ = 0, end_ = 0, last_ = 0;
  uint64_t pages_ = 0, passes_ = 0, short_passes_ = 0, first_short_ = 0, incomplete_ = 0;
  uint64_t messages_ = 0, bytes_ = 0;
  Histogram page_hist_;  // request sent -> whole answer read
};

}  // namespace loadgen
