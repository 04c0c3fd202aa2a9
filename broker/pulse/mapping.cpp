// Pulse names on MQTT: clientIds, exchange names, and the exchange + routing key <-> topic
// mapping. The rules are web/src/mapping.js's (the viewer's twin), with one difference: an
// exchange name may have several levels (`v1/change-merged`), so the caller says how many
// levels the name has when a topic is split back (the broker's exchange registry knows).
// Pure string work: no allocation beyond the returned strings, no state, no I/O.
#include "pulse/mapping.hpp"

#include <algorithm>

namespace hydrant::pulse {

namespace {

constexpr std::string_view kExchangePrefix = "exchange/";
constexpr size_t kMaxClientId = 64;
constexpr size_t kMaxExchangeName = 128;

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Calls fn(word) for each piece of `s` between `sep`s; "" gives one empty piece, "a." two.
template <class Fn>
void for_each_piece(std::string_view s, char sep, Fn&& fn) {
  size_t start = 0;
  for (;;) {
    const size_t end = s.find(sep, start);
    if (end == std::string_view::npos) {
      fn(s.substr(start));
      return;
    }
    fn(s.substr(start, end - start));
    start = end + 1;
  }
}

void append_encoded(std::string& out, std::string_view word) {
  for (const char c : word) {
    switch (c) {
      case '%': out += "%25"; break;
      case '/': out += "%2F"; break;
      case '+': out += "%2B"; break;
      case '#': out += "%23"; break;
      default: out += c;
    }
  }
}

// The character a three-byte escape at `s` stands for, or 0 when it is not one of the four.
char escaped_char(std::string_view s) {
  if (s.size() < 3 || s[0] != '%' || s[1] != '2') return 0;
  switch (s[2]) {
    case '5': return '%';
    case 'F': case 'f': return '/';
    case 'B': case 'b': return '+';
    case '3': return '#';
    default: return 0;
  }
}

}  // namespace

bool valid_client_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxClientId || !is_alpha(id[0])) return false;
  for (const char c : id.substr(1)) {
    if (!is_alpha(c) && !is_digit(c) && c != '.' && c != '_' && c != '-') return false;
  }
  return true;
}

bool valid_exchange_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxExchangeName || name[0] == '$') return false;
  char prev = '/';  // so that a leading '/' counts as an empty first level
  for (const char c : name) {
    if (c == '+' || c == '#' || c == '\0') return false;
    if (c == '/' && prev == '/') return false;  // empty level
    prev = c;
  }
  return prev != '/';  // an empty last level
}

std::string encode_word(std::string_view word) {
  std::string out;
  out.reserve(word.size());
  append_encoded(out, word);
  return out;
}

std::string decode_word(std::string_view level) {
  std::string out;
  out.reserve(level.size());
  // Left to right, without rescanning what a decode produced: "%252F" -> "%2F", as JS replace.
  for (size_t i = 0; i < level.size();) {
    if (const char c = escaped_char(level.substr(i))) {
      out += c;
      i += 3;
    } else {
      out += level[i++];
    }
  }
  return out;
}

std::optional<ExchangeRef> parse_exchange(std::string_view exchange) {
  if (!exchange.starts_with(kExchangePrefix)) return std::nullopt;
  const std::string_view rest = exchange.substr(kExchangePrefix.size());
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const ExchangeRef ref{rest.substr(0, slash), rest.substr(slash + 1)};
  if (!valid_client_id(ref.owner) || !valid_exchange_name(ref.name)) return std::nullopt;
  return ref;
}

std::string topic_for(std::string_view exchange, std::string_view routing_key) {
  std::string topic(exchange);
  if (routing_key.empty()) return topic;
  topic.reserve(exchange.size() + 1 + routing_key.size() + 8);
  for_each_piece(routing_key, '.', [&](std::string_view word) {
    topic += '/';
    append_encoded(topic, word);
  });
  return topic;
}

std::optional<std::string> filter_for_binding(std::string_view exchange,
                                              std::string_view pattern) {
  if (!parse_exchange(exchange)) return std::nullopt;
  std::string filter(exchange);
  if (pattern.empty()) return filter;
  bool ended = false;  // a '#' was written: MQTT allows nothing after it [MQTT-4.7.1-1]
  for_each_piece(pattern, '.', [&](std::string_view word) {
    if (ended) return;
    filter += '/';
    if (word == "*") {
      filter += '+';
    } else if (word == "#") {
      filter += '#';
      ended = true;
    } else {
      append_encoded(filter, word);
    }
  });
  return filter;
}

Described describe_topic(std::string_view topic, size_t name_levels) {
  const Described raw{"", std::string(topic)};
  const std::string_view owner = topic_owner(topic);
  if (owner.empty() || name_levels == 0) return raw;
  // Walk the name's levels; each must exist and be non-empty (as mapping.js's levels[2]).
  const size_t name_start = kExchangePrefix.size() + owner.size() + 1;
  size_t pos = name_start;
  for (size_t level = 0; level < name_levels; ++level) {
    if (level > 0) {
      if (pos >= topic.size()) return raw;  // no separator: too few levels
      ++pos;                                // skip the '/'
    }
    const size_t end = std::min(topic.find('/', pos), topic.size());
    if (end == pos) return raw;  // missing or empty level
    pos = end;
  }
  Described d{std::string(topic.substr(0, pos)), ""};
  if (pos == topic.size()) return d;  // no routing key
  bool first = true;
  for_each_piece(topic.substr(pos + 1), '/', [&](std::string_view level) {
    if (!first) d.routing_key += '.';
    first = false;
    d.routing_key += decode_word(level);
  });
  return d;
}

std::string_view topic_owner(std::string_view topic) {
  if (!topic.starts_with(kExchangePrefix)) return {};
  const std::string_view rest = topic.substr(kExchangePrefix.size());
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return {};
  return rest.substr(0, slash);
}

}  // namespace hydrant::pulse
