// Small helpers shared by the API's handlers: JSON answers, JSON errors, query parameters.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "api/http_api.hpp"
#include "api/json_writer.hpp"

namespace hydrant::api {

inline constexpr std::string_view kJson = "application/json";

inline HttpResponse json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.content_type = std::string(kJson);
  r.body = std::move(body);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

inline HttpResponse error(int status, std::string_view what, std::string_view message) {
  JsonWriter w;
  w.begin_object().member("status", status).member("error", what).member("message", message).end_object();
  return json(status, w.take());
}

// The value of `name` in an application/x-www-form-urlencoded query (no decoding needed for the
// parameters we take), or nullopt.
inline std::optional<std::string_view> query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

}  // namespace hydrant::api
