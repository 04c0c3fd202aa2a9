// GET /api/v1/history: an exchange's recent messages, by position, time or "the newest N"
// (README.md, "Durability, history and replay"). Anonymous: exchanges are public. See broker/README.md for the
// parameters and the answer.
#pragma once

#include <optional>

#include "api/http_api.hpp"
#include "store/durable_store.hpp"

namespace hydrant::api {

// The answer for /api/v1/history, or nullopt for another path. `store` null: the broker keeps
// no log (404 says so).
std::optional<HttpResponse> handle_history(const HttpRequest& request,
                                           const store::ExchangeLog* store);

}  // namespace hydrant::api
