// Topic <-> subject encoding. See subject.hpp.
#include "cluster/subject.hpp"

namespace hydrant::cluster {

namespace {

constexpr char kHex[] = "0123456789ABCDEF";

bool kept(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

void append_token(std::string& out, std::string_view level) {
  if (level.empty()) {
    out += '_';
    return;
  }
  for (unsigned char c : level) {
    if (kept(c)) {
      out += static_cast<char>(c);
    } else {
      out += '_';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;  // lower case is not ours: the encoding is one-to-one
}

// Appends the level a token encodes; false when it is no encoding of ours.
bool append_level(std::string& out, std::string_view token) {
  if (token == "_") return true;  // the empty level
  if (token.empty()) return false;
  for (size_t i = 0; i < token.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(token[i]);
    if (kept(c)) {
      out += static_cast<char>(c);
      continue;
    }
    if (c != '_' || i + 2 >= token.size()) return false;
    const int hi = hex_value(token[i + 1]), lo = hex_value(token[i + 2]);
    const int byte = hi * 16 + lo;
    // Bytes written as themselves never come escaped, nor do the MQTT separators and wildcards.
    if (hi < 0 || lo < 0 || kept(static_cast<unsigned char>(byte)) || byte == '/' || byte == '+' ||
        byte == '#' || byte == 0) {
      return false;
    }
    out += static_cast<char>(byte);
    i += 2;
  }
  return true;
}

std::string head(std::string_view prefix) {
  std::string out(prefix);
  out += ".x";
  return out;
}

}  // namespace

std::string subject_of_topic(std::string_view prefix, std::string_view topic) {
  std::string out = head(prefix);
  out.reserve(out.size() + topic.size() + 8);
  size_t start = 0;
  while (true) {
    const size_t slash = topic.find('/', start);
    out += '.';
    append_token(out, topic.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) return out;
    start = slash + 1;
  }
}

std::optional<std::string> topic_of_subject(std::string_view prefix, std::string_view subject) {
  const std::string expected = head(prefix) + '.';
  if (!subject.starts_with(expected)) return std::nullopt;
  std::string topic;
  size_t start = expected.size();
  while (true) {
    const size_t dot = subject.find('.', start);
    const std::string_view token =
        subject.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (!append_level(topic, token)) return std::nullopt;
    if (dot == std::string_view::npos) return topic;
    topic += '/';
    start = dot + 1;
  }
}

std::string subject_filter_of(std::string_view prefix, std::string_view topic_filter) {
  std::string out = head(prefix);
  size_t start = 0;
  while (true) {
    const size_t slash = topic_filter.find('/', start);
    const std::string_view level = topic_filter.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    out += '.';
    if (level == "+") {
      out += '*';
    } else if (level == "#") {
      // "a/#" also matches "a" itself in MQTT; '>' needs one more token, so the caller that
      // cares reads "a" too (subject_of_topic of the parent).
      out += '>';
    } else {
      append_token(out, level);
    }
    if (slash == std::string_view::npos) return out;
    start = slash + 1;
  }
}

}  // namespace hydrant::cluster
