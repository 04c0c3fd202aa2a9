// ClientLink: the MQTT protocol state machine of one client connection, Sans-I/O. The transport
// (net/) hands received bytes to on_bytes() and takes bytes to send from
// out(); timers arrive as on_tick(). ClientLink parses packets, runs the packet handlers
// (handle_*.cpp), and turns every protocol error into the right answer in one place,
// close_for(): a CONNACK code while connecting, a DISCONNECT with a reason code in MQTT 5, a
// plain close in 3.1.1.
//
// Connection-scoped state lives here (version, keep alive, topic aliases, the client's limits);
// session-scoped state lives in Session, which outlives the link when persistent.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "codec/codec.hpp"
#include "fanout/outbound_queue.hpp"
#include "session/services.hpp"
#include "session/session.hpp"
#include "util/peer_address.hpp"

namespace hydrant::session {

enum class LinkState : uint8_t { AwaitConnect, AwaitSession, Connected, Closed };

class ClientLink {
 public:
  ClientLink(Services& services, uint64_t conn_id, util::PeerAddress peer, Clock::time_point now);
  ~ClientLink();
  ClientLink(const ClientLink&) = delete;
  ClientLink& operator=(const ClientLink&) = delete;

  // ---- input (called by the transport) ----
  // Bytes the transport received; `data` is valid only during the call. Parses and handles
  // every complete packet; keeps a trailing partial packet.
  void on_bytes(codec::ByteView data);
  // The peer closed the connection or the transport failed: an abnormal end (will applies).
  void on_transport_closed();
  // Periodic check: CONNECT deadline, keep alive [MQTT-3.1.2-22], stuck writer.
  void on_tick(Clock::time_point now);
  // How the connection arrived (tcp by default); set by the transport right after construction,
  // so that deliveries and connections are counted per transport (metrics/counters.hpp).
  void set_transport(metrics::Transport t) { transport_ = t; }
  metrics::Transport transport() const { return transport_; }
  // The transport wrote some bytes (for the stuck-writer check).
  void on_write_progress(Clock::time_point now) { last_write_progress_ = now; }

  // ---- session (called by Services) ----
  // Completes a CONNECT: sends CONNACK, re-sends in-flight messages, pumps the queue.
  void attach_session(Session* session, bool session_present);
  // No session could be had for it (the cluster's engine did not answer): CONNACK with `code`.
  void refuse_session(ReasonCode code, const char* why) { close_for(code, why); }
  // The session was taken over by another connection [MQTT-3.1.4-3]: DISCONNECT 0x8E, close.
  void close_taken_over();
  // A logged QoS 1/2 PUBLISH is on disk (ok) or could not be written: PUBACK/PUBREC now, with
  // 0x97 when it failed (MQTT 3.1.1 has no such code: the connection is closed).
  void confirm_publish(uint16_t packet_id, uint8_t qos, bool ok);
  // The broker ends the connection (credentials revoked, an admin action): DISCONNECT with
  // `code` in MQTT 5, then close. The session is ended or kept as on any abnormal close.
  void disconnect(ReasonCode code, const char* why) { close_for(code, why); }

  // ---- output ----
  fanout::OutboundQueue& out() { return out_; }
  bool closing() const { return state_ == LinkState::Closed; }
  // Sends one delivery; returns false if the client cannot take it (Maximum Packet Size).
  bool send_publish(const PublishRef& d, uint16_t packet_id, bool dup, Clock::time_point now);
  void send_pubrel(uint16_t packet_id);

  // What the broker provides this link (its session pulls retained replay chunks through it).
  Services& services() const { return services_; }

  // ---- identity and negotiated parameters ----
  uint64_t conn_id() const { return conn_id_; }
  const util::PeerAddress& peer() const { return peer_; }
  const std::string& client_id() const { return client_id_; }
  codec::ProtocolVersion version() const { return version_; }
  Session* session() const { return session_; }
  LinkState state() const { return state_; }
  uint16_t client_receive_maximum() const { return client_receive_maximum_; }
  uint32_t session_expiry_requested() const { return session_expiry_; }
  // The authenticated user, or null for an anonymous client (and for everyone when open).
  const auth::Principal* principal() const { return principal_.get(); }

 private:
  size_t process(codec::ByteView input);  // handles whole packets; returns the bytes used
  void drain_buffered();                   // process() what waits in rbuf_
  void dispatch(codec::Packet& packet);
  // The one place where an error becomes a protocol answer.
  void close_for(ReasonCode code, const char* why);
  void finish_close(bool publish_will);
  void send(const codec::Packet& packet);
  void note_output();  // the outbound queue just became non-empty
  bool problem_info_allowed() const { return request_problem_information_; }

