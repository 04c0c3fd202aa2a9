// Broker configuration: the Config struct, the command line, the config file and the --help text.
// Settings are layered: built-in defaults <- config file (`--config FILE`) <- command-line
// overrides (`--key VALUE`). Every key has the same name in both places. This is control-plane
// code: every error throws ConfigError with a message that names where it came from
// ("FILE:LINE: ..." or "--key: ..."), and main() catches it once and exits non-zero.
// It does not apply a configuration (log level, listeners, limits): the caller does, and on
// SIGHUP it calls load() again and keeps the old Config if that throws.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "util/log.hpp"

namespace hydrant::config {

// A TCP listen address. `host` holds an IPv6 address without brackets.
struct Endpoint {
  std::string host;
  uint16_t port = 0;

  std::string to_string() const;  // "0.0.0.0:1883", "[::1]:1883" for IPv6
  bool operator==(const Endpoint&) const = default;
};

struct Config {
  std::vector<Endpoint> mqtt{{"0.0.0.0", 1883}};  // key mqtt, repeatable; given values replace the list
  std::string data_dir = "./hydrant-data";        // key data
  unsigned threads = 0;                           // 0 = number of cores
  bool open = false;                              // development/conformance mode
  uint16_t max_keepalive = 65535;                 // seconds
  log::Level log_level = log::Level::Info;
  uint32_t max_packet_size = 1048576;  // bytes, inbound, >= 64 (announced in CONNACK)
  uint16_t receive_maximum = 100;      // unacked QoS>0 publishes a client may send, 1..65535
  uint16_t max_inflight = 100;         // cap on outbound in-flight QoS>0 per session, 1..65535
  uint16_t topic_alias_maximum = 64;   // 0..65535
  uint32_t max_queued_messages = 10000;  // per session
  uint64_t outbound_budget = 1048576;    // bytes per connection
  uint32_t stuck_timeout = 30;           // seconds
  uint32_t connect_timeout = 10;         // seconds
  uint32_t max_session_expiry = 604800;  // seconds (cap on requested session expiry)
  uint32_t sys_interval = 10;            // seconds; 0 = off
  uint32_t max_connections = 0;          // 0 = automatic (below the fd limit)
  std::vector<std::string> deny_subscribe;  // filters nobody may subscribe to (repeatable)
  // The bridge and TLS (issue 4). https and mqtts default to 0.0.0.0:8443 / 0.0.0.0:8883 only
  // when a certificate is configured and no source named them (*_given).
  std::vector<Endpoint> http{{"0.0.0.0", 8080}};  // key http, repeatable; "off" = none
  std::vector<Endpoint> https;                    // key https, repeatable
  std::vector<Endpoint> mqtts;                    // key mqtts, repeatable
  bool https_given = false;
  bool mqtts_given = false;
  std::string tls_cert;                     // PEM certificate chain
  std::string tls_key;                      // PEM private key
  std::string web_root;                     // viewer files; empty = main.cpp finds web/
  std::vector<std::string> ws_origins;      // allowed Origins for /mqtt; empty = any
  std::vector<std::string> trusted_proxies;  // peers whose X-Forwarded-For is honoured
  uint64_t max_ws_frame = 1048576;          // bytes of one WebSocket message
  // Access (issue 5; off with open).
  uint32_t anon_max_connections_per_ip = 64;   // 0 = unlimited
  uint32_t anon_max_subscriptions = 64;        // per anonymous connection; 0 = unlimited
  uint32_t max_subscriptions_per_session = 1000;  // any session; 0 = unlimited
  uint32_t max_subscriptions_per_user = 10000;    // all sessions of one user; 0 = unlimited
  uint32_t max_subscriptions_total = 1000000;     // the whole broker; 0 = unlimited
  uint32_t max_retained_per_user = 10000;      // retained topics per owner; 0 = unlimited
  uint32_t max_retained_total = 1000000;       // retained topics in all; 0 = unlimited
  uint32_t anon_max_packet_size = 16384;       // inbound, after an anonymous CONNECT
  uint32_t payload_soft_limit = 8192;          // exchange payloads above are counted and logged
  uint32_t payload_hard_limit = 262144;        // exchange payloads above are refused
  uint32_t auth_failure_delay_ms = 1000;       // before CONNACK "bad user name or password"
  uint32_t auth_failure_burst = 10;            // failed authentications per address at once
  uint32_t auth_failure_refill_s = 6;          // then one more per this many seconds
  std::vector<std::string> reserved_names{"admin", "root", "hydrant", "guest", "anonymous",
                                          "exchange", "queue", "sys"};
  std::string token_secret_file;               // HS256 key; empty = <data>/token-secret
  uint32_t signed_token_default_hours = 1;     // hydrant token sign without --ttl
  uint32_t signed_token_max_hours = 24;        // longer-lived signed tokens are refused
  // Queues (durable sessions) and their owners' notices.
  uint32_t queue_warning_percent = 80;         // of max-queued-messages
  uint32_t queue_overlimit_timeout = 3600;     // seconds over the limit before deletion; 0 = never
  std::string notify_command;                  // run with the notice as arguments; empty = none
  // The message log (issue 6): <data>/log.
  std::string durability = "fsync";            // fsync, batch or none
  uint32_t history_max_age = 86400;            // seconds an exchange's messages are kept
  uint64_t history_max_bytes = 256ull << 20;   // bytes of messages kept per exchange
  // The cluster (NATS JetStream): off while `cluster` is empty.
  std::vector<std::string> cluster;            // nats://host:port or tls://host:port
  std::string node_name;                       // empty = the host name
  uint32_t cluster_replicas = 3;               // copies of the stream and buckets
  std::string cluster_prefix = "hydrant";      // names of the stream, subjects and buckets
  std::string cluster_creds;                   // NATS credentials file; empty = none
  std::string cluster_ca;                      // CA of the engine's TLS; empty = URLs decide
  uint32_t cluster_ack_timeout = 10;           // seconds a publish waits for the engine
  uint32_t cluster_window = 4096;              // publishes awaiting the engine, per node
  uint32_t cluster_history_rate = 50;          // history reads a second a node asks of the engine
  // ws_origins are stored as browsers serialize an Origin ("https://example.org", no default
  // port) and trusted_proxies as canonical IP literals, so the bridge may compare them exactly.
};

struct ConfigError : std::runtime_error {
  using runtime_error::runtime_error;
};

struct CommandLine {
  std::optional<std::string> config_file;                      // --config FILE
  std::vector<std::pair<std::string, std::string>> overrides;  // every other --key VALUE, in order
  bool help = false;
  bool version = false;
};

// Splits argv into the config file, the overrides (keys checked, values not yet) and the
// --help/--version flags. Throws ConfigError naming an unknown option, a missing value or a
// stray argument.
CommandLine parse_command_line(int argc, const char* const* argv);

// defaults <- config file (if any) <- command-line overrides, then cross-field checks.
// Throws ConfigError: "FILE:LINE: message" for file errors, "--key: message" for CLI errors,
// "FILE: message" when the file cannot be read, "config: message" for cross-field errors.
Config load(const CommandLine& cli);

// Defaults <- `text` in config-file syntax, then cross-field checks. `origin` names the text in
// error messages (normally the file name). Used by load() and by tests.
Config parse_config_text(std::string_view text, std::string_view origin);

// "host:port", "[v6]:port", ":port" or "port" (the last two mean 0.0.0.0). Throws ConfigError
// with a message that has no origin prefix.
Endpoint parse_endpoint(std::string_view text);

std::string help_text();              // the full --help text
std::string describe(const Config&);  // one line of key=value pairs for the startup log

}  // namespace hydrant::config

template <>
struct fmt::formatter<hydrant::config::Endpoint> : fmt::formatter<std::string_view> {
  template <class FormatContext>
  auto format(const hydrant::config::Endpoint& e, FormatContext& ctx) const {
    return fmt::formatter<std::string_view>::format(e.to_string(), ctx);
  }
};
