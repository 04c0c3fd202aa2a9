// Pulse on MQTT: exchange + AMQP routing key <-> MQTT topic, the same rules as web/src/mapping.js.
// An exchange `exchange/<owner>/<name>` and routing key `w1.w2.w3` are published on
// `exchange/<owner>/<name>/w1/w2/w3`. Keys split on '.'; inside a word, '%', '/', '+' and '#'
// are percent-encoded so that a word (hgpushes' `integration/autoland`) stays one topic level.
// Binding wildcards map `*` -> `+` and `#` -> `#`. An exchange name may have several levels
// (`v1/change-merged`); the broker's exchange registry knows how many, and describe_topic()
// takes that count to split a topic back into exchange and routing key.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace hydrant::pulse {

// A clientId (user name): ^[a-zA-Z][a-zA-Z0-9._-]*$, at most 64 characters.
bool valid_client_id(std::string_view id);

// An exchange's name below its owner: one or more non-empty levels of at most 128 bytes in
// all, without '+', '#' or a leading '$'.
bool valid_exchange_name(std::string_view name);

std::string encode_word(std::string_view word);  // '%' -> %25, '/' -> %2F, '+' -> %2B, '#' -> %23
// Decodes only those four escapes (either hex case); any other '%' stays as it is.
std::string decode_word(std::string_view level);

// "exchange/<owner>/<name>" split into its parts; nullopt unless owner is a valid clientId and
// name a valid exchange name.
struct ExchangeRef {
  std::string_view owner;
  std::string_view name;
};
std::optional<ExchangeRef> parse_exchange(std::string_view exchange);

// The topic a message with this routing key is published on ("" key -> the exchange itself).
std::string topic_for(std::string_view exchange, std::string_view routing_key);

// The MQTT filter for an AMQP binding pattern with '*' and '#'. A '#' that is not the last
// word ends the filter there (MQTT allows '#' only last; the filter then matches a superset).
// nullopt when `exchange` is not an exchange name.
std::optional<std::string> filter_for_binding(std::string_view exchange, std::string_view pattern);

// A topic's exchange and routing key, for display and the API: under exchange/<owner>/, the
// first `name_levels` levels are the exchange name and the rest, decoded and joined with '.',
// the routing key. Any other topic (or one too short) gives an empty exchange and the topic as
// routing key, as mapping.js does.
struct Described {
  std::string exchange;
  std::string routing_key;
};
Described describe_topic(std::string_view topic, size_t name_levels = 1);

// The owner of a topic under exchange/: "exchange/<owner>/..." -> owner, else "".
std::string_view topic_owner(std::string_view topic);

}  // namespace hydrant::pulse
