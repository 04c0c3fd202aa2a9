// hydrant-loadgen: the benchmark's load generator. One thread, level-triggered epoll, raw MQTT
// 3.1.1 or 5.0 over loopback TCP or WebSocket (mqtt_wire.hpp; ws_handshake.hpp and ws_frame.hpp,
// chosen per role with --pub-transport / --sub-transport). Scenarios (--scenario, see --help):
//   fanout       --pubs 1 publisher -> --subs subscribers on one topic, QoS --qos;
//   fanin        --pubs publishers (one topic each) -> 1 subscriber on a `+` wildcard;
//   latency      fanout in open loop at --deliveries-rate deliveries/s in total;
//   connections  --subs idle clients with one subscription each, held --hold seconds;
//   history      --readers HTTP clients reading the broker's message log (history.hpp).
// Closed loop keeps at most --window messages outstanding (not yet received by every
// subscriber); --rate R is open loop at R messages/s; --count N stops after N messages.
// fanout takes --subs 0 (publishing only); --pub-port and --sub-ports spread the clients over
// several brokers (cluster.py: the nodes of a cluster).
// With QoS 1 it also counts the publishers' PUBACKs and their latency. Prints one JSON line.
// It does not judge the results; run.sh compares brokers.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <deque>
#include <exception>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "history.hpp"
#include "latency.hpp"
#include "mqtt_wire.hpp"
#include "options.hpp"
#include "ws_frame.hpp"
#include "ws_handshake.hpp"

namespace loadgen {
namespace {

struct Conn {
  int fd = -1;
  bool publisher = false, connected = false, ready = false, closed = false;
  bool dirty = false, want_out = false;
  int index = 0;           // among publishers or subscribers
  std::string topic;       // publish topic or subscription filter
  std::string in;          // bytes of an incomplete packet
  std::string out;         // bytes not yet sent
  size_t out_off = 0;
  std::string payload;     // publisher: the payload template
  uint16_t next_pid = 0;
  uint32_t inflight = 0;   // publisher: QoS 1 publishes without PUBACK
  uint32_t inflight_cap = 0;
  uint64_t last_tx = 0, last_seq = 0;
  std::deque<std::pair<uint16_t, uint64_t>> unacked;  // publisher, QoS 1: (packet id, sent at)
  bool any_seq = false;
  // MQTT over WebSocket: `out` holds the upgrade request, then only whole frames; `in` collects
  // the server's HTTP answer until the upgrade is done, then is unused.
  bool ws = false, upgraded = false;
  std::string ws_key;          // our Sec-WebSocket-Key, until the answer came
  std::string mqtt_out;        // MQTT bytes not yet framed: one frame per flush
  ws::FrameReader frames;      // the server's frames ...
  wire::Reassembler packets;   // ... and the MQTT packets in their payloads
};

// Where a connection's outgoing MQTT bytes go: straight to the socket buffer, or (WebSocket)
// to be framed at the next flush.
inline std::string& sink(Conn& c) { return c.ws ? c.mqtt_out : c.out; }
// Outgoing bytes not yet sent, framed or not.
inline size_t unsent(const Conn& c) { return c.out.size() - c.out_off + c.mqtt_out.size(); }

class LoadGen {
 public:
  explicit LoadGen(Options o) : o_(std::move(o)), scratch_(4u << 20) {
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    rng_ = (static_cast<uint64_t>(std::random_device{}()) << 32 | std::random_device{}()) | 1;
  }

  int run() {
    const bool conns_only = o_.scenario == "connections";
    const bool fanin = o_.scenario == "fanin";
    nsubs_ = fanin ? 1 : o_.subs;
    npubs_ = conns_only ? 0 : (fanin ? o_.pubs : 1);
    if (o_.scenario == "latency") o_.rate = o_.deliveries_rate / nsubs_;
    for (int i = 0; i < nsubs_ + npubs_; ++i) {
      Conn c;
      c.publisher = i >= nsubs_;
      c.index = c.publisher ? i - nsubs_ : i;
      if (c.publisher) {
        c.topic = fanin ? fmt::format("{}/{}", o_.topic_prefix, c.index) : o_.topic;
        c.payload = Payload::make(static_cast<size_t>(o_.size), static_cast<char>('a' + c.index % 26));
      } else {
        c.topic = fanin ? o_.topic_prefix + "/+" : conns_only ? fmt::format("bench/idle/{}", i) : o_.topic;
      }
      conns_.push_back(std::move(c));
    }
    const uint64_t t0 = now_us();
    if (!setup()) return 2;
    const double setup_s = static_cast<double>(now_us() - t0) / 1e6;
    if (conns_only) return hold(setup_s);
    return measure(setup_s);
  }

