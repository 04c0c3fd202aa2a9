// The users file: JSON written with JsonWriter and read with simdjson. See user_db.hpp.
#include "auth/user_db.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <simdjson.h>

#include "base/json_writer.hpp"
#include "util/files.hpp"

namespace hydrant::auth {

namespace {

constexpr uint64_t kFormat = 1;

std::vector<std::string> strings(simdjson::dom::element e, const std::string& what) {
  std::vector<std::string> out;
  simdjson::dom::array array;
  if (e.get(array)) throw UserDbError(what + " must be an array");
  for (auto item : array) {
    std::string_view s;
    if (item.get(s)) throw UserDbError(what + " must hold strings");
    out.emplace_back(s);
  }
  return out;
}

UserRecord parse_user(simdjson::dom::object o, const std::string& path) {
  UserRecord u;
  std::string_view name, hash;
  if (o["name"].get(name) || name.empty()) throw UserDbError(path + ": a user without a name");
  u.name = name;
  const std::string where = fmt::format("{}: user {}: ", path, name);
  if (o["token_sha256"].get(hash)) throw UserDbError(where + "token_sha256 missing");
  auto h = hash_from_hex(hash);
  if (!h) throw UserDbError(where + "token_sha256 is not 64 hex digits");
  u.token_hash = *h;
  if (o["epoch"].get(u.epoch)) throw UserDbError(where + "epoch missing");
  if (auto c = o["created"]; !c.error() && c.get(u.created)) {
    throw UserDbError(where + "created must be a number");
  }
  if (auto r = o["tokens_rotated"]; !r.error() && r.get(u.tokens_rotated)) {
    throw UserDbError(where + "tokens_rotated must be a number");
  }
  if (auto owners = o["owners"]; !owners.error()) u.owners = strings(owners.value(), where + "owners");
  if (auto q = o["unbounded_queues"]; !q.error()) {
    u.unbounded_queues = strings(q.value(), where + "unbounded_queues");
  }
  return u;
}

void write_user(JsonWriter& w, const UserRecord& u) {
  w.begin_object().member("name", u.name).key("owners").begin_array();
  for (const auto& o : u.owners) w.value(o);
  w.end_array()
      .member("token_sha256", to_hex(u.token_hash))
      .member("epoch", u.epoch)
      .member("created", u.created)
      .member("tokens_rotated", u.tokens_rotated)
      .key("unbounded_queues")
      .begin_array();
  for (const auto& q : u.unbounded_queues) w.value(q);
  w.end_array().end_object();
}

}  // namespace

std::string user_json(const UserRecord& u) {
  JsonWriter w;
  write_user(w, u);
  return w.take();
}

UserRecord parse_user_json(std::string_view text, const std::string& where) {
  simdjson::dom::parser parser;
  simdjson::dom::object o;
  if (auto err = parser.parse(text.data(), text.size()).get(o)) {
    throw UserDbError(fmt::format("{}: not a JSON object ({})", where, simdjson::error_message(err)));
  }
  return parse_user(o, where);
}

const UserRecord* UserTable::find(std::string_view name) const {
  auto it = std::lower_bound(users.begin(), users.end(), name,
                             [](const UserRecord& u, std::string_view n) { return u.name < n; });
  return it != users.end() && it->name == name ? &*it : nullptr;
}

UserRecord* UserTable::find(std::string_view name) {
  return const_cast<UserRecord*>(std::as_const(*this).find(name));
}

void UserTable::put(UserRecord record) {
  auto it = std::lower_bound(users.begin(), users.end(), record.name,
                             [](const UserRecord& u, const std::string& n) { return u.name < n; });
  if (it != users.end() && it->name == record.name) {
    *it = std::move(record);
  } else {
    users.insert(it, std::move(record));
  }
}

bool UserTable::erase(std::string_view name) {
  auto* u = find(name);
  if (!u) return false;
  users.erase(users.begin() + (u - users.data()));
  return true;
}

std::string users_path(const std::string& data_dir) { return data_dir + "/" + kUsersFile; }

UserTable load_users(const std::string& path) {
  bool exists = false;
  const std::string text = util::read_file(path, exists);
  UserTable table;
  if (!exists) return table;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto err = parser.parse(text).get(doc)) {
    throw UserDbError(fmt::format("{}: not valid JSON ({})", path, simdjson::error_message(err)));
  }
  uint64_t format = 0;
  if (doc["format"].get(format)) throw UserDbError(path + ": no format number");
  if (format != kFormat) {
    throw UserDbError(fmt::format("{}: format {} is not one this hydrant reads ({})", path, format,
                                  kFormat));
  }
  simdjson::dom::array users;
  if (doc["users"].get(users)) throw UserDbError(path + ": users must be an array");
  if (auto serial = doc["serial"]; !serial.error() && serial.get(table.serial)) {
    throw UserDbError(path + ": serial must be a number");
  }
  for (auto u : users) {
    simdjson::dom::object o;
    if (u.get(o)) throw UserDbError(path + ": a user must be an object");
    auto record = parse_user(o, path);
    if (table.find(record.name)) throw UserDbError(path + ": user " + record.name + " twice");
    table.put(std::move(record));
  }
  return table;
}

void save_users(const std::string& path, const UserTable& table) {
  JsonWriter w;
  w.begin_object().member("format", kFormat).member("serial", table.serial).key("users").begin_array();
  for (const auto& u : table.users) write_user(w, u);
  w.end_array().end_object();
  std::string text = w.take();
  text += '\n';
  try {
    util::write_file_atomically(path, text, 0600);
  } catch (const std::runtime_error& e) {
    throw UserDbError(e.what());
  }
}

UsersLock::UsersLock(const std::string& data_dir) {
  const std::string path = data_dir + "/users.lock";
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0) throw UserDbError(fmt::format("{}: {}", path, std::strerror(errno)));
  while (::flock(fd_, LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    ::close(fd_);
    throw UserDbError(fmt::format("{}: lock: {}", path, std::strerror(errno)));
  }
}

UsersLock::~UsersLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the lock
}

std::string read_or_create_secret(const std::string& path, size_t bytes, bool& created) {
  created = false;
  bool exists = false;
  std::string text = util::read_file(path, exists);
  if (exists) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
      text.pop_back();
    }
    if (text.size() < 32) throw UserDbError(path + ": the secret is shorter than 32 characters");
    return text;
  }
  const std::string hex = to_hex(random_bytes(bytes));
  // O_EXCL: two processes starting at once must not each write their own secret.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return read_or_create_secret(path, bytes, created);
    throw UserDbError(fmt::format("{}: {}", path, std::strerror(errno)));
  }
  const std::string line = hex + "\n";
  const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
                       ::fsync(fd) == 0;
  ::close(fd);
  if (!written) throw UserDbError(fmt::format("{}: {}", path, std::strerror(errno)));
  created = true;
  return hex;
}

}  // namespace hydrant::auth
