// Topics for adapters: an exchange topic plus routing-key words, each word escaped as the
// mapping module does (a '/' in a project path stays inside its level as %2F), an absent or
// empty word written "_" so that every event of a kind has the same number of levels.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "pulse/mapping.hpp"

namespace hydrant::publishers {

inline std::string topic_with_words(std::string_view exchange_topic,
                                    std::initializer_list<std::optional<std::string>> words) {
  std::string topic(exchange_topic);
  for (const auto& w : words) {
    topic += '/';
    topic += (w && !w->empty()) ? pulse::encode_word(*w) : std::string("_");
  }
  return topic;
}

}  // namespace hydrant::publishers
