// OutboundQueue: the bytes waiting to be written to one connection, in order. Control packets are
// copied in (they are a few bytes); a PUBLISH is a small per-delivery header plus references to the
// shared Message's topic, properties and payload, so fan-out never copies a payload. The socket
// side asks for iovecs (gather) and reports what the kernel took (consume): one writev per flush.
//
// Does no I/O itself; net/ owns the file descriptor.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "codec/codec.hpp"
#include "fanout/message.hpp"

namespace hydrant::fanout {

// The fields of a PUBLISH that differ per delivery.
struct DeliveryFields {
  uint8_t qos = 0;
  bool dup = false;
  bool retain = false;
  uint16_t packet_id = 0;
  std::span<const uint32_t> subscription_ids;  // MQTT 5
  uint16_t topic_alias = 0;                    // MQTT 5; 0 = none
  bool omit_topic = false;  // MQTT 5: alias already known to the client, send an empty topic
  std::optional<uint32_t> expiry_left;  // MQTT 5 Message Expiry Interval to send
};

class OutboundQueue {
 public:
  // Wire size of `msg` sent with `fields` to a client speaking `version` (for Maximum Packet Size).
  static uint32_t publish_size(const Message& msg, const DeliveryFields& fields,
                               codec::ProtocolVersion version);

  void push_packet(const codec::Packet& packet, codec::ProtocolVersion version);
  // Appends a PUBLISH sharing msg's bytes.
  // Returns its wire size, or 0 without queuing anything when that would exceed `max_size`
  // (the client's Maximum Packet Size), so the size is worked out once per delivery.
  uint32_t push_publish(MessageRef msg, const DeliveryFields& fields, codec::ProtocolVersion version,
                        uint32_t max_size = UINT32_MAX);

  // Fills up to `max` iovecs with the pending bytes, oldest first; returns how many were filled.
  int gather(iovec* iov, int max) const;
  // Drops the first `n` pending bytes (what writev reported as written).
  void consume(size_t n);

  size_t pending_bytes() const { return pending_bytes_; }
  // What the pending items hold in memory: their wire bytes plus the per-item bookkeeping (an
  // item is ~100 bytes, so a queue of tiny PUBLISHes holds several times its wire bytes).
  size_t footprint() const { return pending_bytes_ + (items_.size() - head_) * sizeof(Item); }
  bool empty() const { return head_ == items_.size(); }
  void clear();
  // Gives the item storage back when nothing is pending: an idle connection holds no buffer.
  void release_if_empty();

 private:
  static constexpr size_t kInline = 64;
  struct Item {
    Item() {}  // leaves inline_bytes uninitialised: they are written before use
    MessageRef msg;         // null for control packets
    uint32_t size = 0;      // wire bytes of the whole item
    uint32_t head_len = 0;  // own bytes sent before the topic (or all own bytes for control)
    uint32_t mid_len = 0;   // own bytes sent after the topic, before forwarded properties
    bool with_topic = false;
    bool with_props = false;
    uint8_t inline_bytes[kInline];
    std::unique_ptr<uint8_t[]> heap;  // own bytes when they exceed kInline
    const uint8_t* own() const { return heap ? heap.get() : inline_bytes; }
    uint8_t* own() { return heap ? heap.get() : inline_bytes; }
  };
  uint8_t* reserve_own(Item& item, size_t n);

  Item& append();
  void rewind();  // the queue is empty: reuse or release the vector
  static constexpr size_t kKeepCapacity = 64;

  // A vector used as a FIFO: items_[head_] is the oldest pending item. Emptying rewinds it
  // without freeing, so a connection that is written to steadily allocates nothing per packet.
  std::vector<Item> items_;
  size_t pending_bytes_ = 0;
  uint32_t head_ = 0;
  uint32_t front_done_ = 0;  // bytes of items_[head_] already written (an item is < 256 MiB)
};

}  // namespace hydrant::fanout
