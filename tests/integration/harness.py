"""Integration-test harness: a real broker process, real clients, raw bytes.

What it does: starts one broker per test case on a free loopback port with a temporary data dir
(hydrant by default, Debian's mosquitto with BROKER=mosquitto), waits until the port accepts,
captures the broker's stderr, stops it by PID with SIGTERM, asserts a clean exit (hydrant) and
fails the case on any sanitizer report. It also provides the clients the cases use: a paho
client wrapper (MQTT 3.1.1 and 5) whose calls wait on events with deadlines, a raw-socket MQTT
client with encoders/decoders for both versions, and mosquitto_pub/mosquitto_sub wrappers.

What it does not do: run cases (run.py does), mock anything, or sleep to wait for a result.
Every wait polls with a deadline. Cases are registered with @case in tests/integration/NN_*.py.
"""

import http.client
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.subscribeoptions import SubscribeOptions

HOST = "127.0.0.1"
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BROKER_KIND = os.environ.get("BROKER", "hydrant")
MOSQUITTO_BIN = os.environ.get("MOSQUITTO_BIN", "/usr/sbin/mosquitto")
# FORCE_ALL=1 runs hydrant-only cases against mosquitto too (to confirm a recorded deviation)
FORCE_ALL = os.environ.get("FORCE_ALL") == "1"
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer")

V311 = 4
V5 = 5
BOTH = (V311, V5)


# --------------------------------------------------------------------------------------------
# Case registry
# --------------------------------------------------------------------------------------------

class Skip(Exception):
    """Raised by a case (or the runner) to report SKIP with a reason."""


REGISTRY = []  # list of Case, filled by @case when the NN_*.py modules are imported


class Case:
    def __init__(self, module, fn, version, opts):
        self.module = module
        self.fn = fn
        self.version = version
        self.opts = opts
        suffix = "" if version is None else ("[v311]" if version == V311 else "[v5]")
        self.id = f"{module}::{fn.__name__}{suffix}"


def case(versions=BOTH, broker_args=None, hydrant_only=None, start_broker=True, timeout=40,
         mosquitto_optional=()):
    """Registers a test case, once per protocol version in `versions` (None: version-less).

    broker_args: dict of hydrant config keys ("max-packet-size": 1024) for this case's broker.
    hydrant_only: a reason string; the case is skipped (visibly) when BROKER=mosquitto. Use it for
        hydrant's own CLI/config/$SYS names and where mosquitto 2.0.11 deviates from the spec.
    mosquitto_optional: broker_args keys that mosquitto has no equivalent for and that the case
        does not depend on; they are dropped for mosquitto instead of skipping the case.
    start_broker: False for cases that start their own broker(s) via t.start_broker().
    """
    def register(fn):
        module = fn.__module__
        vs = versions if versions is not None else (None,)
        for v in vs:
            REGISTRY.append(Case(module, fn, v, dict(
                broker_args=dict(broker_args or {}), hydrant_only=hydrant_only,
                start_broker=start_broker, timeout=timeout,
                mosquitto_optional=set(mosquitto_optional))))
        return fn
    return register


# --------------------------------------------------------------------------------------------
# Broker process
# --------------------------------------------------------------------------------------------

def hydrant_bin():
    env = os.environ.get("HYDRANT_BIN")
    if env:
        return env if os.path.isabs(env) else os.path.join(ROOT, env)
    for cand in ("build-asan/broker/hydrant", "build/broker/hydrant"):
        p = os.path.join(ROOT, cand)
        if os.path.exists(p):
            return p
    return None


def publisher_bin(name):
    """A built adapter: $HYDRANT_PUBLISHERS/<name>/hydrant-<name>, else build-asan/ or build/;
    the case is skipped (visibly) when it is not built."""
    roots = [os.environ["HYDRANT_PUBLISHERS"]] if os.environ.get("HYDRANT_PUBLISHERS") else []
    roots += [os.path.join(ROOT, b, "publishers") for b in ("build-asan", "build")]
    for r in roots:
        p = os.path.join(r, name, f"hydrant-{name}")
        if os.path.exists(p):
            return p
    raise Skip(f"hydrant-{name} not built (looked in $HYDRANT_PUBLISHERS, build-asan/, build/)")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


# hydrant config key -> mosquitto.conf line template (None: no equivalent)
MOSQUITTO_KEYS = {
    "max-packet-size": "max_packet_size {}",
    "receive-maximum": "max_inflight_messages {}",
    "max-inflight": "max_inflight_messages {}",
    "topic-alias-maximum": "max_topic_alias {}",
    "max-queued-messages": "max_queued_messages {}",
    "max-keepalive": "max_keepalive {}",
    "sys-interval": "sys_interval {}",
    "max-connections": None,  # listener option, written in the listener block
}


