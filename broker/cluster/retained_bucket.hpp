// The cluster's retained messages, in the engine's retained bucket: one key per topic (its
// subject), the value the message's stream sequence (u64) and the message (store::encode_message).
// Every node applies a retained message to its router when it reads it from the stream; the
// bucket is what a node that starts (or joins) loads, so that it has the retained messages
// published before, however old. The node that published a message writes it here, without
// waiting (a publish to the bucket's subject, in the stream's order of that node's messages).
#pragma once

#include <map>
#include <string>

#include "cluster/engine.hpp"
#include "fanout/message.hpp"

struct __jsCtx;

namespace hydrant::cluster {

class RetainedBucket {
 public:
  explicit RetainedBucket(const Engine& engine);
  ~RetainedBucket();
  RetainedBucket(const RetainedBucket&) = delete;
  RetainedBucket& operator=(const RetainedBucket&) = delete;

  // Every retained message the bucket holds now, by topic (cleared topics left out). Throws
  // EngineError when the bucket cannot be read.
  std::map<std::string, fanout::MessageRef, std::less<>> load() const;
  // Records `msg` (stored at `sequence`) as its topic's retained message; an empty payload clears
  // it. Does not wait.
  void put(const fanout::Message& msg, uint64_t sequence);

 private:
  const Engine& engine_;
  __jsCtx* jetstream_ = nullptr;
};

}  // namespace hydrant::cluster
