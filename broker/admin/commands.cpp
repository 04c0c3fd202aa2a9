// `hydrant user ...` and `hydrant token ...`; see commands.hpp.
#include "admin/commands.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "admin/audit.hpp"
#include "admin/commands_remote.hpp"
#include "admin/remote.hpp"
#include "admin/users.hpp"
#include "base/json_writer.hpp"
#include "auth/jwt.hpp"
#include "config/config.hpp"
#include "store/log_check.hpp"
#include "store/segment_log.hpp"
#include "util/wall_clock.hpp"

namespace hydrant::admin {

namespace {

constexpr const char* kUsage =
    "usage: hydrant user add NAME [--owner EMAIL]...    create a publisher; prints its token last\n"
    "       hydrant user list                           users, owners, creation time\n"
    "       hydrant user show NAME\n"
    "       hydrant user owners NAME EMAIL...           replace the owners' addresses\n"
    "       hydrant user delete NAME                    closes its connections at once\n"
    "       hydrant token rotate NAME                   new token, last line; the old one stops\n"
    "       hydrant token sign NAME [--ttl 1h] [--scope publish|subscribe]\n"
    "                                                   a signed token (HS256 JWT)\n"
    "       hydrant queue list [--user NAME]            queues of the running broker\n"
    "       hydrant queue delete QUEUE | queue unbounded QUEUE [true|false]\n"
    "       hydrant exchange list [--user NAME] | exchange declare|delete OWNER NAME\n"
    "       hydrant connections                         connections per user\n"
    "       hydrant store check                         damage in the message log (exit 1 if any)\n"
    "       hydrant store repair                        set damage aside, keep every intact record\n"
    "options: --data DIR (default ./hydrant-data), --config FILE (for data, reserved-names,\n"
    "         token-secret-file), --json (machine-readable output)\n";

struct Args {
  std::vector<std::string> words;   // positional: "user", "add", "NAME", ...
  std::vector<std::string> owners;  // --owner, repeatable
  std::optional<std::string> data, config_file, ttl, scope, user;
  bool json = false;
  bool help = false;
};

struct UsageError : std::runtime_error {
  using runtime_error::runtime_error;
};

Args parse(int argc, const char* const* argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&](std::optional<std::string>& out) {
      if (i + 1 >= argc) throw UsageError(fmt::format("{} needs a value", arg));
      out = argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      a.help = true;
    } else if (arg == "--json") {
      a.json = true;
    } else if (arg == "--owner") {
      std::optional<std::string> o;
      value(o);
      a.owners.push_back(*o);
    } else if (arg == "--data") {
      value(a.data);
    } else if (arg == "--config") {
      value(a.config_file);
    } else if (arg == "--ttl") {
      value(a.ttl);
    } else if (arg == "--scope") {
      value(a.scope);
    } else if (arg == "--user") {
      value(a.user);
    } else if (arg.starts_with("--")) {
      throw UsageError(fmt::format("unknown option {}", arg));
    } else {
      a.words.emplace_back(arg);
    }
  }
  return a;
}

config::Config load_config(const Args& a) {
  config::CommandLine cli;
  cli.config_file = a.config_file;
  if (a.data) cli.overrides.emplace_back("data", *a.data);
  return config::load(cli);
}

std::string actor() {
  const passwd* pw = ::getpwuid(::geteuid());
  return fmt::format("cli:{}", pw ? pw->pw_name : std::to_string(::geteuid()));
}

// "300", "90s", "5m", "2h", "1d" -> seconds.
int64_t parse_ttl(const std::string& text) {
  size_t used = 0;
  int64_t n = 0;
  try {
    n = std::stoll(text, &used);
  } catch (const std::exception&) {
    throw UsageError(fmt::format("--ttl: expected 300, 90s, 5m, 2h or 1d, got '{}'", text));
  }
  const std::string_view unit = std::string_view(text).substr(used);
  int64_t scale = 0;
  if (unit.empty() || unit == "s") scale = 1;
  if (unit == "m") scale = 60;
  if (unit == "h") scale = 3600;
  if (unit == "d") scale = 86400;
  if (scale == 0 || n <= 0 || n > 366 * 86400 / scale) {
    throw UsageError(fmt::format("--ttl: expected 300, 90s, 5m, 2h or 1d, got '{}'", text));
  }
  return n * scale;
}

