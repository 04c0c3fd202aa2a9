// What hydrant-hg publishes: one hgpushes-v2 style message per push,
//   {"type":"changegroup.1","data":{"repo_url","heads","pushlog_pushes":[{"time","pushid",
//    "user","push_json_url","push_full_json_url"}],"source"}}
// on exchange/<client-id>/<exchange>/<repository path as one word>, and reading hg.mozilla.org's
// json-pushes?version=2 answers into pushes. Pure: no I/O, no clock — the hook and the poller
// (hg_hook.cpp, hg_poll.cpp) gather the facts and hand them here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hydrant::publishers::hg {

// One push as the message tells it. Optional fields are left out of the JSON when unknown.
struct Push {
  std::string repo_url;               // https://hg.mozilla.org/try (no trailing '/')
  std::vector<std::string> heads;     // the push's heads, full 40-hex nodes
  std::optional<uint64_t> push_id;    // the pushlog id
  std::optional<int64_t> time;        // the push's date, as pushlog gives it (epoch seconds)
  std::optional<std::string> user;    // who pushed
  std::optional<std::string> source;  // HG_SOURCE: "serve" for a push from a client
};

// The message payload (one line of JSON).
std::string encode_push_message(const Push& push);

// "https://hg.mozilla.org/try/" -> "https://hg.mozilla.org/try"
std::string trim_url(std::string_view url);

// The repository path of a repository URL: "https://hg.mozilla.org/integration/autoland" ->
// "integration/autoland"; "" when the URL has no path.
std::string repo_path_of_url(std::string_view url);

// <repo>/json-pushes?version=2[&full=1]&startID=<id-1>&endID=<id>: the pushlog entry of one push.
std::string push_json_url(std::string_view repo_url, uint64_t push_id, bool full);

// A json-pushes?version=2 answer: its lastpushid and its pushes in increasing id order.
struct Pushlog {
  uint64_t last_push_id = 0;
  std::vector<Push> pushes;  // repo_url and source are left for the caller
};
// nullopt, with `why` set, when the answer is not such JSON. A push without an id that is a
// number, or without changesets, is left out (and counted in `skipped`).
std::optional<Pushlog> parse_pushlog(std::string_view body, std::string& why, size_t& skipped);

}  // namespace hydrant::publishers::hg
