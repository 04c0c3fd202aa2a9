// Services: what the protocol layer asks of the rest of the broker. The worker (net/) implements
// it; ClientLink and the packet handlers only call these, so the protocol code does no I/O and
// knows nothing of threads, sockets or where other sessions live.
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "auth/access_control.hpp"
#include "codec/packet.hpp"
#include "fanout/message.hpp"
#include "metrics/counters.hpp"
#include "session/limits.hpp"

namespace hydrant::session {

class ClientLink;
class Session;

class Services {
 public:
  virtual ~Services() = default;
  virtual const Limits& limits() const = 0;
  virtual fanout::Clock::time_point now() const = 0;
  virtual metrics::Counters& counters() = 0;
  // Who may connect, publish and subscribe (thread-safe, shared by every host).
  virtual auth::AccessControl& access() = 0;

  // A CONNECT was accepted: find, create or take over the session for link.client_id(). Calls
  // link.attach_session() now, or later once the session arrives from another worker.
  virtual void open_session(ClientLink& link, bool clean_start) = 0;
  // The link is closing. The session stays (persistent) or ends; `publish_will` says whether the
  // close was abnormal so the will applies (MQTT 5.0 3.1.2.5).
  virtual void close_session(ClientLink& link, bool publish_will) = 0;

  // The link's outbound queue went from empty to non-empty: flush it before the loop sleeps.
  virtual void wants_write(ClientLink& link) = 0;

  // Routes an accepted PUBLISH (and stores it if retained); `cc_topics` are further topics it
  // is routed to (CC'd routing keys), each subscriber still getting it once. Returns whether any
  // subscription matched (MQTT 5 acknowledges "no matching subscribers" with 0x10).
  virtual bool publish(const fanout::MessageRef& msg, std::span<const std::string> cc_topics = {}) = 0;
  // A publish under exchange/<owner>/...: registers its exchange on first use; false when the
  // owner may register no more exchanges.
  virtual bool note_exchange(std::string_view topic) = 0;
  // How many levels the name of the exchange that `topic` is published on has (for CC'd keys).
  virtual size_t exchange_levels(std::string_view topic) = 0;
  // Returns true when the subscription is new for this session.
  virtual bool subscribe(Session& session, std::string_view filter,
                         const codec::SubscriptionOptions& options, uint32_t subscription_id) = 0;
  virtual bool unsubscribe(Session& session, std::string_view filter) = 0;
  // Why `session` may not add a new filter now (the per-user and broker-wide subscription
  // caps, a static string), or nullptr when it may.
  virtual const char* subscription_refusal(const Session& /*session*/) const { return nullptr; }
  // Retained replay after SUBSCRIBE, a chunk at a time (router::Router::retained_after): up to
  // `limit` retained messages matching `filter` after the topic `after` (moved on to the last one
  // taken). Returns true when none is left.
  virtual bool retained_after(std::string_view filter, std::string& after, size_t limit,
                              std::vector<fanout::MessageRef>& out) = 0;
  // Whether a retained PUBLISH to `topic` fits the retained quotas (router::Router::
  // retain_allowed); `deletes`: an empty payload, which always may.
  virtual bool retain_allowed(std::string_view /*topic*/, bool /*deletes*/) { return true; }

  // ---- the message log (issue 6); a broker without one keeps these defaults ----
  using MessageFactory =
      std::function<fanout::MessageRef(uint64_t sequence, std::string_view position)>;
  // Whether a publish to `topic` goes into the message log.
  virtual bool logs(std::string_view /*topic*/) const { return false; }
  // False while the log cannot write (a full disk): durable publishes are refused.
  virtual bool log_writable() const { return true; }
  // Appends the message `make` builds to the log and returns it, to be routed now (null: the
  // log routes it, with its `cc` routing keys, once stored). With `confirm`, once it is stored
  // (or could not be) link.confirm_publish(packet_id, qos, ok) runs on this host.
  // `resent`: the PUBLISH had DUP set (a cluster stores a re-sent one once).
  virtual fanout::MessageRef log_message(ClientLink& /*link*/, const MessageFactory& make,
                                         bool /*confirm*/, uint16_t /*packet_id*/, uint8_t /*qos*/,
                                         std::span<const std::string> /*cc*/, bool /*resent*/) {
    return make(0, {});
  }
  // A client attached to `session` (CONNACK sent): a persistent one is recorded.
  virtual void session_attached(Session& /*session*/) {}
  // MQTT 5 replay (SUBSCRIBE user property `replay`): the stored messages matching `filter`
  // from `from` (a position, a time or "last:N"), oldest first, into `out`; the session then
  // skips their live copies. Nullopt when the broker keeps no log.
  struct ReplayResult {
    bool complete = true;
    size_t count = 0;
    std::string gap;  // why not complete
  };
  virtual std::optional<ReplayResult> replay(Session& /*session*/, std::string_view /*filter*/,
                                             std::string_view /*from*/,
                                             std::vector<fanout::MessageRef>& /*out*/) {
    return std::nullopt;
  }
};

}  // namespace hydrant::session
