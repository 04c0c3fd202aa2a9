// Message: one published application message, immutable once built and shared by every delivery
// (fan-out copies the reference, never the bytes). Holds the topic, the payload, the MQTT 5
// properties that travel with it to subscribers (pre-encoded once), its expiry deadline and who
// published it (for no-local). Per-delivery fields (packet id, QoS, DUP, subscription ids, topic
// alias, remaining expiry) are added by PublishHeader at send time.
//
// Does not know about sessions, sockets or protocol versions beyond encoding its own bytes.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "codec/properties.hpp"

namespace hydrant::fanout {

using Clock = std::chrono::steady_clock;

class Message;
using MessageRef = std::shared_ptr<const Message>;

class Message {
 public:
  // Builds a message from a decoded PUBLISH (or a will). `props` may hold anything a PUBLISH or
  // will carries; the topic alias, subscription identifiers and message expiry are not
  // forwarded as they stand (expiry is re-encoded per delivery as the time left).
  // `sequence` is its place in the message log (0: not logged); a logged message also carries
  // its position ("<epoch>-<sequence>") as the MQTT 5 user property `position`.
  static MessageRef create(std::string_view topic, std::string_view payload, uint8_t qos,
                           bool retain, const codec::Properties& props, uint64_t origin_session,
                           Clock::time_point now, uint64_t sequence = 0,
                           std::string_view position = {});

  std::string_view topic() const { return std::string_view(data_).substr(0, topic_len_); }
  std::string_view payload() const { return std::string_view(data_).substr(payload_off_); }
  // MQTT 5 properties forwarded unchanged (payload format, content type, response topic,
  // correlation data, user properties), encoded without their length prefix.
  std::string_view forwarded_properties() const {
    return std::string_view(data_).substr(topic_len_, payload_off_ - topic_len_);
  }
  uint8_t qos() const { return qos_; }
  bool retain() const { return retain_; }
  uint64_t origin_session() const { return origin_session_; }
  uint64_t sequence() const { return sequence_; }  // in the message log; 0 when not logged
  bool has_expiry() const { return expiry_.has_value(); }
  bool expired(Clock::time_point now) const { return expiry_ && now >= *expiry_; }
  // Seconds left before expiry, rounded up, at least 1 while not expired; nullopt if none.
  std::optional<uint32_t> expiry_left(Clock::time_point now) const;
  size_t memory_size() const { return sizeof(*this) + data_.capacity(); }

  Message(std::string data, uint32_t topic_len, uint32_t payload_off, uint8_t qos, bool retain,
          uint64_t origin, std::optional<Clock::time_point> expiry, uint64_t sequence = 0)
      : data_(std::move(data)), topic_len_(topic_len), payload_off_(payload_off), qos_(qos),
        retain_(retain), origin_session_(origin), sequence_(sequence), expiry_(expiry) {}

 private:
  std::string data_;  // topic | forwarded properties | payload
  uint32_t topic_len_;
  uint32_t payload_off_;
  uint8_t qos_;
  bool retain_;
  uint64_t origin_session_;
  uint64_t sequence_;
  std::optional<Clock::time_point> expiry_;
};

}  // namespace hydrant::fanout
