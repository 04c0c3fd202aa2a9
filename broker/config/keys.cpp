// The table of configuration keys and the parsers for their values (numbers, sizes, listen
// addresses, log levels, booleans). Each parser throws ConfigError with a bare message; the
// file and command-line readers add where the value came from. No I/O here.
#include "config/keys.hpp"
#include "config/cluster_keys.hpp"

#include "topics/topic.hpp"
#include "util/peer_address.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <limits>
#include <optional>
#include <type_traits>

namespace hydrant::config {

std::string Endpoint::to_string() const {
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

namespace {

constexpr uint64_t kU16 = std::numeric_limits<uint16_t>::max();
constexpr uint64_t kU32 = std::numeric_limits<uint32_t>::max();
constexpr uint64_t kU64 = std::numeric_limits<uint64_t>::max();
// MQTT's largest packet: 1 type byte, a 4-byte Remaining Length, 268,435,455 bytes of body.
constexpr uint64_t kMqttMaxPacket = 268435460;

uint64_t parse_number(std::string_view text) {
  uint64_t n = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, n);
  if (text.empty() || ec == std::errc::invalid_argument || ptr != end)
    throw ConfigError(fmt::format("expected a whole number, got '{}'", text));
  if (ec == std::errc::result_out_of_range)
    throw ConfigError(fmt::format("number too large: '{}'", text));
  return n;
}

// A byte count with an optional 1024-based suffix: 512, 64K, 1M, 2G (either case).
uint64_t parse_size(std::string_view text) {
  uint64_t multiplier = 1;
  std::string_view digits = text;
  if (!text.empty()) {
    switch (text.back()) {
      case 'k': case 'K': multiplier = uint64_t{1} << 10; break;
      case 'm': case 'M': multiplier = uint64_t{1} << 20; break;
      case 'g': case 'G': multiplier = uint64_t{1} << 30; break;
      default: break;
    }
    if (multiplier != 1) digits.remove_suffix(1);
  }
  uint64_t n = 0;
  try {
    n = parse_number(digits);
  } catch (const ConfigError&) {
    throw ConfigError(fmt::format("expected a size in bytes (suffix K, M or G allowed), got '{}'", text));
  }
  if (n > kU64 / multiplier) throw ConfigError(fmt::format("size too large: '{}'", text));
  return n * multiplier;
}

template <auto Member, uint64_t Min, uint64_t Max, bool IsSize = false>
void set_number(Config& config, std::string_view text) {
  const uint64_t n = IsSize ? parse_size(text) : parse_number(text);
  bool in_range = true;
  if constexpr (Min > 0) in_range = n >= Min;
  if constexpr (Max < kU64) in_range = in_range && n <= Max;
  if (!in_range) throw ConfigError(fmt::format("must be from {} to {}, got '{}'", Min, Max, text));
  using T = std::remove_reference_t<decltype(config.*Member)>;
  config.*Member = static_cast<T>(n);
}

template <auto Member>
std::string show_number(const Config& config) {
  return fmt::format("{}", config.*Member);
}

void set_mqtt(Config& config, std::string_view text) {
  config.mqtt.push_back(parse_endpoint(text));
}

std::string show_mqtt(const Config& config) {
  return fmt::format("{}", fmt::join(config.mqtt, ","));
}

void clear_mqtt(Config& config) { config.mqtt.clear(); }

// http, https, mqtts: repeatable endpoints where "off" names an empty list (the Layer refuses
// `off` beside an address in one source). Given: set once a source names the key at all, so that
// validate() knows not to put in the TLS default.
template <auto Member, auto Given = nullptr>
void set_listeners(Config& config, std::string_view text) {
  if constexpr (Given != nullptr) config.*Given = true;
  if (text == "off") {
    (config.*Member).clear();
    return;
  }
  (config.*Member).push_back(parse_endpoint(text));
}

template <auto Member>
std::string show_listeners(const Config& config) {
  if ((config.*Member).empty()) return "off";
  return fmt::format("{}", fmt::join(config.*Member, ","));
}

template <auto Member, auto Given = nullptr>
void clear_listeners(Config& config) {
  if constexpr (Given != nullptr) config.*Given = true;
  (config.*Member).clear();
}

template <auto Member>
void set_path(Config& config, std::string_view text) {
  if (text.empty()) throw ConfigError("expected a file path, got an empty value");
  config.*Member = std::string(text);
}

template <auto Member>
std::string show_string(const Config& config) {
  return config.*Member;
}

template <auto Member>
std::string show_list(const Config& config) {
  return fmt::format("{}", fmt::join(config.*Member, ","));
}

template <auto Member>
void clear_list(Config& config) {
  (config.*Member).clear();
}

// Empty (only possible as --web-root= on the command line) brings back the default, which
// main.cpp resolves: the build tree's web/, else the installed copy.
void set_web_root(Config& config, std::string_view text) { config.web_root = std::string(text); }


// An IPv6 literal in the form inet_ntop() writes ("2001:db8::1"), or nullopt.
std::optional<std::string> canonical_ipv6(std::string_view text) {
  const auto addr = util::PeerAddress::parse_ip(text);
  if (!addr || addr->family != util::PeerAddress::Family::V6) return std::nullopt;
  return addr->ip_string();
}

// scheme://host[:port]. The bridge compares the Origin header byte for byte, so the value is
// stored the way browsers serialize an origin (RFC 6454 section 6.1): host in lower case, IPv6
// in inet_ntop form, no default port (80 for http, 443 for https). A path (even a lone "/"),
// query, fragment or user name never appears in an Origin header, so it is refused, not dropped.
void set_ws_origin(Config& config, std::string_view text) {
  const auto fail = [&] {
    return ConfigError(fmt::format("expected an origin like https://example.org, got '{}'", text));
  };
  std::string_view scheme;
  if (text.starts_with("http://")) {
    scheme = "http";
  } else if (text.starts_with("https://")) {
    scheme = "https";
  } else {
    throw fail();
  }
  const std::string_view rest = text.substr(scheme.size() + 3);
  std::string host;
  std::string_view port;
  if (rest.starts_with('[')) {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) throw fail();
    const auto v6 = canonical_ipv6(rest.substr(1, close - 1));
    if (!v6) throw fail();
    host = fmt::format("[{}]", *v6);
    const std::string_view after = rest.substr(close + 1);
    if (!after.empty() && (after.front() != ':' || after.size() == 1)) throw fail();
    if (!after.empty()) port = after.substr(1);
  } else {
    const auto colon = rest.find(':');
    const std::string_view name = rest.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = rest.substr(colon + 1);
      if (port.empty()) throw fail();
    }
    const bool name_ok = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
    });
    if (!name_ok) throw fail();
    for (char c : name) host += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  std::string origin = fmt::format("{}://{}", scheme, host);
  if (!port.empty()) {
    uint64_t number = 0;
    try {
      number = parse_number(port);
    } catch (const ConfigError&) {
      throw fail();
    }
    if (number == 0 || number > kU16) throw fail();
    const uint64_t default_port = scheme == "http" ? 80 : 443;
    if (number != default_port) origin += fmt::format(":{}", number);
  }
  config.ws_origins.push_back(std::move(origin));
}

