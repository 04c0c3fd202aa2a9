"""11 paho_cpp: interoperability with the Paho MQTT C++ client (the library hydrant's publishers
use), through tests/integration/paho_client's `hydrant-paho-client`, at MQTT 3.1.1 and 5.

  hydrant-paho-client --host H --port P --version 4|5 --client-id ID \\
      pub --topic T --qos Q --message M
      sub --topic F --qos Q --count N --timeout S      (prints "topic<TAB>payload" lines)

The binary is found through $HYDRANT_PAHO_CLIENT or in build-asan/ or build/; when it is absent
every case reports SKIP (visibly) instead of passing.
"""

import os
import signal
import subprocess
import threading
import time

from harness import ROOT, HOST, case, Skip

NAME = "hydrant-paho-client"


def paho_client_bin():
    env = os.environ.get("HYDRANT_PAHO_CLIENT")
    if env:
        return env if os.path.exists(env) else None
    for build in ("build-asan", "build"):
        top = os.path.join(ROOT, build)
        for cand in (os.path.join(top, "tests", "integration", "paho_client", NAME),
                     os.path.join(top, "tests", "integration", NAME)):
            if os.access(cand, os.X_OK):
                return cand
        for dirpath, _dirs, files in os.walk(top):
            if NAME in files and os.access(os.path.join(dirpath, NAME), os.X_OK):
                return os.path.join(dirpath, NAME)
    return None


def base_argv(t, client_id):
    b = paho_client_bin()
    if not b:
        raise Skip(f"{NAME} not built (looked in $HYDRANT_PAHO_CLIENT, build-asan/, build/)")
    return [b, "--host", HOST, "--port", str(t.port), "--version", str(t.v),
            "--client-id", client_id]


def cpp_pub(t, topic, message, qos):
    res = subprocess.run(base_argv(t, t.uid("cpp-pub")) + ["pub", "--topic", topic, "--qos",
                                                           str(qos), "--message", message],
                         stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, f"{NAME} pub exit {res.returncode}: {res.stderr[-2000:]}"
    assert "AddressSanitizer" not in res.stderr and "runtime error:" not in res.stderr, res.stderr


class CppSub:
    """hydrant-paho-client sub, reading its stdout lines on a thread."""

    def __init__(self, t, topic, qos, count, timeout_s=20):
        argv = base_argv(t, t.uid("cpp-sub")) + ["sub", "--topic", topic, "--qos", str(qos),
                                                 "--count", str(count), "--timeout",
                                                 str(timeout_s)]
        self.proc = t.track_proc(subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                                  text=True))
        self.lines = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            with self.cond:
                self.lines.append(line.rstrip("\n"))
                self.cond.notify_all()

    def wait_lines(self, n, timeout=20):
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.lines) < n:
                left = deadline - time.monotonic()
                assert left > 0, f"{NAME} sub printed {self.lines!r}, expected {n} lines"
                self.cond.wait(left)
            return list(self.lines)

    def finish(self, timeout=20):
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            raise AssertionError(f"{NAME} sub did not exit")
        err = self.proc.stderr.read()
        assert self.proc.returncode == 0, f"{NAME} sub exit {self.proc.returncode}: {err[-2000:]}"
        return self.lines


def make_pub_case(qos):
    def fn(t):
        """Paho C++ publishes at QoS q; a paho-python subscriber receives it at QoS q."""
        sub = t.client()
        sub.subscribe("cpp/in", 2)
        cpp_pub(t, "cpp/in", f"from-cpp-q{qos}", qos)
        m = sub.wait_messages(1)[0]
        assert (m.payload, m.qos) == (f"from-cpp-q{qos}".encode(), qos), m
    fn.__name__ = fn.__qualname__ = f"cpp_publishes_qos{qos}"
    case()(fn)


def make_sub_case(qos):
    def fn(t):
        """Paho C++ subscribes at QoS q: gets a retained message (proof it is subscribed) and
        then a live one, printed as topic<TAB>payload, and exits 0."""
        pub = t.client()
        pub.publish("cpp/out/retained", b"ret", qos=1, retain=True)
        s = CppSub(t, "cpp/out/#", qos, count=2)
        s.wait_lines(1)
        pub.publish("cpp/out/live", f"live-q{qos}".encode(), qos=qos)
        lines = s.finish()
        assert lines == ["cpp/out/retained\tret", f"cpp/out/live\tlive-q{qos}"], lines
    fn.__name__ = fn.__qualname__ = f"cpp_subscribes_qos{qos}"
    case()(fn)


for _q in (0, 1, 2):
    make_pub_case(_q)
    make_sub_case(_q)


@case()
def cpp_to_cpp_json_payload(t):
    """Paho C++ to Paho C++ at QoS 1 with a UTF-8 JSON payload (as the publishers send)."""
    payload = '{"change":{"subject":"Zoë: fix ✓"},"type":"change-merged"}'
    t.client().publish("cpp/json/x", b"r", qos=1, retain=True)
    s = CppSub(t, "cpp/json/#", 1, count=2)
    s.wait_lines(1)
    cpp_pub(t, "cpp/json/y", payload, 1)
    lines = s.finish()
    assert lines[1] == f"cpp/json/y\t{payload}", lines
