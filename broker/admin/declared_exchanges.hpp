// Exchanges declared through the admin API, kept in <data>/exchanges.json so that a name of
// several levels (`v1/change-merged`) survives a restart; exchanges registered by a first publish
// are registered again by the next one and need no record.
#pragma once

#include <string>
#include <vector>

#include "pulse/exchange_registry.hpp"

namespace hydrant::admin {

// Declares every exchange of the file in `registry`; a missing file declares none. Throws
// std::runtime_error when the file does not parse.
size_t load_declared_exchanges(const std::string& data_dir, pulse::ExchangeRegistry& registry);
// Writes the registry's declared exchanges to the file (atomically). Throws std::runtime_error.
void save_declared_exchanges(const std::string& data_dir, const pulse::ExchangeRegistry& registry);

}  // namespace hydrant::admin
