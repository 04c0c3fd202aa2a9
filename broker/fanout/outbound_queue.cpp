// OutboundQueue: PUBLISH header assembly and iovec gathering. See outbound_queue.hpp.
//
// A PUBLISH item is sent as up to five pieces:
//   [own: fixed header, Remaining Length, topic length] [topic, shared]
//   [own: packet id, property length, per-delivery properties] [forwarded properties, shared]
//   [payload, shared]
#include "fanout/outbound_queue.hpp"

#include <algorithm>
#include <cstring>

namespace hydrant::fanout {

namespace {

using codec::ProtocolVersion;

// Per-delivery MQTT 5 properties: expiry, subscription ids, topic alias.
uint32_t delivery_props_size(const DeliveryFields& f) {
  uint32_t n = 0;
  if (f.expiry_left) n += 5;
  for (uint32_t id : f.subscription_ids) n += 1 + codec::varint_size(id);
  if (f.topic_alias) n += 3;
  return n;
}

struct Layout {
  uint32_t topic_len;
  uint32_t props_len;  // v5 property block length (without its prefix); 0 for v3
  uint32_t remaining;
  uint32_t head_len;   // fixed header + remaining length + topic length field
  uint32_t mid_len;    // packet id + property length prefix + per-delivery properties
};

Layout layout_of(const Message& msg, const DeliveryFields& f, ProtocolVersion v) {
  Layout l{};
  l.topic_len = f.omit_topic ? 0 : static_cast<uint32_t>(msg.topic().size());
  const bool v5 = v == ProtocolVersion::V5;
  const uint32_t pid = f.qos > 0 ? 2 : 0;
  uint32_t props_part = 0;
  if (v5) {
    l.props_len = delivery_props_size(f) + static_cast<uint32_t>(msg.forwarded_properties().size());
    props_part = codec::varint_size(l.props_len) + l.props_len;
  }
  l.remaining = 2 + l.topic_len + pid + props_part + static_cast<uint32_t>(msg.payload().size());
  l.head_len = 1 + codec::varint_size(l.remaining) + 2;
  l.mid_len = pid + (v5 ? codec::varint_size(l.props_len) + delivery_props_size(f) : 0);
  return l;
}

uint8_t* put_u16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
  return p + 2;
}

uint8_t* put_u32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
  return p + 4;
}

}  // namespace

uint32_t OutboundQueue::publish_size(const Message& msg, const DeliveryFields& fields,
                                     ProtocolVersion version) {
  const Layout l = layout_of(msg, fields, version);
  return 1 + codec::varint_size(l.remaining) + l.remaining;
}

OutboundQueue::Item& OutboundQueue::append() {
  if (head_ > 0 && head_ * 2 >= items_.size()) {
    // Most of the vector is already written: drop that part before growing.
    items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
  return items_.emplace_back();
}

uint8_t* OutboundQueue::reserve_own(Item& item, size_t n) {
  if (n > kInline) item.heap = std::make_unique<uint8_t[]>(n);
  return item.own();
}

void OutboundQueue::push_packet(const codec::Packet& packet, ProtocolVersion version) {
  codec::Bytes bytes;
  codec::encode(packet, version, bytes);
  Item& item = append();
  std::memcpy(reserve_own(item, bytes.size()), bytes.data(), bytes.size());
  item.head_len = static_cast<uint32_t>(bytes.size());
  item.size = static_cast<uint32_t>(bytes.size());
  pending_bytes_ += item.size;
}

uint32_t OutboundQueue::push_publish(MessageRef msg, const DeliveryFields& f, ProtocolVersion v,
                                     uint32_t max_size) {
  const Layout l = layout_of(*msg, f, v);
  if (1 + codec::varint_size(l.remaining) + l.remaining > max_size) return 0;
  Item& item = append();
  uint8_t* const start = reserve_own(item, l.head_len + l.mid_len);
  uint8_t* p = start;
  *p++ = static_cast<uint8_t>(0x30 | (f.dup ? 0x08 : 0) | (f.qos << 1) | (f.retain ? 1 : 0));
  p += codec::write_varint(l.remaining, p);
  p = put_u16(p, static_cast<uint16_t>(l.topic_len));
  if (f.qos > 0) p = put_u16(p, f.packet_id);
  if (v == ProtocolVersion::V5) {
    p += codec::write_varint(l.props_len, p);
    if (f.expiry_left) {
      *p++ = static_cast<uint8_t>(codec::PropertyId::MessageExpiryInterval);
      p = put_u32(p, *f.expiry_left);
    }
    for (uint32_t id : f.subscription_ids) {
      *p++ = static_cast<uint8_t>(codec::PropertyId::SubscriptionIdentifier);
      p += codec::write_varint(id, p);
    }
    if (f.topic_alias) {
      *p++ = static_cast<uint8_t>(codec::PropertyId::TopicAlias);
      p = put_u16(p, f.topic_alias);
    }
  }
  item.head_len = l.head_len;
  item.mid_len = static_cast<uint32_t>(p - start - l.head_len);
  item.with_topic = l.topic_len > 0;
  item.with_props = v == ProtocolVersion::V5;
  item.size = 1 + codec::varint_size(l.remaining) + l.remaining;
  item.msg = std::move(msg);
  pending_bytes_ += item.size;
  return item.size;
}

int OutboundQueue::gather(iovec* iov, int max) const {
  int n = 0;
  size_t skip = front_done_;
  auto add = [&](const void* base, size_t len) {
    if (len == 0 || n >= max) return;
    if (skip >= len) {
      skip -= len;
      return;
    }
    iov[n].iov_base = const_cast<char*>(static_cast<const char*>(base)) + skip;
    iov[n].iov_len = len - skip;
    skip = 0;
    ++n;
  };
  for (size_t i = head_; i < items_.size(); ++i) {
    const Item& item = items_[i];
    if (n >= max) break;
    const uint8_t* own = item.own();
    add(own, item.head_len);
    if (item.msg) {
      if (item.with_topic) add(item.msg->topic().data(), item.msg->topic().size());
      add(own + item.head_len, item.mid_len);
      if (item.with_props) {
        auto props = item.msg->forwarded_properties();
        add(props.data(), props.size());
      }
      add(item.msg->payload().data(), item.msg->payload().size());
    }
  }
  return n;
}

void OutboundQueue::consume(size_t n) {
  pending_bytes_ -= std::min(n, pending_bytes_);
  n += front_done_;
  while (head_ < items_.size() && n >= items_[head_].size) {
    n -= items_[head_].size;
    items_[head_].msg.reset();  // release the message now, not when the slot is reused
    items_[head_].heap.reset();
    ++head_;
  }
  front_done_ = head_ < items_.size() ? static_cast<uint32_t>(n) : 0;
  if (head_ == items_.size()) rewind();
}

void OutboundQueue::rewind() {
  // Keep a small vector for the next packets; give a burst's large one back.
  if (items_.capacity() > kKeepCapacity) {
    std::vector<Item>().swap(items_);
  } else {
    items_.clear();
  }
  head_ = 0;
}

void OutboundQueue::release_if_empty() {
  if (!empty()) return;
  std::vector<Item>().swap(items_);
  head_ = 0;
}

void OutboundQueue::clear() {
  rewind();
  front_done_ = 0;
  pending_bytes_ = 0;
}

}  // namespace hydrant::fanout
