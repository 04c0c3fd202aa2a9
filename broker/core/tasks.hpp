// Tasks: what one worker hands another through its inbox. Only immutable messages and whole
// sessions cross threads; each task is processed on the receiving worker's loop.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <variant>
#include <vector>

#include "fanout/message.hpp"
#include "router/router.hpp"
#include "session/limits.hpp"
#include "session/session.hpp"

namespace hydrant::core {

// Deliver one message to sessions owned by the receiving worker.
struct DeliverTask {
  fanout::MessageRef msg;
  std::vector<router::Target> targets;
};
// End a session that a clean-start CONNECT elsewhere replaced (takeover).
struct EndSessionTask {
  router::SessionId session;
};
// Hand a session over to worker `to`, where its client reconnected (takeover with resume).
struct MigrateTask {
  router::SessionId session;
  uint32_t to;
};
// A session arriving from another worker.
struct ArriveTask {
  std::unique_ptr<session::Session> session;
};
// New limits after a configuration reload.
struct LimitsTask {
  session::Limits limits;
};
struct StopTask {};
// The users table changed: close connections whose credentials were revoked.
struct RevalidateTask {};
// Control-plane work that must run on the receiving host's thread (a certificate reload).
struct CallTask {
  std::function<void()> fn;
};

// A logged QoS 1/2 PUBLISH of connection `conn_id` is on disk (ok) or failed: answer it.
struct ConfirmTask {
  uint64_t conn_id;
  uint16_t packet_id;
  uint8_t qos;
  bool ok;
};
// One round of a checkpoint (Broker::on_second): once every host has passed three rounds, every
// message logged up to `upto` has reached its sessions' queues.
struct Checkpoint {
  uint64_t upto = 0;
  int round = 1;
  std::atomic<uint32_t> remaining{0};
};
struct BarrierTask {
  std::shared_ptr<Checkpoint> checkpoint;
};

using Task = std::variant<DeliverTask, EndSessionTask, MigrateTask, ArriveTask, LimitsTask, StopTask,
                          CallTask, RevalidateTask, ConfirmTask, BarrierTask>;

}  // namespace hydrant::core
