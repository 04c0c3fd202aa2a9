"""13 tls: MQTT over TLS (mqtts) and WebSocket over TLS (https/wss) with a throwaway CA made by
the `openssl` command (tls_certs.py): mosquitto clients and Python paho over both, old protocol
versions refused, plain MQTT on the TLS port refused and logged, a bad certificate refused at
start-up, and certificate reload on SIGHUP.
"""

import os
import signal
import socket
import ssl
import subprocess
import tempfile

from harness import (V311, V5, case, HOST, hydrant_bin, mosquitto_pub, MosquittoSub,
                     mosq_version_flag, wait_until)
from tls_certs import make_test_pki

TLS_ONLY = "hydrant's TLS listeners"


def pki():
    return make_test_pki(tempfile.mkdtemp(prefix="hydrant-pki-"))


def tls_broker(t, certs, **extra):
    args = {"mqtts": "free", "https": "free", "http": "off", "tls-cert": certs["server_cert"],
            "tls-key": certs["server_key"]}
    args.update(extra)
    return t.start_broker(args)


def live_pair(certs):
    """A copy of the server's certificate and key in a directory of its own, to replace before a
    SIGHUP; returns their paths."""
    live = tempfile.mkdtemp(prefix="hydrant-live-")
    cert, key = os.path.join(live, "cert.pem"), os.path.join(live, "key.pem")
    for src, dst in ((certs["server_cert"], cert), (certs["server_key"], key)):
        with open(src, "rb") as f, open(dst, "wb") as g:
            g.write(f.read())
    return cert, key


