// A test MQTT client for the session layer's unit tests: it feeds encoded packets into a
// ClientLink and decodes what the link queued for sending. Works with any session::Services, so
// the tests of core::SessionHost (tests/unit/core/) drive the same clients.
#pragma once

#include <initializer_list>

#include <doctest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "codec/codec.hpp"
#include "session/client_link.hpp"
#include "session/services.hpp"

namespace hydrant::session::test {

using codec::Bytes;
using codec::PacketType;
using V = codec::ProtocolVersion;

// One decoded packet the link sent, with the bytes its views point into.
struct Sent {
  Bytes raw;
  codec::Packet packet;
  PacketType type() const { return codec::packet_type(packet); }
  template <class T>
  const T& as() const {
    REQUIRE(std::holds_alternative<T>(packet));
    return std::get<T>(packet);
  }
};

// Bytes from an annotated list of byte values.
inline Bytes bytes(std::initializer_list<int> b) {
  Bytes out;
  for (int x : b) out.push_back(static_cast<uint8_t>(x));
  return out;
}

inline Bytes encode(const codec::Packet& p, V v) {
  Bytes out;
  codec::encode(p, v, out);
  return out;
}

inline codec::Connect connect_packet(V v, std::string_view client_id, bool clean_start = true,
                                     uint16_t keep_alive = 0) {
  codec::Connect c;
  c.protocol_version = v;
  c.client_id = client_id;
  c.clean_start = clean_start;
  c.keep_alive = keep_alive;
  return c;
}

inline codec::Publish publish_packet(std::string_view topic, std::string_view payload,
                                     uint8_t qos = 0, uint16_t packet_id = 0, bool retain = false) {
  codec::Publish p;
  p.topic = topic;
  p.payload = payload;
  p.qos = qos;
  p.packet_id = packet_id;
  p.retain = retain;
  return p;
}

inline codec::Ack ack_packet(PacketType type, uint16_t id,
                             ReasonCode rc = ReasonCode::Success) {
  return codec::Ack{type, id, rc, {}};
}

inline codec::Subscribe subscribe_packet(uint16_t id, std::string_view filter, uint8_t qos = 0,
                                         uint8_t retain_handling = 0) {
  codec::Subscribe s;
  s.packet_id = id;
  codec::TopicSubscription ts;
  ts.filter = filter;
  ts.options.max_qos = qos;
  ts.options.retain_handling = retain_handling;
  s.subscriptions.push_back(ts);
  return s;
}

class TestClient {
 public:
  // A connection to `svc` (any Services: the unit tests' TestServices, or a core::SessionHost),
  // opened at the services' time.
  TestClient(Services& svc, V v, uint64_t conn_id = 1)
      : v_(v), link_(std::make_unique<ClientLink>(svc, conn_id, util::PeerAddress{}, svc.now())) {}
  // The connection goes away like a dropped socket, so that no session keeps a dangling link.
  ~TestClient() { link_->on_transport_closed(); }
  TestClient(const TestClient&) = delete;
  TestClient& operator=(const TestClient&) = delete;

  ClientLink& link() { return *link_; }
  V version() const { return v_; }

  void feed(const Bytes& b) { link_->on_bytes(codec::ByteView(b.data(), b.size())); }
  void send(const codec::Packet& p) { feed(encode(p, v_)); }

  // Every packet the link queued since the last call, decoded in the connection's version.
  std::vector<Sent> take(V decode_as) {
    Bytes all;
    std::vector<iovec> iov(4096);
    for (;;) {
      const int n = link_->out().gather(iov.data(), static_cast<int>(iov.size()));
      if (n == 0) break;
      size_t got = 0;
      for (int i = 0; i < n; ++i) {
        const auto* p = static_cast<const uint8_t*>(iov[static_cast<size_t>(i)].iov_base);
        all.insert(all.end(), p, p + iov[static_cast<size_t>(i)].iov_len);
        got += iov[static_cast<size_t>(i)].iov_len;
      }
      link_->out().consume(got);
    }
    raw_ = all;
    std::vector<Sent> out;
    size_t pos = 0;
    while (pos < all.size()) {
      codec::ByteView rest(all.data() + pos, all.size() - pos);
      auto frame = codec::parse_frame(rest, codec::kMaxRemainingLength + 5);
      REQUIRE(frame.ok());
      REQUIRE(frame->has_value());
      const uint32_t size = (*frame)->total_size();
      REQUIRE(size <= rest.size());
      Sent s;
      s.raw.assign(rest.begin(), rest.begin() + size);
      auto packet = codec::decode(codec::ByteView(s.raw), decode_as);
      REQUIRE_MESSAGE(packet.ok(), "decode failed: ", packet.error().context);
      s.packet = std::move(packet.value());
      out.push_back(std::move(s));  // moving the vector keeps the bytes the views point into
      pos += size;
    }
    return out;
  }
  std::vector<Sent> take() { return take(v_); }
  // The raw bytes returned by the last take().
  const Bytes& last_raw() const { return raw_; }

  // CONNECT with clean start and the given properties; expects a successful CONNACK.
  codec::Connack connect(std::string_view client_id, bool clean_start = true,
                         const codec::Properties& props = {}, uint16_t keep_alive = 0) {
    auto c = connect_packet(v_, client_id, clean_start, keep_alive);
    c.properties = props;
    send(c);
    auto out = take();
    REQUIRE(out.size() >= 1);
    REQUIRE(out[0].type() == PacketType::Connack);
    codec::Connack ack = out[0].as<codec::Connack>();
    REQUIRE(ack.reason_code == ReasonCode::Success);
    REQUIRE(link_->state() == LinkState::Connected);
    // Properties of the CONNACK are views into out[0]: keep them alive with the client.
    kept_.push_back(std::move(out[0].raw));
    auto again = codec::decode(codec::ByteView(kept_.back()), v_);
    REQUIRE(again.ok());
    return std::get<codec::Connack>(again.value());
  }

  // SUBSCRIBE; returns the SUBACK's reason codes and leaves any retained PUBLISH for take().
  std::vector<ReasonCode> subscribe(const codec::Subscribe& s) {
    send(s);
    auto out = take();
    REQUIRE(out.size() >= 1);
    REQUIRE(out[0].type() == PacketType::Suback);
    CHECK(out[0].as<codec::Suback>().packet_id == s.packet_id);
    pending_.assign(std::make_move_iterator(out.begin() + 1), std::make_move_iterator(out.end()));
    return out[0].as<codec::Suback>().reason_codes;
  }
  std::vector<Sent> take_pending() {
    auto out = std::move(pending_);
    pending_.clear();
    auto more = take();
    for (auto& s : more) out.push_back(std::move(s));
    return out;
  }

 private:
  V v_;
  std::unique_ptr<ClientLink> link_;
  Bytes raw_;
  std::vector<Bytes> kept_;
  std::vector<Sent> pending_;
};

// The PUBLISH packets among `sent`; owns the bytes their views point into.
class Publishes {
 public:
  explicit Publishes(std::vector<Sent> sent) : sent_(std::move(sent)) {
    for (const auto& s : sent_) {
      if (s.type() == PacketType::Publish) list_.push_back(s.as<codec::Publish>());
    }
  }
  size_t size() const { return list_.size(); }
  bool empty() const { return list_.empty(); }
  const codec::Publish& operator[](size_t i) const { return list_.at(i); }
  std::vector<codec::Publish>& list() { return list_; }

 private:
  std::vector<Sent> sent_;
  std::vector<codec::Publish> list_;
};

inline Publishes publishes(std::vector<Sent> sent) { return Publishes(std::move(sent)); }

}  // namespace hydrant::session::test
