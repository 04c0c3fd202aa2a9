// Publisher: one persistent MQTT 5 connection to hydrant for an adapter, with automatic
// reconnect, an offline buffer and QoS 1 confirmation. publish() queues a message and returns;
// a sender thread keeps up to `window` of them awaiting PUBACK; a message the connection lost
// before its PUBACK is sent again after the reconnect (QoS 1: the broker may see it twice, never
// lose it). A broker refusal (PUBACK >= 0x80) is reported to the message's callback and logged;
// 0x97 (the broker's store cannot write now) is tried again a second later.
// With --dry-run nothing connects: each message is printed as "topic<TAB>payload".
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "options.hpp"

namespace mqtt {
class async_client;
}

namespace hydrant::publishers {

struct RefusedCredentials : std::runtime_error {
  using runtime_error::runtime_error;
};

// start(limit) found no broker within `limit`: nothing was sent (exit kExitUnflushed).
struct ConnectTimedOut : std::runtime_error {
  using runtime_error::runtime_error;
};

class Publisher {
 public:
  // ok: the broker confirmed it; otherwise `why` says what refused it.
  using Done = std::function<void(bool ok, const std::string& why)>;

  Publisher(CommonOptions options, std::string adapter);
  ~Publisher();

  // Connects, retrying with backoff while the broker is unreachable; throws RefusedCredentials
  // when the broker refuses who we are (no retry helps), ConnectTimedOut when `limit` (0: none)
  // passed without a connection. False when SIGTERM/SIGINT came first. Dry-run: nothing to
  // connect.
  bool start(std::chrono::seconds limit = std::chrono::seconds(0));
  // Queues a message (waits while the buffer is full). False once stopping or, while it waits
  // for room, once SIGTERM/SIGINT came.
  bool publish(std::string topic, std::string payload, Done done = {});
  // Waits until every queued message is confirmed or refused, or `timeout`; returns how many
  // are still unconfirmed.
  size_t flush(std::chrono::milliseconds timeout);
  // Flushes (flush_timeout), disconnects; returns the number left unconfirmed.
  size_t stop();

  struct Stats {
    uint64_t queued = 0, confirmed = 0, refused = 0, resent = 0;
    size_t buffered = 0;
    bool connected = false;
  };
  Stats stats() const;
  const CommonOptions& options() const { return options_; }

 private:
  struct Entry {
    std::string topic;
    std::string payload;
    Done done;
    bool in_flight = false;
  };
  class Callbacks;

  void run_sender();
  void complete(uint64_t id, bool ok, const std::string& why);
  void requeue(uint64_t id, bool resent);
  void on_connected();
  void on_connection_lost();
  void heartbeat_if_due();

  const CommonOptions options_;
  const std::string adapter_;
  std::unique_ptr<mqtt::async_client> client_;
  std::unique_ptr<Callbacks> callbacks_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;     // the sender: work, a connection, stopping
  std::condition_variable settled_;  // flush(): an entry completed; publish(): room
  std::map<uint64_t, Entry> entries_;  // queued and in flight, by id (= order of publish())
  std::set<uint64_t> pending_;         // waiting to be sent, oldest first
  size_t in_flight_ = 0;
  uint64_t next_id_ = 1;
  bool connected_ = false;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point retry_after_{};
  Stats stats_;
  std::chrono::steady_clock::time_point next_heartbeat_;
  std::thread sender_;
};

}  // namespace hydrant::publishers
