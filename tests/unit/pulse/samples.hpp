// Where the pulse tests find real event payloads: $HYDRANT_SAMPLES, else the copies kept in the
// repository (tests/integration/samples, set by meson as HYDRANT_SAMPLES_DIR).
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

#include "util/files.hpp"

namespace hydrant::test {

inline std::filesystem::path samples_dir() {
  const char* env = std::getenv("HYDRANT_SAMPLES");
  return env != nullptr && *env != '\0' ? env : HYDRANT_SAMPLES_DIR;
}

inline std::string read_sample(const std::filesystem::path& path) {
  bool exists = false;
  return util::read_file(path.string(), exists);
}

}  // namespace hydrant::test
