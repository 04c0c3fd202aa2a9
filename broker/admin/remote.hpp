// Talking to the broker that runs on a data directory, for the subcommands that need its live
// state (queues, exchanges, connections): the broker writes <data>/runtime.json with its HTTP
// listeners when it starts; the subcommand reads it and <data>/admin-token and calls the admin
// API over loopback.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace hydrant::admin {

struct ApiReply {
  int status = 0;
  std::string body;
};

struct RemoteError : std::runtime_error {
  using runtime_error::runtime_error;
};

// Written by the broker once it listens and after each reload of the users file, removed when it
// stops. `http` holds HOST:PORT of its plain HTTP listeners; `users_serial` the serial of the
// users file it applies.
void write_runtime_file(const std::string& data_dir, const std::vector<std::string>& http,
                        uint64_t users_serial);
// After a subcommand changed the users file: when a broker runs on `data_dir`, waits (up to
// 5 s) until it reports having applied `serial`; false if it did not in time.
bool wait_until_applied(const std::string& data_dir, uint64_t serial);
void remove_runtime_file(const std::string& data_dir);

// One admin API request to the broker on `data_dir`. Throws RemoteError when no broker runs
// there, it has no HTTP listener, or the connection fails.
ApiReply call_admin_api(const std::string& data_dir, std::string_view method, std::string_view path,
                        std::string_view body = {});

}  // namespace hydrant::admin
