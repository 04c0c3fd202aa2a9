// The admin API under /api/v1/admin/ (issue 5), as PulseGuardian offers it: users and their
// tokens, queues with their fill and warning state, exchanges, connections per user. Every
// request carries `Authorization: Bearer <admin token>` (the file <data>/admin-token); changes
// go through admin/users (the users file, which the broker reloads) or the broker's own
// functions, and each leaves an audit line. Answers are JSON; errors as the rest of the API.
//
//   GET    /api/v1/admin/users                 POST /api/v1/admin/users {"name","owners"} -> token
//   GET    /api/v1/admin/users/NAME            DELETE /api/v1/admin/users/NAME
//   POST   /api/v1/admin/users/NAME/token      (rotate) -> token
//   PUT    /api/v1/admin/users/NAME/owners     {"owners": [...]}
//   GET    /api/v1/admin/queues[?user=NAME]    DELETE /api/v1/admin/queues/queue/OWNER/NAME
//   PATCH  /api/v1/admin/queues/queue/OWNER/NAME {"unbounded": true|false}
//   GET    /api/v1/admin/exchanges[?user=NAME] POST /api/v1/admin/exchanges {"owner","name"}
//   DELETE /api/v1/admin/exchanges/OWNER/NAME  GET /api/v1/admin/connections
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "admin/users.hpp"
#include "api/http_api.hpp"
#include "auth/token.hpp"
#include "metrics/queue_summary.hpp"
#include "metrics/topic_activity.hpp"
#include "pulse/exchange_registry.hpp"

namespace hydrant::api {

struct AdminRequest {
  std::string_view method;
  std::string_view path;
  std::string_view query;
  std::string_view authorization;  // "Bearer <token>"
  std::string_view body;
  std::string_view peer;           // the client's IP address, for the audit trail
};

struct AdminSources {
  auth::TokenHash admin_token_hash{};
  admin::UserStore store;  // data dir and reserved names; the actor is set per request
  std::function<std::vector<metrics::QueueSummary>()> queues;
  std::function<std::vector<std::pair<std::string, uint32_t>>(uint32_t& anonymous)> connections;
  std::function<bool(const std::string& client_id)> end_session;
  std::function<std::vector<metrics::PrefixStats>()> activity;
  // The exchange registry (declared and first-published exchanges), and changes to it, which
  // the caller keeps on disk.
  std::function<std::vector<pulse::ExchangeRegistry::Exchange>()> exchanges;
  std::function<bool(const std::string& owner, const std::string& name)> declare_exchange;
  std::function<bool(const std::string& owner, const std::string& name)> delete_exchange;
};

// The answer for a path under /api/v1/admin/, or nullopt for any other path.
std::optional<HttpResponse> handle_admin(const AdminRequest& request, const AdminSources& sources);

}  // namespace hydrant::api
