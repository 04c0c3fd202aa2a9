// ServerContext: the server side's TLS configuration, loaded once from a certificate chain and a
// private key (PEM files) and shared, read-only, by every TLS connection that starts while it is
// current. Policy, fixed here rather than configurable so that no deployment can weaken it:
//   - TLS 1.2 minimum, TLS 1.3 preferred;
//   - TLS 1.2 suites are ECDHE (forward secrecy) with an AEAD cipher (AES-GCM, ChaCha20-Poly1305);
//     TLS 1.3 suites are all AEAD by construction;
//   - no compression, no renegotiation, no server-side session cache (stateless tickets only);
//   - ALPN "mqtt" is selected when the client offers it, and not required when it does not.
// Certificate reload (SIGHUP) loads a new ServerContext and swaps the shared_ptr (ContextHolder):
// connections keep the context they started with.
//
// Does no I/O on sockets; see Stream for a connection.
#pragma once

#include <memory>
#include <string>

using SSL_CTX = struct ssl_ctx_st;

namespace hydrant::tls {

class ServerContext;

// The outcome of ServerContext::load(): a context, or one line naming the file and what is wrong
// with it ("private key '/etc/x.key' does not match certificate '/etc/x.pem'"). A dedicated type
// rather than util's Result<T> because the message names files, and Result carries only a static
// string; loading happens on the control plane (startup, SIGHUP), never per connection.
struct [[nodiscard]] LoadResult {
  std::shared_ptr<const ServerContext> context;  // null on failure
  std::string error;                             // empty on success
  bool ok() const { return context != nullptr; }
  explicit operator bool() const { return ok(); }
};

class ServerContext {
 public:
  // Reads `cert_chain_file` (the server certificate first, then any intermediates, PEM) and
  // `key_file` (an unencrypted PEM private key) and checks that they belong together. Never
  // prompts for a passphrase. Blocks on file I/O; thread-safe.
  static LoadResult load(const std::string& cert_chain_file, const std::string& key_file);

  ~ServerContext();
  ServerContext(const ServerContext&) = delete;
  ServerContext& operator=(const ServerContext&) = delete;

  // For a log line at startup and reload: `subject="CN=localhost" not_after="…" expired=no`.
  std::string describe() const;
  // True when the leaf certificate's notAfter is in the past (worth a warning; still served).
  bool expired() const;

  // The OpenSSL context, for Stream. SSL_new() takes its own reference, so a connection outlives
  // a ServerContext that a reload has dropped.
  SSL_CTX* native() const { return ctx_; }

 private:
  explicit ServerContext(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* ctx_;
};

}  // namespace hydrant::tls
