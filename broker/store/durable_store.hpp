// The seam between the broker and whatever keeps its messages and its durable state: core/ and
// api/ see only these interfaces. MessageStore, the local segment log (message_store.hpp),
// implements them today; a replicated engine (a cluster) can implement them next, as a backend,
// without a second path through the modules that use them.
//
// ExchangeLog: the messages of exchanges — append with a completion, positions, reads by
// position, time or the newest N, a scan for recovery. SessionStateLog: the durable state of
// persistent sessions (subscriptions, delivery cursors) and retained messages, and what of it
// was recovered at start. DurableStore: both, plus the periodic upkeep (retention, snapshots).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "codec/packet.hpp"
#include "fanout/message.hpp"
#include "store/records.hpp"

namespace hydrant::store {

// One message as stored: its sequence, arrival time and the message itself.
struct StoredMessage {
  uint64_t sequence = 0;
  int64_t time_ms = 0;
  fanout::MessageRef msg;
};

// A history read: messages matching `filter` after a position or from a time.
struct HistoryQuery {
  std::string filter;                   // an MQTT topic filter (not shared)
  std::optional<uint64_t> after;        // sequence: messages strictly after it
  std::optional<uint64_t> epoch;        // the epoch `after` came from
  std::optional<int64_t> since_ms;      // or: messages at or after this time
  std::optional<size_t> last;           // or: the newest N
  size_t limit = 100;
  // The broker's own read for a session it resumes (not a client's request): not rate-limited.
  bool for_session = false;
};

struct HistoryPage {
  std::vector<StoredMessage> messages;  // oldest first
  uint64_t scanned_to = 0;  // the last sequence looked at: the next page starts after it
  bool more = false;        // messages past scanned_to may match
  bool complete = true;     // false: some of what was asked for is no longer kept
  std::string gap;          // why, when not complete
};

// Parses where a read starts: a position "<epoch>-<sequence>", unix milliseconds, or ISO 8601
// UTC ("2026-12-04T16:30:00Z", optional ".mmm"); with `allow_last`, also "last:N". False when
// it is none of those. For the history API and the MQTT replay property.
bool parse_since(std::string_view text, HistoryQuery& q, bool allow_last = false);

// Who sent a confirmed publish, so that a log that can (a cluster's) stores a re-sent one once:
// `id` names the publisher's session, packet id and message; `resent`: the PUBLISH had DUP set.
struct PublishOrigin {
  std::string id;  // empty: none (QoS 0, a will)
  bool resent = false;
};

// One exchange's messages in history: how many, their payload bytes, the oldest and newest time.
struct KeptExchange {
  std::string exchange;  // exchange/<owner>/<name>
  uint64_t messages = 0;
  uint64_t payload_bytes = 0;
  int64_t first_ms = 0;
  int64_t last_ms = 0;
};

class ExchangeLog {
 public:
  // Runs once the message is durable (ok) or could not be made so; on the store's own thread.
  using Completion = std::function<void(uint64_t sequence, bool ok)>;
  // Builds the message once its sequence and position are known.
  using MessageFactory = std::function<fanout::MessageRef(uint64_t sequence, std::string_view position)>;

  virtual ~ExchangeLog() = default;

  // Whether topics like this one go into the log (topics of exchanges).
  static bool logs(std::string_view topic) { return topic.starts_with("exchange/"); }
  // Positions are "<epoch>-<sequence>": the epoch tells a position of another log apart.
  virtual uint64_t epoch() const = 0;
  virtual std::string position(uint64_t sequence) const = 0;
  // Whether durable writes are possible now, and why not ("" when they are): for /healthz.
  virtual bool healthy() const = 0;
  virtual std::string problem() const = 0;

  // Appends a message of an exchange; a retained one is also recorded as its topic's retained
  // message, durable with it. Returns the message as built, for the caller to route now; or
  // null from a log that routes its messages itself once stored (a cluster's: on every node),
  // with the routing keys `cc` it was copied to. Never waits for the disk.
  virtual fanout::MessageRef append_message(const MessageFactory& make, int64_t now_ms,
                                            Completion done = {},
                                            std::span<const std::string> cc = {},
                                            const PublishOrigin& origin = {}) = 0;
  // Whether the log stores a re-sent publish once (PublishOrigin): a cluster's does; the local
  // log has no use for the origin, which is then not built.
  virtual bool deduplicates() const { return false; }
  // The highest sequence appended so far (durable or not).
  virtual uint64_t last_sequence() const = 0;
  virtual HistoryPage read(const HistoryQuery& q) const = 0;
  // Every message kept with sequence > after, in order (durable ones only); for recovery.
  virtual void scan(uint64_t after, const std::function<void(const StoredMessage&)>& visit) const = 0;
  // What history keeps per exchange (its first level, exchange/<owner>/<name>), so that the
  // exchanges and their traffic are known again after a restart. Empty from a log without a
  // per-exchange index (a cluster's).
  virtual std::vector<KeptExchange> kept_exchanges() const { return {}; }
};

// A persistent session asked of the other nodes of a cluster (SessionStateLog::take_session).
struct TakenSession {
  enum class Outcome { None, Taken, Unavailable };
  Outcome outcome = Outcome::None;  // none elsewhere; taken over (now this node's); no answer
  StoredSession session;
};

// Not waited for: a confirmed publish appended after these changes covers them.
class SessionStateLog {
 public:
  virtual ~SessionStateLog() = default;
  // The durable state recovered at open (sessions, subscriptions, cursors, retained).
  virtual const DurableState& recovered_state() const = 0;
  // Records a persistent session (again, on each connection); returns its incarnation, to pass
  // on later calls (0 for a new session).
  virtual uint64_t session_open(std::string_view client_id, uint64_t incarnation,
                                codec::ProtocolVersion version, uint32_t expiry) = 0;
  virtual void session_end(std::string_view client_id, uint64_t incarnation) = 0;
  // Returns the sequence the subscription counts from.
  virtual uint64_t subscribe(std::string_view client_id, std::string_view filter,
                             const codec::SubscriptionOptions& options, uint32_t subscription_id) = 0;
  virtual void unsubscribe(std::string_view client_id, std::string_view filter) = 0;
  // The session has every message up to `sequence`: a restart replays after it.
  virtual void cursor(std::string_view client_id, uint64_t sequence) = 0;
  virtual void retain(const fanout::MessageRef& msg) = 0;  // a retained message that is not logged
  // A cluster keeps the will of every session that has one (null: none now), so that another
  // node publishes it when this one dies; a session with a will then has an incarnation even
  // if it is not persistent. Returns the incarnation (the local log keeps no wills: unchanged).
  virtual uint64_t session_will(std::string_view client_id, uint64_t incarnation,
                                codec::ProtocolVersion version, uint32_t expiry,
                                const fanout::Message* will, uint32_t will_delay) {
    (void)client_id, (void)version, (void)expiry, (void)will, (void)will_delay;
    return incarnation;
  }
  // In a cluster, a persistent session may live on another node: takes it over from there and
  // runs `done` with it, on another thread. False where sessions live on this node only.
  virtual bool take_session(std::string client_id, std::function<void(TakenSession)> done) {
    (void)client_id, (void)done;
    return false;
  }
};

class DurableStore : public ExchangeLog, public SessionStateLog {
 public:
  // Once a second: retention of the exchanges' history, snapshots of the state, checks.
  virtual void maintain(int64_t now_ms) = 0;
  // Writes and syncs what is pending (shutdown).
  virtual void flush() = 0;
};

}  // namespace hydrant::store
