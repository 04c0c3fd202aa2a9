// hydrant-hg's two modes. Each returns the process exit status (options.hpp's codes).
//   hook: run by Mercurial as a `changegroup` hook; publishes the push it was run for and
//         returns only once the broker confirmed it (or the deadline passed: kExitUnflushed).
//   poll: follows a repository's json-pushes and publishes every new push, in push id order,
//         recording the last confirmed push id in a state file.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "options.hpp"

namespace hydrant::publishers::hg {

struct HookOptions {
  std::string repo_path;                  // the repository (default: the cwd Mercurial gives hooks)
  std::string repo_root;                  // the routing key is repo_path relative to it
  std::string base_url;                   // repo_url = base_url + "/" + routing key
  std::string routing_key;                // overrides the path-derived one
  std::optional<uint64_t> push_id;        // else from the pushlog extension (hg), else left out
  std::optional<std::string> push_user;   // else pushlog, else $REMOTE_USER, else $USER
  std::optional<int64_t> push_date;       // else pushlog, else now
  bool use_hg = true;                     // run `hg log` for heads and the pushlog entry
  std::chrono::seconds timeout{30};       // connect + confirm, then give up (exit 3)
  bool verbose = false;                   // every log line even on success (else one line)
};

struct PollOptions {
  std::string url;                        // https://hg.mozilla.org/try
  std::string state_file;                 // the last confirmed push id
  std::string routing_key;                // overrides the URL's path
  std::chrono::seconds interval{60};
  std::chrono::seconds http_timeout{30};
  uint64_t batch = 200;                   // pushes asked for per request (endID = startID + batch)
  bool once = false;
  bool from_start = false;
};

int run_hook(const HookOptions& ho, const CommonOptions& co);
int run_poll(const PollOptions& po, const CommonOptions& co);

}  // namespace hydrant::publishers::hg
