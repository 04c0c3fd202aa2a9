// hgpushes messages and json-pushes answers. See hg_push.hpp.
#include "hg_push.hpp"

#include <algorithm>
#include <charconv>
#include <set>

#include <fmt/format.h>
#include <simdjson.h>

#include "base/json_writer.hpp"

namespace hydrant::publishers::hg {

namespace {

std::optional<uint64_t> parse_id(std::string_view text) {
  uint64_t n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size()) return std::nullopt;
  return n;
}

// A changeset in a json-pushes answer: a node string (version=2 without full) or an object
// with "node" (full=1) and, from newer servers, "parents".
std::optional<std::string> node_of(simdjson::dom::element cs, std::vector<std::string>* parents) {
  std::string_view s;
  if (cs.get_string().get(s) == simdjson::SUCCESS) return std::string(s);
  if (cs["node"].get_string().get(s) != simdjson::SUCCESS) return std::nullopt;
  simdjson::dom::array ps;
  if (parents && cs["parents"].get_array().get(ps) == simdjson::SUCCESS) {
    for (auto p : ps) {
      std::string_view pn;
      if (p.get_string().get(pn) == simdjson::SUCCESS) parents->emplace_back(pn);
    }
  }
  return std::string(s);
}

// The heads of one push: its changesets that no other changeset of the push has as parent, in
// push order. Without parents (older answers) the last changeset, which is the tip of a linear
// push — the one that hgpushes names.
std::vector<std::string> heads_of(const std::vector<std::string>& nodes,
                                  const std::vector<std::string>& parents) {
  if (parents.empty()) return {nodes.back()};
  const std::set<std::string> is_parent(parents.begin(), parents.end());
  std::vector<std::string> heads;
  for (const auto& n : nodes) {
    if (!is_parent.contains(n)) heads.push_back(n);
  }
  if (heads.empty()) heads.push_back(nodes.back());
  return heads;
}

}  // namespace

std::string trim_url(std::string_view url) {
  while (!url.empty() && url.back() == '/') url.remove_suffix(1);
  return std::string(url);
}

std::string repo_path_of_url(std::string_view url) {
  const size_t scheme = url.find("://");
  const size_t host_start = scheme == std::string_view::npos ? 0 : scheme + 3;
  const size_t slash = url.find('/', host_start);
  if (slash == std::string_view::npos) return "";
  std::string_view path = url.substr(slash + 1);
  if (const size_t q = path.find_first_of("?#"); q != std::string_view::npos) path = path.substr(0, q);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  return std::string(path);
}

std::string push_json_url(std::string_view repo_url, uint64_t push_id, bool full) {
  return fmt::format("{}/json-pushes?version=2{}&startID={}&endID={}", repo_url, full ? "&full=1" : "",
                     push_id == 0 ? 0 : push_id - 1, push_id);
}

std::string encode_push_message(const Push& push) {
  JsonWriter w;  // the broker's JSON writer: escaping in one place
  w.begin_object().member("type", "changegroup.1").key("data").begin_object();
  w.member("repo_url", push.repo_url).key("heads").begin_array();
  for (const auto& h : push.heads) w.value(h);
  w.end_array().key("pushlog_pushes").begin_array().begin_object();
  if (push.time) w.member("time", static_cast<int64_t>(*push.time));
  if (push.push_id) w.member("pushid", static_cast<uint64_t>(*push.push_id));
  if (push.user) w.member("user", *push.user);
  if (push.push_id && (push.repo_url.starts_with("https://") || push.repo_url.starts_with("http://"))) {
    w.member("push_json_url", push_json_url(push.repo_url, *push.push_id, false));
    w.member("push_full_json_url", push_json_url(push.repo_url, *push.push_id, true));
  }
  w.end_object().end_array();
  if (push.source) w.member("source", *push.source);
  w.end_object().end_object();
  return w.take();
}

std::optional<Pushlog> parse_pushlog(std::string_view body, std::string& why, size_t& skipped) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto err = parser.parse(simdjson::padded_string(body)).get(root)) {
    why = fmt::format("not JSON: {}", simdjson::error_message(err));
    return std::nullopt;
  }
  Pushlog log;
  simdjson::dom::object pushes;
  if (root["pushes"].get_object().get(pushes) != simdjson::SUCCESS) {
    why = "no \"pushes\" object (not a json-pushes?version=2 answer)";
    return std::nullopt;
  }
  if (root["lastpushid"].get_uint64().get(log.last_push_id) != simdjson::SUCCESS) {
    why = "no numeric \"lastpushid\" (not a json-pushes?version=2 answer)";
    return std::nullopt;
  }
  skipped = 0;
  for (auto [id_text, entry] : pushes) {
    const auto id = parse_id(id_text);
    simdjson::dom::array changesets;
    if (!id || entry["changesets"].get_array().get(changesets) != simdjson::SUCCESS) {
      ++skipped;
      continue;
    }
    std::vector<std::string> nodes, parents;
    for (auto cs : changesets) {
      if (auto n = node_of(cs, &parents)) nodes.push_back(std::move(*n));
    }
    if (nodes.empty()) {
      ++skipped;
      continue;
    }
    Push p;
    p.push_id = *id;
    p.heads = heads_of(nodes, parents);
    int64_t date = 0;
    if (entry["date"].get_int64().get(date) == simdjson::SUCCESS) p.time = date;
    std::string_view user;
    if (entry["user"].get_string().get(user) == simdjson::SUCCESS) p.user = std::string(user);
    log.pushes.push_back(std::move(p));
  }
  std::sort(log.pushes.begin(), log.pushes.end(),
            [](const Push& a, const Push& b) { return *a.push_id < *b.push_id; });
  return log;
}

}  // namespace hydrant::publishers::hg
