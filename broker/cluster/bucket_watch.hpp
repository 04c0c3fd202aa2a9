// Follows one key-value bucket of the engine: an ordered push consumer on the bucket's stream
// (KV_<bucket>), whose changes reach a callback on libnats's thread. Unlike libnats's kvWatcher,
// stopping it never waits for an engine that is away (the consumer is deleted only while the
// connection is up; the server drops an idle one by itself otherwise).
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "cluster/engine.hpp"

struct __natsSubscription;
struct __natsMsg;

namespace hydrant::cluster {

struct BucketChange {
  std::string_view key;
  std::string_view value;  // empty for a deletion
  bool deleted = false;
  uint64_t revision = 0;
  int64_t time_ms = 0;     // when the engine stored it
};

class BucketWatch {
 public:
  enum class From { LastOfEachKey, NewOnly };
  using OnChange = std::function<void(const BucketChange&)>;

  // Throws EngineError when the consumer cannot be made.
  BucketWatch(const Engine& engine, const std::string& bucket, From from, OnChange on_change);
  ~BucketWatch();
  BucketWatch(const BucketWatch&) = delete;
  BucketWatch& operator=(const BucketWatch&) = delete;

 private:
  static void on_message(__natsConnection*, __natsSubscription*, __natsMsg* msg, void* closure);

  const Engine& engine_;
  const std::string prefix_;  // $KV.<bucket>.
  OnChange on_change_;
  std::mutex mutex_;          // held while a change is handed on
  bool stopped_ = false;
  __jsCtx* jetstream_ = nullptr;
  __natsSubscription* subscription_ = nullptr;
};

}  // namespace hydrant::cluster
