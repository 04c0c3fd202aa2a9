// Internal to config/: the one table of configuration keys. The config file, the command line,
// --help and describe() all read it, so a key added here shows up everywhere at once.
// An apply function parses one value into a Config and throws ConfigError with a bare message;
// the caller adds the origin ("FILE:LINE: " or "--key: ").
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.hpp"

namespace hydrant::config::detail {

struct KeyInfo {
  std::string_view name;     // "max-packet-size": the file key and the option name without "--"
  std::string_view metavar;  // "BYTES": what --help shows as the value
  std::string_view meaning;  // one sentence for --help
  void (*apply)(Config&, std::string_view value);
  std::string (*show)(const Config&);  // the current value, as the file would spell it
  bool repeatable = false;             // appends; the first one in a source clears the list
  bool flag = false;                   // only open: `--open` takes no value on the command line
  void (*clear)(Config&) = nullptr;    // repeatable keys: empties the list
  // What --help shows as the default when show(Config{}) would mislead: an empty value ("none",
  // "any") or one decided by another key (https and mqtts follow tls-cert). Empty: show().
  std::string_view default_help = {};
  // Listener kinds (http, https, mqtts): the value `off` means none of this kind, and it must be
  // the key's only value in its source.
  bool off_means_none = false;
};

std::span<const KeyInfo> keys();
const KeyInfo* find_key(std::string_view name);  // nullptr when unknown

// Applies settings from one source (the file, or the command line) in order. It remembers
// which repeatable keys (mqtt, http, deny-subscribe, ...) this source already gave, so that the
// first one replaces the earlier list and later ones append to it, and whether a listener kind
// was turned `off` there, so that `off` beside an address in one source is refused.
class Layer {
 public:
  explicit Layer(Config& config) : config_(config) {}
  void apply(const KeyInfo& key, std::string_view value);  // throws ConfigError (bare message)

 private:
  Config& config_;
  std::vector<std::string_view> repeatable_seen_;
  std::vector<std::pair<std::string_view, bool>> off_seen_;  // listener key -> its value was off
};

// Cross-field checks and derived defaults (the TLS listeners), run once after every source is
// applied. Throws ConfigError (bare message).
void validate(Config& config);

}  // namespace hydrant::config::detail
