// The admin API; see admin_api.hpp for its routes.
#include "api/admin_api.hpp"

#include <algorithm>

#include <simdjson.h>

#include "admin/audit.hpp"
#include "api/responses.hpp"
#include "auth/rules.hpp"
#include "pulse/mapping.hpp"
#include "util/log.hpp"

namespace hydrant::api {

namespace {

constexpr std::string_view kPrefix = "/api/v1/admin/";

struct Body {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
};

// Parses a JSON object body; nullopt (and `err` set) when it is not one.
bool parse_body(std::string_view text, Body& b, std::optional<HttpResponse>& err) {
  if (b.parser.parse(text.data(), text.size()).get(b.doc) || !b.doc.is_object()) {
    err = error(400, "bad request", "the body must be a JSON object");
    return false;
  }
  return true;
}

// A string array member, or nullopt when absent; `err` set when it is not an array of strings.
std::optional<std::vector<std::string>> string_list(simdjson::dom::element doc, const char* key,
                                                    std::optional<HttpResponse>& err) {
  auto member = doc[key];
  if (member.error()) return std::nullopt;
  simdjson::dom::array array;
  std::vector<std::string> out;
  if (member.get(array)) {
    err = error(400, "bad request", fmt::format("{} must be an array of strings", key));
    return std::nullopt;
  }
  for (auto item : array) {
    std::string_view s;
    if (item.get(s)) {
      err = error(400, "bad request", fmt::format("{} must be an array of strings", key));
      return std::nullopt;
    }
    out.emplace_back(s);
  }
  return out;
}

HttpResponse from_admin_error(const admin::AdminError& e) {
  switch (e.kind) {
    case admin::AdminError::Kind::Invalid: return error(400, "bad request", e.what());
    case admin::AdminError::Kind::NotFound: return error(404, "not found", e.what());
    case admin::AdminError::Kind::Conflict: break;
  }
  return error(409, "conflict", e.what());
}

void write_queue(JsonWriter& w, const metrics::QueueSummary& q) {
  w.begin_object()
      .member("queue", q.client_id)
      .member("owner", q.owner)
      .member("connected", q.connected)
      .member("size", static_cast<uint64_t>(q.queued))
      .member("inflight", static_cast<uint64_t>(q.inflight))
      .member("limit", static_cast<uint64_t>(q.limit))
      .member("rate_per_s", q.rate)
      .member("warning", q.warning)
      .member("unbounded", q.unbounded);
  if (q.full_since) {
    w.member("full_since", q.full_since);
  } else {
    w.key("full_since").null();
  }
  w.key("bindings").begin_array();
  for (const auto& b : q.bindings) w.value(b);
  w.end_array().end_object();
}

HttpResponse token_answer(int status, std::string_view name, const std::string& token) {
  JsonWriter w;
  w.begin_object().member("name", name).member("token", token).end_object();
  return json(status, w.take());
}

class Handler {
 public:
  Handler(const AdminRequest& r, const AdminSources& s) : r_(r), s_(s), store_(s.store) {
    store_.actor = fmt::format("api:{}", r.peer);
  }

  std::optional<HttpResponse> run() {
    if (!authorized()) {
      log::warn("event=admin-refused peer={} path=\"{}\"", r_.peer, r_.path);
      auto resp = error(401, "unauthorized", "send Authorization: Bearer <the admin token>");
      resp.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"hydrant admin\"");
      return resp;
    }
    const std::string_view rest = r_.path.substr(kPrefix.size());
    try {
      if (rest == "users") return users();
      if (rest.starts_with("users/")) return user(rest.substr(6));
      if (rest == "queues") return only("GET", [&] { return queues(); });
      if (rest.starts_with("queues/")) return queue(rest.substr(7));
      if (rest == "exchanges") return exchanges();
      if (rest.starts_with("exchanges/")) return exchange(rest.substr(10));
      if (rest == "connections") return only("GET", [&] { return connections(); });
    } catch (const admin::AdminError& e) {
      return from_admin_error(e);
    } catch (const std::exception& e) {
      // The users or exchanges file could not be read or written (a full disk, permissions).
      log::error("event=admin-failed path=\"{}\" error=\"{}\"", r_.path, e.what());
      return error(500, "internal error", e.what());
    }
    return error(404, "not found", fmt::format("no such path: {}", r_.path));
  }

 private:
  bool authorized() const {
    constexpr std::string_view kBearer = "Bearer ";
    if (!r_.authorization.starts_with(kBearer)) return false;
    return auth::equal_hashes(auth::hash_token(r_.authorization.substr(kBearer.size())),
                              s_.admin_token_hash);
  }

