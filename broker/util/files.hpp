// Small whole-file helpers for the control plane (users, declared exchanges): read a file, and
// replace one atomically so that a crash leaves the old content or the new, never half of it.
#pragma once

#include <string>
#include <string_view>

namespace hydrant::util {

// The whole file; `exists` false (and "") when it cannot be opened.
std::string read_file(const std::string& path, bool& exists);

// Writes PATH.tmp with `mode`, fsyncs it, renames it over PATH and fsyncs the directory.
// Throws std::runtime_error naming the path and the system error.
void write_file_atomically(const std::string& path, std::string_view data, unsigned mode);

}  // namespace hydrant::util
