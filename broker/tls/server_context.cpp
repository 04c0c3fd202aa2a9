// ServerContext::load: the policy settings, then the files, each failure told in one line that
// names the file (a bad certificate is a configuration error an operator must be able to fix
// from the message alone).
#include "tls/server_context.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "tls/openssl_error.hpp"

namespace hydrant::tls {

namespace {

// Mozilla's "intermediate" TLS 1.2 list without the finite-field DHE suites: ECDHE + AEAD only.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
// TLS 1.3 suites are all AEAD; named so that a system openssl.cnf cannot add others.
constexpr const char* kTls13Suites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
constexpr const char* kGroups = "X25519:P-256:P-384";
// ALPN wire format: length-prefixed names.
constexpr unsigned char kAlpnMqtt[] = {4, 'm', 'q', 't', 't'};

std::string quoted(const std::string& path) { return "'" + path + "'"; }

// Empty when `path` can be opened for reading, else "cannot read <what> '<path>': <errno text>".
std::string check_readable(const char* what, const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return std::string("cannot read ") + what + " " + quoted(path) + ": " + std::strerror(errno);
  }
  std::fclose(f);
  return {};
}

// Never prompt on the terminal for an encrypted key: fail instead.
int no_passphrase(char*, int, int, void*) { return -1; }

int select_alpn(SSL*, const unsigned char** out, unsigned char* out_len, const unsigned char* in,
                unsigned int in_len, void*) {
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, out_len, kAlpnMqtt, sizeof kAlpnMqtt, in, in_len) ==
      OPENSSL_NPN_NEGOTIATED) {
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
  }
  return SSL_TLSEXT_ERR_NOACK;  // the client offered other protocols only: go on without ALPN
}

// The fixed policy (see the header). Returns an empty string or what failed.
std::string apply_policy(SSL_CTX* ctx) {
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1 ||
      SSL_CTX_set_ciphersuites(ctx, kTls13Suites) != 1 || SSL_CTX_set1_groups_list(ctx, kGroups) != 1) {
    return "cannot apply the TLS policy: " + take_openssl_reason("unknown error");
  }
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_PRIORITIZE_CHACHA |
                               SSL_OP_IGNORE_UNEXPECTED_EOF);
  // RELEASE_BUFFERS: an idle connection gives its ~34 KiB of record buffers back.
  // ACCEPT_MOVING_WRITE_BUFFER: Stream retries a blocked record from its own copy (same bytes,
  // another address).
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // Fewer syscalls per record; Stream::has_buffered_input() reports what this holds back.
  SSL_CTX_set_read_ahead(ctx, 1);
  // Stateless tickets only: a server-side cache would hold up to 20,480 sessions in memory.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx, 1);
  SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
  SSL_CTX_set_alpn_select_cb(ctx, select_alpn, nullptr);
  return {};
}

std::string load_certificate_chain(SSL_CTX* ctx, const std::string& file) {
  if (std::string e = check_readable("certificate file", file); !e.empty()) return e;
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(ctx, file.c_str()) == 1) return {};
  const OpensslErrors errors = take_openssl_errors();
  if (errors.has(ERR_LIB_PEM, PEM_R_NO_START_LINE)) {
    return "certificate file " + quoted(file) +
           " holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)";
  }
  return "cannot load certificate file " + quoted(file) + ": " + errors.reason("unknown error");
}

std::string load_private_key(SSL_CTX* ctx, const std::string& key_file,
                             const std::string& cert_file) {
  if (std::string e = check_readable("key file", key_file); !e.empty()) return e;
  const std::string mismatch =
      "private key " + quoted(key_file) + " does not match certificate " + quoted(cert_file);
  ERR_clear_error();
  if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    const OpensslErrors errors = take_openssl_errors();
    if (errors.has(ERR_LIB_X509, X509_R_KEY_VALUES_MISMATCH) ||
        errors.has(ERR_LIB_X509, X509_R_KEY_TYPE_MISMATCH)) {
      return mismatch;
    }
    const std::string reason = errors.reason("unknown error");
    // OpenSSL 3's decoders report an unreadable, encrypted or non-PEM key alike; name the usual
    // causes.
    return "cannot load private key " + quoted(key_file) + ": " + reason +
           " (expected an unencrypted PEM private key)";
  }
  // A key of another type (RSA key, ECDSA certificate) lands in another slot without complaint.
  if (SSL_CTX_check_private_key(ctx) != 1) {
    ERR_clear_error();
    return mismatch;
  }
  return {};
}

}  // namespace

LoadResult ServerContext::load(const std::string& cert_chain_file, const std::string& key_file) {
  ERR_clear_error();
  SSL_CTX* raw = SSL_CTX_new(TLS_server_method());
  if (raw == nullptr) {
    return {nullptr, "cannot create a TLS context: " + take_openssl_reason("out of memory")};
  }
  std::shared_ptr<const ServerContext> ctx(new ServerContext(raw));  // frees `raw` on every path
  std::string error = apply_policy(raw);
  if (error.empty()) error = load_certificate_chain(raw, cert_chain_file);
  if (error.empty()) error = load_private_key(raw, key_file, cert_chain_file);
  if (!error.empty()) return {nullptr, std::move(error)};
  return {std::move(ctx), {}};
}

ServerContext::~ServerContext() { SSL_CTX_free(ctx_); }

bool ServerContext::expired() const {
  X509* cert = SSL_CTX_get0_certificate(ctx_);
  return cert != nullptr && X509_cmp_current_time(X509_get0_notAfter(cert)) < 0;
}

std::string ServerContext::describe() const {
  X509* cert = SSL_CTX_get0_certificate(ctx_);
  if (cert == nullptr) return "no certificate";
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr) return "certificate (out of memory)";
  BIO_puts(bio, "subject=\"");
  X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
  BIO_puts(bio, "\" not_after=\"");
  ASN1_TIME_print(bio, X509_get0_notAfter(cert));
  BIO_puts(bio, expired() ? "\" expired=yes" : "\" expired=no");
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string text(data, len > 0 ? static_cast<size_t>(len) : 0);
  BIO_free(bio);
  ERR_clear_error();
  return text;
}

}  // namespace hydrant::tls
