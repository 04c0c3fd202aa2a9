// Gerrit event topics. See gerrit_event.hpp.
#include "gerrit_event.hpp"

#include "input.hpp"
#include "routing.hpp"

namespace hydrant::publishers {

std::optional<std::string> gerrit_topic(simdjson::dom::element event, std::string_view exchange_topic) {
  const auto type = text_at(event, {"type"});
  if (!type || type->empty()) return std::nullopt;
  auto first = [&](std::initializer_list<std::initializer_list<std::string_view>> paths) {
    for (auto p : paths) {
      if (auto v = text_at(event, p)) return v;
    }
    return std::optional<std::string>();
  };
  const auto project = first({{"change", "project"}, {"refUpdate", "project"}, {"project"}});
  auto branch = first({{"change", "branch"}, {"refUpdate", "refName"}, {"branch"}});
  if (branch && branch->starts_with("refs/heads/")) branch->erase(0, 11);
  const auto number = first({{"change", "number"}, {"changeKey", "id"}});
  std::string exchange(exchange_topic);
  exchange += '/';
  exchange += pulse::encode_word(*type);
  return topic_with_words(exchange, {project, branch, number});
}

}  // namespace hydrant::publishers