 private:
  // ---- connections -------------------------------------------------------------------------
  bool open(size_t i) {
    Conn& c = conns_[i];
    c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) return fail(fmt::format("socket: {}", strerror(errno)));
    int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(c.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    sockaddr_in src{};  // 127.0.1.x: each source address has its own ephemeral ports
    src.sin_family = AF_INET;
    src.sin_addr.s_addr = htonl(0x7F000100u + 1u + static_cast<uint32_t>(i % static_cast<size_t>(o_.sources)));
    if (bind(c.fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0)
      return fail(fmt::format("bind: {}", strerror(errno)));
    sockaddr_in dst{};
    dst.sin_family = AF_INET;
    c.ws = (c.publisher ? o_.pub_transport : o_.sub_transport) == "ws";
    int port = c.ws && o_.ws_port > 0 ? o_.ws_port : o_.port;
    if (!c.ws && c.publisher && o_.pub_port > 0) port = o_.pub_port;  // e.g. another cluster node
    if (!c.ws && !c.publisher && !o_.sub_ports.empty()) {
      port = o_.sub_ports[static_cast<size_t>(c.index) % o_.sub_ports.size()];
    }
    dst.sin_port = htons(static_cast<uint16_t>(port));
    dst.sin_addr.s_addr = htonl(0x7F000001u);
    if (connect(c.fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0 && errno != EINPROGRESS)
      return fail(fmt::format("connect: {}", strerror(errno)));
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.u64 = i;
    c.want_out = true;
    epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
    const std::string id = fmt::format("lg-{}-{}", c.publisher ? "p" : "s", c.index);
    if (c.ws) {
      std::array<uint8_t, 16> nonce;
      for (size_t k = 0; k < nonce.size(); k += 8) {
        const uint64_t r = random64();
        std::memcpy(nonce.data() + k, &r, 8);
      }
      c.ws_key = ws::make_key(nonce);
      c.out = ws::upgrade_request(fmt::format("127.0.0.1:{}", port), o_.ws_path, c.ws_key);
    }
    wire::connect(sink(c), o_.version, id, static_cast<uint16_t>(o_.keepalive));
    return true;
  }

  bool fail(const std::string& why) {
    fmt::print(stderr, "loadgen: {}\n", why);
    failed_ = true;
    return false;
  }

  // Opens every client, at most --connect-window handshakes at a time, until each has its
  // CONNACK (and SUBACK). Subscribers first, so that nothing published is missed.
  bool setup() {
    const uint64_t deadline = now_us() + static_cast<uint64_t>(o_.setup_timeout * 1e6);
    size_t opened = 0;
    while (ready_ < conns_.size()) {
      while (opened < conns_.size() && opened - ready_ < static_cast<size_t>(o_.connect_window)) {
        if (!open(opened++)) return false;
      }
      if (failed_ || closed_ > 0) {  // a lost client never becomes ready: no use waiting
        return fail(fmt::format("{} of {} clients ready; first failure: {}", ready_, conns_.size(),
                                first_failure_));
      }
      if (now_us() > deadline) {
        return fail(fmt::format("{} of {} clients ready after {} s", ready_, conns_.size(), o_.setup_timeout));
      }
      poll(10000);
    }
    return true;
  }

  void mark(size_t i) {
    Conn& c = conns_[i];
    if (!c.dirty) {
      c.dirty = true;
      dirty_.push_back(i);
    }
  }

  void flush() {
    const uint64_t t = now_us();
    for (size_t i : dirty_) {
      Conn& c = conns_[i];
      c.dirty = false;
      if (!c.connected || c.closed) continue;
      if (c.ws && c.upgraded && !c.mqtt_out.empty()) {
        ws::append_frame(c.out, ws::kBinary, c.mqtt_out, mask_key());
        c.mqtt_out.clear();
      }
      while (c.out_off < c.out.size()) {
        const ssize_t n = send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL);
        if (n < 0) {
          if (errno == EAGAIN || errno == EINTR) break;
          lost_conn(i, strerror(errno));
          break;
        }
        c.out_off += static_cast<size_t>(n);
        c.last_tx = t;
      }
      if (c.out_off == c.out.size()) {
        c.out.clear();
        c.out_off = 0;
      }
      want_out(i, !c.out.empty());
    }
    dirty_.clear();
  }

  void want_out(size_t i, bool want) {
    Conn& c = conns_[i];
    if (c.closed || want == c.want_out) return;
    epoll_event ev{};
    ev.events = EPOLLIN | (want ? uint32_t{EPOLLOUT} : 0u);
    ev.data.u64 = i;
    epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
    c.want_out = want;
  }

  void lost_conn(size_t i, std::string_view why) {
    Conn& c = conns_[i];
    if (c.closed) return;
    if (first_failure_.empty()) first_failure_ = fmt::format("client {}: {}", i, why);
    if (closed_++ < 5) fmt::print(stderr, "loadgen: client {} lost: {}\n", i, why);
    c.closed = true;
    epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
    close(c.fd);
  }

  // Flushes what is queued, waits up to timeout_us for events and handles them.
  void poll(uint64_t timeout_us) {
    flush();
    epoll_event evs[1024];
    timespec ts{static_cast<time_t>(timeout_us / 1000000u), static_cast<long>(timeout_us % 1000000u) * 1000};
    const int n = epoll_pwait2(ep_, evs, 1024, &ts, nullptr);
    for (int k = 0; k < n; ++k) {
      const size_t i = evs[k].data.u64;
      Conn& c = conns_[i];
      if (c.closed) continue;
      if (!c.connected && (evs[k].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
          lost_conn(i, strerror(err));
          failed_ = true;
          continue;
        }
        c.connected = true;
      }
      if (evs[k].events & EPOLLOUT) mark(i);
      if (evs[k].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) readable(i);
    }
    flush();
  }

  void readable(size_t i) {
    Conn& c = conns_[i];
    if (c.ws) return readable_ws(i);
    const size_t have = c.in.size();
    if (have >= scratch_.size()) return lost_conn(i, "packet larger than the read buffer");
    std::memcpy(scratch_.data(), c.in.data(), have);
    const ssize_t n = recv(c.fd, scratch_.data() + have, scratch_.size() - have, 0);
    if (n <= 0) {
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
      return lost_conn(i, n == 0 ? "closed by the broker" : strerror(errno));
    }
    std::string_view avail(scratch_.data(), have + static_cast<size_t>(n));
    wire::Packet pk;
    for (;;) {
      const long used = wire::cut(avail, pk);
      if (used < 0) return lost_conn(i, "malformed packet from the broker");
      if (used == 0) break;
      packet(i, pk);
      avail.remove_prefix(static_cast<size_t>(used));
      if (c.closed) return;
    }
    c.in.assign(avail);
  }

  // WebSocket: the server's HTTP answer first, then frames whose payloads carry the MQTT
  // stream. Straight from the read buffer: only a packet that spans frames or reads is copied.
  void readable_ws(size_t i) {
    Conn& c = conns_[i];
    const ssize_t n = recv(c.fd, scratch_.data(), scratch_.size(), 0);
    if (n <= 0) {
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
      if (n < 0) return lost_conn(i, strerror(errno));
      return lost_conn(i, c.upgraded ? "closed by the broker"
                                     : "closed by the broker during the WebSocket upgrade");
    }
    const std::string_view got(scratch_.data(), static_cast<size_t>(n));
    if (c.upgraded) return frames(i, got);
    c.in.append(got);
    const ws::Answer answer = ws::check_answer(c.in, c.ws_key);
    if (answer.kind == ws::Answer::kIncomplete) return;
    if (answer.kind == ws::Answer::kRefused) {
      failed_ = true;
      return lost_conn(i, "WebSocket upgrade refused: " + answer.why);
    }
    c.upgraded = true;
    c.ws_key = std::string();
    mark(i);  // the CONNECT waits to be framed
    const std::string early = c.in.substr(answer.head_size);  // frames right behind the head
    c.in = std::string();
    if (!early.empty()) frames(i, early);
  }

  // Feeds bytes of the server's frame stream to connection i's reader: data to the MQTT
  // reassembler, pings answered with pongs, a close answered and the connection dropped.
  void frames(size_t i, std::string_view bytes) {
    Conn& c = conns_[i];
    struct Sink {
      LoadGen& gen;
      size_t i;
      Conn& c;
      bool on_data(std::string_view piece) {
        const int r = c.packets.feed(piece, [this](const wire::Packet& pk) {
          gen.packet(i, pk);
          return !c.closed;
        });
        if (r < 0) gen.lost_conn(i, "malformed packet from the broker");
        return r > 0;
      }
      void on_ping(std::string_view body) {
        ws::append_frame(c.out, ws::kPong, body, gen.mask_key());
        gen.mark(i);
      }
    } sink{*this, i, c};
    switch (c.frames.feed(bytes, sink)) {
      case ws::FrameReader::Result::kMore:
      case ws::FrameReader::Result::kStopped:  // the connection is already gone
        return;
      case ws::FrameReader::Result::kError:
        return lost_conn(i, fmt::format("bad WebSocket frame: {}", c.frames.error()));
      case ws::FrameReader::Result::kClosed: {
        // Answer the close (best effort, RFC 6455 5.5.1), then drop the connection.
        std::string reply;
        ws::append_frame(reply, ws::kClose, ws::close_body(c.frames.close_code()), mask_key());
        send(c.fd, reply.data(), reply.size(), MSG_NOSIGNAL);  // whatever it returns, we close
        return lost_conn(i, fmt::format("WebSocket closed by the broker, status {}",
                                        c.frames.close_code()));
      }
    }
  }

  // A fresh masking key per frame (RFC 6455 5.3 asks for unpredictable ones; xorshift will do
  // for a benchmark on loopback).
  ws::MaskKey mask_key() {
    const uint64_t r = random64();
    return {static_cast<uint8_t>(r), static_cast<uint8_t>(r >> 8), static_cast<uint8_t>(r >> 16),
            static_cast<uint8_t>(r >> 24)};
  }
  uint64_t random64() {
    rng_ ^= rng_ << 13;
    rng_ ^= rng_ >> 7;
    rng_ ^= rng_ << 17;
    return rng_;
  }

  void packet(size_t i, const wire::Packet& pk) {
    Conn& c = conns_[i];
    switch (pk.type) {
      case wire::kConnack: {
        uint32_t recv_max = 65535;
        const int code = wire::parse_connack(pk, o_.version, recv_max);
        if (code != 0) {
          failed_ = true;
          return lost_conn(i, code < 0 ? "malformed CONNACK" : "CONNACK refused");
        }
        c.inflight_cap = std::min<uint32_t>(recv_max, static_cast<uint32_t>(o_.pub_inflight));
        if (c.publisher) {
          c.ready = true;
          ++ready_;
        } else {
          wire::subscribe(sink(c), o_.version, 1, c.topic, o_.sub_qos);
          mark(i);
        }
        return;
      }
      case wire::kSuback: {
        const auto& b = pk.body;
        const uint8_t code = b.empty() ? 0x80 : static_cast<uint8_t>(b.back());
        if (code >= 0x80) {
          failed_ = true;
          return lost_conn(i, "SUBACK refused the subscription");
        }
        c.ready = true;
        ++ready_;
        return;
      }
      case wire::kPublish: {
        wire::Publish p;
        if (!wire::parse_publish(pk, o_.version, p)) return lost_conn(i, "malformed PUBLISH");
        if (p.qos == 1) {
          wire::ack(sink(c), wire::kPuback, p.packet_id);
          mark(i);
        } else if (p.qos == 2) {
          wire::ack(sink(c), wire::kPubrec, p.packet_id);
          mark(i);
        }
        return delivery(c, p.payload);
      }
      case wire::kPubrel:  // only if someone subscribes at QoS 2
        if (pk.body.size() >= 2) wire::ack(sink(c), wire::kPubcomp, wire::get_u16(pk.body.data()));
        mark(i);
        return;
      case wire::kPuback:
        if (c.inflight) --c.inflight;
        if (pk.body.size() >= 2) {
          acked(c, wire::get_u16(pk.body.data()), pk.body.size() > 2 ? pk.body[2] : 0);
        }
        return;
      default:
        return;  // PINGRESP and anything else
    }
  }

  // ---- pub/sub measurement -----------------------------------------------------------------
  void delivery(Conn& c, std::string_view payload) {
    uint64_t seq = 0, ts = 0;
    if (!Payload::read(payload, seq, ts) || seq >= remaining_.size()) {
      ++foreign_;
      return;
    }
    const uint64_t t = now_us();
    if (npubs_ == 1) {  // one publisher: each subscriber must see the sequence in order
      if (c.any_seq && seq <= c.last_seq) ++out_of_order_;
      c.last_seq = seq;
      c.any_seq = true;
    }
    if (remaining_[seq] <= 0) {
      ++dups_;
      return;
    }
    ++received_;
    if (running_) ++received_in_run_;
    hist_.add(t > ts ? t - ts : 0);
    if (--remaining_[seq] == 0 && !written_off_[seq] && outstanding_) --outstanding_;
  }

  // A PUBACK for packet id `pid` (MQTT 5: with reason code `reason`, >= 0x80 a refusal).
  void acked(Conn& c, uint16_t pid, char reason) {
    auto it = c.unacked.begin();  // in order, normally: the front
    while (it != c.unacked.end() && it->first != pid) ++it;
    if (it == c.unacked.end()) return;
    if (static_cast<uint8_t>(reason) >= 0x80) {
      ++pub_refused_;
    } else {
      ++acked_;
      if (running_) ++acked_in_run_;
      const uint64_t t = now_us();
      ack_hist_.add(t > it->second ? t - it->second : 0);
    }
    c.unacked.erase(it);
  }

  // Publishes one message on publisher p, stamped with ts; false if p cannot take it now.
  bool publish(Conn& c, size_t i, uint64_t ts) {
    if (!c.ready || c.closed || unsent(c) > (1u << 20)) return false;
    if (o_.count && sent_ >= static_cast<uint64_t>(o_.count)) return false;
    if (o_.qos && c.inflight >= c.inflight_cap) return false;
    const uint64_t seq = sent_;
    Payload::stamp(c.payload, seq, ts);
    uint16_t pid = 0;
    if (o_.qos) {
      if (++c.next_pid == 0) c.next_pid = 1;
      pid = c.next_pid;
      ++c.inflight;
      c.unacked.emplace_back(pid, ts);
    }
    wire::publish(sink(c), o_.version, c.topic, o_.qos, pid, c.payload);
    mark(i);
    remaining_.push_back(nsubs_);
    written_off_.push_back(0);
    ++sent_;
    if (nsubs_ == 0) return true;  // no subscriber: complete at once (QoS 1: --pub-inflight bounds it)
    ++outstanding_;
    if (closed_loop()) sent_at_.emplace_back(seq, ts);
    return true;
  }

  bool closed_loop() const { return o_.rate <= 0; }

  // Closed loop: keep `window` messages outstanding. Open loop: send what the schedule says is
  // due, stamped with its scheduled time, so that a late send shows as latency. Publishers take
  // turns of up to --burst messages (one send() carries a turn, not one message).
  void publish_due(uint64_t t) {
    const size_t first = static_cast<size_t>(nsubs_);
    size_t refused = 0;
    while (refused < static_cast<size_t>(npubs_)) {
      uint64_t ts = t;
      if (closed_loop()) {
        if (outstanding_ >= static_cast<uint64_t>(o_.window)) return;
      } else {
        // Message k is due at start + k / rate.
        const uint64_t due = static_cast<uint64_t>(static_cast<double>(t - start_) * o_.rate / 1e6) + 1;
        if (sent_ >= due) return;
        ts = start_ + static_cast<uint64_t>(static_cast<double>(sent_) * 1e6 / o_.rate);
      }
      const size_t i = first + rr_;
      if (publish(conns_[i], i, ts) && ++turn_ < o_.burst) {
        refused = 0;
        continue;
      }
      if (turn_ == 0) ++refused;  // this publisher could not take even one
      else refused = 0;
      turn_ = 0;
      rr_ = (rr_ + 1) % static_cast<size_t>(npubs_);
    }
  }

  // A message some subscriber has not had after --timeout-ms no longer holds a window slot.
  void write_off(uint64_t t) {
    const auto timeout = static_cast<uint64_t>(o_.timeout_ms * 1000);
    while (!sent_at_.empty()) {
      const auto [seq, ts] = sent_at_.front();
      if (remaining_[seq] > 0 && t - ts < timeout) break;
      if (remaining_[seq] > 0) {
        written_off_[seq] = 1;
        ++written_off_count_;
        if (outstanding_) --outstanding_;
      }
      sent_at_.pop_front();
    }
  }

  void keepalive(uint64_t t) {
    if (t - last_ping_check_ < 1000000) return;
    last_ping_check_ = t;
    const uint64_t idle = static_cast<uint64_t>(o_.keepalive) * 1000000u / 2;
    for (size_t i = 0; i < conns_.size(); ++i) {
      Conn& c = conns_[i];
      if (c.connected && !c.closed && t - c.last_tx > idle) {
        wire::pingreq(sink(c));
        mark(i);
      }
    }
  }

  int measure(double setup_s) {
    remaining_.reserve(1u << 22);
    written_off_.reserve(1u << 22);
    const double cpu0 = cpu_s();
    start_ = now_us();
    const uint64_t end = start_ + static_cast<uint64_t>(o_.duration * 1e6);
    running_ = true;
    uint64_t t = start_;
    const auto count = static_cast<uint64_t>(o_.count);
    while (t < end && (!count || sent_ < count)) {
      publish_due(t);
      if (closed_loop()) write_off(t);
      keepalive(t);
      uint64_t wait = std::min<uint64_t>(end - t, 10000);
      if (!closed_loop()) {
        const auto next = start_ + static_cast<uint64_t>(static_cast<double>(sent_) * 1e6 / o_.rate);
        wait = next > t ? std::min(wait, next - t) : 0;
      }
      poll(wait);
      t = now_us();
    }
    running_ = false;
    const double run_s = static_cast<double>(t - start_) / 1e6;
    const double cpu_run = cpu_s() - cpu0;
    const uint64_t expected = sent_ * static_cast<uint64_t>(nsubs_);
    // Drain: publish nothing more; wait for what is on its way (deliveries and PUBACKs), at
    // most --drain seconds after the last progress.
    const uint64_t to_ack = o_.qos ? sent_ : 0;
    uint64_t last = received_ + acked_, last_change = t;
    while ((received_ < expected || acked_ + pub_refused_ < to_ack) && closed_ < conns_.size() &&
           t - last_change < o_.drain * 1e6) {
      poll(20000);
      t = now_us();
      if (received_ + acked_ != last) last = received_ + acked_, last_change = t;
    }
    fmt::print(
        "{{\"scenario\":\"{}\",\"label\":\"{}\",\"mqtt\":{},\"qos\":{},\"sub_qos\":{},\"subs\":{},\"pubs\":{},"
        "\"size\":{},\"pub_transport\":\"{}\",\"sub_transport\":\"{}\",\"mode\":\"{}\","
        "\"window\":{},\"rate\":{:.1f},\"setup_s\":{:.3f},"
        "\"duration_s\":{:.3f},\"sent\":{},\"msgs_per_s\":{:.1f},\"expected\":{},\"received\":{},"
        "\"received_in_run\":{},\"loss\":{},\"dups\":{},\"out_of_order\":{},\"written_off\":{},"
        "\"foreign\":{},\"lost_conns\":{},\"deliveries_per_s\":{:.1f},\"p50_us\":{},\"p99_us\":{},"
        "\"p999_us\":{},\"max_us\":{},\"acked\":{},\"pub_refused\":{},\"acked_per_s\":{:.1f},"
        "\"ack_p50_us\":{},\"ack_p99_us\":{},\"loadgen_cpu\":{:.3f}}}\n",
        o_.scenario, o_.label, o_.version == 5 ? "\"5\"" : "\"3.1.1\"", o_.qos, o_.sub_qos, nsubs_, npubs_,
        o_.size, o_.pub_transport, o_.sub_transport, closed_loop() ? "closed" : "open", o_.window,
        o_.rate, setup_s, run_s, sent_,
        static_cast<double>(sent_) / run_s, expected, received_, received_in_run_,
        static_cast<int64_t>(expected - received_), dups_, out_of_order_, written_off_count_,
        foreign_, closed_, static_cast<double>(received_in_run_) / run_s, hist_.quantile(0.5),
        hist_.quantile(0.99), hist_.quantile(0.999), hist_.max(), acked_, pub_refused_,
        static_cast<double>(acked_in_run_) / run_s, ack_hist_.quantile(0.5), ack_hist_.quantile(0.99),
        cpu_run / run_s);
    std::fflush(stdout);
    return 0;
  }

  // ---- idle connections --------------------------------------------------------------------
  int hold(double setup_s) {
    if (!o_.ready_file.empty()) std::ofstream(o_.ready_file) << "ready\n";
    const uint64_t end = now_us() + static_cast<uint64_t>(o_.hold * 1e6);
    for (uint64_t t = now_us(); t < end; t = now_us()) {
      keepalive(t);
      poll(std::min<uint64_t>(end - t, 200000));
    }
    fmt::print(
        "{{\"scenario\":\"connections\",\"label\":\"{}\",\"mqtt\":{},\"transport\":\"{}\","
        "\"conns\":{},\"sources\":{},"
        "\"connect_window\":{},\"setup_s\":{:.3f},\"connects_per_s\":{:.1f},\"held_s\":{:.1f},"
        "\"lost_conns\":{}}}\n",
        o_.label, o_.version == 5 ? "\"5\"" : "\"3.1.1\"", o_.sub_transport, conns_.size(),
        o_.sources,
        o_.connect_window, setup_s, static_cast<double>(conns_.size()) / setup_s, o_.hold, closed_);
    std::fflush(stdout);
    return closed_ ? 3 : 0;
  }

  Options o_;
  int ep_ = -1;
  std::vector<char> scratch_;
  std::vector<Conn> conns_;
  std::vector<size_t> dirty_;
  int nsubs_ = 0, npubs_ = 0;
  size_t ready_ = 0, closed_ = 0, rr_ = 0;
  int turn_ = 0;  // messages the current publisher has sent in its turn
  bool failed_ = false, running_ = false;
  std::string first_failure_;  // the first lost connection, for the final message
  uint64_t rng_ = 1;           // xorshift64 state: WebSocket keys and masks
  uint64_t start_ = 0, last_ping_check_ = 0;
  uint64_t sent_ = 0, outstanding_ = 0, received_ = 0, received_in_run_ = 0;
  uint64_t dups_ = 0, out_of_order_ = 0, written_off_count_ = 0, foreign_ = 0;
  uint64_t acked_ = 0, acked_in_run_ = 0, pub_refused_ = 0;  // QoS 1: the publishers' PUBACKs
  std::vector<int32_t> remaining_;  // per sequence number: deliveries still expected
  std::vector<uint8_t> written_off_;
  std::deque<std::pair<uint64_t, uint64_t>> sent_at_;  // closed loop: (seq, send time)
  Histogram hist_, ack_hist_;  // publish -> every delivery; publish -> PUBACK
};

}  // namespace
}  // namespace loadgen

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  prctl(PR_SET_TIMERSLACK, 1UL);  // open-loop sends wake on time, not 50 µs late
  try {
    loadgen::Options o = loadgen::parse_options(argc, argv);
    if (o.scenario == "history") return loadgen::HistoryReader(std::move(o)).run();
    return loadgen::LoadGen(std::move(o)).run();
  } catch (const std::exception& e) {
    fmt::print(stderr, "loadgen: {}\n", e.what());
    return 64;
  }
}