def wait_until(pred, timeout, interval=0.02, what="condition"):
    """Polls pred() until it returns a truthy value or the deadline passes (then AssertionError)."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class Broker:
    """One broker process. start() blocks until the port accepts; stop() SIGTERMs it by PID."""

    def __init__(self, args=None, kind=BROKER_KIND, optional=(), config_file=None, extra_argv=(),
                 nofile=None, env=None):
        """nofile: the broker's descriptor limit (RLIMIT_NOFILE, soft and hard), for fd-limit
        cases; None keeps the runner's. env: variables set for the broker process on top of the
        runner's environment."""
        self.kind = kind
        self.nofile = nofile
        self.env = dict(os.environ, **env) if env else None
        self.args = dict(args or {})
        self.optional = set(optional)
        self.config_file = config_file
        self.extra_argv = list(extra_argv)
        self.tmp = tempfile.mkdtemp(prefix="hydrant-it-")
        self.data_dir = os.path.join(self.tmp, "data")
        os.makedirs(self.data_dir)
        self.stderr_path = os.path.join(self.tmp, "broker.stderr")
        self.proc = None
        self.port = None
        self.http_port = None
        self.https_port = None
        self.mqtts_port = None
        self.exit_status = None
        self.startup_s = None
        self.final_stderr = None

    # -- command lines ------------------------------------------------------------------------
    def _argv(self):
        if self.kind == "mosquitto":
            conf = os.path.join(self.tmp, "mosquitto.conf")
            lines = [f"listener {self.port} {HOST}", "allow_anonymous true", "persistence false",
                     "log_dest stderr", "log_type error", "log_type warning"]
            if "max-connections" in self.args:
                lines.append(f"max_connections {self.args['max-connections']}")
            for k, v in self.args.items():
                tmpl = MOSQUITTO_KEYS.get(k, "missing")
                if tmpl is None:
                    continue
                if tmpl == "missing":
                    if k in self.optional:
                        continue
                    raise Skip(f"mosquitto has no equivalent for --{k}")
                lines.append(tmpl.format(v))
            if "sys-interval" not in self.args:
                lines.append("sys_interval 10")
            with open(conf, "w") as f:
                f.write("\n".join(lines) + "\n")
            return [MOSQUITTO_BIN, "-c", conf]
        binary = hydrant_bin()
        if not binary or not os.path.exists(binary):
            raise Skip(f"hydrant binary not found (HYDRANT_BIN={os.environ.get('HYDRANT_BIN')}); "
                       "build it or run with BROKER=mosquitto")
        # Cases run with --open (no access rules) unless they ask for the rules: "open": "false".
        argv = [binary, "--mqtt", f"{HOST}:{self.port}", "--data", self.data_dir,
                "--log-level", "info"]
        if self.args.get("open", "true") != "false":
            argv.append("--open")
        if self.config_file:
            argv += ["--config", self.config_file]
        # The bridge's HTTP listener defaults to 8080: off unless a case asks for it ("free":
        # a free loopback port, in self.http_port).
        if "http" not in self.args:
            argv += ["--http", "off"]
        for k, v in self.args.items():
            if k == "open":
                continue
            if k in ("http", "https", "mqtts") and v == "free":
                port = free_port()
                setattr(self, f"{k}_port", port)
                v = f"{HOST}:{port}"
            argv += [f"--{k}", str(v)]
        return argv + self.extra_argv

    def start(self, timeout=15, same_port=False):
        """same_port: restart on the port of the previous start (clients reconnect there)."""
        last_err = None
        for _attempt in range(3):
            if not (same_port and self.port):
                self.port = free_port()
            argv = self._argv()
            with open(self.stderr_path, "ab") as err:
                t0 = time.monotonic()
                self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                             stdout=err, stderr=err, cwd=self.tmp,
                                             preexec_fn=self._preexec(), env=self.env)
            deadline = t0 + timeout
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    with socket.create_connection((HOST, self.port), timeout=0.5):
                        self.startup_s = time.monotonic() - t0
                    for extra in (self.http_port, self.https_port, self.mqtts_port):
                        if extra:
                            socket.create_connection((HOST, extra), timeout=0.5).close()
                        return self
                except OSError:
                    time.sleep(0.01)
            if self.proc.poll() is None:
                self._kill()
                raise AssertionError(f"broker did not accept on port {self.port} within "
                                     f"{timeout}s; stderr:\n{self.stderr_tail()}")
            last_err = f"broker exited with {self.proc.returncode} before accepting; " \
                       f"stderr:\n{self.stderr_tail()}"
            if "in use" not in self.stderr_tail().lower():
                break  # not a port race: do not retry
        raise AssertionError(last_err)

    def _preexec(self):
        if self.nofile is None:
            return None
        import resource
        limit = self.nofile
        return lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        os.kill(self.proc.pid, sig)

    def stderr_text(self):
        if self.final_stderr is not None:
            return self.final_stderr
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stderr_tail(self, n=40):
        return "\n".join(self.stderr_text().splitlines()[-n:])

    def _kill(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def admin(self, *args, check=True):
        """Runs `hydrant ARGS --data <this broker's data dir>`; returns the CompletedProcess.
        check: assert exit status 0."""
        r = subprocess.run([hydrant_bin(), *args, "--data", self.data_dir], capture_output=True,
                           text=True, timeout=30, stdin=subprocess.DEVNULL)
        if check:
            assert r.returncode == 0, f"hydrant {' '.join(args)}: {r.returncode} {r.stderr}"
        return r

    def add_user(self, name, *extra):
        """Creates a user with the admin command (owner NAME@example.org unless `extra` names
        one); returns its access token (stdout's last line)."""
        if "--owner" not in extra:
            extra = (*extra, "--owner", f"{name}@example.org")
        r = self.admin("user", "add", name, *extra)
        return r.stdout.strip().splitlines()[-1]

    def stop(self, timeout=15):
        """SIGTERM by PID, wait; returns a list of problems (empty when clean)."""
        problems = []
        if self.proc is None:
            return problems
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                problems.append(f"broker pid {self.proc.pid} ignored SIGTERM for {timeout}s")
                self._kill()
        self.exit_status = self.proc.returncode
        if self.kind == "hydrant" and self.exit_status != 0:
            problems.append(f"broker exit status {self.exit_status}, expected 0")
        problems += self.sanitizer_problems()
        return problems

    def sanitizer_problems(self):
        text = self.stderr_text()
        found = [m for m in SANITIZER_MARKERS if m in text]
        if not found:
            return []
        lines = text.splitlines()
        idx = next(i for i, l in enumerate(lines) if any(m in l for m in found))
        return [f"sanitizer report in broker stderr ({', '.join(found)}):\n" +
                "\n".join(lines[max(0, idx - 2):idx + 40])]

    def cleanup(self):
        self._kill()
        self.final_stderr = self.stderr_text()
        shutil.rmtree(self.tmp, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# Raw MQTT codec (both versions) and raw-socket client
# --------------------------------------------------------------------------------------------

CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT, AUTH = \
    8, 9, 10, 11, 12, 13, 14, 15
TYPE_NAMES = {1: "CONNECT", 2: "CONNACK", 3: "PUBLISH", 4: "PUBACK", 5: "PUBREC", 6: "PUBREL",
              7: "PUBCOMP", 8: "SUBSCRIBE", 9: "SUBACK", 10: "UNSUBSCRIBE", 11: "UNSUBACK",
              12: "PINGREQ", 13: "PINGRESP", 14: "DISCONNECT", 15: "AUTH"}

# MQTT 5 property identifiers
P_PAYLOAD_FORMAT, P_MESSAGE_EXPIRY, P_CONTENT_TYPE = 0x01, 0x02, 0x03
P_RESPONSE_TOPIC, P_CORRELATION_DATA, P_SUBSCRIPTION_ID = 0x08, 0x09, 0x0B
P_SESSION_EXPIRY, P_ASSIGNED_CLIENT_ID, P_SERVER_KEEP_ALIVE = 0x11, 0x12, 0x13
P_AUTH_METHOD, P_AUTH_DATA, P_REQUEST_PROBLEM_INFO, P_WILL_DELAY = 0x15, 0x16, 0x17, 0x18
P_REQUEST_RESPONSE_INFO, P_RESPONSE_INFO, P_SERVER_REFERENCE = 0x19, 0x1A, 0x1C
P_REASON_STRING, P_RECEIVE_MAXIMUM, P_TOPIC_ALIAS_MAXIMUM, P_TOPIC_ALIAS = 0x1F, 0x21, 0x22, 0x23
P_MAXIMUM_QOS, P_RETAIN_AVAILABLE, P_USER_PROPERTY, P_MAXIMUM_PACKET_SIZE = 0x24, 0x25, 0x26, 0x27
P_WILDCARD_AVAILABLE, P_SUB_ID_AVAILABLE, P_SHARED_AVAILABLE = 0x28, 0x29, 0x2A

PROP_TYPES = {
    0x01: "byte", 0x02: "u32", 0x03: "str", 0x08: "str", 0x09: "bin", 0x0B: "varint",
    0x11: "u32", 0x12: "str", 0x13: "u16", 0x15: "str", 0x16: "bin", 0x17: "byte", 0x18: "u32",
    0x19: "byte", 0x1A: "str", 0x1C: "str", 0x1F: "str", 0x21: "u16", 0x22: "u16", 0x23: "u16",
    0x24: "byte", 0x25: "byte", 0x26: "pair", 0x27: "u32", 0x28: "byte", 0x29: "byte",
    0x2A: "byte",
}


def admin_token(b):
    """The broker's admin API token (created on first start in <data>/admin-token)."""
    with open(os.path.join(b.data_dir, "admin-token")) as f:
        return f.read().strip()


def api_call(b, method, path, body=None, token=None):
    """One HTTP request to the broker's API; returns (status, headers, parsed JSON body).
    token: the admin token by default; a string sends that one; False sends none (the public
    API needs none)."""
    conn = http.client.HTTPConnection(HOST, b.http_port, timeout=10)
    headers = {}
    if token is not False:
        headers["Authorization"] = f"Bearer {token or admin_token(b)}"
    data = None
    if body is not None:
        data = json.dumps(body) if not isinstance(body, (bytes, str)) else body
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=data, headers=headers)
    resp = conn.getresponse()
    raw = resp.read()
    conn.close()
    return resp.status, dict(resp.getheaders()), (json.loads(raw) if raw else None)


def varint(n):
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def mqtt_str(s):
    b = s.encode("utf-8") if isinstance(s, str) else bytes(s)
    return struct.pack("!H", len(b)) + b


def encode_props(props):
    """props: list of (id, value) pairs (order and duplicates kept) or None -> b'' body."""
    out = bytearray()
    for pid, val in props or []:
        out += varint(pid)
        kind = PROP_TYPES[pid]
        if kind == "byte":
            out.append(val)
        elif kind == "u16":
            out += struct.pack("!H", val)
        elif kind == "u32":
            out += struct.pack("!I", val)
        elif kind == "varint":
            out += varint(val)
        elif kind in ("str", "bin"):
            out += mqtt_str(val)
        elif kind == "pair":
            out += mqtt_str(val[0]) + mqtt_str(val[1])
    return varint(len(out)) + bytes(out)


def fixed(type_, flags, body):
    return bytes([(type_ << 4) | flags]) + varint(len(body)) + body


def enc_connect(v, client_id="", clean=True, keepalive=60, will=None, username=None,
                password=None, props=None, proto_name=b"MQTT", proto_level=None, flag_bits=0):
    """will: dict(topic, payload, qos=0, retain=False, props=None). flag_bits are OR'ed in raw."""
    flags = 0x02 if clean else 0
    payload = mqtt_str(client_id)
    if will is not None:
        flags |= 0x04 | (will.get("qos", 0) << 3) | (0x20 if will.get("retain") else 0)
        if v == V5:
            payload += encode_props(will.get("props"))
        payload += mqtt_str(will["topic"]) + mqtt_str(will.get("payload", b""))
    if username is not None:
        flags |= 0x80
        payload += mqtt_str(username)
    if password is not None:
        flags |= 0x40
        payload += mqtt_str(password)
    flags |= flag_bits
    level = proto_level if proto_level is not None else v
    body = mqtt_str(proto_name) + bytes([level, flags]) + struct.pack("!H", keepalive)
    if v == V5:
        body += encode_props(props)
    return fixed(CONNECT, 0, body + payload)


def enc_publish(v, topic, payload=b"", qos=0, retain=False, dup=False, pid=None, props=None):
    if isinstance(payload, str):
        payload = payload.encode()
    flags = (0x08 if dup else 0) | (qos << 1) | (0x01 if retain else 0)
    body = mqtt_str(topic)
    if qos > 0:
        body += struct.pack("!H", pid if pid is not None else 1)
    if v == V5:
        body += encode_props(props)
    return fixed(PUBLISH, flags, body + payload)


def enc_ack(type_, v, pid, rc=None, props=None):
    """PUBACK/PUBREC/PUBREL/PUBCOMP. rc None: shortest form (v5 reason omitted)."""
    flags = 0x02 if type_ == PUBREL else 0
    body = struct.pack("!H", pid)
    if v == V5 and (rc is not None or props):
        body += bytes([rc or 0])
        if props:
            body += encode_props(props)
    return fixed(type_, flags, body)


def enc_subscribe(v, pid, subs, props=None, flags=0x02):
    """subs: list of (filter, options byte) where options = qos | nl<<2 | rap<<3 | rh<<4."""
    body = bytearray(struct.pack("!H", pid))  # bytearray: += on bytes is quadratic
    if v == V5:
        body += encode_props(props)
    for filt, opts in subs:
        body += mqtt_str(filt) + bytes([opts])
    return fixed(SUBSCRIBE, flags, bytes(body))


def sub_opts(qos=0, nl=0, rap=0, rh=0):
    return qos | (nl << 2) | (rap << 3) | (rh << 4)


def enc_unsubscribe(v, pid, filters, props=None):
    body = bytearray(struct.pack("!H", pid))
    if v == V5:
        body += encode_props(props)
    for filt in filters:
        body += mqtt_str(filt)
    return fixed(UNSUBSCRIBE, 0x02, bytes(body))


def enc_pingreq():
    return b"\xc0\x00"


def enc_disconnect(v, rc=None, props=None):
    body = b""
    if v == V5 and (rc is not None or props):
        body = bytes([rc or 0]) + (encode_props(props) if props else b"")
    return fixed(DISCONNECT, 0, body)


class ProtocolDecodeError(Exception):
    pass


class Reader:
    def __init__(self, data):
        self.d = data
        self.i = 0

    def take(self, n):
        if self.i + n > len(self.d):
            raise ProtocolDecodeError(f"short packet: need {n} bytes at {self.i} of {len(self.d)}")
        b = self.d[self.i:self.i + n]
        self.i += n
        return b

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack("!H", self.take(2))[0]

    def u32(self):
        return struct.unpack("!I", self.take(4))[0]

    def varint(self):
        mult, val = 1, 0
        for _ in range(4):
            b = self.u8()
            val += (b & 0x7F) * mult
            if not b & 0x80:
                return val
            mult *= 128
        raise ProtocolDecodeError("varint longer than 4 bytes")

    def string(self):
        return self.take(self.u16()).decode("utf-8")

    def binary(self):
        return self.take(self.u16())

    def rest(self):
        b = self.d[self.i:]
        self.i = len(self.d)
        return b

    def left(self):
        return len(self.d) - self.i

    def props(self):
        n = self.varint()
        end = self.i + n
        out = []
        while self.i < end:
            pid = self.varint()
            kind = PROP_TYPES.get(pid)
            if kind is None:
                raise ProtocolDecodeError(f"unknown property id 0x{pid:02x}")
            if kind == "byte":
                val = self.u8()
            elif kind == "u16":
                val = self.u16()
            elif kind == "u32":
                val = self.u32()
            elif kind == "varint":
                val = self.varint()
            elif kind == "str":
                val = self.string()
            elif kind == "bin":
                val = self.binary()
            else:
                val = (self.string(), self.string())
            out.append((pid, val))
        if self.i != end:
            raise ProtocolDecodeError("property length mismatch")
        return out


class Packet:
    """A received packet: type, flags, body bytes, and the decoded fields in .f (a dict)."""

    def __init__(self, type_, flags, body, raw, v):
        self.type = type_
        self.flags = flags
        self.body = body
        self.raw = raw
        self.v = v
        self.f = self._decode()

    @property
    def name(self):
        return TYPE_NAMES.get(self.type, f"type{self.type}")

    def __repr__(self):
        return f"<{self.name} {self.f} raw={self.raw[:64].hex(' ')}>"

    def prop(self, pid, default=None):
        for k, val in self.f.get("props", []):
            if k == pid:
                return val
        return default

    def props_all(self, pid):
        return [val for k, val in self.f.get("props", []) if k == pid]

    def _decode(self):
        r = Reader(self.body)
        t, v = self.type, self.v
        f = {}
        if t == CONNACK:
            f["session_present"] = r.u8() & 1
            f["rc"] = r.u8()
            if v == V5 and r.left():
                f["props"] = r.props()
        elif t == PUBLISH:
            f["qos"] = (self.flags >> 1) & 3
            f["retain"] = self.flags & 1
            f["dup"] = (self.flags >> 3) & 1
            f["topic"] = r.string()
            f["pid"] = r.u16() if f["qos"] else None
            f["props"] = r.props() if v == V5 else []
            f["payload"] = r.rest()
        elif t in (PUBACK, PUBREC, PUBREL, PUBCOMP):
            f["pid"] = r.u16()
            f["rc"] = r.u8() if r.left() else 0
            f["props"] = r.props() if r.left() else []
        elif t in (SUBACK, UNSUBACK):
            f["pid"] = r.u16()
            f["props"] = r.props() if v == V5 else []
            f["codes"] = list(r.rest())
        elif t == DISCONNECT:
            f["rc"] = r.u8() if r.left() else 0
            f["props"] = r.props() if r.left() else []
        elif t == AUTH:
            f["rc"] = r.u8() if r.left() else 0
            f["props"] = r.props() if r.left() else []
        return f


class Closed(Exception):
    pass


class Raw:
    """A raw-socket MQTT client: exact bytes out, packets in (with deadlines), close detection."""

    def __init__(self, port, v, rcvbuf=None, host=HOST):
        self.v = v
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(5)
        self.sock.connect((host, port))
        self.buf = bytearray()
        self.closed = False
        self.aliases = {}  # server->client topic alias mapping
        self.stash = []  # packets expect() skipped over; recv() returns them first

    def send(self, data):
        self.sock.sendall(data)

    def try_send(self, data):
        """Sends; returns False if the peer already closed (EPIPE/ECONNRESET)."""
        try:
            self.sock.sendall(data)
            return True
        except OSError:
            return False

    def _fill(self, deadline):
        self.buf += self._recv_chunk(deadline)

    def _recv_chunk(self, deadline):
        """The next bytes from the socket; TimeoutError at the deadline, Closed at EOF/reset."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no data before deadline")
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise TimeoutError("no data before deadline")
        except (ConnectionResetError, BrokenPipeError):
            chunk = b""
        if not chunk:
            self.closed = True
            raise Closed("connection closed by peer")
        return chunk

    def _try_parse(self):
        if len(self.buf) < 2:
            return None
        mult, rl, i = 1, 0, 1
        while True:
            if i >= len(self.buf):
                return None
            b = self.buf[i]
            rl += (b & 0x7F) * mult
            mult *= 128
            i += 1
            if not b & 0x80:
                break
            if i > 4:
                raise ProtocolDecodeError("bad remaining length from server")
        if len(self.buf) < i + rl:
            return None
        raw = bytes(self.buf[:i + rl])
        del self.buf[:i + rl]
        return Packet(raw[0] >> 4, raw[0] & 0x0F, raw[i:], raw, self.v)

    def recv(self, timeout=5.0):
        """Next packet; raises TimeoutError or Closed."""
        if self.stash:
            return self.stash.pop(0)
        deadline = time.monotonic() + timeout
        while True:
            p = self._try_parse()
            if p is not None:
                if p.type == PUBLISH and self.v == V5:
                    alias = p.prop(P_TOPIC_ALIAS)
                    if alias is not None:
                        if p.f["topic"]:
                            self.aliases[alias] = p.f["topic"]
                        else:
                            p.f["topic"] = self.aliases.get(alias, "")
                            p.f["alias_resolved"] = True
                return p
            if self.closed:
                raise Closed("connection closed by peer")
            self._fill(deadline)

    def expect(self, type_, timeout=5.0, skip=()):
        """Next packet of type_, skipping types in `skip`; AssertionError on anything else."""
        deadline = time.monotonic() + timeout
        skipped = []
        try:
            while True:
                try:
                    p = self.recv(max(0.0, deadline - time.monotonic()))
                except TimeoutError:
                    raise AssertionError(
                        f"expected {TYPE_NAMES[type_]} within {timeout}s, got nothing")
                except Closed:
                    raise AssertionError(f"expected {TYPE_NAMES[type_]}, connection closed")
                if p.type == type_:
                    return p
                if p.type in skip:
                    skipped.append(p)  # kept for later recv()/expect() calls, in order
                    continue
                raise AssertionError(f"expected {TYPE_NAMES[type_]}, got {p!r}")
        finally:
            self.stash[0:0] = skipped

    def expect_nothing(self, timeout=0.5):
        """Asserts no packet arrives (and the connection stays open) for `timeout` seconds."""
        try:
            p = self.recv(timeout)
        except TimeoutError:
            return
        except Closed:
            raise AssertionError("connection closed while expecting silence")
        raise AssertionError(f"expected no packet, got {p!r}")

    def wait_closed(self, timeout=5.0):
        """Returns the packets received before the peer closed; AssertionError if still open."""
        deadline = time.monotonic() + timeout
        got = []
        while True:
            try:
                got.append(self.recv(max(0.0, deadline - time.monotonic())))
            except Closed:
                return got
            except TimeoutError:
                raise AssertionError(f"connection still open after {timeout}s; got {got!r}")

    def connect(self, client_id="", expect_rc=0, **kw):
        """Sends CONNECT and returns the CONNACK packet, asserting its reason code."""
        self.send(enc_connect(self.v, client_id, **kw))
        p = self.expect(CONNACK)
        assert p.f["rc"] == expect_rc, \
            f"CONNACK rc 0x{p.f['rc']:02x}, expected 0x{expect_rc:02x}: {p!r}"
        return p

    def subscribe(self, subs, pid=1, props=None):
        """subs: [(filter, opts)] or a single filter string (QoS 0). Returns the SUBACK."""
        if isinstance(subs, str):
            subs = [(subs, 0)]
        self.send(enc_subscribe(self.v, pid, subs, props))
        p = self.expect(SUBACK, skip=(PUBLISH,))
        assert p.f["pid"] == pid, f"SUBACK pid {p.f['pid']} != {pid}"
        return p

    def publish(self, topic, payload=b"", qos=0, retain=False, pid=None, props=None, dup=False):
        self.send(enc_publish(self.v, topic, payload, qos, retain, dup, pid, props))

    def ping(self, timeout=5.0):
        """PINGREQ then wait for PINGRESP: a barrier proving earlier packets were processed."""
        self.send(enc_pingreq())
        return self.expect(PINGRESP, timeout=timeout, skip=(PUBLISH, PUBACK, PUBREC, PUBCOMP))

    def disconnect(self, rc=None, props=None, timeout=5.0):
        """Sends DISCONNECT and waits until the server closes its side: only then has the broker
        surely processed it (a new connection on another broker thread could otherwise race
        ahead of it)."""
        if self.try_send(enc_disconnect(self.v, rc, props)):
            try:
                self.sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            try:
                self.wait_closed(timeout)
            except AssertionError as e:
                raise AssertionError(f"server did not close after DISCONNECT: {e}")
        self.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def expect_violation(raw, code, timeout=5.0):
    """The broker's reaction to a protocol violation after CONNECT.

    MQTT 5: a DISCONNECT whose reason code is exactly `code`, then the connection closes.
    MQTT 3.1.1: the connection closes (no packet other than already-queued acks/publishes).
    """
    got = raw.wait_closed(timeout)
    disc = [p for p in got if p.type == DISCONNECT]
    other = [p for p in got if p.type not in (DISCONNECT, PUBACK, PUBREC, PUBCOMP, PUBLISH, SUBACK)]
    if raw.v == V5:
        assert disc, f"expected DISCONNECT 0x{code:02x} before close, got {got!r}"
        assert disc[0].f["rc"] == code, \
            f"DISCONNECT reason 0x{disc[0].f['rc']:02x}, expected 0x{code:02x}: {disc[0]!r}"
    else:
        assert not disc, f"MQTT 3.1.1 server must not send DISCONNECT: {disc!r}"
    assert not other, f"unexpected packets before close: {other!r}"
    return got


def expect_connect_refused(raw, code_v5, code_v311=None, timeout=5.0, require_connack=None):
    """The broker's reaction to a bad CONNECT: the connection closes, no successful CONNACK.

    If a CONNACK arrives its code must be code_v5 (MQTT 5) / code_v311 (3.1.1, None = no CONNACK
    allowed). require_connack: hydrant promises a CONNACK carrying the reason in MQTT 5
    (ClientLink::close_for); the spec only says MAY, so mosquitto is not held to it.
    """
    if require_connack is None:
        require_connack = (raw.v == V5 and BROKER_KIND == "hydrant")
    got = raw.wait_closed(timeout)
    acks = [p for p in got if p.type == CONNACK]
    assert all(p.type == CONNACK for p in got), f"unexpected packets: {got!r}"
    if raw.v == V5:
        if require_connack:
            assert acks, f"expected CONNACK 0x{code_v5:02x} before close, got only close"
        for p in acks:
            assert p.f["rc"] == code_v5, f"CONNACK rc 0x{p.f['rc']:02x}, expected 0x{code_v5:02x}"
    else:
        if code_v311 is None:
            assert not acks, f"expected close without CONNACK, got {acks!r}"
        else:
            assert acks and acks[0].f["rc"] == code_v311, \
                f"expected CONNACK 0x{code_v311:02x}, got {acks!r}"
    return got


# --------------------------------------------------------------------------------------------
# paho client wrapper
# --------------------------------------------------------------------------------------------

class Msg:
    def __init__(self, m):
        self.topic = m.topic
        self.payload = m.payload
        self.qos = m.qos
        self.retain = bool(m.retain)
        self.dup = bool(m.dup)
        self.mid = m.mid
        self.properties = getattr(m, "properties", None)

    def prop(self, name, default=None):
        return getattr(self.properties, name, default) if self.properties is not None else default

    def __repr__(self):
        return f"<Msg {self.topic!r} {self.payload[:40]!r} qos={self.qos} retain={self.retain}>"


def props5(packet_type, **kw):
    """props5(PacketTypes.PUBLISH, UserProperty=[("a","b")], ContentType="x") -> Properties."""
    p = Properties(packet_type)
    for k, val in kw.items():
        setattr(p, k, val)
    return p


class Client:
    """paho.mqtt.client with loop_start; every call waits on its event with a deadline."""

    def __init__(self, port, v, client_id="", clean=True, host=HOST, transport="tcp",
                 ws_path="/mqtt", ca_certs=None):
        self.v = v
        self.port = port
        self.host = host
        self.clean = clean
        self.c = mqtt.Client(client_id=client_id,
                             clean_session=(clean if v == V311 else None),
                             protocol=(mqtt.MQTTv311 if v == V311 else mqtt.MQTTv5),
                             reconnect_on_failure=False, transport=transport)
        if transport == "websockets":
            self.c.ws_set_options(path=ws_path)
        if ca_certs:
            self.c.tls_set(ca_certs=ca_certs)
        self.cond = threading.Condition()
        self.messages = []
        self.connack = None
        self.subacks = {}
        self.unsubacks = {}
        self.disconnected = None
        self.c.on_connect = self._on_connect
        self.c.on_message = self._on_message
        self.c.on_subscribe = self._on_subscribe
        self.c.on_unsubscribe = self._on_unsubscribe
        self.c.on_disconnect = self._on_disconnect
        self.started = False

    # callbacks (paho thread)
    def _on_connect(self, c, u, flags, rc, properties=None):
        with self.cond:
            self.connack = (flags.get("session present", 0), int(getattr(rc, "value", rc)),
                            properties)
            self.cond.notify_all()

    def _on_message(self, c, u, m):
        with self.cond:
            self.messages.append(Msg(m))
            self.cond.notify_all()

    def _on_subscribe(self, c, u, mid, granted, properties=None):
        with self.cond:
            self.subacks[mid] = [int(getattr(g, "value", g)) for g in granted]
            self.cond.notify_all()

    def _on_unsubscribe(self, c, u, mid, properties=None, reasoncodes=None):
        with self.cond:
            self.unsubacks[mid] = reasoncodes
            self.cond.notify_all()

    def _on_disconnect(self, c, u, rc, properties=None):
        with self.cond:
            self.disconnected = int(getattr(rc, "value", rc) or 0)
            self.cond.notify_all()

    def _wait(self, pred, timeout, what):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                v = pred()
                if v:
                    return v
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
                self.cond.wait(left)

    def will_set(self, topic, payload=None, qos=0, retain=False, properties=None):
        self.c.will_set(topic, payload, qos, retain, properties)

    def connect(self, keepalive=60, clean_start=True, properties=None, username=None,
                password=None, timeout=10, expect_rc=0):
        """Connects; returns (session_present, reason code, CONNACK properties)."""
        if username is not None:
            self.c.username_pw_set(username, password)
        kw = {}
        if self.v == V5:
            kw = dict(clean_start=clean_start, properties=properties)
        self.c.connect(self.host, self.port, keepalive, **kw)
        self.c.loop_start()
        self.started = True
        self._wait(lambda: self.connack is not None, timeout, "CONNACK")
        if expect_rc is not None:
            assert self.connack[1] == expect_rc, \
                f"CONNACK rc {self.connack[1]}, expected {expect_rc}"
        return self.connack

    def subscribe(self, topic, qos=0, nl=False, rap=False, rh=0, properties=None, timeout=10):
        """Subscribes and waits for the SUBACK; returns the granted codes list."""
        if self.v == V5:
            opts = SubscribeOptions(qos=qos, noLocal=nl, retainAsPublished=rap, retainHandling=rh)
            rc, mid = self.c.subscribe(topic, options=opts, properties=properties)
        else:
            rc, mid = self.c.subscribe(topic, qos)
        assert rc == mqtt.MQTT_ERR_SUCCESS, f"subscribe() returned {rc}"
        return self._wait(lambda: self.subacks.get(mid), timeout, f"SUBACK for {topic}")

    def unsubscribe(self, topic, timeout=10):
        rc, mid = self.c.unsubscribe(topic)
        assert rc == mqtt.MQTT_ERR_SUCCESS
        self._wait(lambda: mid in self.unsubacks, timeout, "UNSUBACK")
        return self.unsubacks[mid]

    def publish(self, topic, payload=b"", qos=0, retain=False, properties=None, timeout=10,
                wait=True):
        info = self.c.publish(topic, payload, qos, retain, properties)
        assert info.rc == mqtt.MQTT_ERR_SUCCESS, f"publish() returned {info.rc}"
        if wait:
            info.wait_for_publish(timeout)
            assert info.is_published(), f"publish to {topic} not acknowledged within {timeout}s"
        return info

    def wait_messages(self, n, timeout=10, topic=None):
        """Waits until at least n messages (optionally on `topic`) arrived; returns them all."""
        def have():
            ms = [m for m in self.messages if topic is None or m.topic == topic]
            return ms if len(ms) >= n else None
        return self._wait(have, timeout, f"{n} message(s){' on ' + topic if topic else ''} "
                                         f"(have {len(self.messages)})")

    def wait_for(self, pred, timeout=10, what="condition on messages"):
        """Waits until pred(messages) is truthy; returns its value."""
        return self._wait(lambda: pred(list(self.messages)), timeout, what)

    def expect_no_message(self, timeout=0.5, topic=None):
        before = len([m for m in self.messages if topic is None or m.topic == topic])
        time.sleep(timeout)
        after = [m for m in self.messages if topic is None or m.topic == topic]
        assert len(after) == before, f"unexpected message(s): {after[before:]!r}"

    def wait_disconnected(self, timeout=10):
        return self._wait(lambda: self.disconnected is not None, timeout, "disconnect")

    def disconnect(self, reasoncode=None, properties=None, timeout=10):
        if self.v == V5 and reasoncode is not None:
            from paho.mqtt.reasoncodes import ReasonCodes
            rc = ReasonCodes(PacketTypes.DISCONNECT)
            rc.value = reasoncode
            self.c.disconnect(reasoncode=rc, properties=properties)
        else:
            self.c.disconnect(properties=properties)
        try:
            self._wait(lambda: self.disconnected is not None, timeout, "disconnect")
        finally:
            self.stop()

    def stop(self):
        """Stops the network thread (a normal DISCONNECT first, so the thread exits at once)."""
        if self.started:
            if self.disconnected is None:
                try:
                    self.c.disconnect()
                except Exception:
                    pass
            self.c.loop_stop()
            self.started = False
        try:
            self.c.socket() and self.c.socket().close()
        except Exception:
            pass


# --------------------------------------------------------------------------------------------
# mosquitto_pub / mosquitto_sub
# --------------------------------------------------------------------------------------------

def mosq_version_flag(v):
    return ["-V", "mqttv311" if v == V311 else "mqttv5"]


def mosquitto_pub(port, v, topic, message, qos=0, extra=(), timeout=15):
    argv = ["mosquitto_pub", "-h", HOST, "-p", str(port), *mosq_version_flag(v), "-t", topic,
            "-m", message, "-q", str(qos), *extra]
    return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)


class MosquittoSub:
    """mosquitto_sub in debug mode; wait_subscribed() blocks until its SUBACK is printed."""

    def __init__(self, port, v, topic, qos=0, count=None, extra=(), timeout_s=20):
        # stdbuf: line-buffered stdout, so the debug lines (SUBACK) arrive as they happen
        argv = ["stdbuf", "-oL", "mosquitto_sub", "-h", HOST, "-p", str(port),
                *mosq_version_flag(v), "-t", topic, "-q", str(qos), "-d", "-v",
                "-W", str(timeout_s), *extra]
        if count:
            argv += ["-C", str(count)]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.lines = []
        self.cond = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            with self.cond:
                self.lines.append(line.rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def _wait(self, pred, timeout, what):
        deadline = time.monotonic() + timeout
        with self.cond:
            while not pred():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"mosquitto_sub: timed out waiting for {what}; "
                                         f"output: {self.lines[-20:]!r}")
                self.cond.wait(min(left, 0.2))

    def wait_subscribed(self, timeout=10):
        self._wait(lambda: any("received SUBACK" in l for l in self.lines), timeout, "SUBACK")

    def wait_exit(self, timeout=15):
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"mosquitto_sub still running after {timeout}s; "
                                 f"output: {self.lines[-20:]!r}")
        self.reader.join(timeout=5)
        return self.proc.returncode

    def messages(self):
        """The `topic payload` lines (-v output), without the -d debug lines."""
        return [l for l in self.lines if not l.startswith("Client ") and
                not l.startswith("Subscribed") and not l.startswith("Error")]

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)


# --------------------------------------------------------------------------------------------
# Per-case context
# --------------------------------------------------------------------------------------------

class T:
    """What a case receives: its version, its broker, and client factories whose products are
    cleaned up after the case."""

    def __init__(self, case_):
        self.case = case_
        self.v = case_.version
        self.broker = None
        self.brokers = []
        self._clients = []
        self._raws = []
        self._procs = []
        self._seq = 0
        self.kind = BROKER_KIND
        self.notes = []

    def note(self, text):
        """A line shown next to PASS (measurements that are reported, not asserted)."""
        self.notes.append(text)

    @property
    def port(self):
        return self.broker.port

    @property
    def is_hydrant(self):
        return self.kind == "hydrant"

    def uid(self, prefix="c"):
        """A client id unique within this case."""
        self._seq += 1
        return f"{prefix}-{os.getpid()}-{self._seq}"

    def topic(self, suffix="t"):
        return f"it/{self.case.fn.__name__}/{suffix}"

    def start_broker(self, args=None, **kw):
        b = Broker(args, optional=self.case.opts["mosquitto_optional"], **kw)
        self.brokers.append(b)
        b.start()
        return b

    def client(self, client_id=None, clean=True, v=None, connect=True, port=None,
               transport="tcp", ca_certs=None, **connect_kw):
        """A paho client (this case's version unless v given), connected unless connect=False.
        transport="websockets": MQTT over WebSocket to the broker's HTTP port at /mqtt."""
        if port is None and transport == "websockets":
            port = self.broker.https_port if ca_certs else self.broker.http_port
        c = Client(port or self.port, v or self.v,
                   client_id if client_id is not None else self.uid(), clean,
                   transport=transport, ca_certs=ca_certs)
        self._clients.append(c)
        if connect:
            c.connect(**connect_kw)
        return c

    def raw(self, v=None, connect=True, client_id=None, port=None, rcvbuf=None, **connect_kw):
        """A raw-socket client; connect=True sends CONNECT and asserts CONNACK success."""
        r = Raw(port or self.port, v or self.v, rcvbuf=rcvbuf)
        self._raws.append(r)
        if connect:
            r.connect(client_id if client_id is not None else self.uid("raw"), **connect_kw)
        return r

    def mosquitto_sub(self, topic, **kw):
        s = MosquittoSub(self.port, self.v, topic, **kw)
        self._procs.append(s)
        return s

    def mosquitto_pub(self, topic, message, **kw):
        return mosquitto_pub(self.port, self.v, topic, message, **kw)

    def track_proc(self, popen):
        self._procs.append(popen)
        return popen

    def cleanup(self):
        for c in self._clients:
            try:
                c.stop()
            except Exception:
                pass
        for r in self._raws:
            r.close()
        for p in self._procs:
            try:
                if isinstance(p, MosquittoSub):
                    p.stop()
                elif p.poll() is None:
                    os.kill(p.pid, signal.SIGKILL)
                    p.wait(timeout=5)
            except Exception:
                pass
        problems = []
        for b in self.brokers:
            problems += b.stop()
            b.cleanup()
        return problems


def run_case(case_):
    """Runs one case in this process. Returns (status, detail): status is PASS, FAIL or SKIP."""
    import traceback
    opts = case_.opts
    if opts["hydrant_only"] and BROKER_KIND != "hydrant" and not FORCE_ALL:
        return "SKIP", f"hydrant-only: {opts['hydrant_only']}"
    t = T(case_)
    status, detail = "PASS", ""
    try:
        if opts["start_broker"]:
            t.broker = t.start_broker(opts["broker_args"])
        case_.fn(t)
    except Skip as e:
        status, detail = "SKIP", str(e)
    except AssertionError as e:
        tb = traceback.extract_tb(e.__traceback__)
        where = next((f"{os.path.basename(fr.filename)}:{fr.lineno}" for fr in reversed(tb)
                      if os.path.basename(fr.filename)[:2].isdigit()), "")
        status, detail = "FAIL", f"{where} {e}".strip()
    except Exception:
        status, detail = "FAIL", traceback.format_exc()
    finally:
        problems = t.cleanup()
    if problems and status != "SKIP":
        status = "FAIL"
        detail = (detail + "\n" if detail else "") + "\n".join(problems)
    if status == "PASS" and t.notes:
        detail = "; ".join(t.notes)
    if status == "FAIL" and t.broker is not None:
        detail += f"\n--- broker stderr (tail) ---\n{t.broker.stderr_tail(20)}"
    return status, detail
