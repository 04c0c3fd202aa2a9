// The checks across keys once every source is applied (TLS pairs, defaults that depend on
// TLS, limits that must agree, no two listeners on one address). Throws ConfigError.
#include <string_view>
#include <utility>
#include <vector>

#include "config/keys.hpp"

namespace hydrant::config::detail {

void validate(Config& config) {
  if (config.tls_cert.empty() != config.tls_key.empty())
    throw ConfigError(config.tls_key.empty() ? "tls-cert needs tls-key" : "tls-key needs tls-cert");
  // https and mqtts listen by default only once there is a certificate to serve; a source that
  // names them (even as off) has the last word.
  const bool tls = !config.tls_cert.empty();
  if (tls && !config.https_given) config.https = {{"0.0.0.0", 8443}};
  if (tls && !config.mqtts_given) config.mqtts = {{"0.0.0.0", 8883}};
  if (!tls && (!config.https.empty() || !config.mqtts.empty()))
    throw ConfigError(fmt::format("{} needs tls-cert and tls-key",
                                  config.https.empty() ? "mqtts" : "https"));
  if (config.mqtt.empty()) throw ConfigError("mqtt: at least one listener is needed");
  if (config.signed_token_default_hours > config.signed_token_max_hours)
    throw ConfigError(fmt::format("signed-token-default-hours ({}) must not exceed "
                                  "signed-token-max-hours ({})",
                                  config.signed_token_default_hours, config.signed_token_max_hours));
  if (config.outbound_budget < config.max_packet_size)
    throw ConfigError(fmt::format("outbound-budget ({}) must be at least max-packet-size ({})",
                                  config.outbound_budget, config.max_packet_size));
  if (config.payload_soft_limit > config.payload_hard_limit)
    throw ConfigError(fmt::format("payload-soft-limit ({}) must not exceed payload-hard-limit ({})",
                                  config.payload_soft_limit, config.payload_hard_limit));
  // No two listeners on one address, whatever their kind (with SO_REUSEPORT two mqtt listeners
  // on one address would both bind and split the clients). Port 0 is a fresh port each time.
  // Overlaps that are not equal (0.0.0.0:P beside 127.0.0.1:P) are left to bind(), which
  // refuses them at startup.
  const std::pair<std::string_view, const std::vector<Endpoint>*> kinds[] = {
      {"mqtt", &config.mqtt}, {"mqtts", &config.mqtts}, {"http", &config.http},
      {"https", &config.https}};
  std::vector<std::pair<std::string_view, Endpoint>> seen;
  for (const auto& [name, list] : kinds) {
    for (const Endpoint& e : *list) {
      if (e.port == 0) continue;
      for (const auto& [other, o] : seen) {
        if (o != e) continue;
        if (other == name) throw ConfigError(fmt::format("{}: {} is given twice", name, e));
        throw ConfigError(fmt::format("{} and {} both listen on {}", other, name, e));
      }
      seen.emplace_back(name, e);
    }
  }
}

}  // namespace hydrant::config::detail
