// ReasonCode: MQTT reason codes with the spec's byte values (MQTT 5.0, 2.4). The broker's
// vocabulary for every outcome, from the codec up: the ground floor (base/) holds it so that
// Result, the codec and everything above share one type. Several MQTT 5 codes share a byte (0x00
// is Success, Normal disconnection and Granted QoS 0); the enum names the most general meaning
// and the aliases below name the rest. The 3.1.1 CONNACK return codes are the codec's
// (codec/return_code_311.hpp).
#pragma once

#include <cstdint>
#include <string_view>

namespace hydrant {

enum class ReasonCode : uint8_t {
  Success = 0x00,
  GrantedQos1 = 0x01,
  GrantedQos2 = 0x02,
  DisconnectWithWill = 0x04,
  NoMatchingSubscribers = 0x10,
  NoSubscriptionExisted = 0x11,
  ContinueAuthentication = 0x18,
  ReAuthenticate = 0x19,
  UnspecifiedError = 0x80,
  MalformedPacket = 0x81,
  ProtocolError = 0x82,
  ImplementationSpecificError = 0x83,
  UnsupportedProtocolVersion = 0x84,
  ClientIdentifierNotValid = 0x85,
  BadUserNameOrPassword = 0x86,
  NotAuthorized = 0x87,
  ServerUnavailable = 0x88,
  ServerBusy = 0x89,
  Banned = 0x8A,
  ServerShuttingDown = 0x8B,
  BadAuthenticationMethod = 0x8C,
  KeepAliveTimeout = 0x8D,
  SessionTakenOver = 0x8E,
  TopicFilterInvalid = 0x8F,
  TopicNameInvalid = 0x90,
  PacketIdentifierInUse = 0x91,
  PacketIdentifierNotFound = 0x92,
  ReceiveMaximumExceeded = 0x93,
  TopicAliasInvalid = 0x94,
  PacketTooLarge = 0x95,
  MessageRateTooHigh = 0x96,
  QuotaExceeded = 0x97,
  AdministrativeAction = 0x98,
  PayloadFormatInvalid = 0x99,
  RetainNotSupported = 0x9A,
  QosNotSupported = 0x9B,
  UseAnotherServer = 0x9C,
  ServerMoved = 0x9D,
  SharedSubscriptionsNotSupported = 0x9E,
  ConnectionRateExceeded = 0x9F,
  MaximumConnectTime = 0xA0,
  SubscriptionIdentifiersNotSupported = 0xA1,
  WildcardSubscriptionsNotSupported = 0xA2,
};

inline constexpr ReasonCode kNormalDisconnection = ReasonCode::Success;
inline constexpr ReasonCode kGrantedQos0 = ReasonCode::Success;

constexpr bool is_error(ReasonCode rc) { return static_cast<uint8_t>(rc) >= 0x80; }

// Human-readable name, for logs ("0x87(Not authorized)").
std::string_view reason_name(ReasonCode rc);

}  // namespace hydrant
