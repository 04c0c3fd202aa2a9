// Topic names and topic filters: validation, the $share prefix, and single-filter matching.
// Pure functions over string views; UTF-8 well-formedness is checked by the codec before these
// run. Does not know about sessions or subscribers (see subscription_trie.hpp for that).
#pragma once

#include <optional>
#include <string_view>

#include "base/result.hpp"

namespace hydrant::topics {

// A topic name may not be empty and may not contain '+' or '#' [MQTT-4.7.3-1, MQTT-3.3.2-2].
// Error: TopicNameInvalid.
Result<void> validate_topic_name(std::string_view topic);

// A topic filter may not be empty; '#' only as the whole last level; '+' only as a whole level
// [MQTT-4.7.1-1..3]. A "$share/<group>/<filter>" filter must have a non-empty group without
// '+', '#' or '/', and a valid non-empty filter after it [MQTT-4.8.2-1, MQTT-4.8.2-2].
// Error: TopicFilterInvalid.
Result<void> validate_topic_filter(std::string_view filter);

struct SharedFilter {
  std::string_view group;   // "g" in "$share/g/a/b"
  std::string_view filter;  // "a/b"
};

// Splits "$share/<group>/<filter>"; std::nullopt for a filter that is not shared. Call on a
// filter that validate_topic_filter() accepted.
std::optional<SharedFilter> parse_shared(std::string_view filter);

// True when `filter` (non-shared, valid) matches `topic` (valid). Filters whose first level is a
// wildcard do not match topics starting with '$' [MQTT-4.7.2-1].
bool match_filter(std::string_view filter, std::string_view topic);

}  // namespace hydrant::topics
