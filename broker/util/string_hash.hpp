// StringHash: a transparent hash for unordered containers keyed by std::string, so that a
// std::string_view can be looked up without building a string (C++20 heterogeneous lookup).
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace hydrant::util {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  size_t operator()(const std::string& s) const { return std::hash<std::string_view>{}(s); }
};

}  // namespace hydrant::util
