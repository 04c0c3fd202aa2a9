// MQTT 3.1.1 CONNACK return codes (3.2.2.3) and the mapping from the MQTT 5 reason codes
// (base/reason_code.hpp) that the broker decides with.
#pragma once

#include <cstdint>

#include "base/reason_code.hpp"

namespace hydrant::codec {

// MQTT 3.1.1 CONNACK return codes (3.2.2.3).
enum class ConnackReturnCode311 : uint8_t {
  Accepted = 0x00,
  UnacceptableProtocolVersion = 0x01,
  IdentifierRejected = 0x02,
  ServerUnavailable = 0x03,
  BadUserNameOrPassword = 0x04,
  NotAuthorized = 0x05,
};

// Maps an MQTT 5 CONNACK reason to the closest 3.1.1 return code.
constexpr ConnackReturnCode311 to_connack_311(ReasonCode rc) {
  switch (rc) {
    case ReasonCode::Success: return ConnackReturnCode311::Accepted;
    case ReasonCode::UnsupportedProtocolVersion: return ConnackReturnCode311::UnacceptableProtocolVersion;
    case ReasonCode::ClientIdentifierNotValid: return ConnackReturnCode311::IdentifierRejected;
    case ReasonCode::BadUserNameOrPassword:
    case ReasonCode::BadAuthenticationMethod: return ConnackReturnCode311::BadUserNameOrPassword;
    case ReasonCode::NotAuthorized:
    case ReasonCode::Banned: return ConnackReturnCode311::NotAuthorized;
    default: return ConnackReturnCode311::ServerUnavailable;
  }
}

}  // namespace hydrant::codec
