// Building Message objects. See message.hpp.
#include "fanout/message.hpp"

#include "codec/codec.hpp"

namespace hydrant::fanout {

MessageRef Message::create(std::string_view topic, std::string_view payload, uint8_t qos,
                           bool retain, const codec::Properties& props, uint64_t origin_session,
                           Clock::time_point now, uint64_t sequence,
                           std::string_view position) {
  codec::Properties fwd;
  fwd.payload_format_indicator = props.payload_format_indicator;
  fwd.content_type = props.content_type;
  fwd.response_topic = props.response_topic;
  fwd.correlation_data = props.correlation_data;
  fwd.user_properties = props.user_properties;
  if (!position.empty()) fwd.user_properties.push_back({"position", position});
  codec::Bytes encoded;
  codec::append_properties(fwd, encoded);
  // Drop the Variable Byte Integer length prefix: the sender writes its own, since it adds
  // per-delivery properties in front.
  const uint32_t prefix = codec::varint_size(codec::properties_size(fwd));

  std::string data;
  data.reserve(topic.size() + encoded.size() - prefix + payload.size());
  data.append(topic);
  data.append(reinterpret_cast<const char*>(encoded.data()) + prefix, encoded.size() - prefix);
  const auto payload_off = static_cast<uint32_t>(data.size());
  data.append(payload);

  std::optional<Clock::time_point> expiry;
  if (props.message_expiry_interval) {
    expiry = now + std::chrono::seconds(*props.message_expiry_interval);
  }
  return std::make_shared<const Message>(std::move(data), static_cast<uint32_t>(topic.size()),
                                         payload_off, qos, retain, origin_session, expiry,
                                         sequence);
}

std::optional<uint32_t> Message::expiry_left(Clock::time_point now) const {
  if (!expiry_) return std::nullopt;
  if (now >= *expiry_) return 0;
  const auto left = std::chrono::ceil<std::chrono::seconds>(*expiry_ - now).count();
  return static_cast<uint32_t>(left < 1 ? 1 : left);
}

}  // namespace hydrant::fanout
