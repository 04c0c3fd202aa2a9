// config/: defaults, every key from the file and from the command line, layering, listen
// addresses, each error message, --help and describe().
#include <doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

#include "config/config.hpp"

using namespace hydrant::config;
using hydrant::log::Level;

namespace {

// argv from a list; argv[0] is the program name.
CommandLine parse_args(std::initializer_list<const char*> args) {
  std::vector<const char*> argv{"hydrant"};
  argv.insert(argv.end(), args.begin(), args.end());
  return parse_command_line(static_cast<int>(argv.size()), argv.data());
}

Config load_args(std::initializer_list<const char*> args) { return load(parse_args(args)); }

// The message of the ConfigError that `f` throws, or "" when it throws none.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

std::string file_error(std::string_view text) {
  return error_of([&] { parse_config_text(text, "test.conf"); });
}

std::string cli_error(std::initializer_list<const char*> args) {
  return error_of([&] { load_args(args); });
}

// A config file in the temp directory, removed when it goes out of scope.
struct TempFile {
  std::filesystem::path path;
  explicit TempFile(std::string_view text)
      : path(std::filesystem::temp_directory_path() /
             ("hydrant-config-test-" + std::to_string(::getpid()) + ".conf")) {
    std::ofstream(path) << text;
  }
  ~TempFile() { std::filesystem::remove(path); }
};

constexpr std::string_view kEveryKey =
    "# every key, with surrounding blanks\n"
    "\n"
    "  mqtt = 127.0.0.1:1884  \n"
    "mqtt=[::1]:0\n"
    "data = /var/lib/hydrant # not a comment\n"
    "threads = 4\n"
    "open = true\n"
    "max-keepalive = 120\n"
    "log-level = debug\n"
    "max-packet-size = 64K\n"
    "receive-maximum = 10\n"
    "max-inflight = 20\n"
    "topic-alias-maximum = 0\n"
    "max-queued-messages = 500\n"
    "outbound-budget = 2M\n"
    "stuck-timeout = 5\n"
    "connect-timeout = 3\n"
    "max-session-expiry = 3600\n"
    "sys-interval = 0\n"
    "max-connections = 1000\r\n"
    "deny-subscribe = private/#\n"
    "http = 127.0.0.1:8081\n"
    "http = [::1]:8082\n"
    "https = :8444\n"
    "mqtts = 127.0.0.1:8884\n"
    "tls-cert = /etc/hydrant/chain.pem\n"
    "tls-key = /etc/hydrant/key.pem\n"
    "web-root = /srv/hydrant web\n"
    "ws-origins = https://example.org\n"
    "ws-origins = http://localhost:8080\n"
    "trusted-proxies = 10.0.0.1\n"
    "trusted-proxies = ::1\n"
    "max-ws-frame = 2M\n";

void check_every_key(const Config& c) {
  CHECK(c.mqtt == std::vector<Endpoint>{{"127.0.0.1", 1884}, {"::1", 0}});
  CHECK(c.data_dir == "/var/lib/hydrant # not a comment");
  CHECK(c.threads == 4);
  CHECK(c.open);
  CHECK(c.max_keepalive == 120);
  CHECK(c.log_level == Level::Debug);
  CHECK(c.max_packet_size == 65536);
  CHECK(c.receive_maximum == 10);
  CHECK(c.max_inflight == 20);
  CHECK(c.topic_alias_maximum == 0);
  CHECK(c.max_queued_messages == 500);
  CHECK(c.outbound_budget == 2097152);
  CHECK(c.stuck_timeout == 5);
  CHECK(c.connect_timeout == 3);
  CHECK(c.max_session_expiry == 3600);
  CHECK(c.sys_interval == 0);
  CHECK(c.max_connections == 1000);
  CHECK(c.deny_subscribe == std::vector<std::string>{"private/#"});
  CHECK(c.http == std::vector<Endpoint>{{"127.0.0.1", 8081}, {"::1", 8082}});
  CHECK(c.https == std::vector<Endpoint>{{"0.0.0.0", 8444}});
  CHECK(c.mqtts == std::vector<Endpoint>{{"127.0.0.1", 8884}});
  CHECK(c.tls_cert == "/etc/hydrant/chain.pem");
  CHECK(c.tls_key == "/etc/hydrant/key.pem");
  CHECK(c.web_root == "/srv/hydrant web");
  CHECK(c.ws_origins == std::vector<std::string>{"https://example.org", "http://localhost:8080"});
  CHECK(c.trusted_proxies == std::vector<std::string>{"10.0.0.1", "::1"});
  CHECK(c.max_ws_frame == 2097152);
}

}  // namespace

