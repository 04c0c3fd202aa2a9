// URLs as logs and error messages may show them.
#pragma once

#include <string>
#include <string_view>

namespace hydrant::util {

// `scheme://user:password@host:port` with the user information replaced by "***", so that a
// password in an engine URL never reaches a log line. Other URLs are returned as they are.
inline std::string redact_url_credentials(std::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::string(url);
  const size_t host_start = scheme_end + 3;
  const size_t at = url.find('@', host_start);
  const size_t slash = url.find('/', host_start);
  if (at == std::string_view::npos || (slash != std::string_view::npos && slash < at)) return std::string(url);
  return std::string(url.substr(0, host_start)) + "***" + std::string(url.substr(at));
}

}  // namespace hydrant::util
