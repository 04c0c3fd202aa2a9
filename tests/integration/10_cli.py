"""10 cli: the broker as operators and command-line users see it: mosquitto_pub/mosquitto_sub at
every QoS and both versions, signals (SIGTERM/SIGINT exit 0, SIGHUP with a bad config keeps
the old one), start-up, $SYS topics, --help.

Cases about hydrant's own CLI, config keys and $SYS names are hydrant-only.
"""

import os
import shutil
import signal
import subprocess
import tempfile
import time

from harness import (V311, V5, case, Skip, DISCONNECT, P_MAXIMUM_PACKET_SIZE, free_port, hydrant_bin,
                     wait_until, mosquitto_pub, HOST)

SYS_TOPICS = [
    "$SYS/broker/version", "$SYS/broker/uptime", "$SYS/broker/clients/connected",
    "$SYS/broker/clients/total", "$SYS/broker/messages/received", "$SYS/broker/messages/sent",
    "$SYS/broker/messages/dropped", "$SYS/broker/bytes/received", "$SYS/broker/bytes/sent",
    "$SYS/broker/subscriptions/count", "$SYS/broker/retained messages/count",
]
NUMERIC_SYS = [s for s in SYS_TOPICS if s != "$SYS/broker/version"]

CONFIG_KEYS = ["max-packet-size", "receive-maximum", "max-inflight", "topic-alias-maximum",
               "max-queued-messages", "outbound-budget", "stuck-timeout", "connect-timeout",
               "max-keepalive", "max-session-expiry", "sys-interval", "threads",
               "max-connections"]


def leading_int(payload):
    """$SYS values are numbers, possibly followed by a unit ("12 seconds")."""
    return int(payload.decode().split()[0])


def mosquitto_roundtrip(t, qos):
    sub = t.mosquitto_sub("cli/t", qos=qos, count=1)
    sub.wait_subscribed()
    res = mosquitto_pub(t.port, t.v, "cli/t", f"hello-q{qos}", qos=qos)
    assert res.returncode == 0, res.stderr
    assert sub.wait_exit() == 0, sub.lines
    assert sub.messages() == [f"cli/t hello-q{qos}"], sub.lines
    received = [l for l in sub.lines if "received PUBLISH" in l]
    assert received and f"q{qos}," in received[0], f"not delivered at QoS {qos}: {received}"


@case()
def mosquitto_clients_qos0(t):
    mosquitto_roundtrip(t, 0)


@case()
def mosquitto_clients_qos1(t):
    mosquitto_roundtrip(t, 1)


@case()
def mosquitto_clients_qos2(t):
    mosquitto_roundtrip(t, 2)


@case()
def mosquitto_sub_retained_and_null(t):
    """mosquitto_pub -r stores a retained message that mosquitto_sub gets at once; -n -r
    clears it."""
    res = mosquitto_pub(t.port, t.v, "cli/r", "kept", qos=1, extra=("-r",))
    assert res.returncode == 0, res.stderr
    sub = t.mosquitto_sub("cli/r", qos=1, count=1, extra=("--retained-only",))
    assert sub.wait_exit() == 0 and sub.messages() == ["cli/r kept"], sub.lines
    res = subprocess.run(["mosquitto_pub", "-h", HOST, "-p", str(t.port), "-V",
                          "mqttv311" if t.v == V311 else "mqttv5", "-t", "cli/r", "-r", "-n",
                          "-q", "1"], capture_output=True, timeout=15)
    assert res.returncode == 0, res.stderr
    sub = t.mosquitto_sub("cli/r", qos=1, extra=("--retained-only", "-E"))
    assert sub.wait_exit() == 0 and sub.messages() == [], sub.lines


@case(versions=(V5,))
def mosquitto_pub_v5_properties(t):
    """mosquitto_pub -D publish user-property/content-type reach mosquitto_sub -F %P %C."""
    sub = t.mosquitto_sub("cli/p", qos=1, count=1, extra=("-F", "%t|%p|%C|%P"))
    sub.wait_subscribed()
    res = mosquitto_pub(t.port, V5, "cli/p", "body", qos=1,
                        extra=("-D", "publish", "user-property", "k", "v",
                               "-D", "publish", "content-type", "text/plain"))
    assert res.returncode == 0, res.stderr
    assert sub.wait_exit() == 0
    out = [l for l in sub.lines if l.startswith("cli/p|")]
    assert out and out[0].startswith("cli/p|body|text/plain|") and "k:v" in out[0], sub.lines