TEST_CASE("defaults") {
  for (const Config& c : {Config{}, load_args({}), parse_config_text("", "empty")}) {
    CHECK(c.mqtt == std::vector<Endpoint>{{"0.0.0.0", 1883}});
    CHECK(c.data_dir == "./hydrant-data");
    CHECK(c.threads == 0);
    CHECK_FALSE(c.open);
    CHECK(c.max_keepalive == 65535);
    CHECK(c.log_level == Level::Info);
    CHECK(c.max_packet_size == 1048576);
    CHECK(c.receive_maximum == 100);
    CHECK(c.max_inflight == 100);
    CHECK(c.topic_alias_maximum == 64);
    CHECK(c.max_queued_messages == 10000);
    CHECK(c.outbound_budget == 1048576);
    CHECK(c.stuck_timeout == 30);
    CHECK(c.connect_timeout == 10);
    CHECK(c.max_session_expiry == 604800);
    CHECK(c.sys_interval == 10);
    CHECK(c.max_connections == 0);
    CHECK(c.deny_subscribe.empty());
    CHECK(c.http == std::vector<Endpoint>{{"0.0.0.0", 8080}});
    CHECK(c.https.empty());  // no certificate, so no TLS listeners
    CHECK(c.mqtts.empty());
    CHECK(c.tls_cert.empty());
    CHECK(c.tls_key.empty());
    CHECK(c.web_root.empty());  // main.cpp looks for the build's web/
    CHECK(c.ws_origins.empty());  // any origin
    CHECK(c.trusted_proxies.empty());
    CHECK(c.max_ws_frame == 1048576);
  }
}

TEST_CASE("every key from the config file") {
  check_every_key(parse_config_text(kEveryKey, "test.conf"));
  TempFile file(kEveryKey);
  check_every_key(load_args({"--config", file.path.c_str()}));
}

TEST_CASE("every key from the command line") {
  check_every_key(load_args({"--mqtt", "127.0.0.1:1884", "--mqtt=[::1]:0", "--data",
                             "/var/lib/hydrant # not a comment", "--threads", "4", "--open",
                             "--max-keepalive", "120", "--log-level=debug", "--max-packet-size",
                             "64k", "--receive-maximum", "10", "--max-inflight", "20",
                             "--topic-alias-maximum", "0", "--max-queued-messages", "500",
                             "--outbound-budget", "2m", "--stuck-timeout", "5",
                             "--connect-timeout", "3", "--max-session-expiry", "3600",
                             "--sys-interval", "0", "--max-connections", "1000",
                             "--deny-subscribe", "private/#", "--http", "127.0.0.1:8081",
                             "--http=[::1]:8082", "--https", ":8444", "--mqtts", "127.0.0.1:8884",
                             "--tls-cert", "/etc/hydrant/chain.pem", "--tls-key",
                             "/etc/hydrant/key.pem", "--web-root", "/srv/hydrant web",
                             "--ws-origins", "https://example.org", "--ws-origins",
                             "http://localhost:8080", "--trusted-proxies", "10.0.0.1",
                             "--trusted-proxies", "::1", "--max-ws-frame", "2m"}));
  CHECK_FALSE(load_args({"--open=false"}).open);
  CHECK(load_args({"--open=true"}).open);
}

TEST_CASE("parse_command_line") {
  const CommandLine cli = parse_args({"--config", "a.conf", "--threads=2", "-h", "--version",
                                      "--open", "--mqtt", ":1"});
  CHECK(cli.config_file == "a.conf");
  CHECK(cli.help);
  CHECK(cli.version);
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  CHECK(cli.overrides == Pairs{{"threads", "2"}, {"open", "true"}, {"mqtt", ":1"}});
  CHECK(parse_args({"--help"}).help);
  CHECK_FALSE(parse_args({}).help);
}

TEST_CASE("the command line overrides the file; mqtt replaces per source") {
  TempFile file("threads = 3\nsys-interval = 60\nmqtt = :1\nmqtt = :2\n");
  const Config c = load_args({"--config", file.path.c_str(), "--threads", "8"});
  CHECK(c.threads == 8);
  CHECK(c.sys_interval == 60);
  CHECK(c.mqtt == std::vector<Endpoint>{{"0.0.0.0", 1}, {"0.0.0.0", 2}});

  const Config d = load_args({"--config", file.path.c_str(), "--mqtt", ":3", "--mqtt", ":4"});
  CHECK(d.mqtt == std::vector<Endpoint>{{"0.0.0.0", 3}, {"0.0.0.0", 4}});
  CHECK(load_args({"--threads", "1", "--threads", "2"}).threads == 2);  // later wins on the CLI
  CHECK(load_args({"--mqtt", "9"}).mqtt == std::vector<Endpoint>{{"0.0.0.0", 9}});
}

