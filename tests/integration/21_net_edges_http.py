"""21 net edges, HTTP and WebSocket side: exact binding of every listener, the bridge's answers
to odd requests (symlinks out of the web root, long URIs and headers, POST on a file path),
unmasked WebSocket frames, and how WebSocket deliveries are framed. (The accept loop and the
descriptor limit are in 21_net_edges.py.)

Hydrant only: these are the bridge's own behaviours.
"""

import os
import socket
import tempfile

from harness import (V311, V5, case, CONNACK, SUBACK, PUBLISH, HOST, Broker, enc_connect,
                     enc_subscribe, enc_publish, free_port, wait_until)
from ws_raw import WsRaw, read_http_head, OP_BINARY

HYDRANT = "the bridge is hydrant's"


def http_request(port, request, host=HOST, timeout=5.0):
    """Sends raw request bytes; returns (status, headers, body). Status 0: closed unanswered."""
    s = socket.create_connection((host, port), timeout=timeout)
    try:
        s.sendall(request)
        status, headers, rest = read_http_head(s, timeout)
        body = rest
        length = int(headers.get("content-length", "0") or 0)
        s.settimeout(timeout)
        while len(body) < length:
            chunk = s.recv(65536)
            if not chunk:
                break
            body += chunk
        return status, headers, body
    finally:
        s.close()


def request(path, extra=(), method="GET", body=b""):
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}", "Connection: close", *extra]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def web_root_with_escape():
    """A web root holding index.html, and symlinks inside it to a file and a directory
    outside it."""
    outside = tempfile.mkdtemp(prefix="hydrant-outside-")
    with open(os.path.join(outside, "secret.txt"), "w") as f:
        f.write("top secret outside the web root")
    root = tempfile.mkdtemp(prefix="hydrant-web-")
    with open(os.path.join(root, "index.html"), "w") as f:
        f.write("<!doctype html><title>hydrant viewer</title>")
    os.symlink(os.path.join(outside, "secret.txt"), os.path.join(root, "leak.txt"))
    os.symlink(outside, os.path.join(root, "outdir"))
    return root


def reachable(host, port):
    try:
        socket.create_connection((host, port), timeout=2).close()
        return True
    except OSError:
        return False


@case(versions=None, broker_args={"http": "free"}, hydrant_only=HYDRANT)
def listeners_bind_exactly_the_given_ipv4_address(t):
    """--http 127.0.0.1:P must not answer on another local address (127.0.0.2 is local on
    Linux's loopback): lws bound "::", every interface, when given an IPv4 address."""
    assert reachable(HOST, t.broker.http_port)
    assert not reachable("127.0.0.2", t.broker.http_port), "HTTP listener answers on 127.0.0.2"
    assert not reachable("127.0.0.2", t.port), "MQTT listener answers on 127.0.0.2"


@case(versions=None, start_broker=False, hydrant_only=HYDRANT)
def http_listener_that_cannot_bind_stops_start_up(t):
    """An address that is not this host's: start-up fails with the reason, not a silent retry
    (lws retries such a bind later)."""
    b = Broker({"http": f"192.0.2.1:{free_port()}"})  # not in t.brokers: it must not run
    try:
        b.start(timeout=10)
        started = True
    except AssertionError:
        started = False
    if started:
        t.brokers.append(b)
    assert not started, "the broker started without its HTTP listener"
    err = b.stderr_text()
    assert "192.0.2.1" in err and "assign requested address" in err.lower(), err[-2000:]
    assert b.proc.returncode not in (0, None) and "Sanitizer" not in err, err[-2000:]


@case(versions=None, start_broker=False, hydrant_only=HYDRANT)
def symlink_out_of_the_web_root_is_not_served(t):
    b = t.start_broker({"http": "free", "web-root": web_root_with_escape()})
    status, _, body = http_request(b.http_port, request("/"))
    assert status == 200 and b"hydrant viewer" in body, (status, body[:200])
    for path in ("/leak.txt", "/outdir/secret.txt"):
        status, _, body = http_request(b.http_port, request(path))
        assert status in (403, 404), (path, status)
        assert b"top secret" not in body, (path, body[:200])


@case(versions=None, start_broker=False, hydrant_only=HYDRANT)
def post_on_a_file_path_is_405(t):
    b = t.start_broker({"http": "free", "web-root": web_root_with_escape()})
    for path in ("/", "/index.html"):
        status, headers, body = http_request(b.http_port, request(path, method="POST", body=b"x=1"))
        assert status == 405, (path, status, body[:200])
        assert headers.get("allow") == "GET, HEAD", headers
        assert b"hydrant viewer" not in body
    status, _, body = http_request(b.http_port, request("/index.html", method="HEAD"))
    assert status == 200 and body == b"", (status, body[:100])


@case(versions=None, broker_args={"http": "free"}, hydrant_only=HYDRANT)
def long_uri_is_414_and_long_headers_431(t):
    port = t.broker.http_port
    status, _, _ = http_request(port, request("/" + "a" * 10_000))
    assert status == 414, status
    status, _, _ = http_request(port, request("/healthz?q=" + "v" * 10_000))
    assert status == 414, status
    status, _, _ = http_request(port, request("/healthz", extra=[f"Cookie: {'c' * 20_000}"]))
    assert status == 431, status
    status, _, _ = http_request(port, request("/healthz"))
    assert status == 200, status  # still serving