@case(versions=None, hydrant_only="hydrant's signal handling contract")
def sigterm_exits_zero(t):
    """SIGTERM with clients connected: exit status 0 within 10 s; the MQTT 5 client gets
    DISCONNECT 0x8B Server shutting down (README), the 3.1.1 client a plain close."""
    c = t.raw(v=V5)
    c2 = t.raw(v=V311)
    t.broker.signal(signal.SIGTERM)
    t.broker.proc.wait(timeout=10)
    assert t.broker.proc.returncode == 0, f"exit status {t.broker.proc.returncode}"
    got = c.wait_closed(5)
    assert len(got) == 1 and got[0].type == DISCONNECT and got[0].f["rc"] == 0x8B, got
    assert c2.wait_closed(5) == []


@case(versions=None, hydrant_only="hydrant's signal handling contract")
def sigint_exits_zero(t):
    t.raw(v=V5)
    t.broker.signal(signal.SIGINT)
    t.broker.proc.wait(timeout=10)
    assert t.broker.proc.returncode == 0, f"exit status {t.broker.proc.returncode}"


@case(versions=None, start_broker=False, hydrant_only="hydrant's --config/SIGHUP contract")
def sighup_bad_config_keeps_running(t):
    """SIGHUP with a config file that no longer parses: the reload is refused, the broker keeps
    running with the old config and keeps serving the existing and new clients."""
    import tempfile
    d = tempfile.mkdtemp(prefix="hydrant-cfg-")
    cfg = os.path.join(d, "hydrant.conf")
    with open(cfg, "w") as f:
        f.write("")  # an empty config: every key at its default
    t.broker = t.start_broker(config_file=cfg)
    c = t.raw(v=V5)
    with open(cfg, "wb") as f:
        f.write(b"max-packet-size = = [[[\n\x00\xff not a config {{{\n")
    t.broker.signal(signal.SIGHUP)
    for _ in range(5):  # the broker stays up: poll a few round trips over ~1 s
        c.ping()
        time.sleep(0.2)
    assert t.broker.running(), f"broker exited after SIGHUP: {t.broker.stderr_tail()}"
    t.raw(v=V311).ping()
    assert "error" in t.broker.stderr_text().lower() or "refus" in t.broker.stderr_text().lower(), \
        "the refused reload was not logged"


@case(versions=None, hydrant_only="hydrant start-up")
def startup_accepts_quickly(t):
    """The broker accepts connections after start-up (the time is reported, not asserted)."""
    t.note(f"start-up to accepting: {t.broker.startup_s * 1000:.0f} ms")
    t.raw(v=V5).ping()


@case(versions=None, broker_args={"sys-interval": 1}, hydrant_only="hydrant's $SYS names")
def sys_topics_published(t):
    """--sys-interval 1: every documented $SYS topic is published, retained, with numeric
    values (version: non-empty text)."""
    mon = t.client(v=V5)
    mon.subscribe("$SYS/#", 0)
    try:
        mon.wait_for(lambda ms: set(SYS_TOPICS) <= {m.topic for m in ms}, 5, "$SYS topics")
    except AssertionError:
        missing = set(SYS_TOPICS) - {m.topic for m in mon.messages}
        raise AssertionError(f"$SYS topics never published: {sorted(missing)}")
    last = {m.topic: m.payload for m in mon.messages}
    assert last["$SYS/broker/version"].strip(), "empty version"
    for tp in NUMERIC_SYS:
        leading_int(last[tp])
    late = t.client(v=V311)
    late.subscribe("$SYS/broker/version", 0)
    m = late.wait_messages(1)[0]
    assert m.retain, "$SYS topics must be retained"


