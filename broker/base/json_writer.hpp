// JsonWriter: builds a JSON text into a std::string (the HTTP API, the admin tool, audit lines,
// the publishers). Strings are escaped per RFC 8259 (quote, backslash, control characters);
// bytes that are not UTF-8 become U+FFFD, so the output is valid JSON whatever a client put in a
// topic. Commas are placed automatically.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "base/utf8.hpp"

namespace hydrant {

class JsonWriter {
 public:
  JsonWriter& begin_object() { return open('{'); }
  JsonWriter& end_object() { return close('}'); }
  JsonWriter& begin_array() { return open('['); }
  JsonWriter& end_array() { return close(']'); }

  // An object member's name; the next value belongs to it.
  JsonWriter& key(std::string_view name) {
    separate();
    write_string(name);
    out_ += ':';
    after_key_ = true;
    return *this;
  }
  JsonWriter& value(std::string_view s) {
    separate();
    write_string(s);
    return *this;
  }
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(uint64_t n) { return raw(fmt::format("{}", n)); }
  JsonWriter& value(int64_t n) { return raw(fmt::format("{}", n)); }
  JsonWriter& value(int n) { return raw(fmt::format("{}", n)); }
  JsonWriter& value(unsigned n) { return raw(fmt::format("{}", n)); }
  JsonWriter& value(double d) { return raw(std::isfinite(d) ? fmt::format("{:.3f}", d) : "null"); }
  JsonWriter& value(bool b) { return raw(b ? "true" : "false"); }
  JsonWriter& null() { return raw("null"); }
  // A value that is already valid JSON (checked by the caller), written as it is.
  JsonWriter& json_value(std::string_view valid_json) { return raw(valid_json); }

  // key(name).value(v) in one call.
  template <class T>
  JsonWriter& member(std::string_view name, const T& v) {
    key(name);
    return value(v);
  }

  const std::string& str() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  JsonWriter& open(char c) {
    separate();
    out_ += c;
    first_.push_back(true);
    return *this;
  }
  JsonWriter& close(char c) {
    out_ += c;
    first_.pop_back();
    return *this;
  }
  JsonWriter& raw(std::string_view text) {
    separate();
    out_ += text;
    return *this;
  }
  void separate() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (first_.empty()) return;
    if (!first_.back()) out_ += ',';
    first_.back() = false;
  }
  void write_string(std::string_view s) {
    out_ += '"';
    size_t i = 0;
    while (i < s.size()) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (c < 0x80) {
        switch (c) {
          case '"': out_ += "\\\""; break;
          case '\\': out_ += "\\\\"; break;
          case '\n': out_ += "\\n"; break;
          case '\r': out_ += "\\r"; break;
          case '\t': out_ += "\\t"; break;
          default:
            if (c < 0x20 || c == 0x7F) {
              out_ += fmt::format("\\u{:04x}", c);
            } else {
              out_ += static_cast<char>(c);
            }
        }
        ++i;
        continue;
      }
      const size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
      const auto seq = s.substr(i, len);
      if (len > 1 && seq.size() == len && is_valid_utf8(seq)) {
        out_ += seq;
        i += len;
      } else {
        out_ += "\xEF\xBF\xBD";  // U+FFFD
        ++i;
      }
    }
    out_ += '"';
  }

  std::string out_;
  std::vector<bool> first_;  // per open container: no member written yet
  bool after_key_ = false;
};

}  // namespace hydrant