  template <class Fn>
  HttpResponse only(std::string_view method, Fn&& fn) {
    if (r_.method != method) return not_allowed(method);
    return fn();
  }

  HttpResponse not_allowed(std::string_view allow) {
    auto resp = error(405, "method not allowed", fmt::format("use {}", allow));
    resp.headers.emplace_back("Allow", std::string(allow));
    return resp;
  }

  HttpResponse users() {
    if (r_.method == "GET") {
      const auto table = admin::read_users(store_);
      JsonWriter w;
      w.begin_object().key("users").begin_array();
      for (const auto& u : table.users) admin::write_user_json(w, u);
      w.end_array().end_object();
      return json(200, w.take());
    }
    if (r_.method != "POST") return not_allowed("GET, POST");
    Body b;
    std::optional<HttpResponse> err;
    if (!parse_body(r_.body, b, err)) return *err;
    std::string_view name;
    if (b.doc["name"].get(name)) return error(400, "bad request", "name (a string) is required");
    auto owners = string_list(b.doc, "owners", err);
    if (err) return *err;
    const auto token = admin::add_user(store_, std::string(name), owners.value_or(std::vector<std::string>{}));
    return token_answer(201, name, token);
  }

  HttpResponse user(std::string_view rest) {
    const auto slash = rest.find('/');
    const std::string name(rest.substr(0, slash));
    const std::string_view action = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
    if (action == "token") {
      if (r_.method != "POST") return not_allowed("POST");
      return token_answer(200, name, admin::rotate_token(store_, name));
    }
    if (action == "owners") {
      if (r_.method != "PUT") return not_allowed("PUT");
      Body b;
      std::optional<HttpResponse> err;
      if (!parse_body(r_.body, b, err)) return *err;
      auto owners = string_list(b.doc, "owners", err);
      if (err) return *err;
      if (!owners) return error(400, "bad request", "owners (an array of strings) is required");
      admin::set_owners(store_, name, *owners);
      return show_user(name);
    }
    if (!action.empty()) return error(404, "not found", fmt::format("no such path: {}", r_.path));
    if (r_.method == "GET") return show_user(name);
    if (r_.method != "DELETE") return not_allowed("GET, DELETE");
    admin::delete_user(store_, name);
    // The user's queues go with it, as PulseGuardian deletes a user's queues.
    for (const auto& q : s_.queues()) {
      if (q.owner == name) s_.end_session(q.client_id);
    }
    JsonWriter w;
    w.begin_object().member("deleted", name).end_object();
    return json(200, w.take());
  }

  HttpResponse show_user(const std::string& name) {
    const auto table = admin::read_users(store_);
    const auto* u = table.find(name);
    if (!u) return error(404, "not found", fmt::format("no user '{}'", name));
    JsonWriter w;
    admin::write_user_json(w, *u);
    std::string body = w.take();
    // Its load: connections and queues, next to the record.
    uint32_t anonymous = 0;
    uint32_t connections = 0;
    for (const auto& [user, n] : s_.connections(anonymous)) {
      if (user == name) connections = n;
    }
    JsonWriter extra;
    extra.begin_object().member("connections", connections).key("queues").begin_array();
    for (const auto& q : s_.queues()) {
      if (q.owner == name) write_queue(extra, q);
    }
    extra.end_array().end_object();
    body.pop_back();  // merge {"name":...} and {"connections":...} into one object
    body += ',';
    body += extra.str().substr(1);
    return json(200, std::move(body));
  }

  HttpResponse queues() {
    const auto user = query_param(r_.query, "user");
    JsonWriter w;
    w.begin_object().key("queues").begin_array();
    for (const auto& q : s_.queues()) {
      if (!user || q.owner == *user) write_queue(w, q);
    }
    w.end_array().end_object();
    return json(200, w.take());
  }

  HttpResponse queue(std::string_view client_id) {
    const std::string id(client_id);
    if (auth::queue_owner(id).empty()) {
      return error(404, "not found", "queues are named queue/<clientId>/<name>");
    }
    if (r_.method == "DELETE") {
      if (!s_.end_session(id)) return error(404, "not found", fmt::format("no queue '{}'", id));
      admin::audit(store_.data_dir, store_.actor, "queue-delete", id);
      JsonWriter w;
      w.begin_object().member("deleted", id).end_object();
      return json(200, w.take());
    }
    if (r_.method != "PATCH") return not_allowed("DELETE, PATCH");
    Body b;
    std::optional<HttpResponse> err;
    if (!parse_body(r_.body, b, err)) return *err;
    bool unbounded = false;
    if (b.doc["unbounded"].get(unbounded)) {
      return error(400, "bad request", "unbounded (true or false) is required");
    }
    admin::set_queue_unbounded(store_, id, unbounded);
    JsonWriter w;
    w.begin_object().member("queue", id).member("unbounded", unbounded).end_object();
    return json(200, w.take());
  }

