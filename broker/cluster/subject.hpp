// MQTT topics as NATS subjects in the cluster's stream, and back.
//
// Each topic level becomes one subject token, so the stream's subjects keep the topic's shape:
// `exchange/gerrit/v1/change-merged` is `P.x.exchange.gerrit.v1.change-merged`, and an MQTT
// filter maps onto a subject filter level by level ('+' to '*', '#' to '>'), which lets a
// consumer or a history read select by topic inside the engine. A token may not be empty nor
// hold '.', '*', '>' or white space, and MQTT levels may hold any UTF-8 but '/', '+' and '#':
// bytes outside [A-Za-z0-9-] are written as _XX (hex, upper case), '_' included, and an empty
// level as a lone '_'. The encoding is reversible and one-to-one.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hydrant::cluster {

// The subject of `topic` under `prefix` (the stream's subjects are `<prefix>.x.>`).
std::string subject_of_topic(std::string_view prefix, std::string_view topic);

// The topic of a subject under `prefix`; nullopt when the subject is not one of ours or is not
// a valid encoding (a message someone else put in the stream).
std::optional<std::string> topic_of_subject(std::string_view prefix, std::string_view subject);

// The subject filter that selects what an MQTT topic filter matches (not shared, valid).
std::string subject_filter_of(std::string_view prefix, std::string_view topic_filter);

}  // namespace hydrant::cluster
