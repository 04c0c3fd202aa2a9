// The options every publisher takes: where the broker is, who it publishes as, the exchange,
// the offline buffer, --dry-run. Each adapter parses its own flags first and hands the rest here.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace hydrant::publishers {

// Exit codes shared by every adapter.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;     // the source failed (a command, a file, a server)
inline constexpr int kExitUsage = 2;      // bad options
inline constexpr int kExitUnflushed = 3;  // stopped with messages the broker never confirmed
inline constexpr int kExitRefused = 4;    // the broker refused our credentials

struct UsageError : std::runtime_error {
  using runtime_error::runtime_error;
};

struct CommonOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 1883;    // 8883 with TLS unless given
  bool tls = false;        // --tls or --host mqtts://…: MQTT over TLS, the broker's mqtts listener
  std::string cafile;      // CA certificates (PEM) to trust instead of the system's
  bool insecure = false;   // TLS without checking the certificate or its name (tests only)
  std::string client_id;   // the registered publisher (user name); publishes under exchange/<it>/
  std::string token;       // its access token: --token-file, else $HYDRANT_TOKEN
  std::string exchange;    // the exchange name under exchange/<clientId>/ (adapter default)
  bool dry_run = false;    // print "topic<TAB>payload" lines instead of publishing
  size_t buffer = 100000;  // messages held while the broker is unreachable; publish() waits past it
  size_t window = 64;      // QoS 1 publishes awaiting PUBACK at once
  std::chrono::seconds flush_timeout{10};
  // One-shot modes (a finite input): how long the first connection may take before giving up
  // with kExitUnflushed; 0 = keep trying for ever. Daemons (gerrit without --once) ignore it.
  std::chrono::seconds connect_timeout{30};
  std::chrono::seconds heartbeat{60};

  // The broker as Paho takes it: ssl://HOST:PORT or tcp://HOST:PORT.
  std::string broker_uri() const;

  // exchange/<clientId>/<exchange>
  std::string exchange_topic() const { return "exchange/" + client_id + "/" + exchange; }
};

// One adapter-specific flag: `--name VALUE` (or a bare `--name` when takes_value is false).
struct Flag {
  std::string name;
  std::string help;
  bool takes_value = true;
  std::function<void(std::string_view value)> set;
};

// Parses argv: the adapter's flags, then the common ones. Throws UsageError with a message
// naming the flag. `--help` prints the usage and exits 0.
CommonOptions parse_options(int argc, char** argv, std::string_view usage,
                            const std::vector<Flag>& flags, std::string default_exchange);

uint64_t parse_number(std::string_view flag, std::string_view text, uint64_t min, uint64_t max);

}  // namespace hydrant::publishers
