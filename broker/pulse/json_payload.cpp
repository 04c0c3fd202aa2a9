// The payload check for exchanges: one UTF-8 JSON value (README.md, "Access: Pulse on MQTT"). simdjson's DOM
// parser validates the UTF-8 of the whole input (stage 1) and the whole document (stage 2), so
// a payload is accepted exactly when parse() succeeds. It does not cap sizes (the broker caps
// payloads before this is called) and does not look at what the JSON says.
//
// What simdjson 3.0.1 refuses beyond RFC 8259's grammar (all reported as "not JSON", and all
// limits section 9 of the RFC permits): nesting deeper than 1024; integers outside int64/uint64
// and numbers beyond double's range (`18446744073709551616`, `1e400`); a string escape
// `\uD800`..`\uDFFF` that is not a high surrogate followed by a low one (a lone surrogate has no
// UTF-8 form). A leading byte-order mark is "not JSON" too. Raw surrogates, overlong forms and
// bytes above U+10FFFF are "not UTF-8"; control characters in strings must be escaped.
#include "pulse/json_payload.hpp"

#include <cstring>
#include <vector>

#include <simdjson.h>

namespace hydrant::pulse {

namespace {

bool is_json_whitespace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool blank(std::string_view payload) {
  for (const char c : payload) {
    if (!is_json_whitespace(c)) return false;
  }
  return true;
}

}  // namespace

const char* json_payload_error(std::string_view payload) {
  if (blank(payload)) return "payload is empty";
  // One parser and one padded copy per thread, kept at the largest payload seen: after warm-up a
  // check allocates nothing. The copy is needed because simdjson may read SIMDJSON_PADDING bytes
  // past the end, and the payload is a view into a receive buffer we do not own. The padding's
  // contents do not matter to simdjson (simdjson.h, "REQUIRED: Buffer Padding").
  thread_local simdjson::dom::parser parser;
  thread_local std::vector<char> padded;
  const size_t needed = payload.size() + simdjson::SIMDJSON_PADDING;
  if (padded.size() < needed) padded.resize(needed);
  std::memcpy(padded.data(), payload.data(), payload.size());
  const simdjson::error_code error = parser.parse(padded.data(), payload.size(), false).error();
  switch (error) {
    case simdjson::SUCCESS: return nullptr;
    case simdjson::UTF8_ERROR: return "payload is not UTF-8";
    case simdjson::EMPTY: return "payload is empty";
    default: return "payload is not JSON";  // includes DEPTH_ERROR and, past 4 GiB, CAPACITY
  }
}

}  // namespace hydrant::pulse
