#include "tls/openssl_error.hpp"

#include <openssl/err.h>

namespace hydrant::tls {

bool OpensslErrors::has(int lib, int reason) const {
  for (unsigned long code : codes) {
    if (ERR_GET_LIB(code) == lib && ERR_GET_REASON(code) == reason) return true;
  }
  return false;
}

std::string OpensslErrors::reason(const char* fallback) const {
  if (codes.empty()) return fallback;
  if (const char* text = ERR_reason_error_string(codes.front())) return text;
  char buf[256];
  ERR_error_string_n(codes.front(), buf, sizeof buf);
  return buf;
}

OpensslErrors take_openssl_errors() {
  OpensslErrors errors;
  while (const unsigned long code = ERR_get_error()) errors.codes.push_back(code);
  return errors;
}

bool openssl_error_queued() { return ERR_peek_error() != 0; }

}  // namespace hydrant::tls