  // Registered exchanges with their traffic, each counted as registered (a declared
  // `v1/change-merged` apart from `v1`; TopicActivity).
  HttpResponse exchanges() {
    if (r_.method == "POST") return declare();
    if (r_.method != "GET") return not_allowed("GET, POST");
    const auto user = query_param(r_.query, "user");
    const auto activity = s_.activity();
    JsonWriter w;
    w.begin_object().key("exchanges").begin_array();
    for (const auto& e : s_.exchanges()) {
      if (user && e.owner != *user) continue;
      const std::string exchange = fmt::format("exchange/{}/{}", e.owner, e.name);
      w.begin_object()
          .member("exchange", exchange)
          .member("owner", e.owner)
          .member("name", e.name)
          .member("declared", e.declared)
          .member("created", e.created);
      auto it = std::find_if(activity.begin(), activity.end(),
                             [&](const auto& p) { return p.prefix == exchange; });
      if (it != activity.end()) {
        w.member("messages", it->messages)
            .member("bytes", it->bytes)
            .member("messages_per_s", it->messages_per_s)
            .member("last_publish_unix_ms",
                    static_cast<int64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                             it->last_publish.time_since_epoch())
                                             .count()));
      } else {
        w.member("messages", uint64_t{0}).member("bytes", uint64_t{0}).member("messages_per_s", 0.0);
        w.key("last_publish_unix_ms").null();
      }
      w.end_object();
    }
    w.end_array().end_object();
    return json(200, w.take());
  }

  HttpResponse declare() {
    Body b;
    std::optional<HttpResponse> err;
    if (!parse_body(r_.body, b, err)) return *err;
    std::string_view owner, name;
    if (b.doc["owner"].get(owner) || b.doc["name"].get(name)) {
      return error(400, "bad request", "owner and name (strings) are required");
    }
    if (!pulse::valid_client_id(owner) || !pulse::valid_exchange_name(name)) {
      return error(400, "bad request", "owner must be a clientId and name an exchange name");
    }
    if (!admin::read_users(store_).find(owner)) {
      return error(404, "not found", fmt::format("no user '{}'", owner));
    }
    if (!s_.declare_exchange(std::string(owner), std::string(name))) {
      return error(409, "conflict", fmt::format("exchange/{}/{} is declared already", owner, name));
    }
    admin::audit(store_.data_dir, store_.actor, "exchange-declare",
                 fmt::format("exchange/{}/{}", owner, name));
    JsonWriter w;
    w.begin_object().member("exchange", fmt::format("exchange/{}/{}", owner, name)).end_object();
    return json(201, w.take());
  }

  HttpResponse exchange(std::string_view rest) {
    if (r_.method != "DELETE") return not_allowed("DELETE");
    const auto slash = rest.find('/');
    if (slash == std::string_view::npos) return error(404, "not found", "use exchanges/OWNER/NAME");
    const std::string owner(rest.substr(0, slash));
    const std::string name(rest.substr(slash + 1));
    if (!s_.delete_exchange(owner, name)) {
      return error(404, "not found", fmt::format("no exchange exchange/{}/{}", owner, name));
    }
    admin::audit(store_.data_dir, store_.actor, "exchange-delete",
                 fmt::format("exchange/{}/{}", owner, name));
    JsonWriter w;
    w.begin_object().member("deleted", fmt::format("exchange/{}/{}", owner, name)).end_object();
    return json(200, w.take());
  }

  HttpResponse connections() {
    uint32_t anonymous = 0;
    const auto per_user = s_.connections(anonymous);
    JsonWriter w;
    w.begin_object().member("anonymous", anonymous).key("users").begin_array();
    for (const auto& [user, n] : per_user) {
      w.begin_object().member("user", user).member("connections", n).end_object();
    }
    w.end_array().end_object();
    return json(200, w.take());
  }

  const AdminRequest& r_;
  const AdminSources& s_;
  admin::UserStore store_;
};

}  // namespace

std::optional<HttpResponse> handle_admin(const AdminRequest& request, const AdminSources& sources) {
  if (!request.path.starts_with(kPrefix)) return std::nullopt;
  return Handler(request, sources).run();
}

}  // namespace hydrant::api
