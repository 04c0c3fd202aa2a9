// The connection of one node to the cluster's engine, NATS JetStream (libnats), and the layout
// it keeps there: one stream of exchange messages and the key-value buckets of durable state.
// At start the node creates what is missing and checks what it finds (engine_options.hpp names
// them); the report says which.
#pragma once

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "cluster/engine_options.hpp"

struct __natsConnection;
struct __jsCtx;
struct __kvStore;

namespace hydrant::cluster {

// A start that cannot go on: the message says what is wrong and which key changes it.
struct EngineError : std::runtime_error {
  using runtime_error::runtime_error;
};

// What the start-up check found.
struct LayoutReport {
  std::string connected_url;
  bool stream_created = false;
  int64_t replicas = 0;          // the stream's, as found or created
  std::string leader;            // the stream's leader server; empty without a JetStream cluster
  uint64_t messages = 0, first_sequence = 0, last_sequence = 0;
  uint64_t epoch = 0;            // the stream's creation time (ns): it names the stream's life
  bool limits_updated = false;   // the stream's age/size limits were changed to the configured ones
  std::vector<std::pair<std::string, bool>> buckets;  // name, created now
};

class Engine {
 public:
  // Connects to one of the servers and creates or checks the layout. Throws EngineError.
  static std::unique_ptr<Engine> start(const EngineOptions& options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  const LayoutReport& report() const { return report_; }
  // The report as the key=value pairs of one log line.
  std::string describe() const;
  const EngineOptions& options() const { return options_; }
  const Layout& layout() const { return layout_; }
  // The connection, for the stream's publisher and reader (cluster_store.hpp).
  __natsConnection* connection() const { return connection_; }
  // One of the layout's key-value buckets (Layout::buckets()), by name; null for another name.
  __kvStore* bucket(const std::string& name) const;

 private:
  explicit Engine(const EngineOptions& options);
  void connect();
  void ensure_stream();
  void ensure_bucket(const std::string& name);

  EngineOptions options_;
  Layout layout_;
  LayoutReport report_;
  __natsConnection* connection_ = nullptr;
  __jsCtx* jetstream_ = nullptr;
  std::vector<__kvStore*> buckets_;
  std::atomic<bool> closing_ = false;  // read by libnats's thread (on_disconnected)
};

}  // namespace hydrant::cluster
