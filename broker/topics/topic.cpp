// Topic name / filter validation and single-filter matching (MQTT 5.0 4.7, 4.8; 3.1.1 4.7).
// Levels are the pieces between '/' separators; empty levels are valid ("a//b", "/a", "a/").
#include "topics/topic.hpp"

namespace hydrant::topics {
namespace {


constexpr std::string_view kSharePrefix = "$share/";

// Walks the levels of a topic or filter without allocating. "a/" yields "a" then "".
class LevelCursor {
 public:
  explicit LevelCursor(std::string_view s) : s_(s) {}
  bool done() const { return done_; }
  std::string_view next() {
    const size_t end = s_.find('/', pos_);
    if (end == std::string_view::npos) {
      done_ = true;
      return s_.substr(pos_);
    }
    std::string_view level = s_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return level;
  }

 private:
  std::string_view s_;
  size_t pos_ = 0;
  bool done_ = false;
};

// A non-empty, non-shared filter: '#' only as the whole last level, '+' only as a whole level.
Result<void> validate_plain_filter(std::string_view filter) {
  if (filter.empty()) return {ReasonCode::TopicFilterInvalid, "empty topic filter"};
  LevelCursor levels(filter);
  while (!levels.done()) {
    const std::string_view level = levels.next();
    if (level.find('#') != std::string_view::npos) {
      if (level.size() != 1) return {ReasonCode::TopicFilterInvalid, "'#' not a whole level"};
      if (!levels.done()) return {ReasonCode::TopicFilterInvalid, "'#' not the last level"};
    }
    if (level.find('+') != std::string_view::npos && level.size() != 1) {
      return {ReasonCode::TopicFilterInvalid, "'+' not a whole level"};
    }
  }
  return {};
}

}  // namespace

Result<void> validate_topic_name(std::string_view topic) {
  if (topic.empty()) return {ReasonCode::TopicNameInvalid, "empty topic name"};
  if (topic.find_first_of("+#") != std::string_view::npos) {
    return {ReasonCode::TopicNameInvalid, "wildcard in topic name"};
  }
  return {};
}

Result<void> validate_topic_filter(std::string_view filter) {
  if (!filter.starts_with(kSharePrefix)) return validate_plain_filter(filter);
  // "$share/<group>/<filter>": the group ends at the first '/' after the prefix, so it cannot
  // contain '/'; a missing separator means there is no filter at all.
  const std::string_view rest = filter.substr(kSharePrefix.size());
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos) {
    return {ReasonCode::TopicFilterInvalid, "shared subscription without filter"};
  }
  const std::string_view group = rest.substr(0, slash);
  if (group.empty()) return {ReasonCode::TopicFilterInvalid, "empty share name"};
  if (group.find_first_of("+#") != std::string_view::npos) {
    return {ReasonCode::TopicFilterInvalid, "wildcard in share name"};
  }
  const std::string_view inner = rest.substr(slash + 1);
  if (inner.empty()) return {ReasonCode::TopicFilterInvalid, "shared subscription without filter"};
  return validate_plain_filter(inner);
}

std::optional<SharedFilter> parse_shared(std::string_view filter) {
  if (!filter.starts_with(kSharePrefix)) return std::nullopt;
  const std::string_view rest = filter.substr(kSharePrefix.size());
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return std::nullopt;  // invalid; validated earlier
  return SharedFilter{rest.substr(0, slash), rest.substr(slash + 1)};
}

bool match_filter(std::string_view filter, std::string_view topic) {
  if (filter.empty() || topic.empty()) return false;
  // [MQTT-4.7.2-1]: a wildcard first level never matches a topic starting with '$'. Since
  // wildcards are whole levels, the first character tells.
  if (topic.front() == '$' && (filter.front() == '+' || filter.front() == '#')) return false;
  LevelCursor f(filter);
  LevelCursor t(topic);
  while (!f.done()) {
    const std::string_view fl = f.next();
    // '#' matches the remaining levels, including none: "a/#" matches "a".
    if (fl == "#") return true;
    if (t.done()) return false;
    const std::string_view tl = t.next();
    if (fl != "+" && fl != tl) return false;
  }
  return t.done();
}

}  // namespace hydrant::topics
