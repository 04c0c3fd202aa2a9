// What a Bugzilla (BMO) webhook body becomes on the bus: the topic from its event.routing_key
// (exchange/<clientId>/<exchange>/<routing key words>, e.g. .../v1/bug/modify:priority) and the
// payload — the body as received for a public bug, or only ids and routing fields when the bug,
// or the comment or attachment the event is about, is private (or when the body is larger than
// the broker would take). Pure: no I/O, no logging; the webhook server (bugzilla_main.cpp)
// decides what to answer.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <simdjson.h>

namespace hydrant::publishers {

struct WebhookEvent {
  std::string routing_key;  // event.routing_key as BMO sent it (bug.modify:priority)
  std::string bug_id;       // bug.id as text, for the log
  bool reduced = false;     // the payload holds ids and routing fields only
  bool truncated = false;   // reduced because the body was over max_payload, not for privacy
  std::string topic;
  std::string payload;
};

struct ParsedWebhook {
  std::optional<WebhookEvent> event;
  std::string error;  // why the body is not a webhook event (when `event` is empty)
};

// Parses `body` (one JSON object as BMO POSTs it). Needs event.routing_key (a non-empty string)
// and bug.id (a number or a string). Counts as private, and is reduced to
//   {"bug":{"id":N,"is_private":true},"event":{"action","routing_key","target","time"}}
// unless bug.is_private is exactly false; a comment or attachment under bug whose is_private is
// not false reduces it too ({"bug":{"id":N,"is_private":false,"comment":{"id":M,"is_private":
// true}},"event":{...}}). A public body longer than `max_payload` bytes is reduced the same way
// with "truncated":true, so that readers fetch the bug over Bugzilla's REST API instead.
ParsedWebhook parse_webhook(simdjson::dom::parser& parser, std::string_view body,
                            std::string_view exchange_topic, size_t max_payload);

}  // namespace hydrant::publishers
