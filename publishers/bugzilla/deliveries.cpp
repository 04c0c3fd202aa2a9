// Deliveries awaiting the broker's confirmation. See deliveries.hpp.
#include "deliveries.hpp"

namespace hydrant::publishers {

using Clock = std::chrono::steady_clock;

Deliveries::Result Deliveries::deliver(const std::string& body, std::string topic, std::string payload,
                                       std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::shared_ptr<Pending> p;
  bool fresh = false;
  {
    std::lock_guard lock(mutex_);
    if (stop_deadline_) return {Outcome::Stopping, ""};
    forget_old(Clock::now());
    if (confirmed_.contains(body)) return {Outcome::AlreadyConfirmed, ""};
    auto& slot = pending_[body];
    if (!slot) {
      slot = std::make_shared<Pending>();
      fresh = true;
    }
    p = slot;
  }
  // Outside the lock: publish() may wait for room in the buffer, and in --dry-run it calls
  // the callback before it returns.
  if (fresh && !publisher_.publish(std::move(topic), std::move(payload),
                                   [this, body, p](bool ok, const std::string& why) { on_done(body, p, ok, why); })) {
    std::lock_guard lock(mutex_);
    pending_.erase(body);
    return {Outcome::Stopping, ""};
  }
  std::unique_lock lock(mutex_);
  for (;;) {
    if (p->done) return {p->ok ? Outcome::Confirmed : Outcome::Refused, p->why};
    auto until = deadline;
    if (stop_deadline_ && *stop_deadline_ < until) until = *stop_deadline_;
    if (Clock::now() >= until) return {until == deadline ? Outcome::TimedOut : Outcome::Stopping, ""};
    settled_.wait_until(lock, until);
  }
}

void Deliveries::on_done(const std::string& body, const std::shared_ptr<Pending>& p, bool ok,
                         const std::string& why) {
  {
    std::lock_guard lock(mutex_);
    p->done = true;
    p->ok = ok;
    p->why = why;
    if (auto it = pending_.find(body); it != pending_.end() && it->second == p) pending_.erase(it);
    if (ok && !confirmed_.contains(body)) {
      confirmed_order_.emplace_back(Clock::now(), body);
      confirmed_.insert(confirmed_order_.back().second);
      confirmed_bytes_ += body.size();
    }
    forget_old(Clock::now());
  }
  settled_.notify_all();
}

void Deliveries::forget_old(Clock::time_point now) {
  while (!confirmed_order_.empty() &&
         (now - confirmed_order_.front().first > limits_.remember ||
          confirmed_order_.size() > limits_.remember_count || confirmed_bytes_ > limits_.remember_bytes)) {
    confirmed_bytes_ -= confirmed_order_.front().second.size();
    confirmed_.erase(std::string_view(confirmed_order_.front().second));
    confirmed_order_.pop_front();
  }
}

void Deliveries::stop(std::chrono::milliseconds grace) {
  {
    std::lock_guard lock(mutex_);
    if (!stop_deadline_) stop_deadline_ = Clock::now() + grace;
  }
  settled_.notify_all();
}

}  // namespace hydrant::publishers
