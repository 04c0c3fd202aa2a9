// One exchange message as the cluster's stream holds it: the subject encodes the topic
// (subject.hpp), the data is the payload, and headers carry the rest of what MQTT needs (QoS,
// retain, the forwarded MQTT 5 properties, the expiry, the publishing node and session, the cc
// routing keys). Encoding on publish, decoding on delivery and on history reads.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "fanout/message.hpp"

struct __natsMsg;

namespace hydrant::cluster {

// The message to publish; the caller owns it (natsMsg_Destroy), null when libnats failed.
// `ticket` is the publishing node's key for the acknowledgement (ticket_of); `msg_id`, when
// not empty, JetStream's de-duplication id (Nats-Msg-Id).
__natsMsg* encode_stream_message(const fanout::Message& msg, const std::string& prefix,
                                 const std::string& node_name, uint64_t ticket, int64_t now_ms,
                                 std::span<const std::string> cc, const std::string& msg_id = {});
// The part of a de-duplication id that tells two messages apart: a hash of topic and payload.
uint64_t content_hash(const fanout::Message& msg);
uint64_t ticket_of(__natsMsg* msg);

struct StreamMessage {
  fanout::MessageRef msg;        // with its sequence and position ("<epoch>-<sequence>")
  std::vector<std::string> cc;   // the routing keys it was copied to
  uint64_t sequence = 0;
  int64_t time_ms = 0;           // when the stream stored it
  bool from_this_node = false;   // published through the node that reads it
};

// A message read from the stream; nullopt when it is not one of ours. `node_name`: this node's,
// so that a message published here keeps its publisher's session (no local).
std::optional<StreamMessage> decode_stream_message(__natsMsg* msg, const std::string& prefix,
                                                   const std::string& node_name, uint64_t epoch);

}  // namespace hydrant::cluster
