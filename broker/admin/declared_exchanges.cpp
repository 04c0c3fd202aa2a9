// Declared exchanges on disk; see declared_exchanges.hpp.
#include "admin/declared_exchanges.hpp"

#include <stdexcept>

#include <fmt/format.h>
#include <simdjson.h>

#include "base/json_writer.hpp"
#include "pulse/mapping.hpp"
#include "util/files.hpp"

namespace hydrant::admin {

namespace {
std::string path_in(const std::string& data_dir) { return data_dir + "/exchanges.json"; }
}  // namespace

size_t load_declared_exchanges(const std::string& data_dir, pulse::ExchangeRegistry& registry) {
  const std::string path = path_in(data_dir);
  bool exists = false;
  const std::string text = util::read_file(path, exists);
  if (!exists) return 0;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::dom::array list;
  uint64_t format = 0;
  if (parser.parse(text).get(doc) || doc["format"].get(format) || format != 1 ||
      doc["exchanges"].get(list)) {
    throw std::runtime_error(fmt::format("{}: not a format-1 exchanges file", path));
  }
  size_t n = 0;
  for (auto e : list) {
    std::string_view owner, name;
    int64_t created = 0;
    if (e["owner"].get(owner) || e["name"].get(name) || e["created"].get(created) ||
        !pulse::valid_client_id(owner) || !pulse::valid_exchange_name(name)) {
      throw std::runtime_error(fmt::format("{}: a bad exchange entry", path));
    }
    n += registry.declare(owner, name, created) ? 1 : 0;
  }
  return n;
}

void save_declared_exchanges(const std::string& data_dir, const pulse::ExchangeRegistry& registry) {
  JsonWriter w;
  w.begin_object().member("format", 1).key("exchanges").begin_array();
  for (const auto& e : registry.list()) {
    if (!e.declared) continue;
    w.begin_object().member("owner", e.owner).member("name", e.name).member("created", e.created).end_object();
  }
  w.end_array().end_object();
  util::write_file_atomically(path_in(data_dir), w.str() + "\n", 0644);
}

}  // namespace hydrant::admin