void print_user(const auth::UserRecord& u) {
  std::printf("%-24s owners=%s created=%s token_generation=%llu\n", u.name.c_str(),
              fmt::format("{}", fmt::join(u.owners, ",")).c_str(), util::iso8601_of_unix(u.created).c_str(),
              static_cast<unsigned long long>(u.epoch));
}

const std::string& need(const Args& a, size_t index, const char* what) {
  if (a.words.size() <= index) throw UsageError(fmt::format("missing {}", what));
  return a.words[index];
}

int token_out(const Args& a, std::string_view name, const std::string& token,
              std::string_view note) {
  if (a.json) {
    JsonWriter w;
    w.begin_object().member("name", name).member("token", token).end_object();
    std::printf("%s\n", w.str().c_str());
  } else {
    std::fprintf(stderr, "%.*s\n", static_cast<int>(note.size()), note.data());
    std::printf("%s\n", token.c_str());
  }
  return 0;
}

// `store check` / `store repair` on <data>/log: each damaged range, what it lost. Exit 1 when
// check finds damage, so scripts and monitoring can act on it.
int store_command(const std::string& verb, const std::string& data_dir) {
  const std::string dir = data_dir + "/log";
  if (verb != "check" && verb != "repair") throw UsageError(fmt::format("unknown command: store {}", verb));
  store::LogCheck found;
  store::LogRepair repaired;
  if (verb == "check") {
    found = store::check_log(dir);
  } else {
    // Never under a running broker: it holds the data directory's lock.
    const std::string lock = data_dir + "/hydrant.lock";
    const int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 || ::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      throw AdminError(fmt::format("{} is in use by a running hydrant; stop it first", data_dir),
                       AdminError::Kind::Conflict);
    }
    repaired = store::repair_log(dir);
    found = repaired.found;
  }
  for (const auto& d : found.damage) {
    std::printf("damaged: %s bytes %llu-%llu (%s): sequences after %llu %s\n", d.file.c_str(),
                static_cast<unsigned long long>(d.offset), static_cast<unsigned long long>(d.end),
                d.what.c_str(), static_cast<unsigned long long>(d.after_sequence),
                d.before_sequence ? fmt::format("and before {}", d.before_sequence).c_str()
                                  : "to the end of the log");
  }
  std::printf("%s: %llu segments, %llu intact records, %zu damaged ranges\n", dir.c_str(),
              static_cast<unsigned long long>(found.segments),
              static_cast<unsigned long long>(found.records), found.damage.size());
  if (verb == "check") return found.damage.empty() ? 0 : 1;
  for (const auto& f : repaired.rewritten) std::printf("rewritten with its intact records: %s\n", f.c_str());
  if (!repaired.aside.empty()) std::printf("damaged segments kept as they were in %s\n", repaired.aside.c_str());
  if (found.damage.empty()) std::printf("nothing to repair\n");
  return 0;
}

// `user add|list|show|owners|delete`.
int user_command(const Args& a, const std::string& verb, const UserStore& store) {
  if (verb == "add") {
    const auto& name = need(a, 2, "NAME");
    const auto token = add_user(store, name, a.owners);
    return token_out(a, name, token,
                     fmt::format("user {} created; its access token (the MQTT password), shown "
                                 "only this once:", name));
  }
  if (verb == "list") {
    const auto table = read_users(store);
    if (a.json) {
      JsonWriter w;
      w.begin_object().key("users").begin_array();
      for (const auto& u : table.users) write_user_json(w, u);
      w.end_array().end_object();
      std::printf("%s\n", w.str().c_str());
    } else {
      for (const auto& u : table.users) print_user(u);
      if (table.users.empty()) std::fprintf(stderr, "no users\n");
    }
    return 0;
  }
  if (verb == "show") {
    const auto& name = need(a, 2, "NAME");
    const auto table = read_users(store);
    const auto* u = table.find(name);
    if (!u) throw AdminError(fmt::format("no user '{}'", name), AdminError::Kind::NotFound);
    if (a.json) {
      JsonWriter w;
      write_user_json(w, *u);
      std::printf("%s\n", w.str().c_str());
    } else {
      print_user(*u);
    }
    return 0;
  }
  if (verb == "owners") {
    const auto& name = need(a, 2, "NAME");
    std::vector<std::string> owners(a.words.begin() + 3, a.words.end());
    owners.insert(owners.end(), a.owners.begin(), a.owners.end());
    set_owners(store, name, owners);
    std::fprintf(stderr, "owners of %s: %s\n", name.c_str(),
                 fmt::format("{}", fmt::join(owners, ", ")).c_str());
    return 0;
  }
  if (verb == "delete") {
    const auto& name = need(a, 2, "NAME");
    delete_user(store, name);
    std::fprintf(stderr, "user %s deleted\n", name.c_str());
    return 0;
  }
  throw UsageError(fmt::format("unknown command: user {}", verb));
}

