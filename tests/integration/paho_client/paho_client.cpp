// hydrant-paho-client: a small Paho MQTT C++ client that integration tests drive from the shell,
// so that Hydrant is tested against a real third-party client library (MQTT 3.1, 3.1.1 and 5).
//
//   hydrant-paho-client --host H --port P --version 3|4|5 --client-id ID [--clean 0|1]
//       [--session-expiry S (MQTT 5 only)] [--username U] [--password P] [--keepalive S]
//       pub --topic T --qos Q --message M [--retain] [--count N]
//   hydrant-paho-client ... sub --topic FILTER --qos Q --count N --timeout S
//
// pub publishes N messages ("{n}" in M becomes 1..N), waits for each to complete (PUBACK or
// PUBCOMP at QoS 1/2) and exits 0. sub prints each message as `topic<TAB>payload` on stdout,
// one line each, flushed, and exits 0 after N messages (N = 0: subscribe, disconnect, exit 0,
// which leaves a persistent session behind). Once subscribed it writes `subscribed FILTER` on
// stderr, so a test can wait for that before publishing.
// Exit status: 0 success, 1 MQTT or connection error (message on stderr), 2 sub timed out,
// 64 usage error. It does not reconnect, buffer offline, or persist anything to disk.
#include <mqtt/async_client.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

constexpr int kExitError = 1;
constexpr int kExitTimeout = 2;
constexpr int kExitUsage = 64;
constexpr size_t kPublishWindow = 64;  // publishes in flight before waiting for the oldest

struct UsageError : std::runtime_error {
  using runtime_error::runtime_error;
};

struct Options {
  std::string host = "127.0.0.1";
  int port = 1883;
  int version = 4;
  std::string client_id;
  bool clean = true;
  std::optional<uint32_t> session_expiry;
  std::optional<std::string> username;
  std::optional<std::string> password;
  int keepalive = 60;
  std::string command;  // "pub" or "sub"
  std::string topic;
  int qos = 0;
  std::string message;
  bool retain = false;
  long count = 1;
  long timeout = 10;  // seconds, sub only
};

long parse_long(std::string_view name, const std::string& text, long min, long max) {
  char* end = nullptr;
  errno = 0;
  const long value = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0 || value < min || value > max)
    throw UsageError("--" + std::string(name) + ": expected a number from " + std::to_string(min) +
                     " to " + std::to_string(max) + ", got '" + text + "'");
  return value;
}

Options parse_options(int argc, char** argv) {
  Options o;
  bool have_topic = false;
  bool have_message = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "pub" || arg == "sub") {
      if (!o.command.empty()) throw UsageError("more than one command");
      o.command = arg;
      continue;
    }
    if (arg == "--retain") {
      o.retain = true;
      continue;
    }
    if (!arg.starts_with("--")) throw UsageError("unexpected argument '" + std::string(arg) + "'");
    const std::string_view name = arg.substr(2);
    if (i + 1 >= argc) throw UsageError("--" + std::string(name) + ": missing value");
    const std::string value = argv[++i];
    if (name == "host") o.host = value;
    else if (name == "port") o.port = static_cast<int>(parse_long(name, value, 0, 65535));
    else if (name == "version") o.version = static_cast<int>(parse_long(name, value, 3, 5));
    else if (name == "client-id") o.client_id = value;
    else if (name == "clean") o.clean = parse_long(name, value, 0, 1) == 1;
    else if (name == "session-expiry")
      o.session_expiry = static_cast<uint32_t>(parse_long(name, value, 0, 4294967295L));
    else if (name == "username") o.username = value;
    else if (name == "password") o.password = value;
    else if (name == "keepalive") o.keepalive = static_cast<int>(parse_long(name, value, 0, 65535));
    else if (name == "topic") {
      o.topic = value;
      have_topic = true;
    }
    else if (name == "qos") o.qos = static_cast<int>(parse_long(name, value, 0, 2));
    else if (name == "message") {
      o.message = value;
      have_message = true;
    }
    else if (name == "count") o.count = parse_long(name, value, 0, 100000000);
    else if (name == "timeout") o.timeout = parse_long(name, value, 0, 86400);
    else throw UsageError("unknown option --" + std::string(name));
  }
  if (o.command.empty()) throw UsageError("missing command: pub or sub");
  if (!have_topic) throw UsageError("--topic is required");
  if (o.command == "pub" && !have_message) throw UsageError("pub: --message is required");
  return o;
}

