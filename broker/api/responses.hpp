// Small helpers shared by the API's handlers: JSON answers, JSON errors, query parameters.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "api/http_api.hpp"
#include "base/json_writer.hpp"

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

// Percent-decodes a query value ("%23" -> '#'). A '+' stays '+', not a space: in our
// parameters it is the MQTT wildcard far more often than a space. Nullopt for a bad escape.
inline std::optional<std::string> percent_decode(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] != '%') {
      out += v[i];
      continue;
    }
    if (i + 2 >= v.size()) return std::nullopt;  // '%' needs two hex digits after it
    const int hi = hex(v[i + 1]), lo = hex(v[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

}  // namespace hydrant::api