@case(versions=None, broker_args={"sys-interval": 1}, hydrant_only="hydrant's $SYS names")
def sys_counters_track_activity(t):
    """$SYS counters follow activity: clients/connected counts live clients, messages and
    bytes received grow with publishes, subscriptions and retained counts are visible."""
    mon = t.client(v=V5)
    mon.subscribe("$SYS/broker/#", 0)

    def latest(topic):
        vals = [m.payload for m in mon.messages if m.topic == topic]
        return leading_int(vals[-1]) if vals else None

    needed = ["$SYS/broker/messages/received", "$SYS/broker/bytes/received"]
    mon.wait_for(lambda ms: all(latest(n) is not None for n in needed), 5, f"{needed}")
    base_rx = latest("$SYS/broker/messages/received")
    base_bytes = latest("$SYS/broker/bytes/received")
    others = [t.client(v=V311) for _ in range(3)]
    others[0].subscribe("sys/x", 1)
    for i in range(5):
        others[1].publish("sys/x", b"m", qos=1)
    others[1].publish("sys/ret", b"r", qos=1, retain=True)
    wait_until(lambda: (latest("$SYS/broker/messages/received") or 0) >= base_rx + 6, 5,
               what="messages/received to grow by 6")
    wait_until(lambda: (latest("$SYS/broker/bytes/received") or 0) > base_bytes, 5,
               what="bytes/received to grow")
    wait_until(lambda: (latest("$SYS/broker/clients/connected") or 0) >= 4, 5,
               what="clients/connected >= 4")
    wait_until(lambda: (latest("$SYS/broker/subscriptions/count") or 0) >= 2, 5,
               what="subscriptions/count >= 2")
    wait_until(lambda: (latest("$SYS/broker/retained messages/count") or 0) >= 1, 5,
               what="retained messages/count >= 1")
    wait_until(lambda: (latest("$SYS/broker/messages/sent") or 0) >= 5, 5,
               what="messages/sent >= 5")
    for o in others:
        o.disconnect()
    wait_until(lambda: latest("$SYS/broker/clients/connected") == 1, 5,
               what="clients/connected back to 1")


def run_hydrant(argv, timeout=10):
    b = hydrant_bin()
    if not b or not os.path.exists(b):
        raise Skip("hydrant binary not found")
    return subprocess.run([b] + argv, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout)


@case(versions=None, start_broker=False, hydrant_only="hydrant's CLI")
def help_mentions_every_key(t):
    """--help exits 0 and documents --mqtt, --data, --config, --open, --log-level and every
    config key."""
    res = run_hydrant(["--help"])
    assert res.returncode == 0, f"--help exit {res.returncode}: {res.stderr}"
    text = res.stdout + res.stderr
    missing = [k for k in CONFIG_KEYS + ["mqtt", "data", "config", "open", "log-level"]
               if f"--{k}" not in text and k not in text]
    assert not missing, f"--help does not mention: {missing}"
    # Every protocol version it serves (issue 16 item 7).
    assert "MQTT 3.1, 3.1.1 and 5.0" in text, text[:400]


@case(versions=None, hydrant_only="hydrant's CLI")
def open_mode_is_a_warning_that_says_what_it_turns_off(t):
    """--open (the cases' default) is logged as a warning naming what it turns off (issue 16
    item 3), not as an info line among the others."""
    lines = [l for l in t.broker.stderr_text().splitlines() if "event=open-mode" in l]
    assert len(lines) == 1 and " warning " in lines[0], lines
    assert "anyone may connect" in lines[0] and "publish to any topic" in lines[0], lines


@case(versions=None, start_broker=False, hydrant_only="hydrant's CLI")
def unknown_option_fails(t):
    """An unknown option or a non-numeric value fails fast with one clear message."""
    for argv in (["--no-such-option", "1"], ["--max-packet-size", "lots"]):
        res = run_hydrant(argv + ["--mqtt", "127.0.0.1:1", "--data", "/nonexistent"])
        assert res.returncode != 0, f"{argv}: exit 0"
        assert res.stderr.strip(), f"{argv}: no message on stderr"
        assert "AddressSanitizer" not in res.stderr and "runtime error:" not in res.stderr


@case(versions=None, start_broker=False, hydrant_only="the README")
def readme_keeps_tokens_out_of_the_source_tree(t):
    """The README's commands write access tokens outside the source tree (mode 0600), and a
    token file written into the tree anyway is ignored by git (issue 16 item 12)."""
    import re
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    readme = open(os.path.join(root, "README.md")).read()
    targets = re.findall(r">\s*(\S+\.token)\b", readme)
    assert targets, "the README writes no token file (the check would pass vacuously)"
    inside = [p for p in targets if not p.startswith(("~/", "/", "$"))]
    assert not inside, f"the README writes tokens into the working directory: {inside}"
    assert "umask 077" in readme
    res = subprocess.run(["git", "-C", root, "check-ignore", "-q", "some-publisher.token"])
    assert res.returncode == 0, "a *.token file in the tree is not ignored by git"


