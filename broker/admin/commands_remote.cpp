// The live-state subcommands; see commands_remote.hpp.
#include "admin/commands_remote.hpp"

#include <cstdio>

#include <fmt/format.h>
#include <simdjson.h>

#include "admin/remote.hpp"
#include "base/json_writer.hpp"

namespace hydrant::admin {

namespace {

// Prints an API error's message; returns the exit status 1.
int refused(const ApiReply& r) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string_view message = r.body;
  if (!parser.parse(r.body).get(doc) && doc["message"].get(message)) message = r.body;
  std::fprintf(stderr, "hydrant: %d %.*s\n", r.status, static_cast<int>(message.size()),
               message.data());
  return 1;
}

std::string str(simdjson::dom::element e, const char* key) {
  std::string_view s;
  return e[key].get(s) ? std::string() : std::string(s);
}

uint64_t num(simdjson::dom::element e, const char* key) {
  uint64_t n = 0;
  if (e[key].get(n)) {
    int64_t i = 0;
    if (!e[key].get(i) && i > 0) n = static_cast<uint64_t>(i);
  }
  return n;
}

bool flag(simdjson::dom::element e, const char* key) {
  bool b = false;
  return !e[key].get(b) && b;
}

int print_queues(const std::string& body) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::dom::array queues;
  if (parser.parse(body).get(doc) || doc["queues"].get(queues)) return 1;
  std::printf("%-40s %8s %8s %-8s %-9s %s\n", "QUEUE", "SIZE", "LIMIT", "STATE", "CONNECTED",
              "BINDINGS");
  for (auto q : queues) {
    std::string bindings;
    simdjson::dom::array list;
    if (!q["bindings"].get(list)) {
      for (auto b : list) {
        std::string_view s;
        if (!b.get(s)) bindings += (bindings.empty() ? "" : ",") + std::string(s);
      }
    }
    const char* state = flag(q, "unbounded") ? "unbounded" : flag(q, "warning") ? "warning" : "ok";
    std::printf("%-40s %8llu %8llu %-8s %-9s %s\n", str(q, "queue").c_str(),
                static_cast<unsigned long long>(num(q, "size")),
                static_cast<unsigned long long>(num(q, "limit")), state,
                flag(q, "connected") ? "yes" : "no", bindings.c_str());
  }
  return 0;
}

int print_exchanges(const std::string& body) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::dom::array list;
  if (parser.parse(body).get(doc) || doc["exchanges"].get(list)) return 1;
  std::printf("%-48s %-16s %10s %10s %s\n", "EXCHANGE", "OWNER", "MESSAGES", "MSG/S", "DECLARED");
  for (auto e : list) {
    double rate = 0;
    if (e["messages_per_s"].get(rate)) rate = 0;
    std::printf("%-48s %-16s %10llu %10.2f %s\n", str(e, "exchange").c_str(), str(e, "owner").c_str(),
                static_cast<unsigned long long>(num(e, "messages")), rate,
                flag(e, "declared") ? "yes" : "no");
  }
  return 0;
}

int print_connections(const std::string& body) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::dom::array users;
  if (parser.parse(body).get(doc) || doc["users"].get(users)) return 1;
  std::printf("%-24s %s\n", "USER", "CONNECTIONS");
  for (auto u : users) {
    std::printf("%-24s %llu\n", str(u, "user").c_str(),
                static_cast<unsigned long long>(num(u, "connections")));
  }
  std::printf("%-24s %llu\n", "(anonymous)", static_cast<unsigned long long>(num(doc, "anonymous")));
  return 0;
}

}  // namespace

bool is_remote_command(const std::string& group) {
  return group == "queue" || group == "exchange" || group == "connections";
}

int run_remote_command(const RemoteCommand& c) {
  const std::string& group = c.words.at(0);
  const std::string verb = c.words.size() > 1 ? c.words[1] : "";
  auto arg = [&](size_t i, const char* what) -> const std::string& {
    if (c.words.size() <= i) throw RemoteError(fmt::format("missing {}", what));
    return c.words[i];
  };
  const std::string user_query = c.user ? "?user=" + *c.user : "";
  ApiReply r;
  int (*print)(const std::string&) = nullptr;
  if (group == "connections") {
    r = call_admin_api(c.data_dir, "GET", "/api/v1/admin/connections");
    print = print_connections;
  } else if (group == "queue" && verb == "list") {
    r = call_admin_api(c.data_dir, "GET", "/api/v1/admin/queues" + user_query);
    print = print_queues;
  } else if (group == "queue" && verb == "delete") {
    r = call_admin_api(c.data_dir, "DELETE", "/api/v1/admin/queues/" + arg(2, "QUEUE"));
  } else if (group == "queue" && verb == "unbounded") {
    const std::string value = c.words.size() > 3 ? c.words[3] : "true";
    if (value != "true" && value != "false") throw RemoteError("expected true or false");
    r = call_admin_api(c.data_dir, "PATCH", "/api/v1/admin/queues/" + arg(2, "QUEUE"),
                       fmt::format(R"({{"unbounded":{}}})", value));
  } else if (group == "exchange" && verb == "list") {
    r = call_admin_api(c.data_dir, "GET", "/api/v1/admin/exchanges" + user_query);
    print = print_exchanges;
  } else if (group == "exchange" && verb == "declare") {
    JsonWriter w;
    w.begin_object().member("owner", arg(2, "OWNER")).member("name", arg(3, "NAME")).end_object();
    r = call_admin_api(c.data_dir, "POST", "/api/v1/admin/exchanges", w.str());
  } else if (group == "exchange" && verb == "delete") {
    r = call_admin_api(c.data_dir, "DELETE",
                       fmt::format("/api/v1/admin/exchanges/{}/{}", arg(2, "OWNER"), arg(3, "NAME")));
  } else {
    throw RemoteError(fmt::format("unknown command: {} {}", group, verb));
  }
  if (r.status >= 300) return refused(r);
  if (c.json || !print) {
    std::printf("%s\n", r.body.c_str());
    return 0;
  }
  return print(r.body) == 0 ? 0 : refused(r);
}

}  // namespace hydrant::admin
