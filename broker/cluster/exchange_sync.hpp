// Declared exchanges across the cluster: the engine's declared bucket holds one key per exchange
// declared through the admin API (`exchange/<owner>/<name>`, a name of one or more levels), so
// that every node resolves a topic to the same exchange and routing key. A declaration or a
// deletion on one node is put into (or deleted from) the bucket; every node follows the bucket
// and applies the others' (within a second; in practice milliseconds).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cluster/bucket_watch.hpp"
#include "cluster/engine.hpp"

namespace hydrant::cluster {

class ExchangeSync {
 public:
  // Another node declared (true) or deleted (false) an exchange; on libnats's thread.
  using Apply = std::function<void(const std::string& owner, const std::string& name, bool declared)>;

  explicit ExchangeSync(const Engine& engine);

  // At start: the exchanges the bucket holds (owner, name). Throws EngineError.
  std::vector<std::pair<std::string, std::string>> load() const;
  // From now on other nodes' changes reach `apply`; stopped by the destructor.
  void start(Apply apply);
  // This node's changes, written to the bucket (waits for the engine; false when it failed).
  bool declared(const std::string& owner, const std::string& name);
  bool deleted(const std::string& owner, const std::string& name);

  // The bucket's key of an exchange (hex of "owner/name"), and back.
  static std::string key_of(const std::string& owner, const std::string& name);
  static bool parse_key(std::string_view key, std::string& owner, std::string& name);

 private:
  const Engine& engine_;
  __kvStore* const bucket_;
  std::unique_ptr<BucketWatch> watch_;
};

}  // namespace hydrant::cluster
