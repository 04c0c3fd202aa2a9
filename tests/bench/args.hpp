// The bench programs' command lines: "--key value" pairs, --help (or -h) prints the help and
// exits 0, a key without its value prints it to stderr and exits 64 (EX_USAGE).
#pragma once

#include <cstdlib>
#include <string>
#include <string_view>

#include <fmt/core.h>

namespace bench {

template <class OnPair>
void each_option(int argc, char** argv, std::string_view help, OnPair on_pair) {
  for (int i = 1; i < argc; i += 2) {
    const std::string key = argv[i];
    const bool asked = key == "--help" || key == "-h";
    if (asked || i + 1 >= argc) {
      fmt::print(asked ? stdout : stderr, "{}", help);
      std::exit(asked ? 0 : 64);
    }
    on_pair(key, std::string(argv[i + 1]));
  }
}

}  // namespace bench
