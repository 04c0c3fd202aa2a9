// Store records: what the message log holds besides raw bytes (issue 6). One log carries both
// the messages of exchanges and the durable state of the broker (persistent sessions, their
// subscriptions and delivery cursors, retained messages), so that one group commit orders them:
// when a message is durable, every state change appended before it is durable too.
//
// Each kind's data is little-endian; strings are u32 length + bytes. DurableState is what the
// state records add up to; recovery replays them from the last complete snapshot.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "codec/packet.hpp"
#include "fanout/message.hpp"

namespace hydrant::store {

enum class Kind : uint8_t {
  Message = 1,        // a message of an exchange (history, confirmed publish)
  SessionOpen = 2,    // a persistent session: client id, protocol version, expiry interval
  SessionEnd = 3,     // it ended
  Subscribe = 4,      // a subscription of a persistent session, and from which sequence it counts
  Unsubscribe = 5,
  Cursor = 6,         // the session has everything up to this sequence: replay starts after it
  Retain = 7,         // a retained message (an empty payload clears the topic's one)
  SnapshotBegin = 8,  // a complete copy of the state follows, up to SnapshotEnd
  SnapshotEnd = 9,
};

struct StoredSubscription {
  codec::SubscriptionOptions options;
  uint32_t subscription_id = 0;
  uint64_t start = 0;  // messages with a sequence above this one are for it
};

struct StoredSession {
  // The sequence of the session's first SessionOpen: a SessionEnd names it, so that the end of
  // a session a clean start replaced never ends its successor with the same client id.
  uint64_t incarnation = 0;
  codec::ProtocolVersion version = codec::ProtocolVersion::V311;
  uint32_t expiry_interval = 0;
  uint64_t cursor = 0;
  std::map<std::string, StoredSubscription, std::less<>> subscriptions;  // by filter
  // A cluster's sessions only (the local log does not keep wills): the will, as
  // encode_message, published by whichever node has the session when its client is gone.
  std::string will;
  uint32_t will_delay = 0;  // seconds
};

// A message record's data: u8 flags (qos | retain << 2) | u32 topic length | u32 payload offset
// | topic, forwarded properties, payload (Message's own layout).
std::string encode_message(const fanout::Message& m);
// Null when the data is not a message record.
fanout::MessageRef decode_message(std::string_view data, uint64_t sequence);

std::string encode_session_open(std::string_view client_id, const StoredSession& s);
std::string encode_session_end(std::string_view client_id, uint64_t incarnation);
std::string encode_subscribe(std::string_view client_id, std::string_view filter,
                             const StoredSubscription& sub);
std::string encode_unsubscribe(std::string_view client_id, std::string_view filter);
std::string encode_cursor(std::string_view client_id, uint64_t cursor);

// The durable state: what survives a restart besides the messages themselves.
struct DurableState {
  std::map<std::string, StoredSession, std::less<>> sessions;  // by client id
  std::map<std::string, fanout::MessageRef, std::less<>> retained;  // by topic

  // Applies one state record; false when its data is malformed (the caller reports it).
  bool apply(Kind kind, uint64_t sequence, std::string_view data);
};

}  // namespace hydrant::store