@case(versions=None, start_broker=False, hydrant_only="hydrant's CLI")
def a_listener_that_cannot_bind_stops_the_start_naming_the_key(t):
    """A port another process has: the start stops with exit 2, the system's reason ("Address
    already in use") and the option to change, for the MQTT and the HTTP listener alike, with
    no raw libwebsockets line (issue 16 item 2)."""
    import socket
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    data = tempfile.mkdtemp(prefix="hydrant-it-cli-")
    try:
        for args, key in ((["--mqtt", f"127.0.0.1:{port}", "--http", "off"], "--mqtt"),
                          (["--mqtt", "127.0.0.1:0", "--http", f"127.0.0.1:{port}"], "--http")):
            res = run_hydrant(["--data", data, *args])
            assert res.returncode == 2, (args, res.returncode, res.stderr[-500:])
            last = res.stderr.strip().splitlines()[-1]
            assert "Address already in use" in last and f"change {key}" in last, last
            assert "(-1 98)" not in res.stderr and "event=started" not in res.stderr, res.stderr[-800:]
    finally:
        taken.close()
        shutil.rmtree(data, ignore_errors=True)


@case(versions=None, start_broker=False, hydrant_only="hydrant's --config/SIGHUP contract")
def sighup_names_the_keys_kept_until_a_restart(t):
    """SIGHUP after the file changed a key a running broker cannot change (threads, durability)
    and one it can (max-packet-size): the reload's log line names exactly the kept ones, and
    the others apply (issue 16 item 5)."""
    d = tempfile.mkdtemp(prefix="hydrant-cfg-")
    cfg = os.path.join(d, "hydrant.conf")
    with open(cfg, "w") as f:
        f.write("")
    t.broker = t.start_broker(config_file=cfg)
    with open(cfg, "w") as f:
        f.write("threads = 3\ndurability = none\nmax-packet-size = 2048\n")
    t.broker.signal(signal.SIGHUP)
    line = wait_until(lambda: next((l for l in t.broker.stderr_text().splitlines()
                                    if "event=reload kept_until_restart=" in l), None), 5,
                      what="the reload's line")
    assert 'kept_until_restart="threads,durability"' in line, line
    assert " warning " in line, line
    # The key it can change applied: a new MQTT 5 connection is told the new packet limit.
    ack = t.raw(v=V5, connect=False).connect(t.uid())
    assert ack.prop(P_MAXIMUM_PACKET_SIZE) == 2048, ack
    shutil.rmtree(d, ignore_errors=True)


@case(versions=(V5,), start_broker=False, hydrant_only="hydrant's listeners")
def listeners_given_by_host_name_are_resolved_and_bound(t):
    """`--mqtt localhost:P --http localhost:Q`: the name is resolved at start and every address
    it names is bound and logged (MQTT and HTTP alike: lws used to log "listening" and serve
    nothing); a name that resolves to nothing stops the start with exit 2 naming the key
    (issue 16 item 1)."""
    import urllib.request
    mqtt_port, http_port = free_port(), free_port()
    data = tempfile.mkdtemp(prefix="hydrant-it-cli-")
    proc = subprocess.Popen([hydrant_bin(), "--data", data, "--open", "--mqtt", f"localhost:{mqtt_port}",
                             "--http", f"localhost:{http_port}"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        import socket
        def accepting():
            try:
                socket.create_connection(("127.0.0.1", mqtt_port), timeout=1).close()
                return True
            except OSError:
                return False
        wait_until(accepting, 15, interval=0.05, what="the MQTT listener")
        r = t.raw(port=mqtt_port, connect=False)
        r.connect(t.uid())  # reached through 127.0.0.1, one of localhost's addresses
        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/healthz", timeout=5) as resp:
            assert resp.status == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        err = proc.communicate(timeout=15)[1]
        shutil.rmtree(data, ignore_errors=True)
    assert proc.returncode == 0, err[-800:]
    listening = [l for l in err.splitlines() if "event=listening" in l]
    assert any("proto=mqtt address=127.0.0.1" in l for l in listening), listening
    assert any("proto=http address=127.0.0.1" in l for l in listening), listening
    res = run_hydrant(["--data", "/nonexistent", "--mqtt", "no-such-host.invalid:1883"])
    assert res.returncode == 2 and "change --mqtt" in res.stderr, (res.returncode, res.stderr[-300:])