mqtt::connect_options make_connect_options(const Options& o) {
  mqtt::connect_options_builder builder;
  builder.keep_alive_interval(std::chrono::seconds(o.keepalive))
      .connect_timeout(std::chrono::seconds(10))
      .automatic_reconnect(false);
  if (o.version == 5) {
    // set_mqtt_version(5) clears clean_session; v5 uses Clean Start and properties instead.
    builder.mqtt_version(MQTTVERSION_5).clean_start(o.clean);
  } else {
    builder.mqtt_version(o.version == 3 ? MQTTVERSION_3_1 : MQTTVERSION_3_1_1).clean_session(o.clean);
  }
  if (o.username) builder.user_name(*o.username);
  if (o.password) builder.password(*o.password);
  mqtt::connect_options options = builder.finalize();
  if (o.version == 5 && o.session_expiry) {
    // Set on the finished options, not through the builder: Paho C++ 1.2.0's finalize() copy
    // leaves the C struct pointing at the builder's properties, so they never reach the wire
    // (eclipse-paho/paho.mqtt.cpp issue #362).
    options.set_properties(mqtt::properties{
        {mqtt::property::SESSION_EXPIRY_INTERVAL, static_cast<int32_t>(*o.session_expiry)}});
  }
  return options;
}

std::string with_index(const std::string& text, long n) {
  std::string out = text;
  for (auto at = out.find("{n}"); at != std::string::npos; at = out.find("{n}", at)) {
    const std::string index = std::to_string(n);
    out.replace(at, 3, index);
    at += index.size();
  }
  return out;
}

int run_pub(mqtt::async_client& client, const Options& o) {
  std::deque<mqtt::delivery_token_ptr> in_flight;
  for (long n = 1; n <= o.count; ++n) {
    const std::string payload = with_index(o.message, n);
    in_flight.push_back(client.publish(o.topic, payload.data(), payload.size(), o.qos, o.retain));
    if (in_flight.size() >= kPublishWindow) {
      in_flight.front()->wait();  // throws mqtt::exception on a failed delivery
      in_flight.pop_front();
    }
  }
  for (const auto& token : in_flight) token->wait();
  return 0;
}

int run_sub(mqtt::async_client& client, const Options& o) {
  const auto token = client.subscribe(o.topic, o.qos);
  token->wait();
  if (o.version == 5) {
    const mqtt::subscribe_response response = token->get_subscribe_response();
    for (const auto code : response.get_reason_codes()) {
      if (code >= 0x80) {
        std::cerr << "hydrant-paho-client: subscribe refused, reason code " << int(code) << "\n";
        return kExitError;
      }
    }
  }
  std::cerr << "subscribed " << o.topic << std::endl;

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(o.timeout);
  for (long received = 0; received < o.count;) {
    const auto left = deadline - std::chrono::steady_clock::now();
    mqtt::const_message_ptr msg;
    if (left <= left.zero() || !client.try_consume_message_for(&msg, left)) {
      std::cerr << "hydrant-paho-client: timed out after " << received << " of " << o.count
                << " messages\n";
      return kExitTimeout;
    }
    if (!msg) {  // start_consuming() queues an empty message when the connection is lost
      std::cerr << "hydrant-paho-client: connection lost after " << received << " messages\n";
      return kExitError;
    }
    std::cout << msg->get_topic() << '\t' << msg->get_payload_str() << std::endl;
    ++received;
  }
  return 0;
}

int run(const Options& o) {
  const std::string uri = "tcp://" +
                          (o.host.find(':') != std::string::npos ? "[" + o.host + "]" : o.host) +
                          ":" + std::to_string(o.port);
  // MQTT 5 needs a client created for v5 as well as v5 connect options.
  mqtt::async_client client(uri, o.client_id,
                            mqtt::create_options(o.version == 5 ? MQTTVERSION_5 : MQTTVERSION_DEFAULT));
  const char* step = "connect";
  try {
    if (o.command == "sub") client.start_consuming();
    client.connect(make_connect_options(o))->wait();
    step = o.command == "pub" ? "publish" : "subscribe";
    const int status = o.command == "pub" ? run_pub(client, o) : run_sub(client, o);
    step = "disconnect";
    if (client.is_connected()) client.disconnect()->wait();
    return status;
  } catch (const mqtt::exception& e) {
    std::cerr << "hydrant-paho-client: " << step << " failed: " << e.what();
    if (e.get_reason_code() > 0 && e.get_reason_code() <= 0xff) {
      std::cerr << " (reason code 0x" << std::hex << e.get_reason_code() << std::dec << ")";
    }
    std::cerr << "\n";
    return kExitError;
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse_options(argc, argv));
  } catch (const UsageError& e) {
    std::cerr << "hydrant-paho-client: " << e.what() << "\n"
              << "usage: hydrant-paho-client --host H --port P --version 3|4|5 --client-id ID\n"
              << "         [--clean 0|1] [--session-expiry S] [--username U] [--password P]\n"
              << "         [--keepalive S]\n"
              << "         pub --topic T --qos Q --message M [--retain] [--count N]\n"
              << "       | sub --topic FILTER --qos Q --count N --timeout S\n";
    return kExitUsage;
  } catch (const mqtt::exception& e) {  // creating the client
    std::cerr << "hydrant-paho-client: " << e.what() << "\n";
    return kExitError;
  }
}
