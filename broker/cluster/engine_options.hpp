// What a node needs to reach the cluster's engine (NATS JetStream) and the names it uses there.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hydrant::cluster {

struct EngineOptions {
  std::vector<std::string> servers;  // nats://host:port or tls://host:port, at least one
  std::string node_name;             // this node, as other nodes and the logs name it
  uint32_t replicas = 3;             // copies JetStream keeps of the stream and each bucket
  std::string prefix = "hydrant";    // names of the stream, its subjects and the buckets
  std::string creds_file;            // NATS credentials (user JWT and NKey seed); empty: none
  std::string ca_file;               // trust this CA and require TLS; empty: the URLs decide
  uint32_t history_max_age_s = 86400;          // the stream's age limit
  uint64_t history_max_bytes = 256ull << 20;   // and its size limit
  uint32_t connect_timeout_ms = 5000;          // to reach a server at start
};

// The engine's names for one prefix P. The stream holds every exchange message under
// subjects P.x.>; the buckets (key-value, streams KV_<name> in JetStream) hold the durable state.
struct Layout {
  explicit Layout(const std::string& prefix)
      : stream(prefix + "-exchanges"),
        subjects(prefix + ".x.>"),
        sessions_bucket(prefix + "-sessions"),
        retained_bucket(prefix + "-retained"),
        users_bucket(prefix + "-users"),
        nodes_bucket(prefix + "-nodes"),
        declared_bucket(prefix + "-declared") {}
  std::string stream;
  std::string subjects;
  std::string sessions_bucket;
  std::string retained_bucket;
  std::string users_bucket;
  std::string nodes_bucket;
  std::string declared_bucket;  // exchanges declared through the admin API
  std::vector<const std::string*> buckets() const {
    return {&sessions_bucket, &retained_bucket, &users_bucket, &nodes_bucket, &declared_bucket};
  }
};

}  // namespace hydrant::cluster