def peer_cn(port, ca):
    ctx = ssl.create_default_context(cafile=ca)
    with socket.create_connection((HOST, port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            subject = dict(x[0] for x in s.getpeercert()["subject"])
            return subject.get("commonName"), s.version()


@case(start_broker=False, hydrant_only=TLS_ONLY)
def mosquitto_clients_over_mqtts(t):
    certs = pki()
    b = tls_broker(t, certs)
    sub = MosquittoSub(b.mqtts_port, t.v, t.topic(), count=1,
                       extra=["--cafile", certs["ca_cert"]])
    t._procs.append(sub)
    sub.wait_subscribed()
    mosquitto_pub(b.mqtts_port, t.v, t.topic(), '{"over":"tls"}', qos=1,
                  extra=["--cafile", certs["ca_cert"]])
    assert sub.wait_exit() == 0
    assert sub.messages() == [f'{t.topic()} {{"over":"tls"}}'], sub.lines


@case(start_broker=False, hydrant_only=TLS_ONLY)
def paho_over_mqtts_meets_plain_tcp_and_wss(t):
    certs = pki()
    t.broker = tls_broker(t, certs)
    tls_sub = t.client(port=t.broker.mqtts_port, ca_certs=certs["ca_cert"], connect=False)
    tls_sub.c.tls_insecure_set(False)
    tls_sub.connect()
    tls_sub.subscribe(t.topic(), qos=1)
    wss_sub = t.client(transport="websockets", ca_certs=certs["ca_cert"])
    wss_sub.subscribe(t.topic(), qos=1)
    t.client().publish(t.topic(), b'{"n":1}', qos=1)
    assert tls_sub.wait_messages(1)[0].payload == b'{"n":1}'
    assert wss_sub.wait_messages(1)[0].payload == b'{"n":1}'


@case(versions=None, start_broker=False, hydrant_only=TLS_ONLY)
def old_tls_versions_are_refused(t):
    certs = pki()
    b = tls_broker(t, certs)
    for port in (b.mqtts_port, b.https_port):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(certs["ca_cert"])
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        try:
            ctx.set_ciphers("ALL:@SECLEVEL=0")
        except ssl.SSLError:
            pass
        with socket.create_connection((HOST, port), timeout=5) as raw:
            try:
                ctx.wrap_socket(raw, server_hostname="localhost").close()
                raise AssertionError(f"TLS 1.1 accepted on {port}")
            except (ssl.SSLError, ConnectionResetError, OSError) as e:
                assert "accepted" not in str(e)
        cn, version = peer_cn(port, certs["ca_cert"])
        assert cn == "localhost" and version in ("TLSv1.2", "TLSv1.3"), (cn, version)


@case(versions=None, start_broker=False, hydrant_only=TLS_ONLY)
def plain_mqtt_on_the_tls_port_is_refused_and_logged(t):
    certs = pki()
    b = tls_broker(t, certs)
    with socket.create_connection((HOST, b.mqtts_port), timeout=5) as s:
        s.sendall(b"\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\x00\x00")
        s.settimeout(5)
        try:
            data = s.recv(100)
        except ConnectionResetError:
            data = b""
        assert b" \x02" not in data, data  # no CONNACK in clear
    wait_until(lambda: "not TLS" in b.stderr_text(), 5, what="a log line naming the mistake")


@case(versions=None, start_broker=False, hydrant_only=TLS_ONLY)
def a_bad_certificate_stops_the_broker_with_a_clear_message(t):
    certs = pki()
    with tempfile.TemporaryDirectory() as d:
        res = subprocess.run([hydrant_bin(), "--mqtt", f"{HOST}:0", "--http", "off", "--data", d,
                              "--tls-cert", certs["server_cert"], "--tls-key", certs["second_key"]],
                             capture_output=True, text=True, timeout=15)
    assert res.returncode != 0
    assert "does not match" in res.stderr or "key" in res.stderr.lower(), res.stderr


@case(versions=None, start_broker=False, hydrant_only=TLS_ONLY)
def sighup_reloads_the_certificate_for_new_connections(t):
    certs = pki()
    cert, key = live_pair(certs)
    b = t.start_broker({"mqtts": "free", "https": "free", "http": "off", "tls-cert": cert,
                        "tls-key": key})
    t.broker = b
    before = t.client(port=b.mqtts_port, ca_certs=certs["ca_cert"])
    assert peer_cn(b.mqtts_port, certs["ca_cert"])[0] == certs["server_cn"]
    for src, dst in ((certs["second_cert"], cert), (certs["second_key"], key)):
        with open(src, "rb") as f, open(dst, "wb") as g:
            g.write(f.read())
    b.signal(signal.SIGHUP)
    for port in (b.mqtts_port, b.https_port):
        wait_until(lambda: peer_cn(port, certs["ca_cert"])[0] == certs["second_cn"], 5,
                   what=f"the new certificate on {port}")
    before.subscribe(t.topic())  # the connection made before the reload still works


@case(versions=None, start_broker=False, hydrant_only=TLS_ONLY)
def sighup_with_a_key_that_does_not_match_is_refused_once_per_listener(t):
    """SIGHUP after the key file was replaced by another certificate's key: the pair is refused
    for mqtts and https alike, one line each, none says reloaded, and both listeners keep the
    running certificate (issue 16 item 4)."""
    certs = pki()
    cert, key = live_pair(certs)
    b = t.start_broker({"mqtts": "free", "https": "free", "http": "off", "tls-cert": cert,
                        "tls-key": key})
    t.broker = b
    with open(certs["second_key"], "rb") as f, open(key, "wb") as g:
        g.write(f.read())  # the old certificate with the new key: no pair
    b.signal(signal.SIGHUP)
    wait_until(lambda: "event=reloaded" in b.stderr_text(), 5, what="the reload")
    lines = [l for l in b.stderr_text().splitlines() if "tls-reload" in l]
    assert sorted(l.split("listener=")[1].split()[0] for l in lines
                  if "event=tls-reload-refused" in l) == ["https", "mqtts"], lines
    assert not [l for l in lines if "event=tls-reloaded" in l], lines
    for port in (b.mqtts_port, b.https_port):
        assert peer_cn(port, certs["ca_cert"])[0] == certs["server_cn"], port
