// `hydrant queue ...`, `hydrant exchange ...` and `hydrant connections`: the subcommands that
// show or change the live state of the broker running on a data directory, through its admin
// API (admin/remote.hpp). Output for people, or the API's JSON with --json.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace hydrant::admin {

struct RemoteCommand {
  std::vector<std::string> words;  // "queue", "list" | "exchange", "declare", OWNER, NAME | ...
  std::optional<std::string> user; // --user NAME
  bool json = false;
  std::string data_dir;
};

bool is_remote_command(const std::string& group);
// The exit status: 0, 1 when the broker refused (its message printed), 2 for a usage error.
int run_remote_command(const RemoteCommand& c);

}  // namespace hydrant::admin