TEST_CASE("listen addresses") {
  CHECK(parse_endpoint("localhost:1883") == Endpoint{"localhost", 1883});
  CHECK(parse_endpoint("[::1]:8883") == Endpoint{"::1", 8883});
  CHECK(parse_endpoint("[::]:0") == Endpoint{"::", 0});
  CHECK(parse_endpoint(":1883") == Endpoint{"0.0.0.0", 1883});
  CHECK(parse_endpoint("65535") == Endpoint{"0.0.0.0", 65535});
  CHECK(Endpoint{"::1", 1883}.to_string() == "[::1]:1883");
  CHECK(Endpoint{"10.0.0.1", 1}.to_string() == "10.0.0.1:1");
  CHECK(fmt::format("{}", Endpoint{"::", 2}) == "[::]:2");

  const std::string forms = "expected HOST:PORT, [IPV6]:PORT, :PORT or PORT, got ";
  CHECK(error_of([] { parse_endpoint("::1:1883"); }) ==
        "an IPv6 address needs brackets, as in [::1]:1883; got '::1:1883'");
  CHECK(error_of([] { parse_endpoint("[::1]"); }) == "expected [IPV6]:PORT, got '[::1]'");
  CHECK(error_of([] { parse_endpoint("[::1:80"); }) == "expected [IPV6]:PORT, got '[::1:80'");
  CHECK(error_of([] { parse_endpoint("[]:80"); }) == "expected [IPV6]:PORT, got '[]:80'");
  CHECK(error_of([] { parse_endpoint("host:65536"); }) == "port must be from 0 to 65535, got '65536'");
  CHECK(error_of([] { parse_endpoint("localhost"); }) == forms + "'localhost'");
  CHECK(error_of([] { parse_endpoint("host:"); }) == forms + "'host:'");
  CHECK(error_of([] { parse_endpoint("ho st:1"); }) == forms + "'ho st:1'");
  CHECK(error_of([] { parse_endpoint(""); }) == forms + "''");
}

TEST_CASE("sizes") {
  CHECK(parse_config_text("max-packet-size = 64", "t").max_packet_size == 64);
  CHECK(parse_config_text("max-packet-size = 1m", "t").max_packet_size == 1048576);
  CHECK(parse_config_text("outbound-budget = 1G", "t").outbound_budget == 1073741824);
  CHECK(parse_config_text("max-packet-size = 268435460\noutbound-budget = 1G\n", "t")
            .max_packet_size == 268435460);
}

TEST_CASE("config file errors name the file and line") {
  CHECK(file_error("\n\nthreads\n") == "test.conf:3: expected 'key = value', got 'threads'");
  CHECK(file_error("= 4") == "test.conf:1: expected 'key = value', got '= 4'");
  CHECK(file_error("threads =") == "test.conf:1: threads: missing value");
  CHECK(file_error("thread = 4") == "test.conf:1: unknown key 'thread'");
  CHECK(file_error("max_inflight = 4") ==
        "test.conf:1: unknown key 'max_inflight' (did you mean 'max-inflight'?)");
  CHECK(file_error("threads = 1\nthreads = 2") ==
        "test.conf:2: threads: given twice (first on line 1)");
  CHECK(file_error("threads = four") == "test.conf:1: threads: expected a whole number, got 'four'");
  CHECK(file_error("threads = -1") == "test.conf:1: threads: expected a whole number, got '-1'");
  CHECK(file_error("threads = 4 # four") ==
        "test.conf:1: threads: expected a whole number, got '4 # four'");
  CHECK(file_error("threads = 1025") == "test.conf:1: threads: must be from 0 to 1024, got '1025'");
  CHECK(file_error("max-connections = 99999999999999999999999") ==
        "test.conf:1: max-connections: number too large: '99999999999999999999999'");
  CHECK(file_error("max-packet-size = 63") ==
        "test.conf:1: max-packet-size: must be from 64 to 268435460, got '63'");
  CHECK(file_error("max-packet-size = 1X") ==
        "test.conf:1: max-packet-size: expected a size in bytes (suffix K, M or G allowed), got '1X'");
  CHECK(file_error("outbound-budget = 99999999999G") ==
        "test.conf:1: outbound-budget: size too large: '99999999999G'");
  CHECK(file_error("receive-maximum = 0") ==
        "test.conf:1: receive-maximum: must be from 1 to 65535, got '0'");
  CHECK(file_error("max-inflight = 65536") ==
        "test.conf:1: max-inflight: must be from 1 to 65535, got '65536'");
  CHECK(file_error("open = yes") == "test.conf:1: open: expected true or false, got 'yes'");
  CHECK(file_error("log-level = loud") ==
        "test.conf:1: log-level: expected debug, info, warning, error or off, got 'loud'");
  CHECK(file_error("mqtt = :1\nmqtt = bad") ==
        "test.conf:2: mqtt: expected HOST:PORT, [IPV6]:PORT, :PORT or PORT, got 'bad'");
  CHECK(file_error("connect-timeout = 0") ==
        "test.conf:1: connect-timeout: must be from 1 to 3600, got '0'");
}