  // Packet handlers (handle_*.cpp), each: state -> fields -> validate -> apply -> reply.
  void handle_connect(codec::Connect& c);
  void handle_publish(codec::Publish& p);
  void handle_puback(const codec::Ack& a);
  void handle_pubrec(const codec::Ack& a);
  void handle_pubrel(const codec::Ack& a);
  void handle_pubcomp(const codec::Ack& a);
  void handle_subscribe(const codec::Subscribe& s);
  void handle_unsubscribe(const codec::Unsubscribe& u);
  void handle_disconnect(const codec::Disconnect& d);
  Result<void> check_connect(codec::Connect& c);
  Result<fanout::MessageRef> build_will(const codec::Connect& c);
  Result<std::string_view> resolve_topic_alias(codec::Publish& p);
  // handle_publish's steps: the packet and its topic, its content, then routing and answering.
  Result<std::string_view> publish_topic(codec::Publish& p);
  bool accept_content(const codec::Publish& p, std::string_view topic);
  void route_publish(const codec::Publish& p, std::string_view topic,
                     std::span<const std::string> cc);
  bool inbound_window_full(const codec::Publish& p) const;
  Result<void> authorize_connect(const codec::Connect& c);
  Result<void> authenticate(const codec::Connect& c);
  Result<void> authorize_client_id(const codec::Connect& c);
  Result<void> authorize_will(const codec::Connect& c);
  Status check_exchange_payload(const codec::Publish& p, std::string_view topic);
  Result<std::vector<std::string>> cc_topics(const codec::Publish& p, std::string_view topic);
  void refuse_publish(const codec::Publish& p, Error refusal);
  // The one place a PUBACK (qos 1) or PUBREC (qos 2) carries a refusal: MQTT 5 only, with the
  // reason string when the client allows problem information.
  void send_refusal_ack(uint8_t qos, uint16_t packet_id, const Error& refusal);
  void log_retained_refusal();
  Status check_subscribe_access(std::string_view filter, size_t held, bool exists) const;
  ReasonCode filter_refusal(std::string_view filter, size_t held, bool exists,
                            size_t& refusals_logged, std::string& why);
  // Anonymous clients live under tighter limits, unless the broker is open.
  bool restricted_anonymous() const { return !principal_ && !services_.access().open(); }
  uint32_t inbound_packet_limit() const;
  bool denied(std::string_view filter) const;
  uint16_t outbound_alias_for(std::string_view topic, bool& known);

  // Members are ordered by size so that the many idle connections waste no padding.
  Services& services_;
  const uint64_t conn_id_;
  Session* session_ = nullptr;
  fanout::OutboundQueue out_;

  std::vector<uint8_t> rbuf_;  // a partial packet, or input held while the session arrives
  static constexpr size_t kKeptReadBuffer = 4096;

  Clock::time_point created_;
  Clock::time_point last_received_;
  Clock::time_point last_write_progress_;

  // Negotiated at CONNECT.
  std::string client_id_;
  std::unique_ptr<auth::Principal> principal_;
  Clock::time_point refuse_at_{};  // wrong credentials: CONNACK 0x86 is sent at this time
  fanout::MessageRef pending_will_;
  uint32_t pending_will_delay_ = 0;
  uint32_t session_expiry_ = 0;
  uint32_t client_max_packet_size_ = codec::kMaxRemainingLength + 5;
  uint16_t keep_alive_ = 0;
  uint16_t client_receive_maximum_ = 65535;
  uint32_t unconfirmed_qos1_ = 0;  // logged QoS 1 publishes awaiting the disk before PUBACK
  uint16_t client_topic_alias_maximum_ = 0;
  LinkState state_ = LinkState::AwaitConnect;
  codec::ProtocolVersion version_ = codec::ProtocolVersion::V311;
  bool processing_ = false;
  bool connect_decoded_ = false;  // a CONNECT was parsed: refusals can be told with CONNACK
  bool client_id_assigned_ = false;
  bool clean_start_ = true;
  bool server_keep_alive_sent_ = false;
  bool session_expiry_capped_ = false;
  bool request_problem_information_ = true;
  bool holds_anonymous_slot_ = false;  // counted in AccessControl's per-IP anonymous connections
  metrics::Transport transport_ = metrics::Transport::Tcp;
  const util::PeerAddress peer_;

  // Topic aliases, MQTT 5 (3.3.2.3.4): inbound alias -> topic; outbound topic -> alias.
  // Allocated on first use: most connections never use aliases, and idle ones should be small.
  struct TopicAliases {
    std::unordered_map<uint16_t, std::string> inbound;
    std::unordered_map<std::string, uint16_t> outbound;
  };
  TopicAliases& aliases();
  std::unique_ptr<TopicAliases> aliases_;
};

}  // namespace hydrant::session
