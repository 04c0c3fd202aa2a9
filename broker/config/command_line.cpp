// The command line (`--config FILE`, `--key VALUE`, `--key=VALUE`, `--open`, `--help`,
// `--version`) and the --help text. parse_command_line() checks option names and that a value is
// present; the values themselves are parsed by load(), so that one code path reports every bad
// value. No I/O: main() prints help_text() itself.
#include <optional>
#include <vector>

#include "config/config.hpp"
#include "config/keys.hpp"

namespace hydrant::config {
namespace {

using detail::KeyInfo;

constexpr size_t kOptionColumn = 30;  // where descriptions start in --help
constexpr size_t kWidth = 100;        // the widest --help line

// Appends `left` padded to kOptionColumn, then the words of `text` and then `tail` (kept whole,
// e.g. "(default: 100)") wrapped to kWidth, continuation lines indented to kOptionColumn.
// A `left` too wide for its column gets the text on the next line.
void append_entry(std::string& out, std::string_view left, std::string_view text,
                  std::string_view tail = {}) {
  std::vector<std::string_view> words;
  while (!text.empty()) {
    const auto space = text.find(' ');
    words.push_back(text.substr(0, space));
    text = space == std::string_view::npos ? std::string_view{} : text.substr(space + 1);
  }
  if (!tail.empty()) words.push_back(tail);

  out += left;
  size_t column = left.size();
  if (column + 2 > kOptionColumn) {
    out += '\n';
    column = 0;
  }
  out.append(kOptionColumn - column, ' ');
  column = kOptionColumn;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i > 0 && column + 1 + words[i].size() > kWidth) {
      out += '\n';
      out.append(kOptionColumn, ' ');
      column = kOptionColumn;
    } else if (i > 0) {
      out += ' ';
      ++column;
    }
    out += words[i];
    column += words[i].size();
  }
  out += '\n';
}

constexpr std::string_view kHead =
    "Usage: hydrant [--config FILE] [--KEY VALUE]...\n"
    "       hydrant --help | --version\n"
    "       hydrant user|token|queue|exchange|connections ...   (administration; "
    "hydrant user --help)\n"
    "\n"
    "Hydrant is an MQTT broker: it serves MQTT 3.1, 3.1.1 and 5.0, over TCP, TLS and WebSocket.\n"
    "With no options it runs on the defaults below.\n"
    "Settings come from the defaults, then the config file, then the command line; a later\n"
    "source overrides an earlier one.\n"
    "\n"
    "Options:\n";

constexpr std::string_view kTail =
    "\n"
    "Config file:\n"
    "  One `KEY = VALUE` per line, with the keys above written without the leading dashes.\n"
    "  A line whose first non-blank character is # is a comment (there are no end-of-line\n"
    "  comments); blank lines are ignored; spaces around key and value are trimmed; values are\n"
    "  not quoted. mqtt, mqtts, http, https, deny-subscribe, ws-origins and trusted-proxies may\n"
    "  be repeated; any other key may appear once per file. The first value of a repeatable key\n"
    "  in a source (file or command line) replaces the list set before it; later ones add to it.\n"
    "  http, https or mqtts = off (the key's only value in that source) means no listener of\n"
    "  that kind. No two listeners may share an address. Sizes take a K, M or G suffix\n"
    "  (1024-based); durations are whole seconds.\n"
    "  Example:\n"
    "      mqtt = 127.0.0.1:1883\n"
    "      mqtt = [::1]:1883\n"
    "      data = /var/lib/hydrant\n"
    "      max-packet-size = 256K\n"
    "      tls-cert = /etc/hydrant/fullchain.pem\n"
    "      tls-key = /etc/hydrant/privkey.pem\n"
    "      http = off\n"
    "\n"
    "Signals:\n"
    "  SIGTERM, SIGINT             stop cleanly and exit with status 0\n"
    "  SIGHUP                      reload the configuration (the same file and command line); a\n"
    "                              configuration that fails to load is refused with a log line\n"
    "                              and the running one is kept\n"
    "\n"
    "Exit status: 0 after a clean stop; non-zero on a bad configuration or a startup failure.\n";

}  // namespace

CommandLine parse_command_line(int argc, const char* const* argv) {
  CommandLine cli;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      cli.help = true;
      continue;
    }
    if (arg == "--version") {
      cli.version = true;
      continue;
    }
    if (arg.size() <= 2 || !arg.starts_with("--"))
      throw ConfigError(fmt::format("unexpected argument '{}' (see --help)", arg));

    std::string_view name = arg.substr(2);
    std::optional<std::string_view> value;
    if (const auto equals = name.find('='); equals != std::string_view::npos) {
      value = name.substr(equals + 1);
      name = name.substr(0, equals);
    }
    const bool is_config = name == "config";
    const KeyInfo* key = is_config ? nullptr : detail::find_key(name);
    if (!is_config && !key) throw ConfigError(fmt::format("--{}: unknown option (see --help)", name));
    if (!value) {
      if (key && key->flag) {
        value = "true";
      } else if (i + 1 < argc && !std::string_view(argv[i + 1]).starts_with("--")) {
        value = argv[++i];
      }
    }
    if (!value || (is_config && value->empty()))
      throw ConfigError(fmt::format("--{}: missing value", name));
    if (is_config) {
      cli.config_file = std::string(*value);
    } else {
      cli.overrides.emplace_back(std::string(name), std::string(*value));
    }
  }
  return cli;
}

std::string help_text() {
  const Config defaults;
  std::string out(kHead);
  append_entry(out, "  --config FILE", "read settings from FILE (format below)");
  append_entry(out, "  -h, --help", "print this help and exit");
  append_entry(out, "  --version", "print the version and exit");
  out += "\nSettings (each also as --KEY=VALUE, or as `KEY = VALUE` in the config file):\n";
  for (const KeyInfo& key : detail::keys()) {
    const std::string left = key.flag ? fmt::format("  --{}[={}]", key.name, key.metavar)
                                      : fmt::format("  --{} {}", key.name, key.metavar);
    const std::string shown =
        key.default_help.empty() ? key.show(defaults) : std::string(key.default_help);
    append_entry(out, left, key.meaning, fmt::format("(default: {})", shown));
  }
  out += kTail;
  return out;
}

}  // namespace hydrant::config
