// UTF-8 checks for MQTT strings and JSON payloads (utf8.cpp).
#pragma once

#include <string_view>

namespace hydrant {

// True when `s` is a well-formed MQTT UTF-8 string: valid UTF-8, no surrogates, no U+0000
// [MQTT-1.5.4-1, MQTT-1.5.4-2]. Used for topic names, client ids and payloads with Payload Format
// Indicator 1.
bool is_valid_utf8(std::string_view s);

}  // namespace hydrant
