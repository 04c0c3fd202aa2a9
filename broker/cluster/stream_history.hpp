// History and replay of a cluster node, read from the engine's stream: an ephemeral pull
// consumer with the query's subject filter and start, fetched without waiting (what the stream
// holds now), then deleted. A few round trips to the engine per page.
#pragma once

#include "cluster/engine.hpp"
#include "store/durable_store.hpp"

struct __jsCtx;

namespace hydrant::cluster {

store::HistoryPage read_stream_history(__jsCtx* jetstream, const Engine& engine, uint64_t epoch,
                                       const store::HistoryQuery& q);

}  // namespace hydrant::cluster