// An IPv4 or IPv6 literal, stored in canonical form; an IPv4-mapped one (::ffff:10.0.0.1) as
// IPv4, since that is how the bridge sees such a peer (util::PeerAddress). Networks (10.0.0.0/8) are not supported yet: the bridge
// matches single addresses only.
void set_trusted_proxy(Config& config, std::string_view text) {
  const auto addr = util::PeerAddress::parse_ip(text);
  if (!addr) throw ConfigError(fmt::format("expected an IPv4 or IPv6 address, got '{}'", text));
  config.trusted_proxies.push_back(addr->ip_string());
}

void set_deny_subscribe(Config& config, std::string_view text) {
  if (!topics::validate_topic_filter(text).ok()) {
    throw ConfigError(fmt::format("expected an MQTT topic filter, got '{}'", text));
  }
  config.deny_subscribe.emplace_back(text);
}

std::string show_deny_subscribe(const Config& config) {
  return fmt::format("{}", fmt::join(config.deny_subscribe, ","));
}

void clear_deny_subscribe(Config& config) { config.deny_subscribe.clear(); }

void set_reserved_name(Config& config, std::string_view text) {
  const bool ok = !text.empty() && std::isalpha(static_cast<unsigned char>(text.front())) &&
                  std::all_of(text.begin(), text.end(), [](char c) {
                    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' ||
                           c == '-';
                  });
  if (!ok) throw ConfigError(fmt::format("expected a clientId like 'admin', got '{}'", text));
  config.reserved_names.emplace_back(text);
}

