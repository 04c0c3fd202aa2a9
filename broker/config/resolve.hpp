// Listeners given by host name ("localhost:1883", "broker.example.org:8080"): the name is
// resolved once, at start, and every address it resolves to (IPv4 and IPv6, each once) becomes
// a listener of its own, so that it is bound and logged like one given as an IP literal.
#pragma once

#include "config/config.hpp"

namespace hydrant::config {

// Replaces each listener's host name by its addresses. Throws ConfigError naming the key when a
// name resolves to nothing.
void resolve_listener_hosts(Config& config);

}  // namespace hydrant::config
