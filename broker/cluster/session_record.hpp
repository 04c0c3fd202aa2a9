// A session as the cluster keeps it, one key of the sessions bucket per client id: which node
// has it, what it is (the store's StoredSession: version, expiry, cursor, subscriptions, will),
// since when it is offline. Every persistent session has one, and every session with a will. Whoever holds the key's last revision
// owns the session; a node takes it over by compare-and-set on that revision.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "store/records.hpp"

namespace hydrant::cluster {

struct SessionRecord {
  std::string node;                 // the node that has the session
  store::StoredSession session;
  int64_t offline_since_ms = 0;     // unix ms; 0 while a client is connected
  bool ended = false;               // the session is over (a tombstone: nobody takes it)

  // Whether it has expired at `now_ms`: ended, or offline for longer than its expiry interval.
  bool expired(int64_t now_ms) const {
    return ended || (offline_since_ms != 0 &&
                     now_ms - offline_since_ms >= int64_t{session.expiry_interval} * 1000);
  }
};

std::string encode_session_record(const SessionRecord& r);
// Nothing when the bytes are not a record of this format.
std::optional<SessionRecord> decode_session_record(std::string_view data);

// The bucket's key for a client id: hex, as keys allow only [-/_=.a-zA-Z0-9].
std::string session_key(std::string_view client_id);
std::optional<std::string> client_id_of_key(std::string_view key);

}  // namespace hydrant::cluster