TEST_CASE("cross-field checks") {
  CHECK(file_error("outbound-budget = 1K") ==
        "test.conf: outbound-budget (1024) must be at least max-packet-size (1048576)");
  CHECK(file_error("mqtt = :1883\nmqtt = 0.0.0.0:1883") == "test.conf: mqtt: 0.0.0.0:1883 is given twice");
  CHECK(file_error("mqtt = :0\nmqtt = :0").empty());  // two ephemeral ports are two listeners
  CHECK(cli_error({"--outbound-budget", "100"}) ==
        "config: outbound-budget (100) must be at least max-packet-size (1048576)");
  // The command line may repair what the file alone gets wrong.
  TempFile file("outbound-budget = 1K\n");
  CHECK(load_args({"--config", file.path.c_str(), "--max-packet-size", "1K"}).outbound_budget == 1024);
}

TEST_CASE("command line errors name the option") {
  CHECK(cli_error({"--nope", "1"}) == "--nope: unknown option (see --help)");
  CHECK(cli_error({"--max_inflight", "1"}) == "--max_inflight: unknown option (see --help)");
  CHECK(cli_error({"stray"}) == "unexpected argument 'stray' (see --help)");
  CHECK(cli_error({"-x"}) == "unexpected argument '-x' (see --help)");
  CHECK(cli_error({"--"}) == "unexpected argument '--' (see --help)");
  CHECK(cli_error({"--threads"}) == "--threads: missing value");
  CHECK(cli_error({"--threads", "--open"}) == "--threads: missing value");
  CHECK(cli_error({"--config"}) == "--config: missing value");
  CHECK(cli_error({"--config="}) == "--config: missing value");
  CHECK(cli_error({"--open", "true"}) == "unexpected argument 'true' (see --help)");
  CHECK(cli_error({"--threads", "x"}) == "--threads: expected a whole number, got 'x'");
  CHECK(cli_error({"--data="}) == "--data: expected a directory, got an empty value");
  CHECK(cli_error({"--open=1"}) == "--open: expected true or false, got '1'");
  CHECK(cli_error({"--mqtt", "::1:80"}) ==
        "--mqtt: an IPv6 address needs brackets, as in [::1]:1883; got '::1:80'");
  CHECK(cli_error({"--receive-maximum=0"}) == "--receive-maximum: must be from 1 to 65535, got '0'");
  CHECK(cli_error({"--config", "/nonexistent/hydrant.conf"}) ==
        "/nonexistent/hydrant.conf: cannot open: No such file or directory");
  TempFile file("\nsys-interval = 86401\n");
  CHECK(cli_error({"--config", file.path.c_str()}) ==
        file.path.string() + ":2: sys-interval: must be from 0 to 86400, got '86401'");
}

TEST_CASE("help text mentions every key with its default, and the signals") {
  const std::string help = help_text();
  CHECK(help.starts_with("Usage: hydrant [--config FILE] [--KEY VALUE]...\n"));
  for (const char* key : {"--mqtt HOST:PORT", "--data DIR", "--threads N", "--open[=true|false]",
                          "--max-keepalive SECONDS", "--log-level LEVEL", "--max-packet-size BYTES",
                          "--receive-maximum N", "--max-inflight N", "--topic-alias-maximum N",
                          "--max-queued-messages N", "--outbound-budget BYTES",
                          "--stuck-timeout SECONDS", "--connect-timeout SECONDS",
                          "--max-session-expiry SECONDS", "--sys-interval SECONDS",
                          "--max-connections N", "--deny-subscribe FILTER", "--http HOST:PORT",
                          "--https HOST:PORT", "--mqtts HOST:PORT", "--tls-cert FILE",
                          "--tls-key FILE", "--web-root DIR", "--ws-origins ORIGIN",
                          "--trusted-proxies ADDRESS", "--max-ws-frame BYTES", "--config FILE",
                          "--help", "--version"}) {
    CHECK_MESSAGE(help.find(key) != std::string::npos, key);
  }
  for (const char* fragment : {"(default: 0.0.0.0:1883)", "(default: ./hydrant-data)",
                               "(default: 604800)", "(default: info)", "(default: false)",
                               "SIGTERM, SIGINT", "SIGHUP", "exit with status 0",
                               "the running one is kept", "KEY = VALUE",
                               "(default: 0.0.0.0:8080)",
                               "(default: 0.0.0.0:8443 with tls-cert, else off)",
                               "(default: 0.0.0.0:8883 with tls-cert, else off)",
                               "(default: the build tree's web/, else the installed copy)", "(default: any)", "(default: none)",
                               "status 1009", "off = none", "trusted-proxies may\n"}) {
    CHECK_MESSAGE(help.find(fragment) != std::string::npos, fragment);
  }
  CHECK(help.find("(default: )") == std::string::npos);  // an empty default says what it means
  size_t start = 0;
  while (start < help.size()) {
    const size_t end = help.find('\n', start);
    REQUIRE(end != std::string::npos);  // ends with a newline
    CHECK_MESSAGE(end - start <= 100, help.substr(start, end - start));
    start = end + 1;
  }
}

