// The history API. See history_api.hpp.
#include "api/history_api.hpp"

#include <charconv>
#include <variant>

#include "api/responses.hpp"
#include "pulse/json_payload.hpp"
#include "pulse/mapping.hpp"
#include "topics/topic.hpp"
#include "util/wall_clock.hpp"

namespace hydrant::api {

namespace {

std::optional<uint64_t> whole_number(std::string_view text) {
  uint64_t n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size()) return std::nullopt;
  return n;
}

// The query the request asks for, or the 400 answer that says what is wrong with it.
std::variant<store::HistoryQuery, HttpResponse> history_query(const HttpRequest& request) {
  auto param = [&](std::string_view name) -> std::optional<std::string> {
    auto v = query_param(request.query, name);
    if (!v) return std::nullopt;
    return percent_decode(*v);
  };
  store::HistoryQuery q;
  if (auto filter = param("filter")) {
    q.filter = *filter;
  } else if (auto exchange = param("exchange")) {
    auto binding = pulse::filter_for_binding(*exchange, param("routing_key").value_or("#"));
    if (!binding) return error(400, "bad request", "exchange or routing_key is not valid");
    q.filter = *binding;
  } else {
    return error(400, "bad request", "give filter=<MQTT filter> or exchange=<exchange>&routing_key=<pattern>");
  }
  if (q.filter.empty() || !topics::validate_topic_filter(q.filter).ok() || q.filter.starts_with("$share/")) {
    return error(400, "bad request", "filter is not a valid MQTT topic filter");
  }
  if (auto limit = param("limit")) {
    auto n = whole_number(*limit);
    if (!n || *n == 0 || *n > 1000) return error(400, "bad request", "limit must be from 1 to 1000");
    q.limit = *n;
  }
  if (auto last = param("last")) {
    auto n = whole_number(*last);
    if (!n || *n == 0 || *n > 1000) return error(400, "bad request", "last must be from 1 to 1000");
    q.last = *n;
    if (param("since")) return error(400, "bad request", "give since or last, not both");
  } else if (auto since = param("since")) {
    if (!store::parse_since(*since, q)) {
      return error(400, "bad request",
                   "since must be a position (<epoch>-<sequence>), unix milliseconds or an ISO 8601 UTC time");
    }
  }
  return q;
}

// One page as the API's JSON: the messages with their positions, and where the next page starts.
std::string page_json(const store::HistoryPage& page, const store::ExchangeLog& store) {
  JsonWriter w;
  w.begin_object().member("epoch", fmt::format("{:016x}", store.epoch()));
  w.key("messages").begin_array();
  for (const auto& m : page.messages) {
    w.begin_object()
        .member("position", store.position(m.sequence))
        .member("sequence", m.sequence)
        .member("time", util::iso8601_of_unix_ms(m.time_ms))
        .member("time_ms", m.time_ms)
        .member("topic", m.msg->topic())
        .member("qos", static_cast<unsigned>(m.msg->qos()))
        .member("retain", m.msg->retain());
    const std::string_view payload = m.msg->payload();
    w.key("payload");
    if (!payload.empty() && pulse::json_payload_error(payload) == nullptr) {
      w.json_value(payload);
    } else {
      w.value(payload);  // not JSON (open mode only): a string, escaped
    }
    w.end_object();
  }
  w.end_array();
  w.key("next");
  if (page.scanned_to) {
    w.value(store.position(page.scanned_to));
  } else {
    w.null();
  }
  w.member("more", page.more).member("complete", page.complete);
  if (!page.complete) w.member("gap", page.gap);
  w.end_object();
  return w.take();
}

}  // namespace

std::optional<HttpResponse> handle_history(const HttpRequest& request,
                                           const store::ExchangeLog* store) {
  if (request.path != "/api/v1/history") return std::nullopt;
  if (request.method != "GET" && request.method != "HEAD") {
    auto r = error(405, "method not allowed", "/api/v1/history takes GET or HEAD");
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }
  if (!store) return error(404, "not found", "this broker keeps no message log");
  auto query = history_query(request);
  if (auto* refused = std::get_if<HttpResponse>(&query)) return std::move(*refused);
  HttpResponse r = json(200, page_json(store->read(std::get<store::HistoryQuery>(query)), *store));
  if (request.method == "HEAD") r.body.clear();
  return r;
}

}  // namespace hydrant::api
