"""21 net edges: what the network layer does at its limits and on hostile input.

Out of descriptors (issue 13 item 3): a broker at its descriptor limit refuses what it cannot
take (the connection is closed at once, not left hanging), logs that a bounded number of times,
does not spin, and serves new clients once others close.

Hydrant only: these cases use hydrant's logs, limits and bridge.
"""

import os
import resource
import select
import socket
import time

from harness import HOST, case, wait_until

HYDRANT = "hydrant's descriptor handling and logs"


def cpu_seconds(pid):
    """utime + stime of a process, in seconds (/proc/PID/stat fields 14 and 15)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def closed_by_peer(sock):
    """True when the peer closed or reset the connection (no data expected)."""
    try:
        return sock.recv(1) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except (BlockingIOError, socket.timeout):
        return False


def pressure(port, count, window_s):
    """Opens `count` connections and holds them; then, for `window_s`, opens and drops more
    (bounded). Returns (held sockets, attempts made in the window)."""
    held = []
    for _ in range(count):
        s = socket.socket()
        s.settimeout(2)
        s.connect((HOST, port))
        s.setblocking(False)
        held.append(s)
    attempts = 0
    end = time.monotonic() + window_s
    while time.monotonic() < end and attempts < 6000:
        try:
            extra = socket.create_connection((HOST, port), timeout=1)
            extra.close()
        except OSError:
            pass
        attempts += 1
        time.sleep(0.0005)  # spread over the window: the broker sits at its limit throughout
    return held, attempts


def wait_closed_count(held, timeout=5.0):
    """How many of `held` the broker closed within `timeout`."""
    closed = set()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(closed) < len(held):
        ready, _, _ = select.select([s for s in held if s.fileno() not in closed], [], [], 0.2)
        for s in ready:
            if closed_by_peer(s):
                closed.add(s.fileno())
    return len(closed)


def fd_log_lines(broker):
    return [l for l in broker.stderr_text().splitlines()
            if "accept-failed" in l or "event=refused" in l or "lws: accept" in l]


def check_limit_behaviour(t, broker, port, over, window_s=3.0):
    cpu0, wall0 = cpu_seconds(broker.pid), time.monotonic()
    held, attempts = pressure(port, over, window_s)
    cpu = cpu_seconds(broker.pid) - cpu0
    wall = time.monotonic() - wall0
    closed = wait_closed_count(held)
    lines = fd_log_lines(broker)
    t.note(f"held={len(held)} closed_by_broker={closed} attempts={attempts} "
           f"cpu={cpu:.2f}s/{wall:.1f}s log_lines={len(lines)}")
    # A client over the limit is told at once (closed), instead of waiting in the backlog.
    assert closed >= 20, f"only {closed} of {len(held)} connections over the limit were closed"
    # One line, then a count per interval: not one line per failed accept.
    assert len(lines) < 20, f"{len(lines)} refusal lines:\n" + "\n".join(lines[:30])
    # Not spinning on a level-triggered listener (a functional check with a wide margin).
    assert cpu < 0.5 * wall, f"broker used {cpu:.2f} s CPU in {wall:.1f} s at the fd limit"
    for s in held:
        s.close()
    # Room again: a new client is served.
    wait_until(lambda: mqtt_connack(port), timeout=20, interval=0.2,
               what="a client served after others closed")


# CONNECT (MQTT 3.1.1, clean session, empty client id): a refused connection is seen at once.
CONNECT_311 = bytes([0x10, 12, 0, 4]) + b"MQTT" + bytes([4, 2, 0, 60, 0, 0])


def mqtt_connack(port):
    """True when a new connection gets a successful CONNACK (a refused one is closed)."""
    try:
        with socket.create_connection((HOST, port), timeout=2) as s:
            s.sendall(CONNECT_311)
            return s.recv(4) == b"\x20\x02\x00\x00"
    except OSError:
        return False


@case(versions=None, hydrant_only=HYDRANT, start_broker=False, timeout=60)
def low_fd_limit_caps_connections_and_refuses_cleanly(t):
    """Started with 128 descriptors: max-connections defaults below that with a reserve, is
    logged, and connections over it are closed at once with a bounded log."""
    broker = t.start_broker(nofile=128)
    check_limit_behaviour(t, broker, broker.port, over=150)
    text = broker.stderr_text()
    assert "event=max-connections" in text and "fd_limit=128" in text, text[-2000:]


@case(versions=None, hydrant_only=HYDRANT, start_broker=False, timeout=60)
def explicit_max_connections_over_fd_limit_is_lowered(t):
    broker = t.start_broker({"max-connections": "100000"}, nofile=256)
    text = broker.stderr_text()
    assert "event=max-connections-lowered configured=100000" in text, text[-2000:]


# The EMFILE path itself (the limit lowered under a running broker, so max-connections no longer
# protects it) is exercised by the measurement script named in the issue notes, not here: once the
# whole process is out of descriptors, other threads fail too, and an ASan/UBSan build reports
# false "invalid vptr" errors because its runtime cannot open the pipe it checks memory with.