TEST_CASE("describe is one key=value line") {
  Config c;
  c.mqtt = {{"::1", 1883}, {"0.0.0.0", 0}};
  c.data_dir = "/tmp/a b";
  const std::string line = describe(c);
  CHECK(line.starts_with("mqtt=[::1]:1883,0.0.0.0:0 data=\"/tmp/a b\" threads=0 open=false "));
  CHECK(line.find("log-level=info") != std::string::npos);
  CHECK(line.find(" sys-interval=10 max-connections=0 deny-subscribe= ") != std::string::npos);
  CHECK(line.ends_with(" http=0.0.0.0:8080 https=off mqtts=off tls-cert=\"\" tls-key=\"\" "
                       "web-root=\"\" ws-origins= trusted-proxies= max-ws-frame=1048576"));
  CHECK(line.find('\n') == std::string::npos);

  const Config tls = load_args({"--tls-cert", "/etc/a b/c.pem", "--tls-key", "/k.pem", "--http",
                                "off", "--web-root", "/srv/web", "--ws-origins",
                                "https://a.example", "--ws-origins", "https://b.example",
                                "--trusted-proxies", "10.0.0.1", "--max-ws-frame", "64K"});
  CHECK(describe(tls).ends_with(
      " http=off https=0.0.0.0:8443 mqtts=0.0.0.0:8883 tls-cert=\"/etc/a b/c.pem\" "
      "tls-key=\"/k.pem\" web-root=\"/srv/web\" ws-origins=https://a.example,https://b.example "
      "trusted-proxies=10.0.0.1 max-ws-frame=65536"));
}

TEST_CASE("deny-subscribe: repeatable, each value a valid topic filter") {
  const Config c = parse_config_text("deny-subscribe = private/#\ndeny-subscribe = test/nosubscribe\n", "f");
  CHECK(c.deny_subscribe == std::vector<std::string>{"private/#", "test/nosubscribe"});
  CHECK(Config{}.deny_subscribe.empty());
  CHECK_THROWS_AS(parse_config_text("deny-subscribe = a/#/b\n", "f"), ConfigError);
  CHECK_THROWS_AS(parse_config_text("deny-subscribe = a+\n", "f"), ConfigError);
}

TEST_CASE("bridge listeners: http on 8080 by default, off turns a listener kind off") {
  const Config d = load_args({});
  CHECK(d.http == std::vector<Endpoint>{{"0.0.0.0", 8080}});
  CHECK(d.https.empty());
  CHECK(d.mqtts.empty());
  CHECK(load_args({"--http", "off"}).http.empty());
  CHECK(load_args({"--http=off", "--http", "off"}).http.empty());  // off twice is still off
  CHECK(parse_config_text("http = off\n", "f").http.empty());
  CHECK(load_args({"--http", "0"}).http == std::vector<Endpoint>{{"0.0.0.0", 0}});
  const Config two = load_args({"--http", "127.0.0.1:9001", "--http", "[::1]:9002"});
  CHECK(two.http == std::vector<Endpoint>{{"127.0.0.1", 9001}, {"::1", 9002}});
  CHECK(cli_error({"--http", "nowhere"}) ==
        "--http: expected HOST:PORT, [IPV6]:PORT, :PORT or PORT, got 'nowhere'");
  CHECK(file_error("https = OFF\n") ==
        "test.conf:1: https: expected HOST:PORT, [IPV6]:PORT, :PORT or PORT, got 'OFF'");
  CHECK(cli_error({"--mqtt", "off"}) ==
        "--mqtt: expected HOST:PORT, [IPV6]:PORT, :PORT or PORT, got 'off'");  // MQTT stays on

  // Each source replaces the list: the file turns http off, the command line back on, and back.
  TempFile off("http = off\n");
  CHECK(load_args({"--config", off.path.c_str()}).http.empty());
  CHECK(load_args({"--config", off.path.c_str(), "--http", ":9000"}).http ==
        std::vector<Endpoint>{{"0.0.0.0", 9000}});
  TempFile on("http = :9000\nhttp = :9001\n");
  CHECK(load_args({"--config", on.path.c_str(), "--http", "off"}).http.empty());
}

TEST_CASE("off is a listener kind's only value in a source") {
  CHECK(file_error("http = off\nhttp = :9000\n") ==
        "test.conf:2: http: off cannot be combined with a listen address");
  CHECK(file_error("http = :9000\nhttp = off\n") ==
        "test.conf:2: http: off cannot be combined with a listen address");
  CHECK(cli_error({"--tls-cert", "/c", "--tls-key", "/k", "--mqtts", ":1", "--mqtts", "off"}) ==
        "--mqtts: off cannot be combined with a listen address");
  CHECK(cli_error({"--tls-cert", "/c", "--tls-key", "/k", "--https=off", "--https", ":1"}) ==
        "--https: off cannot be combined with a listen address");
  // Other kinds and other sources do not count.
  TempFile file("http = off\nhttps = off\n");
  const Config c = load_args({"--config", file.path.c_str(), "--http", ":9000", "--mqtt", ":1"});
  CHECK(c.http == std::vector<Endpoint>{{"0.0.0.0", 9000}});
  CHECK(c.https.empty());
}

