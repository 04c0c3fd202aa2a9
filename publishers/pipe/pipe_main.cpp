// hydrant-pipe: publishes JSON lines from stdin or a file, one message per line, for a source no
// other adapter knows and for replaying recorded streams. The routing key comes from a flag or
// a field of each line (or the whole topic from a field); the payload is the line, or one field.
// A line that is not JSON, or lacks the field, is logged with its number and skipped.
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <string>

#include "input.hpp"
#include "options.hpp"
#include "publisher.hpp"
#include "pulse/mapping.hpp"
#include "util/log.hpp"

using namespace hydrant;
using namespace hydrant::publishers;

namespace {

constexpr const char* kUsage = R"(hydrant-pipe: publish JSON lines (stdin or --file) to an exchange
usage: hydrant-pipe --client-id NAME [--token-file FILE] [--exchange NAME]
                    (--routing-key KEY | --routing-key-field FIELD | --topic-field FIELD)
                    [--exchange-field FIELD] [--payload-field FIELD] [--file FILE] [--dry-run]
  FIELD may be a dotted path into the line (event.routing_key).
  --exchange-field: each line's exchange; a Pulse name exchange/<owner>/<name> gives <name>
  (the owner is always --client-id: register the publisher as the original owner to replay
  onto the same topics).
)";

struct PipeOptions {
  std::string file;
  std::string routing_key;
  std::string routing_key_field;
  std::string topic_field;
  std::string exchange_field;
  std::string payload_field;
};

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  for (size_t at = 0;;) {
    const size_t dot = path.find('.', at);
    out.push_back(path.substr(at, dot - at));
    if (dot == std::string_view::npos) return out;
    at = dot + 1;
  }
}

simdjson::simdjson_result<simdjson::dom::element> at_path(simdjson::dom::element root, std::string_view path) {
  simdjson::dom::element e = root;
  for (auto key : split_path(path)) {
    simdjson::dom::object obj;
    if (auto err = e.get_object().get(obj)) return err;
    if (auto err = obj.at_key(key).get(e)) return err;
  }
  return e;
}

// Parses the command line into `po` and `co`; false (after saying why) on a usage error.
bool parse_pipe_options(int argc, char** argv, PipeOptions& po, CommonOptions& co) {
  try {
    co = parse_options(argc, argv, kUsage,
                       {{"file", "read this file instead of stdin", true, [&](auto v) { po.file = v; }},
                        {"routing-key", "the routing key of every line", true, [&](auto v) { po.routing_key = v; }},
                        {"routing-key-field", "the field holding each line's routing key", true,
                         [&](auto v) { po.routing_key_field = v; }},
                        {"topic-field", "the field holding each line's whole topic (under exchange/<client-id>/)",
                         true, [&](auto v) { po.topic_field = v; }},
                        {"exchange-field", "the field holding each line's exchange (instead of --exchange)", true,
                         [&](auto v) { po.exchange_field = v; }},
                        {"payload-field", "publish this field's JSON instead of the whole line", true,
                         [&](auto v) { po.payload_field = v; }}},
                       "pipe");
    const int given = !po.routing_key.empty() + !po.routing_key_field.empty() + !po.topic_field.empty();
    if (given != 1) throw UsageError("give one of --routing-key, --routing-key-field, --topic-field");
    if (!po.exchange_field.empty() && !po.topic_field.empty()) {
      throw UsageError("--exchange-field goes with --routing-key or --routing-key-field, not --topic-field");
    }
    return true;
  } catch (const UsageError& e) {
    std::fprintf(stderr, "hydrant-pipe: %s\n", e.what());
    return false;
  }
}

struct LineMessage {
  std::string topic;
  std::string payload;
};

