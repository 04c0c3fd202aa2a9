"""A raw MQTT-over-WebSocket client for the integration tests: the exact frames we choose
(several packets in one frame, one packet over several frames, fragmented messages, text frames,
oversized messages), on top of harness.Raw's packet reader."""

import base64
import hashlib
import os
import socket
import struct

from harness import HOST, Raw, Closed

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def upgrade_request(path="/mqtt", protocol="mqtt", origin=None, extra=()):
    key = base64.b64encode(os.urandom(16))
    lines = [f"GET {path} HTTP/1.1", f"Host: {HOST}", "Upgrade: websocket",
             "Connection: Upgrade", f"Sec-WebSocket-Key: {key.decode()}",
             "Sec-WebSocket-Version: 13"]
    if protocol:
        lines.append(f"Sec-WebSocket-Protocol: {protocol}")
    if origin:
        lines.append(f"Origin: {origin}")
    lines += list(extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode(), key


def read_http_head(sock, timeout=5.0):
    """Reads an HTTP response head; returns (status code, {lower header: value}, rest bytes).
    Status 0 when the server closed without answering."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        try:
            chunk = sock.recv(4096)
        except (ConnectionResetError, socket.timeout):
            chunk = b""
        if not chunk:
            return 0, {}, b""
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, rest


def frame(opcode, payload, fin=True, mask=True):
    b0 = (0x80 if fin else 0) | opcode
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", b0, (0x80 if mask else 0) | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, (0x80 if mask else 0) | 126, n)
    else:
        head = struct.pack("!BBQ", b0, (0x80 if mask else 0) | 127, n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return head + key + masked


class WsRaw(Raw):
    """harness.Raw over WebSocket: send() wraps bytes in one masked binary frame (or use
    send_frames for exact framing); received frames are unwrapped into Raw's byte buffer."""

    def __init__(self, port, v, path="/mqtt", protocol="mqtt", origin=None, extra=()):
        sock = socket.create_connection((HOST, port), timeout=5)
        req, key = upgrade_request(path, protocol, origin, extra)
        sock.sendall(req)
        status, headers, rest = read_http_head(sock)
        if status != 101:
            sock.close()
            raise AssertionError(f"upgrade refused: HTTP {status}")
        accept = base64.b64encode(hashlib.sha1(key + GUID).digest()).decode()
        assert headers.get("sec-websocket-accept") == accept, headers
        assert headers.get("sec-websocket-protocol") == protocol, headers
        self.v = v
        self.sock = sock
        self.buf = bytearray()
        self.closed = False
        self.aliases = {}
        self.stash = []
        self.wsbuf = bytearray(rest)
        self.close_code = None
        self.data_frames = 0  # binary and continuation frames received

    def send(self, data):
        self.sock.sendall(frame(OP_BINARY, data))

    def send_frames(self, frames):
        self.sock.sendall(b"".join(frames))

    def _fill(self, deadline):
        while True:
            parsed = self._parse_frame()
            if parsed is not None:
                opcode, payload = parsed
                if opcode in (OP_BINARY, OP_CONT):
                    self.data_frames += 1
                    self.buf += payload
                    return
                if opcode == OP_CLOSE:
                    self.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                    self.closed = True
                    raise Closed(f"WebSocket close {self.close_code}")
                if opcode == OP_PING:
                    self.sock.sendall(frame(OP_PONG, payload))
                continue
            self.wsbuf += self._recv_chunk(deadline)

    def _parse_frame(self):
        b = self.wsbuf
        if len(b) < 2:
            return None
        assert not b[1] & 0x80, "server frames must not be masked (RFC 6455 5.1)"
        n, i = b[1] & 0x7F, 2
        if n == 126:
            if len(b) < 4:
                return None
            n, i = struct.unpack("!H", b[2:4])[0], 4
        elif n == 127:
            if len(b) < 10:
                return None
            n, i = struct.unpack("!Q", b[2:10])[0], 10
        if len(b) < i + n:
            return None
        opcode, payload = b[0] & 0x0F, bytes(b[i:i + n])
        del b[:i + n]
        return opcode, payload
