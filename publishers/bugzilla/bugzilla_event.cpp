// Bugzilla webhook bodies to topic and payload. See bugzilla_event.hpp.
#include "bugzilla_event.hpp"

#include <fmt/format.h>

#include "pulse/mapping.hpp"

namespace hydrant::publishers {

namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

std::optional<element> field(element e, std::string_view key) {
  object obj;
  element out;
  if (e.get_object().get(obj) != simdjson::SUCCESS) return std::nullopt;
  if (obj.at_key(key).get(out) != simdjson::SUCCESS) return std::nullopt;
  return out;
}

bool is_false(std::optional<element> e) {
  return e && e->type() == element_type::BOOL && !bool(e->get_bool());
}

bool is_id(std::optional<element> e) {
  if (!e) return false;
  const auto t = e->type();
  return t == element_type::INT64 || t == element_type::UINT64 || t == element_type::STRING;
}

// {"bug":{...ids...},["truncated":true,]"event":{...routing fields...}}: strings and numbers
// re-serialized by simdjson, so nothing from the body is copied as raw text.
std::string reduced_payload(element bug, element event, std::optional<std::string_view> private_target,
                            bool bug_private, bool truncated) {
  std::string out = "{\"bug\":{\"id\":";
  out += simdjson::minify(*field(bug, "id"));
  out += bug_private ? ",\"is_private\":true" : ",\"is_private\":false";
  if (private_target) {
    const auto sub_id = field(*field(bug, *private_target), "id");
    fmt::format_to(std::back_inserter(out), ",\"{}\":{{\"id\":{},\"is_private\":true}}", *private_target,
                   is_id(sub_id) ? simdjson::minify(*sub_id) : std::string("null"));
  }
  out += '}';
  if (truncated) out += ",\"truncated\":true";
  out += ",\"event\":{";
  bool first = true;
  for (std::string_view key : {"action", "routing_key", "target", "time"}) {
    const auto v = field(event, key);
    if (!v || v->type() != element_type::STRING) continue;
    fmt::format_to(std::back_inserter(out), "{}\"{}\":{}", first ? "" : ",", key, simdjson::minify(*v));
    first = false;
  }
  out += "}}";
  return out;
}

}  // namespace

ParsedWebhook parse_webhook(simdjson::dom::parser& parser, std::string_view body,
                            std::string_view exchange_topic, size_t max_payload) {
  element root;
  if (auto err = parser.parse(body.data(), body.size()).get(root)) {
    return {std::nullopt, fmt::format("not JSON: {}", simdjson::error_message(err))};
  }
  if (root.type() != element_type::OBJECT) return {std::nullopt, "not a JSON object"};
  const auto event = field(root, "event");
  const auto bug = field(root, "bug");
  if (!event || event->type() != element_type::OBJECT) return {std::nullopt, "no event object"};
  if (!bug || bug->type() != element_type::OBJECT) return {std::nullopt, "no bug object"};
  const auto key = field(*event, "routing_key");
  std::string_view routing_key;
  if (!key || key->get_string().get(routing_key) || routing_key.empty()) {
    return {std::nullopt, "no event.routing_key string"};
  }
  const auto id = field(*bug, "id");
  if (!is_id(id)) return {std::nullopt, "no bug.id"};

  WebhookEvent ev;
  ev.routing_key = routing_key;
  ev.bug_id = id->type() == element_type::STRING ? std::string(std::string_view(id->get_string()))
                                                 : simdjson::minify(*id);
  ev.topic = pulse::topic_for(exchange_topic, routing_key);
  // Private unless Bugzilla says plainly that it is not: a missing or odd is_private must not
  // put a bug's content on a bus anyone may read.
  const bool bug_private = !is_false(field(*bug, "is_private"));
  std::optional<std::string_view> private_target;
  for (std::string_view target : {"comment", "attachment"}) {
    const auto sub = field(*bug, target);
    if (sub && !is_false(field(*sub, "is_private"))) {
      private_target = target;
      break;
    }
  }
  ev.truncated = !bug_private && !private_target && body.size() > max_payload;
  ev.reduced = bug_private || private_target || ev.truncated;
  ev.payload = ev.reduced ? reduced_payload(*bug, *event, private_target, bug_private, ev.truncated)
                          : std::string(body);
  return {std::move(ev), ""};
}

}  // namespace hydrant::publishers
