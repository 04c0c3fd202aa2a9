// Where a Gerrit stream-events event goes: exchange/<clientId>/<exchange>/<type> with routing
// key <project>.<branch>.<change number> — each word escaped as the mapping module does, "_"
// when the event has no such field (ref-updated has no change; dropped-output has nothing).
// Tolerates what Gerrit versions differ in: numbers as strings, refUpdate instead of change,
// refs/heads/ prefixes.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <simdjson.h>

namespace hydrant::publishers {

// The topic for one event, or nullopt when it has no "type" (not a Gerrit event).
std::optional<std::string> gerrit_topic(simdjson::dom::element event, std::string_view exchange_topic);

}  // namespace hydrant::publishers