TEST_CASE("TLS: certificate and key together; https and mqtts default on with them") {
  const Config c = load_args({"--tls-cert", "/c.pem", "--tls-key", "/k.pem"});
  CHECK(c.https == std::vector<Endpoint>{{"0.0.0.0", 8443}});
  CHECK(c.mqtts == std::vector<Endpoint>{{"0.0.0.0", 8883}});
  const Config only_mqtts = load_args({"--tls-cert", "/c.pem", "--tls-key", "/k.pem", "--https",
                                       "off", "--mqtts", "127.0.0.1:18883"});
  CHECK(only_mqtts.https.empty());
  CHECK(only_mqtts.mqtts == std::vector<Endpoint>{{"127.0.0.1", 18883}});
  CHECK(error_of([] { load_args({"--tls-cert", "/c.pem"}); }) == "config: tls-cert needs tls-key");
  CHECK(error_of([] { load_args({"--tls-key", "/k.pem"}); }) == "config: tls-key needs tls-cert");
  CHECK(file_error("tls-key = /k.pem\n") == "test.conf: tls-key needs tls-cert");
  CHECK(file_error("tls-cert = /c.pem\nhttps = :9443\n") == "test.conf: tls-cert needs tls-key");
  CHECK(error_of([] { load_args({"--https", "127.0.0.1:8443"}); }) ==
        "config: https needs tls-cert and tls-key");
  CHECK(error_of([] { load_args({"--mqtts", "127.0.0.1:8883"}); }) ==
        "config: mqtts needs tls-cert and tls-key");
  CHECK(error_of([] { load_args({"--https", "127.0.0.1:8443", "--mqtts", ":8883"}); }) ==
        "config: https needs tls-cert and tls-key");
  CHECK(file_error("mqtts = :8883\n") == "test.conf: mqtts needs tls-cert and tls-key");
  CHECK(error_of([] { load_args({"--tls-cert", ""}); }) ==
        "--tls-cert: expected a file path, got an empty value");
  CHECK(error_of([] { load_args({"--tls-key="}); }) ==
        "--tls-key: expected a file path, got an empty value");
  CHECK(file_error("tls-cert =\n") == "test.conf:1: tls-cert: missing value");
  // Turning a TLS listener kind off needs no certificate.
  const Config off = load_args({"--https", "off", "--mqtts", "off"});
  CHECK(off.https.empty());
  CHECK(off.mqtts.empty());
}

TEST_CASE("TLS: the defaults follow tls-cert from any source; a source that names a kind wins") {
  const Config file = parse_config_text("tls-cert = /c.pem\ntls-key = /k.pem\n", "f");
  CHECK(file.https == std::vector<Endpoint>{{"0.0.0.0", 8443}});
  CHECK(file.mqtts == std::vector<Endpoint>{{"0.0.0.0", 8883}});
  const Config https_only = parse_config_text("tls-cert = /c.pem\ntls-key = /k.pem\nmqtts = off\n", "f");
  CHECK(https_only.https == std::vector<Endpoint>{{"0.0.0.0", 8443}});
  CHECK(https_only.mqtts.empty());
  // The certificate in the file, the listeners on the command line, and the other way round.
  TempFile cert("tls-cert = /c.pem\ntls-key = /k.pem\n");
  const Config cli = load_args({"--config", cert.path.c_str(), "--mqtts", "[::1]:18883"});
  CHECK(cli.mqtts == std::vector<Endpoint>{{"::1", 18883}});
  CHECK(cli.https == std::vector<Endpoint>{{"0.0.0.0", 8443}});
  TempFile listeners("https = 127.0.0.1:9443\nmqtts = off\n");
  CHECK(cli_error({"--config", listeners.path.c_str()}) == "config: https needs tls-cert and tls-key");
  const Config both = load_args(
      {"--config", listeners.path.c_str(), "--tls-cert", "/c.pem", "--tls-key", "/k.pem"});
  CHECK(both.https == std::vector<Endpoint>{{"127.0.0.1", 9443}});
  CHECK(both.mqtts.empty());  // the file said off; the default does not come back
  // The command line turns the file's listeners off.
  TempFile file_tls("tls-cert = /c.pem\ntls-key = /k.pem\nhttps = :9443\nhttps = :9444\n");
  CHECK(load_args({"--config", file_tls.path.c_str(), "--https", "off"}).https.empty());
}

