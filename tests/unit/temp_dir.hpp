// A fresh directory under /tmp for one test case, removed with everything in it afterwards (also
// when the case fails). For every unit test: tests/unit/ is on unit_main's include path.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>

namespace hydrant::test {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/hydrant-unit-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string log() const { return path + "/log"; }  // where a data directory keeps its log
};

}  // namespace hydrant::test
