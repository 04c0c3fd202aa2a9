// Reading OpenSSL's per-thread error queue. OpenSSL reports why a call failed by pushing codes
// onto a thread-local queue, the root cause first and wrappers after it ("no start line", then
// "PEM lib"). Every caller in this module clears the queue before a call (so SSL_get_error() is
// not misled by an older failure of another connection on the same thread) and takes the queue
// after a failure with take_openssl_errors().
#pragma once

#include <string>
#include <vector>

namespace hydrant::tls {

struct OpensslErrors {
  std::vector<unsigned long> codes;  // oldest (the root cause) first

  bool empty() const { return codes.empty(); }
  // Whether any queued error is `reason` of library `lib` (ERR_LIB_PEM, PEM_R_NO_START_LINE).
  bool has(int lib, int reason) const;
  // The root cause's reason text ("no start line"), or `fallback` when the queue was empty.
  std::string reason(const char* fallback) const;
};

// Empties the calling thread's queue into the result.
OpensslErrors take_openssl_errors();

// Shorthand: take_openssl_errors().reason(fallback).
inline std::string take_openssl_reason(const char* fallback) {
  return take_openssl_errors().reason(fallback);
}

// Whether the calling thread's queue holds an error (the queue is left as it is).
bool openssl_error_queued();

}  // namespace hydrant::tls