TEST_CASE("no two listeners share an address, whatever their kind") {
  CHECK(cli_error({"--mqtt", "127.0.0.1:9000", "--http", "127.0.0.1:9000"}) ==
        "config: mqtt and http both listen on 127.0.0.1:9000");
  CHECK(cli_error({"--tls-cert", "/c", "--tls-key", "/k", "--http", "0.0.0.0:8883"}) ==
        "config: mqtts and http both listen on 0.0.0.0:8883");  // against the TLS default
  CHECK(cli_error({"--mqtt", ":8080"}) == "config: mqtt and http both listen on 0.0.0.0:8080");
  CHECK(cli_error({"--tls-cert", "/c", "--tls-key", "/k", "--https", "[::1]:1", "--mqtt",
                   "[::1]:1"}) == "config: mqtt and https both listen on [::1]:1");
  CHECK(cli_error({"--tls-cert", "/c", "--tls-key", "/k", "--https", ":2", "--mqtts", ":2"}) ==
        "config: mqtts and https both listen on 0.0.0.0:2");
  CHECK(cli_error({"--tls-cert", "/c", "--tls-key", "/k", "--https", ":3", "--http", ":3"}) ==
        "config: http and https both listen on 0.0.0.0:3");
  CHECK(file_error("http = :9000\nhttp = 0.0.0.0:9000\n") == "test.conf: http: 0.0.0.0:9000 is given twice");
  CHECK(file_error("tls-cert = /c\ntls-key = /k\nmqtts = :1\nmqtts = :1\n") ==
        "test.conf: mqtts: 0.0.0.0:1 is given twice");
  // Port 0 picks a fresh port each time; different hosts or ports are different addresses.
  CHECK(load_args({"--http", "127.0.0.1:0", "--mqtt", "127.0.0.1:0"}).http.size() == 1);
  CHECK(load_args({"--mqtt", "127.0.0.1:8080", "--http", "127.0.0.2:8080"}).http.size() == 1);
  CHECK(load_args({"--mqtt", ":8081"}).mqtt == std::vector<Endpoint>{{"0.0.0.0", 8081}});
}

TEST_CASE("web-root, ws-origins, trusted-proxies, max-ws-frame") {
  const Config c = parse_config_text(
      "web-root = /srv/viewer\nws-origins = https://example.org\nws-origins = http://localhost:8080\n"
      "trusted-proxies = 10.0.0.1\ntrusted-proxies = ::1\nmax-ws-frame = 64K\n",
      "f");
  CHECK(c.web_root == "/srv/viewer");
  CHECK(c.ws_origins == std::vector<std::string>{"https://example.org", "http://localhost:8080"});
  CHECK(c.trusted_proxies == std::vector<std::string>{"10.0.0.1", "::1"});
  CHECK(c.max_ws_frame == 64 * 1024);
  CHECK(file_error("trusted-proxies = proxy.example.org\n") ==
        "test.conf:1: trusted-proxies: expected an IPv4 or IPv6 address, got 'proxy.example.org'");
  // An empty --web-root= brings back the default, the build's web/, over a file's setting.
  TempFile file("web-root = /srv/viewer\n");
  CHECK(load_args({"--config", file.path.c_str(), "--web-root="}).web_root.empty());
  CHECK(file_error("web-root =\n") == "test.conf:1: web-root: missing value");
}

TEST_CASE("repeatable bridge lists: the command line replaces the file's list") {
  TempFile file("ws-origins = https://a.example\ntrusted-proxies = 10.0.0.1\n");
  const Config c = load_args({"--config", file.path.c_str(), "--ws-origins", "https://b.example",
                              "--trusted-proxies", "10.0.0.2", "--trusted-proxies", "10.0.0.3"});
  CHECK(c.ws_origins == std::vector<std::string>{"https://b.example"});
  CHECK(c.trusted_proxies == std::vector<std::string>{"10.0.0.2", "10.0.0.3"});
  const Config kept = load_args({"--config", file.path.c_str()});
  CHECK(kept.ws_origins == std::vector<std::string>{"https://a.example"});
  CHECK(kept.trusted_proxies == std::vector<std::string>{"10.0.0.1"});
}

TEST_CASE("ws-origins: stored as browsers send Origin, anything else refused") {
  auto origin = [](const char* value) { return load_args({"--ws-origins", value}).ws_origins.at(0); };
  CHECK(origin("https://example.org") == "https://example.org");
  CHECK(origin("https://Example.ORG") == "https://example.org");
  CHECK(origin("https://example.org:443") == "https://example.org");  // the default port
  CHECK(origin("http://example.org:80") == "http://example.org");
  CHECK(origin("http://example.org:443") == "http://example.org:443");
  CHECK(origin("https://example.org:08443") == "https://example.org:8443");
  CHECK(origin("http://127.0.0.1:8080") == "http://127.0.0.1:8080");
  CHECK(origin("https://[::1]:8443") == "https://[::1]:8443");
  CHECK(origin("https://[2001:DB8:0::1]") == "https://[2001:db8::1]");
  CHECK(origin("http://my_host-1.local") == "http://my_host-1.local");
  for (const char* bad : {"example.org", "ftp://example.org", "HTTPS://example.org", "https://",
                          "https://example.org/", "https://example.org/path",
                          "https://example.org?q", "https://example.org#f", "https://u@example.org",
                          "https://example.org:", "https://example.org:0",
                          "https://example.org:65536", "https://example.org:x",
                          "https://exa mple.org", "https://[::1", "https://[::1]x",
                          "https://[::1]:", "https://[example.org]", "https://[]", "*", "null"}) {
    CAPTURE(bad);
    CHECK(cli_error({"--ws-origins", bad}) ==
          fmt::format("--ws-origins: expected an origin like https://example.org, got '{}'", bad));
  }
  CHECK(file_error("ws-origins = example.org\n") ==
        "test.conf:1: ws-origins: expected an origin like https://example.org, got 'example.org'");
}

