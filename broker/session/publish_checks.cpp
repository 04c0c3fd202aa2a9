// See publish_checks.hpp.
#include "session/publish_checks.hpp"

#include "pulse/json_payload.hpp"

namespace hydrant::session {


Status check_exchange_message(const auth::Principal* who, const Limits& lim, std::string_view topic,
                              std::string_view payload, const codec::Properties& props, bool retain) {
  const auto where = auth::check_publish_topic(who, topic);
  if (!where.ok()) return Error{where.code, where.why};
  if (payload.size() > lim.payload_hard_limit) {
    return Error{ReasonCode::PacketTooLarge, "payload above the exchange hard limit"};
  }
  if (props.content_type && *props.content_type != "application/json") {
    return Error{ReasonCode::PayloadFormatInvalid, "content type on exchanges is application/json"};
  }
  if (retain && payload.empty()) return {};  // clears the retained one
  if (const char* why = pulse::json_payload_error(payload)) {
    return Error{ReasonCode::PayloadFormatInvalid, why};
  }
  return {};
}

}  // namespace hydrant::session
