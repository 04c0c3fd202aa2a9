"""A throwaway PKI for TLS integration tests (MQTTS on 8883, WSS on 8443), made with the `openssl`
command: a CA, and two server certificates it signed, each valid for localhost and 127.0.0.1
(the second one, with another subject, is for certificate-reload tests). Keys are EC P-256 and
unencrypted; certificates are valid for 30 days. Nothing here is fit for production.

What it does not do: start a broker or configure clients (the harness and the cases do).

    make_test_pki(dir) -> {"ca_cert", "server_cert", "server_key", "second_cert", "second_key",
                           "second_cn", "server_cn"}

Run as a script to create the files in a directory and print their paths:

    /usr/bin/python3 tests/integration/tls_certs.py /tmp/pki
"""

import os
import subprocess
import sys

SERVER_CN = "localhost"
SECOND_CN = "hydrant-second"
_EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
_SERVER_EXTENSIONS = (
    "basicConstraints=CA:FALSE\n"
    "keyUsage=critical,digitalSignature\n"
    "extendedKeyUsage=serverAuth\n"
    "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
)


def _openssl(args, cwd):
    """Runs one openssl command in cwd; raises with its output when it fails."""
    done = subprocess.run(["openssl"] + args, cwd=cwd, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=60)
    if done.returncode != 0:
        raise RuntimeError("openssl %s failed:\n%s" % (" ".join(args), done.stdout))


def _server_certificate(directory, name, common_name):
    ext = os.path.join(directory, name + ".ext")
    with open(ext, "w") as f:
        f.write(_SERVER_EXTENSIONS)
    _openssl(["req", "-new"] + _EC_KEY + ["-keyout", name + ".key", "-out", name + ".csr",
                                          "-subj", "/CN=" + common_name], directory)
    _openssl(["x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
              "-CAcreateserial", "-days", "30", "-out", name + ".pem", "-extfile", ext], directory)
    return os.path.join(directory, name + ".pem"), os.path.join(directory, name + ".key")


def make_test_pki(directory):
    """Creates the CA and both server certificates in `directory` (made if missing) and returns
    their absolute paths and the servers' common names."""
    directory = os.path.abspath(directory)
    os.makedirs(directory, exist_ok=True)
    _openssl(["req", "-x509", "-new"] + _EC_KEY +
             ["-keyout", "ca.key", "-out", "ca.pem", "-days", "30",
              "-subj", "/CN=Hydrant test CA",
              "-addext", "basicConstraints=critical,CA:TRUE",
              "-addext", "keyUsage=critical,keyCertSign,cRLSign"], directory)
    server_cert, server_key = _server_certificate(directory, "server", SERVER_CN)
    second_cert, second_key = _server_certificate(directory, "second", SECOND_CN)
    return {
        "ca_cert": os.path.join(directory, "ca.pem"),
        "server_cert": server_cert,
        "server_key": server_key,
        "server_cn": SERVER_CN,
        "second_cert": second_cert,
        "second_key": second_key,
        "second_cn": SECOND_CN,
    }


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: %s DIRECTORY\n" % argv[0])
        return 2
    for key, value in make_test_pki(argv[1]).items():
        print("%s=%s" % (key, value))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
