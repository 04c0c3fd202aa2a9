// The config file reader, the layering of defaults <- file <- command line, and describe().
// File syntax: one `key = value` per line; `#` starts a comment only as the first non-blank
// character of a line (a value may contain `#`); blank lines are ignored; whitespace around the
// key and the value is trimmed; no quoting. A key that is not repeatable (keys.cpp) may appear
// once per file.
// Reading the file is the only I/O in config/.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

#include "config/config.hpp"
#include "config/keys.hpp"

namespace hydrant::config {
namespace {

using detail::KeyInfo;

std::string_view trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n\v\f";
  const auto first = s.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(kSpace);
  return s.substr(first, last - first + 1);
}

// "unknown key 'max_inflight' (did you mean 'max-inflight'?)": underscores are the one slip
// that mosquitto.conf habits make likely.
std::string unknown_key_message(std::string_view key) {
  std::string dashed(key);
  std::replace(dashed.begin(), dashed.end(), '_', '-');
  if (dashed != key && detail::find_key(dashed))
    return fmt::format("unknown key '{}' (did you mean '{}'?)", key, dashed);
  return fmt::format("unknown key '{}'", key);
}

// Applies `text` to `config` without the cross-field checks, so that the command line can still
// fix a combination the file alone gets wrong.
void apply_config_text(Config& config, std::string_view text, std::string_view origin) {
  detail::Layer layer(config);
  std::map<std::string_view, size_t> first_line;  // key -> line, for non-repeatable keys
  size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    const auto newline = text.find('\n');
    const std::string_view raw = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);

    const std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#') continue;
    auto fail = [&](const std::string& message) {
      return ConfigError(fmt::format("{}:{}: {}", origin, line_number, message));
    };
    const auto equals = line.find('=');
    if (equals == std::string_view::npos)
      throw fail(fmt::format("expected 'key = value', got '{}'", line));
    const std::string_view key = trim(line.substr(0, equals));
    const std::string_view value = trim(line.substr(equals + 1));
    if (key.empty()) throw fail(fmt::format("expected 'key = value', got '{}'", line));
    const KeyInfo* info = detail::find_key(key);
    if (!info) throw fail(unknown_key_message(key));
    if (value.empty()) throw fail(fmt::format("{}: missing value", key));
    if (!info->repeatable) {
      auto [it, inserted] = first_line.emplace(info->name, line_number);
      if (!inserted)
        throw fail(fmt::format("{}: given twice (first on line {})", key, it->second));
    }
    try {
      layer.apply(*info, value);
    } catch (const ConfigError& e) {
      throw fail(fmt::format("{}: {}", key, e.what()));
    }
  }
}

void validate_or_throw(Config& config, std::string_view origin) {
  try {
    detail::validate(config);
  } catch (const ConfigError& e) {
    throw ConfigError(fmt::format("{}: {}", origin, e.what()));
  }
}

std::string read_file(const std::string& path) {
  // An ifstream opens a directory and reads it as empty: the broker would start on defaults.
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw ConfigError(fmt::format("{}: is a directory, not a configuration file", path));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) throw ConfigError(fmt::format("{}: cannot read: {}", path, std::strerror(errno)));
  return std::move(contents).str();
}

}  // namespace

Config parse_config_text(std::string_view text, std::string_view origin) {
  Config config;
  apply_config_text(config, text, origin);
  validate_or_throw(config, origin);
  return config;
}

Config load(const CommandLine& cli) {
  Config config;
  if (cli.config_file) apply_config_text(config, read_file(*cli.config_file), *cli.config_file);
  detail::Layer layer(config);
  for (const auto& [key, value] : cli.overrides) {
    const KeyInfo* info = detail::find_key(key);
    if (!info) throw ConfigError(fmt::format("--{}: unknown option", key));
    try {
      layer.apply(*info, value);
    } catch (const ConfigError& e) {
      throw ConfigError(fmt::format("--{}: {}", key, e.what()));
    }
  }
  validate_or_throw(config, "config");
  return config;
}

std::string describe(const Config& config) {
  std::string out;
  for (const KeyInfo& key : detail::keys()) {
    if (!out.empty()) out += ' ';
    if (key.metavar == "DIR" || key.metavar == "FILE") {  // a path may hold spaces
      fmt::format_to(std::back_inserter(out), "{}={:?}", key.name, key.show(config));
    } else {
      fmt::format_to(std::back_inserter(out), "{}={}", key.name, key.show(config));
    }
  }
  return out;
}

}  // namespace hydrant::config
