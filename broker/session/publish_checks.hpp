// The exchange rules for a message a client sends, shared by PUBLISH and by the will checked at
// CONNECT (issue 13: a will is published by the broker later, so it must pass the same rules
// when it is handed over, or it would bypass them).
#pragma once

#include <string_view>

#include "auth/rules.hpp"
#include "codec/properties.hpp"
#include "session/limits.hpp"
#include "base/result.hpp"

namespace hydrant::session {

// Where `who` may publish, and that what it publishes on an exchange is small enough, labelled
// as JSON if labelled at all, and parses as UTF-8 JSON. A retained empty payload (clearing the
// retained message) passes without the JSON check.
// Pure: the per-user exchange quota, which records the exchange, is the caller's.
Status check_exchange_message(const auth::Principal* who, const Limits& lim, std::string_view topic,
                             std::string_view payload, const codec::Properties& props, bool retain);

}  // namespace hydrant::session
