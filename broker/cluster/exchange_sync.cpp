// Declared exchanges in the engine's declared bucket. See exchange_sync.hpp.
#include "cluster/exchange_sync.hpp"

#include <nats/nats.h>

#include "util/hex.hpp"
#include "util/log.hpp"

namespace hydrant::cluster {

ExchangeSync::ExchangeSync(const Engine& engine)
    : engine_(engine), bucket_(engine.bucket(engine.layout().declared_bucket)) {}

std::string ExchangeSync::key_of(const std::string& owner, const std::string& name) {
  return util::to_hex(owner + "/" + name);
}

bool ExchangeSync::parse_key(std::string_view key, std::string& owner, std::string& name) {
  const auto text = util::from_hex(key);
  if (!text) return false;
  const auto slash = text->find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == text->size()) return false;
  owner = text->substr(0, slash);
  name = text->substr(slash + 1);
  return true;
}

std::vector<std::pair<std::string, std::string>> ExchangeSync::load() const {
  std::vector<std::pair<std::string, std::string>> out;
  kvKeysList keys{};
  const natsStatus s = kvStore_Keys(&keys, bucket_, nullptr);
  if (s == NATS_NOT_FOUND) return out;  // an empty bucket
  if (s != NATS_OK) throw EngineError("cluster: cannot read the declared exchanges' bucket");
  for (int i = 0; i < keys.Count; ++i) {
    std::string owner, name;
    if (parse_key(keys.Keys[i], owner, name)) out.emplace_back(std::move(owner), std::move(name));
  }
  kvKeysList_Destroy(&keys);
  return out;
}

void ExchangeSync::start(Apply apply) {
  watch_ = std::make_unique<BucketWatch>(
      engine_, engine_.layout().declared_bucket, BucketWatch::From::NewOnly,
      [apply = std::move(apply)](const BucketChange& c) {
        std::string owner, name;
        if (parse_key(c.key, owner, name)) apply(owner, name, !c.deleted);
      });
}

bool ExchangeSync::declared(const std::string& owner, const std::string& name) {
  uint64_t revision = 0;
  const std::string key = key_of(owner, name);
  const natsStatus s = kvStore_Put(&revision, bucket_, key.c_str(), "1", 1);
  if (s != NATS_OK) log::warn("event=cluster-exchange-put-failed exchange=\"{}/{}\"", owner, name);
  return s == NATS_OK;
}

bool ExchangeSync::deleted(const std::string& owner, const std::string& name) {
  const natsStatus s = kvStore_Delete(bucket_, key_of(owner, name).c_str());
  if (s != NATS_OK) log::warn("event=cluster-exchange-delete-failed exchange=\"{}/{}\"", owner, name);
  return s == NATS_OK;
}

}  // namespace hydrant::cluster
