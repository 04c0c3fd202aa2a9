// A throwaway PKI for the TLS tests, made with the `openssl` command in a temporary directory
// that is removed when the test process exits: a CA, two server certificates it signed (both
// valid for localhost and 127.0.0.1, told apart by their CN), and broken inputs for load errors.
#pragma once

#include <string>

namespace hydrant::tls::test {

struct TestPki {
  std::string dir;
  std::string ca_cert;
  std::string server_cert, server_key;  // CN=localhost
  std::string second_cert, second_key;  // CN=hydrant-second (reload tests)
  std::string stray_key;                // an EC P-256 key that belongs to no certificate
  std::string rsa_key;                  // an RSA key (another type than the certificates')
  std::string encrypted_key;            // server_key under a passphrase
  std::string not_pem;                  // a text file
};

// Made on first use (a second or two), shared by every test in the process. A failing
// `openssl` command fails the test run with its output.
const TestPki& test_pki();

}  // namespace hydrant::tls::test
