// log::untrusted (issue 13): client strings in log lines cannot forge lines or make them long.
#include <doctest.h>

#include <string>

#include "util/log.hpp"
#include "util/log_untrusted.hpp"

using hydrant::log::untrusted;

TEST_CASE("untrusted strings are escaped and truncated for the log") {
  CHECK(fmt::format("{}", untrusted("plain-id_1")) == "plain-id_1");
  CHECK(fmt::format("{}", untrusted("a\nb\"c\\d\x01")) == "a\\nb\\\"c\\\\d\\x01");
  CHECK(fmt::format("{}", untrusted("caf\xc3\xa9")) == "caf\xc3\xa9");  // valid UTF-8 kept
  CHECK(fmt::format("{}", untrusted("\xff\xc3(\xed\xa0\x80")) == "\\xff\\xc3(\\xed\\xa0\\x80");
  const std::string big(65000, 'u');
  const std::string out = fmt::format("{}", untrusted(big));
  CHECK(out == std::string(128, 'u') + "...(65000 bytes)");
}