void set_data(Config& config, std::string_view text) {
  if (text.empty()) throw ConfigError("expected a directory, got an empty value");
  config.data_dir = std::string(text);
}

std::string show_data(const Config& config) { return config.data_dir; }

void set_open(Config& config, std::string_view text) {
  if (text == "true") {
    config.open = true;
  } else if (text == "false") {
    config.open = false;
  } else {
    throw ConfigError(fmt::format("expected true or false, got '{}'", text));
  }
}

std::string show_open(const Config& config) { return config.open ? "true" : "false"; }

void set_log_level(Config& config, std::string_view text) {
  auto level = log::parse_level(text);
  if (!level) throw ConfigError(fmt::format("expected debug, info, warning, error or off, got '{}'", text));
  config.log_level = *level;
}

void set_durability(Config& config, std::string_view text) {
  if (text != "fsync" && text != "batch" && text != "none") {
    throw ConfigError(fmt::format("expected fsync, batch or none, got '{}'", text));
  }
  config.durability = std::string(text);
}

std::string show_durability(const Config& config) { return config.durability; }

std::string show_log_level(const Config& config) { return std::string(log::level_name(config.log_level)); }

using detail::KeyInfo;

// The order here is the order of --help, describe() and the README's configuration table.
const std::array kKeys{
    KeyInfo{"mqtt", "HOST:PORT",
            "MQTT listener on TCP; repeat for several. HOST:PORT, [IPV6]:PORT, :PORT or PORT (the "
            "last two listen on 0.0.0.0); port 0 picks a free port",
            set_mqtt, show_mqtt, true, false, clear_mqtt},
    KeyInfo{"data", "DIR", "directory of the durable store (sessions, queues, retained messages)",
            set_data, show_data},
    KeyInfo{"threads", "N", "event-loop threads, 0..1024; 0 = one per CPU core",
            set_number<&Config::threads, 0, 1024>, show_number<&Config::threads>},
    KeyInfo{"open", "true|false",
            "development and conformance-test mode: no access rules for anyone; never expose it. "
            "On the command line a bare --open means true",
            set_open, show_open, false, true},
    KeyInfo{"max-keepalive", "SECONDS",
            "largest keep-alive a client may use, 1..65535; MQTT 5 clients asking for more are "
            "told this value (Server Keep Alive)",
            set_number<&Config::max_keepalive, 1, kU16>, show_number<&Config::max_keepalive>},
    KeyInfo{"log-level", "LEVEL", "debug, info, warning, error or off", set_log_level,
            show_log_level},
    KeyInfo{"max-packet-size", "BYTES",
            "largest packet a client may send, 64..268435460, suffix K/M/G allowed; announced "
            "in the MQTT 5 CONNACK",
            set_number<&Config::max_packet_size, 64, kMqttMaxPacket, true>,
            show_number<&Config::max_packet_size>},
    KeyInfo{"receive-maximum", "N",
            "unacknowledged QoS 1/2 publishes a client may send at once, 1..65535",
            set_number<&Config::receive_maximum, 1, kU16>, show_number<&Config::receive_maximum>},
    KeyInfo{"max-inflight", "N",
            "unacknowledged QoS 1/2 deliveries the broker sends to one session at once, 1..65535 "
            "(lowered to the client's own Receive Maximum)",
            set_number<&Config::max_inflight, 1, kU16>, show_number<&Config::max_inflight>},
    KeyInfo{"topic-alias-maximum", "N", "topic aliases a MQTT 5 client may use, 0..65535; 0 = none",
            set_number<&Config::topic_alias_maximum, 0, kU16>,
            show_number<&Config::topic_alias_maximum>},
    KeyInfo{"max-queued-messages", "N",
            "messages queued for one session (offline or behind), at least 1",
            set_number<&Config::max_queued_messages, 1, kU32>,
            show_number<&Config::max_queued_messages>},
    KeyInfo{"outbound-budget", "BYTES",
            "unsent bytes one connection may hold, suffix K/M/G allowed; past it QoS 0 "
            "deliveries are dropped; at least max-packet-size",
            set_number<&Config::outbound_budget, 64, kU64, true>,
            show_number<&Config::outbound_budget>},
    KeyInfo{"stuck-timeout", "SECONDS",
            "a client that holds unsent bytes and accepts none of them for this long is "
            "disconnected, 1..86400",
            set_number<&Config::stuck_timeout, 1, 86400>, show_number<&Config::stuck_timeout>},
    KeyInfo{"connect-timeout", "SECONDS",
            "time a new connection has to send CONNECT, 1..3600",
            set_number<&Config::connect_timeout, 1, 3600>, show_number<&Config::connect_timeout>},
    KeyInfo{"max-session-expiry", "SECONDS",
            "cap on the session expiry a client may request (MQTT 5 Session Expiry Interval)",
            set_number<&Config::max_session_expiry, 0, kU32>,
            show_number<&Config::max_session_expiry>},
    KeyInfo{"sys-interval", "SECONDS", "period of the $SYS/broker/... updates, 0..86400; 0 = off",
            set_number<&Config::sys_interval, 0, 86400>, show_number<&Config::sys_interval>},
    KeyInfo{"max-connections", "N", "simultaneous client connections (MQTT, MQTT/TLS and WebSocket); 0 = automatic: "
            "the descriptor limit (ulimit -n) less a reserve for the log, store and HTTP; a "
            "larger value is lowered to that with a warning",
            set_number<&Config::max_connections, 0, kU32>, show_number<&Config::max_connections>},
    KeyInfo{"deny-subscribe", "FILTER",
            "refuse SUBSCRIBE to this filter and to every filter it covers (SUBACK 0x87 in MQTT 5, "
            "0x80 in 3.1.1); repeat for several",
            set_deny_subscribe, show_deny_subscribe, true, false, clear_deny_subscribe, "none"},
    KeyInfo{"anon-max-connections-per-ip", "N",
            "anonymous connections one IP address may hold at once; 0 = unlimited",
            set_number<&Config::anon_max_connections_per_ip, 0, kU32>,
            show_number<&Config::anon_max_connections_per_ip>},
    KeyInfo{"anon-max-subscriptions", "N",
            "subscriptions one anonymous connection may hold; 0 = unlimited",
            set_number<&Config::anon_max_subscriptions, 0, kU32>,
            show_number<&Config::anon_max_subscriptions>},
    KeyInfo{"max-subscriptions-per-session", "N",
            "subscriptions one session may hold (more: SUBACK 0x97, 3.1.1 0x80); 0 = unlimited",
            set_number<&Config::max_subscriptions_per_session, 0, kU32>,
            show_number<&Config::max_subscriptions_per_session>},
    KeyInfo{"max-subscriptions-per-user", "N",
            "subscriptions all sessions of one registered user may hold (more: SUBACK 0x97, "
            "3.1.1 0x80); 0 = unlimited",
            set_number<&Config::max_subscriptions_per_user, 0, kU32>,
            show_number<&Config::max_subscriptions_per_user>},
    KeyInfo{"max-subscriptions-total", "N",
            "subscriptions the broker holds in all, anonymous ones included (more: SUBACK 0x97, "
            "3.1.1 0x80); 0 = unlimited",
            set_number<&Config::max_subscriptions_total, 0, kU32>,
            show_number<&Config::max_subscriptions_total>},
    KeyInfo{"max-retained-per-user", "N",
            "retained topics one owner may hold (exchange/<owner>/..., else the first topic "
            "level); a new one over it is refused with 0x97; 0 = unlimited",
            set_number<&Config::max_retained_per_user, 0, kU32>,
            show_number<&Config::max_retained_per_user>},
    KeyInfo{"max-retained-total", "N",
            "retained topics the broker holds in all; a new one over it is refused with 0x97; "
            "0 = unlimited",
            set_number<&Config::max_retained_total, 0, kU32>,
            show_number<&Config::max_retained_total>},
    KeyInfo{"anon-max-packet-size", "BYTES",
            "largest packet an anonymous client may send after CONNECT, 64..268435460, suffix "
            "K/M/G allowed; announced in its MQTT 5 CONNACK",
            set_number<&Config::anon_max_packet_size, 64, kMqttMaxPacket, true>,
            show_number<&Config::anon_max_packet_size>},
    KeyInfo{"payload-soft-limit", "BYTES",
            "payloads on exchanges above this size are accepted, counted and logged",
            set_number<&Config::payload_soft_limit, 1, kMqttMaxPacket, true>,
            show_number<&Config::payload_soft_limit>},
    KeyInfo{"payload-hard-limit", "BYTES",
            "payloads on exchanges above this size are refused (0x95 Packet too large)",
            set_number<&Config::payload_hard_limit, 1, kMqttMaxPacket, true>,
            show_number<&Config::payload_hard_limit>},
    KeyInfo{"auth-failure-delay", "MILLISECONDS",
            "wait before answering wrong credentials, 0..10000",
            set_number<&Config::auth_failure_delay_ms, 0, 10000>,
            show_number<&Config::auth_failure_delay_ms>},
    KeyInfo{"auth-failure-burst", "COUNT",
            "failed authentications one address (IPv6: its /64) may make at once before its "
            "credentialed CONNECTs are refused unchecked (0x9F); 0 = no budget",
            set_number<&Config::auth_failure_burst, 0, kU32>,
            show_number<&Config::auth_failure_burst>},
    KeyInfo{"auth-failure-refill", "SECONDS",
            "one more failed authentication is allowed per this many seconds, 1..86400",
            set_number<&Config::auth_failure_refill_s, 1, 86400>,
            show_number<&Config::auth_failure_refill_s>},
    KeyInfo{"reserved-names", "NAME",
            "clientId that no user may be created with; repeat for several (a source that names "
            "one replaces the built-in list)",
            set_reserved_name, show_list<&Config::reserved_names>, true, false,
            clear_list<&Config::reserved_names>},
    KeyInfo{"token-secret-file", "FILE",
            "HS256 key of signed tokens (hydrant token sign); share it between nodes; created "
            "with 256 random bits if missing",
            set_path<&Config::token_secret_file>, show_string<&Config::token_secret_file>, false,
            false, nullptr, "DATA/token-secret"},
    KeyInfo{"signed-token-default-hours", "HOURS",
            "lifetime of a signed token from hydrant token sign without --ttl, 1..8760",
            set_number<&Config::signed_token_default_hours, 1, 8760>,
            show_number<&Config::signed_token_default_hours>},
    KeyInfo{"signed-token-max-hours", "HOURS",
            "signed tokens living longer (exp - iat) are refused, and token sign will not make "
            "them, 1..8760",
            set_number<&Config::signed_token_max_hours, 1, 8760>,
            show_number<&Config::signed_token_max_hours>},
    KeyInfo{"queue-warning-percent", "PERCENT",
            "a queue's owner is notified when it fills past this share of max-queued-messages, "
            "1..100",
            set_number<&Config::queue_warning_percent, 1, 100>,
            show_number<&Config::queue_warning_percent>},
    KeyInfo{"queue-overlimit-timeout", "SECONDS",
            "a queue at its limit for this long is deleted unless marked unbounded; 0 = never",
            set_number<&Config::queue_overlimit_timeout, 0, kU32>,
            show_number<&Config::queue_overlimit_timeout>},
    KeyInfo{"notify-command", "COMMAND",
            "program run for every notice to a queue's owner, with the owner's clientId, their "
            "e-mail addresses (comma-separated), the notice kind and its text as arguments",
            set_path<&Config::notify_command>, show_string<&Config::notify_command>, false, false,
            nullptr, "none"},
    KeyInfo{"durability", "MODE",
            "when a QoS 1/2 publish to an exchange is acknowledged: fsync = once it is synced to "
            "disk (survives a power cut); batch = once written, synced at most every 100 ms (a "
            "machine crash may lose the last 100 ms); none = once written, never synced by us "
            "(survives a broker crash only)",
            set_durability, show_durability},
    KeyInfo{"history-max-age", "SECONDS",
            "how long each exchange's messages are kept for history and replay",
            set_number<&Config::history_max_age, 1, kU32>, show_number<&Config::history_max_age>},
    KeyInfo{"history-max-bytes", "BYTES",
            "how many bytes of messages each exchange keeps for history and replay (suffix K, M, G)",
            set_number<&Config::history_max_bytes, 1024, kU64, true>,
            show_number<&Config::history_max_bytes>},
    KeyInfo{"cluster", "URLS",
            "the cluster's engine, NATS JetStream: nats://HOST:PORT or tls://HOST:PORT, "
            "comma-separated; the node checks its stream and buckets there at start; off = "
            "single node",
            detail::set_cluster, detail::show_cluster, false, false, nullptr, "off"},
    KeyInfo{"node-name", "NAME", "this node's name in the cluster (letters, digits, '-', '_', '.')",
            detail::set_node_name, show_string<&Config::node_name>, false,
            false, nullptr, "the host name"},
    KeyInfo{"cluster-replicas", "N",
            "copies JetStream keeps of the stream and buckets it creates (at most the number of "
            "JetStream servers)",
            set_number<&Config::cluster_replicas, 1, 5>, show_number<&Config::cluster_replicas>},
    KeyInfo{"cluster-prefix", "NAME",
            "names of the cluster's stream (NAME-exchanges), subjects (NAME.x.>) and buckets "
            "(NAME-sessions, ...)",
            detail::set_cluster_prefix, show_string<&Config::cluster_prefix>},
    KeyInfo{"cluster-ack-timeout", "SECONDS",
            "how long a publish waits for the engine to store it: a QoS 1/2 publish is "
            "acknowledged only then, and refused after this (MQTT 5: 0x97; 3.1.1: disconnect)",
            set_number<&Config::cluster_ack_timeout, 1, 300>, show_number<&Config::cluster_ack_timeout>},
    KeyInfo{"cluster-window", "N",
            "publishes a node lets wait for the engine at once; past it they are refused at once",
            set_number<&Config::cluster_window, 1, 1000000>, show_number<&Config::cluster_window>},
    KeyInfo{"cluster-history-rate", "N",
            "history reads (HTTP API and MQTT replay) a node asks of the engine per second; "
            "past it a read answers incomplete, saying why",
            set_number<&Config::cluster_history_rate, 1, 100000>,
            show_number<&Config::cluster_history_rate>},
    KeyInfo{"cluster-creds", "FILE", "NATS credentials file (user JWT and NKey seed) for the engine",
            set_path<&Config::cluster_creds>, show_string<&Config::cluster_creds>, false, false,
            nullptr, "none"},
    KeyInfo{"cluster-ca", "FILE", "PEM CA the engine's TLS certificate must chain to (TLS on)",
            set_path<&Config::cluster_ca>, show_string<&Config::cluster_ca>, false, false, nullptr,
            "none"},
    KeyInfo{"http", "HOST:PORT",
            "HTTP listener of the bridge: the live viewer at /, the JSON API, MQTT over "
            "WebSocket at /mqtt; repeat for several; off = none; port 0 picks a free port",
            set_listeners<&Config::http>, show_listeners<&Config::http>, true, false,
            clear_listeners<&Config::http>, {}, true},
    KeyInfo{"https", "HOST:PORT",
            "HTTPS and WSS listener of the bridge (same paths as http); repeat for several; off = "
            "none; needs tls-cert",
            set_listeners<&Config::https, &Config::https_given>, show_listeners<&Config::https>,
            true, false, clear_listeners<&Config::https, &Config::https_given>,
            "0.0.0.0:8443 with tls-cert, else off", true},
    KeyInfo{"mqtts", "HOST:PORT",
            "MQTT over TLS listener; repeat for several; off = none; needs tls-cert",
            set_listeners<&Config::mqtts, &Config::mqtts_given>, show_listeners<&Config::mqtts>,
            true, false, clear_listeners<&Config::mqtts, &Config::mqtts_given>,
            "0.0.0.0:8883 with tls-cert, else off", true},
    KeyInfo{"tls-cert", "FILE",
            "PEM certificate chain for mqtts and https (re-read on SIGHUP); needs tls-key",
            set_path<&Config::tls_cert>, show_string<&Config::tls_cert>, false, false, nullptr,
            "none"},
    KeyInfo{"tls-key", "FILE", "PEM private key of tls-cert; needs tls-cert",
            set_path<&Config::tls_key>, show_string<&Config::tls_key>, false, false, nullptr,
            "none"},
    KeyInfo{"web-root", "DIR",
            "directory of the live viewer's built files, served at /; by default the web/ "
            "directory of the build tree the executable runs from",
            set_web_root, show_string<&Config::web_root>, false, false, nullptr,
            "the build tree's web/, else the installed copy"},
    KeyInfo{"ws-origins", "ORIGIN",
            "browser Origin allowed to open MQTT over WebSocket, as scheme://host[:port] with "
            "http or https and no path, e.g. https://example.org; repeat for several",
            set_ws_origin, show_list<&Config::ws_origins>, true, false,
            clear_list<&Config::ws_origins>, "any"},
    KeyInfo{"trusted-proxies", "ADDRESS",
            "IPv4 or IPv6 address of a reverse proxy whose X-Forwarded-For header names the "
            "client (its last entry); repeat for several",
            set_trusted_proxy, show_list<&Config::trusted_proxies>, true, false,
            clear_list<&Config::trusted_proxies>, "none"},
    KeyInfo{"max-ws-frame", "BYTES",
            "largest WebSocket message the bridge accepts before closing the connection with "
            "status 1009, 64..268435460, suffix K/M/G allowed",
            set_number<&Config::max_ws_frame, 64, kMqttMaxPacket, true>,
            show_number<&Config::max_ws_frame>},
};

}  // namespace

