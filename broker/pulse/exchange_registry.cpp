// ExchangeRegistry; see exchange_registry.hpp.
#include "pulse/exchange_registry.hpp"

#include <algorithm>
#include <mutex>

#include "pulse/mapping.hpp"

namespace hydrant::pulse {

namespace {

constexpr std::string_view kExchangePrefix = "exchange/";

size_t levels(std::string_view name) { return static_cast<size_t>(std::count(name.begin(), name.end(), '/')) + 1; }

// `rest` starts with the levels of `name`: "v1/change-merged/x" and "v1/change-merged".
bool covers(std::string_view name, std::string_view rest) {
  return rest.starts_with(name) && (rest.size() == name.size() || rest[name.size()] == '/');
}

// exchange/<owner>/<rest>: owner and rest, or false.
bool split(std::string_view topic, std::string_view& owner, std::string_view& rest) {
  if (!topic.starts_with(kExchangePrefix)) return false;
  topic.remove_prefix(kExchangePrefix.size());
  const auto slash = topic.find('/');
  if (slash == std::string_view::npos || slash == 0) return false;
  owner = topic.substr(0, slash);
  rest = topic.substr(slash + 1);
  return !rest.empty() && rest.front() != '/';
}

}  // namespace

const ExchangeRegistry::Exchange* ExchangeRegistry::covering(std::string_view owner,
                                                             std::string_view rest) const {
  auto it = by_owner_.find(owner);
  if (it == by_owner_.end()) return nullptr;
  for (const auto& e : it->second) {
    if (covers(e.name, rest)) return &e;  // longest first
  }
  return nullptr;
}

bool ExchangeRegistry::note_publish(std::string_view topic, int64_t now) {
  std::string_view owner, rest;
  if (!split(topic, owner, rest)) return true;
  {
    std::shared_lock lock(mutex_);
    if (covering(owner, rest)) return true;
  }
  const std::string_view first = rest.substr(0, rest.find('/'));
  std::unique_lock lock(mutex_);
  if (covering(owner, rest)) return true;  // registered meanwhile
  auto& list = by_owner_[std::string(owner)];
  if (list.size() >= max_per_owner_) return false;
  list.push_back(Exchange{std::string(owner), std::string(first), now, false});
  std::stable_sort(list.begin(), list.end(), [](const Exchange& a, const Exchange& b) {
    return levels(a.name) > levels(b.name);
  });
  return true;
}

size_t ExchangeRegistry::name_levels(std::string_view topic) const {
  std::string_view owner, rest;
  if (!split(topic, owner, rest)) return 1;
  std::shared_lock lock(mutex_);
  const auto* e = covering(owner, rest);
  return e ? levels(e->name) : 1;
}

bool ExchangeRegistry::declare(std::string_view owner, std::string_view name, int64_t now) {
  std::unique_lock lock(mutex_);
  auto& list = by_owner_[std::string(owner)];
  auto same = std::find_if(list.begin(), list.end(), [&](const Exchange& e) { return e.name == name; });
  if (same != list.end()) {
    if (same->declared) return false;
    same->declared = true;  // first published, now declared: kept from here on
    return true;
  }
  if (list.size() >= max_per_owner_) return false;
  list.push_back(Exchange{std::string(owner), std::string(name), now, true});
  if (levels(name) > 1) multi_level_.fetch_add(1, std::memory_order_relaxed);
  std::stable_sort(list.begin(), list.end(), [](const Exchange& a, const Exchange& b) {
    return levels(a.name) > levels(b.name);
  });
  return true;
}

bool ExchangeRegistry::remove(std::string_view owner, std::string_view name) {
  std::unique_lock lock(mutex_);
  auto it = by_owner_.find(owner);
  if (it == by_owner_.end()) return false;
  const auto n = std::erase_if(it->second, [&](const Exchange& e) { return e.name == name; });
  if (n && levels(name) > 1) multi_level_.fetch_sub(1, std::memory_order_relaxed);
  if (it->second.empty()) by_owner_.erase(it);
  return n > 0;
}

std::vector<ExchangeRegistry::Exchange> ExchangeRegistry::list() const {
  std::shared_lock lock(mutex_);
  std::vector<Exchange> out;
  for (const auto& [owner, list] : by_owner_) out.insert(out.end(), list.begin(), list.end());
  std::sort(out.begin(), out.end(), [](const Exchange& a, const Exchange& b) {
    return a.owner != b.owner ? a.owner < b.owner : a.name < b.name;
  });
  return out;
}

}  // namespace hydrant::pulse
