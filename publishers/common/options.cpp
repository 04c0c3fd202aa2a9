// Publisher options. See options.hpp.
#include "options.hpp"

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace hydrant::publishers {

namespace {

const char* kCommonHelp = R"(common options:
  --host HOST            broker address (127.0.0.1), or a URL: mqtts://HOST[:PORT] (TLS, the
                         default for a remote broker) or mqtt://HOST[:PORT] (plain, loopback)
  --port PORT            broker MQTT port (1883; 8883 with TLS)
  --tls                  MQTT over TLS (the broker's --mqtts listener), checking its certificate
  --cafile FILE          trust the CA certificates in FILE (PEM) instead of the system's
  --insecure             TLS without checking the certificate: for testing only
  --client-id NAME       the registered publisher (hydrant user add NAME); required
  --token-file FILE      its access token (else $HYDRANT_TOKEN)
  --exchange NAME        exchange under exchange/<client-id>/ (default: %s)
  --dry-run              print "topic<TAB>payload" lines instead of publishing
  --buffer N             messages kept while the broker is away (100000); input waits past it
  --window N             QoS 1 publishes awaiting PUBACK at once (64)
  --flush-timeout SECS   at exit, how long to wait for the broker to confirm what is left (10)
  --connect-timeout SECS one-shot runs: give up (exit 3) when the broker is not reachable
                         within SECS (30; 0 = keep trying)
  --heartbeat SECS       progress log line every SECS (60; 0 = off)
exit status: 0 done, 1 the source failed, 2 bad options, 3 unconfirmed messages left at exit,
4 the broker refused the credentials
)";

std::string read_token(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw UsageError(fmt::format("--token-file: cannot read {}", path));
  std::stringstream ss;
  ss << in.rdbuf();
  std::string t = ss.str();
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
  if (t.empty()) throw UsageError(fmt::format("--token-file: {} is empty", path));
  return t;
}

}  // namespace

uint64_t parse_number(std::string_view flag, std::string_view text, uint64_t min, uint64_t max) {
  uint64_t n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size() || n < min || n > max) {
    throw UsageError(fmt::format("{}: expected a number from {} to {}, got '{}'", flag, min, max, text));
  }
  return n;
}

CommonOptions parse_options(int argc, char** argv, std::string_view usage,
                            const std::vector<Flag>& flags, std::string default_exchange) {
  CommonOptions o;
  o.exchange = std::move(default_exchange);
  std::string token_file;
  uint16_t port_given = 0;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::string_view value;
    bool has_inline = false;
    if (auto eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_inline = true;
    }
    auto next = [&]() -> std::string_view {
      if (has_inline) return value;
      if (i + 1 >= argc) throw UsageError(fmt::format("{} needs a value", arg));
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      std::fwrite(usage.data(), 1, usage.size(), stdout);
      for (const auto& f : flags) {
        std::printf("  --%s%s  %s\n", f.name.c_str(), f.takes_value ? " VALUE" : "", f.help.c_str());
      }
      std::printf(kCommonHelp, o.exchange.c_str());
      std::exit(0);
    }
    bool matched = false;
    for (const auto& f : flags) {
      if (arg == "--" + f.name) {
        f.set(f.takes_value ? next() : std::string_view());
        matched = true;
        break;
      }
    }
    if (matched) continue;
    if (arg == "--host") o.host = next();
    else if (arg == "--port") port_given = static_cast<uint16_t>(parse_number(arg, next(), 1, 65535));
    else if (arg == "--tls") o.tls = true;
    else if (arg == "--cafile") o.cafile = next();
    else if (arg == "--insecure") o.insecure = true;
    else if (arg == "--client-id") o.client_id = next();
    else if (arg == "--token-file") token_file = next();
    else if (arg == "--exchange") o.exchange = next();
    else if (arg == "--dry-run") o.dry_run = true;
    else if (arg == "--buffer") o.buffer = parse_number(arg, next(), 1, 100000000);
    else if (arg == "--window") o.window = parse_number(arg, next(), 1, 65535);
    else if (arg == "--flush-timeout") o.flush_timeout = std::chrono::seconds(parse_number(arg, next(), 0, 86400));
    else if (arg == "--connect-timeout") o.connect_timeout = std::chrono::seconds(parse_number(arg, next(), 0, 86400));
    else if (arg == "--heartbeat") o.heartbeat = std::chrono::seconds(parse_number(arg, next(), 0, 86400));
    else throw UsageError(fmt::format("unknown option {} (see --help)", arg));
  }
  // --host mqtts://HOST[:PORT] (ssl://) or mqtt://HOST[:PORT] (tcp://)
  uint16_t url_port = 0;
  for (auto [scheme, tls] : {std::pair{"mqtts://", true}, {"ssl://", true}, {"mqtt://", false}, {"tcp://", false}}) {
    if (!o.host.starts_with(scheme)) continue;
    std::string rest = o.host.substr(std::string_view(scheme).size());
    if (!rest.empty() && rest.back() == '/') rest.pop_back();
    if (auto colon = rest.rfind(':'); colon != std::string::npos && rest.find(']', colon) == std::string::npos) {
      url_port = static_cast<uint16_t>(parse_number("--host", std::string_view(rest).substr(colon + 1), 1, 65535));
      rest.resize(colon);
    }
    if (tls) o.tls = true;
    else if (o.tls) throw UsageError("--tls with an mqtt:// URL: use mqtts://");
    o.host = rest;
    break;
  }
  if (o.host.empty() || o.host.find('/') != std::string::npos) {
    throw UsageError(fmt::format("--host: a host name, or mqtts://HOST[:PORT], got '{}'", o.host));
  }
  if (url_port && port_given && url_port != port_given) {
    throw UsageError("--port differs from the port in --host's URL");
  }
  if (!o.tls && (!o.cafile.empty() || o.insecure)) throw UsageError("--cafile and --insecure need --tls (or mqtts://)");
  if (!o.cafile.empty() && !std::ifstream(o.cafile)) throw UsageError(fmt::format("--cafile: cannot read {}", o.cafile));
  o.port = url_port ? url_port : port_given ? port_given : o.tls ? 8883 : 1883;
  if (o.client_id.empty()) {
    if (!o.dry_run) throw UsageError("--client-id is required (the publisher's registered name)");
    o.client_id = "dry-run";
  }
  if (!token_file.empty()) {
    o.token = read_token(token_file);
  } else if (const char* env = std::getenv("HYDRANT_TOKEN")) {
    o.token = env;
  }
  if (o.token.empty() && !o.dry_run) {
    throw UsageError("no access token: give --token-file FILE or set HYDRANT_TOKEN");
  }
  if (o.exchange.empty() || o.exchange.find_first_of("+#") != std::string::npos) {
    throw UsageError("--exchange: a name without + or #");
  }
  return o;
}

std::string CommonOptions::broker_uri() const {
  const bool v6 = host.find(':') != std::string::npos && !host.starts_with('[');
  return fmt::format("{}://{}{}{}:{}", tls ? "ssl" : "tcp", v6 ? "[" : "", host, v6 ? "]" : "", port);
}

}  // namespace hydrant::publishers
