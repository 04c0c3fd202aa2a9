// After a restart, the exchanges history holds are known again (registered, with their traffic
// so far) before any publisher publishes: the API's lists and the viewer's directory are not
// empty until then. Traffic is counted per exchange as registered: a declared multi-level name
// (`v1/change-merged`) gets the messages under it, its parent the rest.
#pragma once

#include <cstddef>

#include "metrics/topic_activity.hpp"
#include "pulse/exchange_registry.hpp"
#include "store/durable_store.hpp"

namespace hydrant::core {

// Registers every exchange `log` keeps messages of and seeds `activity` with their counts
// (history as kept now: messages, payload bytes, newest time). Call after the declared
// exchanges are loaded, before start(). Returns how many exchanges history held.
size_t recover_exchanges(const store::ExchangeLog& log, pulse::ExchangeRegistry& registry,
                         metrics::TopicActivity& activity);

}  // namespace hydrant::core
