// The cluster's keys. See cluster_keys.hpp.
#include "config/cluster_keys.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "util/url.hpp"

namespace hydrant::config::detail {

void set_cluster(Config& config, std::string_view text) {
  config.cluster.clear();
  if (text == "off") return;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    const std::string_view url = text.substr(start, comma - start);
    const size_t scheme_end = url.find("://");
    const std::string_view scheme = url.substr(0, scheme_end);
    const std::string_view rest = scheme_end == std::string_view::npos ? "" : url.substr(scheme_end + 3);
    const size_t colon = rest.rfind(':');
    const bool has_port = colon != std::string_view::npos && colon > 0 && colon + 1 < rest.size() &&
                          rest.find_first_not_of("0123456789", colon + 1) == std::string_view::npos;
    if ((scheme != "nats" && scheme != "tls") || !has_port || rest.find('/') != std::string_view::npos) {
      throw ConfigError(fmt::format("\"{}\" is not an engine URL: expected nats://HOST:PORT or "
                                    "tls://HOST:PORT, comma-separated", util::redact_url_credentials(url)));
    }
    config.cluster.emplace_back(url);
    start = comma + 1;
  }
}

std::string show_cluster(const Config& config) {
  std::string out;
  for (const auto& url : config.cluster) {
    if (!out.empty()) out += ',';
    out += util::redact_url_credentials(url);
  }
  return out;
}

namespace {

// 1 to 64 letters, digits, '-', '_' (and '.' where `dots`), or ConfigError.
std::string engine_name(std::string_view text, bool dots) {
  const bool ok = !text.empty() && text.size() <= 64 &&
                  text.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                         "0123456789-_" + std::string(dots ? "." : "")) == std::string_view::npos;
  if (!ok) {
    throw ConfigError(fmt::format("\"{}\": use 1 to 64 letters, digits, '-' or '_'{}", text,
                                  dots ? " or '.'" : ""));
  }
  return std::string(text);
}

}  // namespace

void set_node_name(Config& config, std::string_view text) { config.node_name = engine_name(text, true); }

void set_cluster_prefix(Config& config, std::string_view text) {
  config.cluster_prefix = engine_name(text, false);
}

}  // namespace hydrant::config::detail
