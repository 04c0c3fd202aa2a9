// ServerContext::load and ContextHolder::reload: every way a certificate or key can be wrong
// gives one line naming the file, and a failed reload keeps the context that was serving.
#include <doctest.h>

#include <string>

#include "test_pki.hpp"
#include "tls/context_holder.hpp"
#include "tls/server_context.hpp"

using hydrant::tls::ContextHolder;
using hydrant::tls::ServerContext;
using hydrant::tls::test::test_pki;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("a matching certificate and key load, and describe the certificate") {
  const auto& pki = test_pki();
  const auto loaded = ServerContext::load(pki.server_cert, pki.server_key);
  REQUIRE_MESSAGE(loaded.ok(), loaded.error);
  CHECK(loaded.error.empty());
  CHECK(contains(loaded.context->describe(), "subject=\"CN=localhost\""));
  CHECK(contains(loaded.context->describe(), "expired=no"));
  CHECK_FALSE(loaded.context->expired());
}

TEST_CASE("load errors name the file and the reason") {
  const auto& pki = test_pki();

  SUBCASE("missing certificate file") {
    const auto r = ServerContext::load(pki.dir + "/nope.pem", pki.server_key);
    CHECK_FALSE(r.ok());
    CHECK(contains(r.error, "cannot read certificate file '" + pki.dir + "/nope.pem'"));
    CHECK(contains(r.error, "No such file or directory"));
  }
  SUBCASE("missing key file") {
    const auto r = ServerContext::load(pki.server_cert, pki.dir + "/nope.key");
    CHECK_FALSE(r.ok());
    CHECK(contains(r.error, "cannot read key file '" + pki.dir + "/nope.key'"));
  }
  SUBCASE("certificate file that is not PEM") {
    const auto r = ServerContext::load(pki.not_pem, pki.server_key);
    CHECK_FALSE(r.ok());
    CHECK(contains(r.error, "certificate file '" + pki.not_pem + "' holds no PEM certificate"));
  }
  SUBCASE("a key given as the certificate") {
    const auto r = ServerContext::load(pki.server_key, pki.server_key);
    CHECK_FALSE(r.ok());
    CHECK(contains(r.error, "holds no PEM certificate"));
  }
  SUBCASE("key file that is not PEM") {
    const auto r = ServerContext::load(pki.server_cert, pki.not_pem);
    CHECK_FALSE(r.ok());
    CHECK(contains(r.error, "cannot load private key '" + pki.not_pem + "'"));
  }
  SUBCASE("key of another certificate (same type)") {
    const auto r = ServerContext::load(pki.server_cert, pki.stray_key);
    CHECK_FALSE(r.ok());
    CHECK(r.error == "private key '" + pki.stray_key + "' does not match certificate '" + pki.server_cert + "'");
  }
  SUBCASE("key of another type (RSA key, ECDSA certificate)") {
    const auto r = ServerContext::load(pki.server_cert, pki.rsa_key);
    CHECK_FALSE(r.ok());
    CHECK(contains(r.error, "does not match certificate"));
  }
  SUBCASE("second certificate with the first one's key") {
    const auto r = ServerContext::load(pki.second_cert, pki.server_key);
    CHECK_FALSE(r.ok());
    CHECK(contains(r.error, "does not match certificate"));
  }
  SUBCASE("encrypted key fails without prompting for a passphrase") {
    const auto r = ServerContext::load(pki.server_cert, pki.encrypted_key);
    CHECK_FALSE(r.ok());
    CHECK(contains(r.error, "cannot load private key '" + pki.encrypted_key + "'"));
    CHECK(contains(r.error, "unencrypted"));
  }
}

TEST_CASE("ContextHolder: a good reload swaps, a bad one keeps the serving context") {
  const auto& pki = test_pki();
  auto first = ServerContext::load(pki.server_cert, pki.server_key);
  REQUIRE(first.ok());
  ContextHolder holder(first.context);
  CHECK(holder.current() == first.context);

  const auto bad = holder.reload(pki.second_cert, pki.server_key);
  CHECK_FALSE(bad.ok());
  CHECK(contains(bad.error, "does not match"));
  CHECK(holder.current() == first.context);

  const auto missing = holder.reload(pki.dir + "/gone.pem", pki.second_key);
  CHECK_FALSE(missing.ok());
  CHECK(holder.current() == first.context);

  const auto good = holder.reload(pki.second_cert, pki.second_key);
  REQUIRE_MESSAGE(good.ok(), good.error);
  CHECK(holder.current() == good.context);
  CHECK(contains(holder.current()->describe(), "CN=hydrant-second"));
}