TEST_CASE("trusted-proxies: IP literals, stored canonically") {
  auto proxy = [](const char* value) {
    return load_args({"--trusted-proxies", value}).trusted_proxies.at(0);
  };
  CHECK(proxy("192.0.2.7") == "192.0.2.7");
  CHECK(proxy("::1") == "::1");
  CHECK(proxy("2001:DB8:0:0::1") == "2001:db8::1");
  CHECK(proxy("::ffff:10.0.0.1") == "10.0.0.1");  // how the bridge sees an IPv4 peer on [::]
  for (const char* bad : {"proxy.example.org", "10.0.0.0/8", "10.0.0", "10.0.0.256", "[::1]",
                          "::1:80:x", "10.0.0.1:80", " 10.0.0.1x"}) {
    CAPTURE(bad);
    CHECK(cli_error({"--trusted-proxies", bad}) ==
          fmt::format("--trusted-proxies: expected an IPv4 or IPv6 address, got '{}'", bad));
  }
}

TEST_CASE("max-ws-frame: 64 bytes to the largest MQTT packet, sizes allowed") {
  CHECK(load_args({"--max-ws-frame", "64"}).max_ws_frame == 64);
  CHECK(load_args({"--max-ws-frame", "268435460"}).max_ws_frame == 268435460);
  CHECK(parse_config_text("max-ws-frame = 16m\n", "f").max_ws_frame == 16777216);
  CHECK(file_error("max-ws-frame = 10\n") ==
        "test.conf:1: max-ws-frame: must be from 64 to 268435460, got '10'");
  CHECK(cli_error({"--max-ws-frame", "1G"}) == "--max-ws-frame: must be from 64 to 268435460, got '1G'");
  CHECK(cli_error({"--max-ws-frame", "big"}) ==
        "--max-ws-frame: expected a size in bytes (suffix K, M or G allowed), got 'big'");
  // Independent of max-packet-size: a frame may carry several packets, or part of one.
  CHECK(parse_config_text("max-ws-frame = 64\nmax-packet-size = 1M\n", "f").max_ws_frame == 64);
}

TEST_CASE("cluster keys") {
  const Config c = parse_config_text(
      "cluster = nats://10.0.0.1:4222,tls://[::1]:4223\n"
      "node-name = node-a.example\n"
      "cluster-replicas = 1\n"
      "cluster-prefix = pulse_2\n"
      "cluster-creds = /etc/hydrant/engine.creds\n"
      "cluster-ca = /etc/hydrant/engine-ca.pem\n",
      "t");
  CHECK(c.cluster == std::vector<std::string>{"nats://10.0.0.1:4222", "tls://[::1]:4223"});
  CHECK(c.node_name == "node-a.example");
  CHECK(c.cluster_replicas == 1);
  CHECK(c.cluster_prefix == "pulse_2");
  CHECK(c.cluster_creds == "/etc/hydrant/engine.creds");
  CHECK(c.cluster_ca == "/etc/hydrant/engine-ca.pem");
  CHECK(Config{}.cluster.empty());  // single node unless named
  CHECK(parse_config_text("cluster = off", "t").cluster.empty());
  CHECK(file_error("cluster = http://h:1").find("not an engine URL") != std::string::npos);
  CHECK(file_error("cluster = nats://h").find("not an engine URL") != std::string::npos);
  CHECK(file_error("cluster = nats://h:1,").find("not an engine URL") != std::string::npos);
  CHECK(file_error("cluster = nats://h:1/x").find("not an engine URL") != std::string::npos);
  CHECK(file_error("cluster-prefix = a.b").find("letters, digits") != std::string::npos);
  CHECK(file_error("node-name = a b").find("letters, digits") != std::string::npos);
  CHECK(file_error("cluster-replicas = 0") != "");
  CHECK(file_error("cluster-replicas = 6") != "");
  CHECK(Config{}.cluster_ack_timeout == 10);
  CHECK(Config{}.cluster_window == 4096);
  CHECK(Config{}.cluster_history_rate == 50);
  CHECK(parse_config_text("cluster-ack-timeout = 2\ncluster-window = 16", "t").cluster_window == 16);
  CHECK(file_error("cluster-ack-timeout = 0") != "");
  CHECK(file_error("cluster-window = 0") != "");
}
