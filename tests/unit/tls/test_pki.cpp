// The PKI is made by shelling out to `openssl` (as an operator would), not with the library
// under test, so that a bug in our OpenSSL calls cannot make the test certificates agree with it.
#include "test_pki.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace hydrant::tls::test {

namespace {

constexpr const char* kEcKey = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";

class PkiDir {
 public:
  PkiDir() {
    char path[] = "/tmp/hydrant-tls-test-XXXXXX";
    if (mkdtemp(path) == nullptr) throw std::runtime_error("mkdtemp failed");
    pki_.dir = path;
    make();
  }
  ~PkiDir() {
    std::error_code ignored;
    std::filesystem::remove_all(pki_.dir, ignored);
  }
  const TestPki& pki() const { return pki_; }

 private:
  std::string at(const char* name) const { return pki_.dir + "/" + name; }

  // Runs one shell command in the PKI directory; throws with its output when it fails.
  void run(const std::string& command) const {
    const std::string log = at("openssl.log");
    const std::string full = "cd '" + pki_.dir + "' && " + command + " >'" + log + "' 2>&1 </dev/null";
    if (std::system(full.c_str()) != 0) {
      std::ifstream in(log);
      std::stringstream out;
      out << in.rdbuf();
      throw std::runtime_error("test PKI: `" + command + "` failed:\n" + out.str());
    }
  }

  void write(const char* name, const std::string& text) const { std::ofstream(at(name)) << text; }

  void make_server(const std::string& name, const std::string& cn) const {
    write((name + ".ext").c_str(),
          "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
          "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n");
    run(std::string("openssl req -new ") + kEcKey + " -keyout " + name + ".key -out " + name +
        ".csr -subj /CN=" + cn);
    run("openssl x509 -req -in " + name + ".csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -out " +
        name + ".pem -extfile " + name + ".ext");
  }

  void make() {
    run(std::string("openssl req -x509 -new ") + kEcKey +
        " -keyout ca.key -out ca.pem -days 30 -subj '/CN=Hydrant unit-test CA'"
        " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign");
    make_server("server", "localhost");
    make_server("second", "hydrant-second");
    run("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out stray.key");
    run("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.key");
    run("openssl pkey -in server.key -aes256 -passout pass:secret -out encrypted.key");
    write("not-pem.txt", "this is not a certificate\n");
    pki_.ca_cert = at("ca.pem");
    pki_.server_cert = at("server.pem");
    pki_.server_key = at("server.key");
    pki_.second_cert = at("second.pem");
    pki_.second_key = at("second.key");
    pki_.stray_key = at("stray.key");
    pki_.rsa_key = at("rsa.key");
    pki_.encrypted_key = at("encrypted.key");
    pki_.not_pem = at("not-pem.txt");
  }

  TestPki pki_;
};

}  // namespace

const TestPki& test_pki() {
  static const PkiDir dir;  // removed by its destructor at exit
  return dir.pki();
}

}  // namespace hydrant::tls::test
