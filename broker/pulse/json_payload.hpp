// Payloads on exchanges must be one UTF-8 JSON value (README.md, "Access: Pulse on MQTT"). simdjson's DOM parser
// validates both the UTF-8 and the whole document. Called once per PUBLISH on an exchange, so it
// reuses one thread-local parser and one padded buffer: no allocation in the steady state.
#pragma once

#include <string_view>

namespace hydrant::pulse {

// nullptr when `payload` is a valid UTF-8 JSON document (any value, e.g. an object or array),
// else a short static reason: "payload is not UTF-8", "payload is not JSON" (or "payload is
// empty").
const char* json_payload_error(std::string_view payload);

}  // namespace hydrant::pulse
