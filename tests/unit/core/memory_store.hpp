// MemoryStore: a store::DurableStore that keeps everything in memory and makes nothing durable
// until the test says so (complete()). It stands where the segment log or a cluster engine
// would, to show that core/ depends only on the seam and answers confirmed publishes only once
// the store reports them durable.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "store/durable_store.hpp"

namespace hydrant::core::test {

class MemoryStore final : public store::DurableStore {
 public:
  // Runs every completion still waiting, as the store's flusher would: durable or failed.
  void complete(bool ok) {
    auto waiting = std::move(waiting_);
    waiting_.clear();
    for (auto& [sequence, done] : waiting) done(sequence, ok);
  }
  size_t waiting() const { return waiting_.size(); }
  const std::vector<store::StoredMessage>& messages() const { return messages_; }

  uint64_t epoch() const override { return 0x1234; }
  std::string position(uint64_t sequence) const override { return "1234-" + std::to_string(sequence); }
  bool healthy() const override { return true; }
  std::string problem() const override { return ""; }
  fanout::MessageRef append_message(const MessageFactory& make, int64_t now_ms,
                                    Completion done = {},
                                    std::span<const std::string> /*cc*/ = {},
                                    const store::PublishOrigin& /*origin*/ = {}) override {
    const uint64_t sequence = messages_.size() + 1;
    auto msg = make(sequence, position(sequence));
    messages_.push_back({sequence, now_ms, msg});
    if (done) waiting_.emplace_back(sequence, std::move(done));
    return msg;
  }
  uint64_t last_sequence() const override { return messages_.size(); }
  store::HistoryPage read(const store::HistoryQuery&) const override { return {}; }
  void scan(uint64_t after, const std::function<void(const store::StoredMessage&)>& visit) const override {
    for (const auto& m : messages_) {
      if (m.sequence > after) visit(m);
    }
  }

  const store::DurableState& recovered_state() const override { return state_; }
  uint64_t session_open(std::string_view, uint64_t incarnation, codec::ProtocolVersion,
                        uint32_t) override {
    return incarnation ? incarnation : ++incarnations_;
  }
  void session_end(std::string_view, uint64_t) override {}
  uint64_t subscribe(std::string_view, std::string_view, const codec::SubscriptionOptions&,
                     uint32_t) override {
    return last_sequence();
  }
  void unsubscribe(std::string_view, std::string_view) override {}
  void cursor(std::string_view, uint64_t) override {}
  void retain(const fanout::MessageRef&) override {}
  void maintain(int64_t) override {}
  void flush() override {}

 private:
  std::vector<store::StoredMessage> messages_;
  std::vector<std::pair<uint64_t, Completion>> waiting_;
  store::DurableState state_;
  uint64_t incarnations_ = 0;
};

}  // namespace hydrant::core::test