Endpoint parse_endpoint(std::string_view text) {
  constexpr std::string_view kForms = "HOST:PORT, [IPV6]:PORT, :PORT or PORT";
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':' ||
        close == 1)
      throw ConfigError(fmt::format("expected [IPV6]:PORT, got '{}'", text));
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else if (const auto colon = text.rfind(':'); colon != std::string_view::npos) {
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos)
      throw ConfigError(fmt::format("an IPv6 address needs brackets, as in [::1]:1883; got '{}'", text));
  } else {
    port = text;  // a bare port
  }
  if (host.empty()) host = "0.0.0.0";
  const bool bad_host = std::any_of(host.begin(), host.end(), [](char c) {
    return static_cast<unsigned char>(c) <= ' ' || c == '[' || c == ']' || c == '/';
  });
  if (port.empty() || bad_host) throw ConfigError(fmt::format("expected {}, got '{}'", kForms, text));
  uint64_t number = 0;
  try {
    number = parse_number(port);
  } catch (const ConfigError&) {
    throw ConfigError(fmt::format("expected {}, got '{}'", kForms, text));
  }
  if (number > kU16) throw ConfigError(fmt::format("port must be from 0 to 65535, got '{}'", port));
  return Endpoint{std::string(host), static_cast<uint16_t>(number)};
}

namespace detail {

std::span<const KeyInfo> keys() { return kKeys; }

const KeyInfo* find_key(std::string_view name) {
  for (const KeyInfo& key : kKeys) {
    if (key.name == name) return &key;
  }
  return nullptr;
}

void Layer::apply(const KeyInfo& key, std::string_view value) {
  // A source that names any value of a repeatable key names all of them.
  if (key.repeatable &&
      std::find(repeatable_seen_.begin(), repeatable_seen_.end(), key.name) == repeatable_seen_.end()) {
    key.clear(config_);
    repeatable_seen_.push_back(key.name);
  }
  // `http = off` beside `http = 127.0.0.1:8080` in one source is a slip either way: refuse it
  // rather than let the order of the lines decide.
  if (key.off_means_none) {
    const bool off = value == "off";
    const auto it = std::find_if(off_seen_.begin(), off_seen_.end(),
                                 [&](const auto& seen) { return seen.first == key.name; });
    if (it == off_seen_.end()) {
      off_seen_.emplace_back(key.name, off);
    } else if (it->second != off) {
      throw ConfigError("off cannot be combined with a listen address");
    }
  }
  key.apply(config_, value);
}

}  // namespace detail
}  // namespace hydrant::config