// `token sign NAME`: an HS256 token for an existing user, within signed-token-max-hours.
int sign_token(const Args& a, const config::Config& cfg, const UserStore& store) {
  const auto& name = need(a, 2, "NAME");
  auth::Claims claims;
  claims.subject = name;
  claims.issued_at = util::unix_seconds();
  const int64_t ttl = a.ttl ? parse_ttl(*a.ttl) : int64_t{cfg.signed_token_default_hours} * 3600;
  if (ttl > int64_t{cfg.signed_token_max_hours} * 3600) {
    throw UsageError(fmt::format("--ttl {}: longer than signed-token-max-hours ({} h); the broker "
                                 "would refuse the token", *a.ttl, cfg.signed_token_max_hours));
  }
  claims.expires_at = claims.issued_at + ttl;
  if (a.scope && !auth::parse_scope(*a.scope, claims.scope)) {
    throw UsageError("--scope: expected publish or subscribe");
  }
  const auto table = read_users(store);
  if (!table.find(name)) throw AdminError(fmt::format("no user '{}'", name), AdminError::Kind::NotFound);
  bool created = false;
  const std::string secret = auth::read_or_create_secret(
      cfg.token_secret_file.empty() ? cfg.data_dir + "/token-secret" : cfg.token_secret_file, 32,
      created);
  const std::string jwt = auth::sign_jwt(
      claims, {reinterpret_cast<const uint8_t*>(secret.data()), secret.size()});
  audit(cfg.data_dir, store.actor, "token-sign", name,
        fmt::format("scope={} expires={}", auth::scope_name(claims.scope),
                    util::iso8601_of_unix(claims.expires_at)));
  return token_out(a, name, jwt,
                   fmt::format("signed token for {}, scope {}, valid until {}:", name,
                               auth::scope_name(claims.scope), util::iso8601_of_unix(claims.expires_at)));
}

int run(const Args& a) {
  const std::string& group = need(a, 0, "command");
  const config::Config cfg = load_config(a);
  if (group == "store") return store_command(need(a, 1, "subcommand"), cfg.data_dir);
  if (is_remote_command(group)) {
    return run_remote_command(RemoteCommand{a.words, a.user, a.json, cfg.data_dir});
  }
  const std::string& verb = need(a, 1, "subcommand");
  const std::string data_dir = cfg.data_dir;
  const UserStore store{cfg.data_dir, cfg.reserved_names, actor(), [data_dir](uint64_t serial) {
                          if (!wait_until_applied(data_dir, serial)) {
                            std::fprintf(stderr, "hydrant: warning: the broker running on %s has "
                                                 "not applied the change yet\n", data_dir.c_str());
                          }
                        }};
  std::filesystem::create_directories(cfg.data_dir);
  if (group == "user") return user_command(a, verb, store);
  if (group == "token" && verb == "rotate") {
    const auto& name = need(a, 2, "NAME");
    const auto token = rotate_token(store, name);
    return token_out(a, name, token,
                     fmt::format("new access token of {} (the old one no longer works):", name));
  }
  if (group == "token" && verb == "sign") return sign_token(a, cfg, store);
  throw UsageError(fmt::format("unknown command: {} {}", group, verb));
}

}  // namespace

bool is_admin_command(int argc, const char* const* argv) {
  if (argc < 2) return false;
  const std::string_view first = argv[1];
  return first == "user" || first == "token" || first == "store" || is_remote_command(std::string(first));
}

int run_admin_command(int argc, const char* const* argv) {
  try {
    const Args args = parse(argc, argv);
    if (args.help) {
      std::fputs(kUsage, stdout);
      return 0;
    }
    return run(args);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "hydrant: %s\n%s", e.what(), kUsage);
    return 2;
  } catch (const RemoteError& e) {
    std::fprintf(stderr, "hydrant: %s\n", e.what());
    return 1;
  } catch (const AdminError& e) {
    std::fprintf(stderr, "hydrant: %s\n", e.what());
    return 1;
  } catch (const config::ConfigError& e) {
    std::fprintf(stderr, "hydrant: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hydrant: %s\n", e.what());
    return 1;
  }
}

}  // namespace hydrant::admin
