// Internal to config/: the parsers of the cluster's keys (keys.cpp's table names them).
#pragma once

#include <string>
#include <string_view>

#include "config/config.hpp"

namespace hydrant::config::detail {

// Engine URLs, comma-separated: nats://host:port or tls://host:port each; "off" = no cluster.
void set_cluster(Config& config, std::string_view text);
// The engine URLs as describe() logs them: no password.
std::string show_cluster(const Config& config);
// Names that become part of stream, subject, bucket and key names in the engine.
void set_node_name(Config& config, std::string_view text);       // also '.'
void set_cluster_prefix(Config& config, std::string_view text);

}  // namespace hydrant::config::detail
