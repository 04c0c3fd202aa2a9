// A fresh directory under /tmp for one test case, removed with everything in it afterwards.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>

namespace hydrant::store::test {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/hydrant-store-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string log() const { return path + "/log"; }  // where a data directory keeps its log
};

}  // namespace hydrant::store::test
