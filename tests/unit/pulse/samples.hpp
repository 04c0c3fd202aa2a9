// Where the pulse tests find the real payloads of ../shared/samples: $HYDRANT_SAMPLES, else the
// workspace copy. A clone without it skips those cases (each test says so) and keeps its inline
// samples.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

#include "util/files.hpp"

namespace hydrant::test {

inline std::filesystem::path samples_dir() {
  const char* env = std::getenv("HYDRANT_SAMPLES");
  return env != nullptr && *env != '\0' ? env : "/work/shared/samples";
}

inline std::string read_sample(const std::filesystem::path& path) {
  bool exists = false;
  return util::read_file(path.string(), exists);
}

}  // namespace hydrant::test