// What line `number` becomes: its topic (from the routing key or a field) and its payload (the
// line or one field's JSON); nullopt, logged with the number and why, when it is skipped.
std::optional<LineMessage> message_for(const std::string& line, uint64_t number,
                                       simdjson::dom::parser& parser, const PipeOptions& po,
                                       const CommonOptions& co) {
  simdjson::dom::element root;
  if (auto err = parser.parse(line).get(root)) {
    log::warn("event=line-skipped line={} why=\"not JSON: {}\"", number, simdjson::error_message(err));
    return std::nullopt;
  }
  auto field_text = [&](const std::string& path) -> std::optional<std::string> {
    simdjson::dom::element e;
    std::string_view s;
    if (at_path(root, path).get(e) || e.get_string().get(s)) return std::nullopt;
    return std::string(s);
  };
  LineMessage m;
  if (!po.topic_field.empty()) {
    const std::string own_prefix = "exchange/" + co.client_id + "/";
    auto t = field_text(po.topic_field);
    if (!t || !t->starts_with(own_prefix)) {
      log::warn("event=line-skipped line={} why=\"{} is not a topic under {}\"", number, po.topic_field, own_prefix);
      return std::nullopt;
    }
    m.topic = *t;
  } else {
    auto key = po.routing_key.empty() ? field_text(po.routing_key_field) : po.routing_key;
    if (!key) {
      log::warn("event=line-skipped line={} why=\"no string field {}\"", number, po.routing_key_field);
      return std::nullopt;
    }
    std::string exchange_topic = co.exchange_topic();
    if (!po.exchange_field.empty()) {
      // exchange/<owner>/<name> (a recorded Pulse message) -> <name>; anything else is the name.
      auto x = field_text(po.exchange_field);
      std::string name = x.value_or("");
      if (auto ref = pulse::parse_exchange(name)) name = std::string(ref->name);
      if (!x || !pulse::valid_exchange_name(name)) {
        log::warn("event=line-skipped line={} why=\"no string field {} holding an exchange name (no + or #)\"",
                  number, po.exchange_field);
        return std::nullopt;
      }
      exchange_topic = "exchange/" + co.client_id + "/" + name;
    }
    m.topic = pulse::topic_for(exchange_topic, *key);
  }
  m.payload = line;
  if (!po.payload_field.empty()) {
    simdjson::dom::element e;
    if (at_path(root, po.payload_field).get(e)) {
      log::warn("event=line-skipped line={} why=\"no field {}\"", number, po.payload_field);
      return std::nullopt;
    }
    m.payload = simdjson::minify(e);
  }
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  PipeOptions po;
  CommonOptions co;
  if (!parse_pipe_options(argc, argv, po, co)) return kExitUsage;
  install_stop_signals();
  int fd = STDIN_FILENO;
  if (!po.file.empty() && (fd = ::open(po.file.c_str(), O_RDONLY | O_CLOEXEC)) < 0) {
    std::fprintf(stderr, "hydrant-pipe: %s: %s\n", po.file.c_str(), std::strerror(errno));
    return kExitFailed;
  }
  Publisher publisher(co, "pipe");
  try {
    if (!publisher.start(co.connect_timeout)) {
      // The input is unread: whatever it holds was not published.
      std::fprintf(stderr, "hydrant-pipe: stopped before the broker was reachable; nothing was published\n");
      return kExitUnflushed;
    }
  } catch (const RefusedCredentials& e) {
    std::fprintf(stderr, "hydrant-pipe: %s\n", e.what());
    return kExitRefused;
  } catch (const ConnectTimedOut& e) {
    std::fprintf(stderr, "hydrant-pipe: %s\n", e.what());
    return kExitUnflushed;
  }
  simdjson::dom::parser parser;
  LineReader reader(fd);
  std::string line;
  uint64_t number = 0, skipped = 0;
  int status = kExitOk;
  for (;;) {
    const auto st = reader.next(line);
    if (st == LineReader::Status::End || st == LineReader::Status::Stopped) break;
    if (st == LineReader::Status::Error) {
      log::error("event=read-failed error=\"{}\"", std::strerror(errno));
      status = kExitFailed;
      break;
    }
    ++number;
    if (st == LineReader::Status::TooLong) {
      log::warn("event=line-skipped line={} why=\"longer than 4 MiB\"", number);
      ++skipped;
      continue;
    }
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    auto m = message_for(line, number, parser, po, co);
    if (!m) {
      ++skipped;
      continue;
    }
    if (!publisher.publish(std::move(m->topic), std::move(m->payload))) break;
  }
  if (fd != STDIN_FILENO) ::close(fd);
  const size_t left = publisher.stop();
  log::info("event=done lines={} skipped={} unconfirmed={}", number, skipped, left);
  if (left) return kExitUnflushed;
  return status;
}
