// History and replay of a cluster node, read from the engine's stream: an ephemeral pull
// consumer with the query's subject filter and start, fetched without waiting (what the stream
// holds now), then deleted. A few round trips to the engine per page.
#pragma once

#include <functional>

#include "cluster/engine.hpp"
#include "store/durable_store.hpp"

struct __jsCtx;

namespace hydrant::cluster {

store::HistoryPage read_stream_history(__jsCtx* jetstream, const Engine& engine, uint64_t epoch,
                                       const store::HistoryQuery& q);

// Every message the stream holds after `after`, as it holds them now, in order.
void scan_stream(__jsCtx* jetstream, const Engine& engine, uint64_t epoch, uint64_t after,
                 const std::function<void(const store::StoredMessage&)>& visit);

}  // namespace hydrant::cluster
