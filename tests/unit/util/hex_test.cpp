// util/hex.hpp: lowercase out, either case in, odd lengths and non-digits refused.
#include <doctest.h>

#include <string>

#include "util/hex.hpp"

using namespace hydrant::util;

TEST_CASE("to_hex and from_hex round-trip every byte") {
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  const std::string hex = to_hex(all);
  CHECK(hex.size() == 512);
  CHECK(hex.substr(0, 6) == "000102");
  CHECK(hex.substr(506) == "fdfeff");
  CHECK(from_hex(hex) == all);
  CHECK(from_hex("ABcd") == std::string("\xab\xcd"));
  CHECK(from_hex("") == std::string());
  CHECK_FALSE(from_hex("abc"));   // odd length
  CHECK_FALSE(from_hex("zz"));    // not a digit
  CHECK(hex_digit_value('g') == -1);
}
