"""24 cluster (issue 15): a node connects to its engine, NATS JetStream, and creates or checks the
stream and buckets it keeps there, saying what it found in one log line; an engine it cannot use
stops the start with exit 2 and the key to change. Exchange messages published on one node go
through the stream and reach subscribers on every node, with the same positions; a stalled
engine holds the acknowledgement, then refuses it."""

import json
import os
import re
import signal
import time
import urllib.error
import urllib.request
import shutil
import subprocess
import tempfile

from harness import (HOST, P_REASON_STRING, P_SESSION_EXPIRY, PUBACK, V5, PacketTypes, case,
                     free_port, hydrant_bin, props5, wait_until)
from jetstream import JetStream

WHY = "hydrant's cluster mode (issue 15)"
BUCKETS = ("hydrant-sessions", "hydrant-retained", "hydrant-users", "hydrant-nodes",
           "hydrant-declared")


def ready_line(broker):
    lines = [l for l in broker.stderr_text().splitlines() if "event=cluster-ready" in l]
    assert lines, broker.stderr_tail()
    return lines[-1]


def field(line, key):
    m = re.search(rf'\b{key}=("([^"]*)"|\S+)', line)
    assert m, (key, line)
    return m.group(2) if m.group(2) is not None else m.group(1)



def start_node(t, args):
    """A node, once it reads the stream: event=started comes after the consumer is set up (the
    port accepts a little earlier)."""
    b = t.start_broker(args)
    wait_until(lambda: "event=started" in b.stderr_text(), 20, interval=0.05,
               what="event=started")
    return b

def refused_start(*args, timeout=40):
    """Runs hydrant with these arguments; it must exit 2. Returns its stderr."""
    data = tempfile.mkdtemp(prefix="hydrant-it-cluster-")
    argv = [hydrant_bin(), "--data", data, "--mqtt", f"{HOST}:{free_port()}", "--http", "off",
            "--open", *args]
    try:
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=timeout)
    finally:
        shutil.rmtree(data, ignore_errors=True)
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    return r.stderr


@case(versions=None, hydrant_only=WHY, start_broker=False, timeout=60)
def layout_created_then_found(t):
    """On a fresh engine the node creates the stream (replicas 1 on one server) and its four
    buckets; started again it finds them, with the same epoch (the stream's life)."""
    js = JetStream(t)
    args = {"cluster": js.urls, "cluster-replicas": 1, "node-name": "node-a"}
    b = start_node(t, args)
    first = ready_line(b)
    assert field(first, "stream") == "hydrant-exchanges", first
    assert field(first, "stream_state") == "created", first
    assert field(first, "replicas") == "1", first
    assert field(first, "node") == "node-a", first
    assert field(first, "buckets") == ",".join(f"{n}:created" for n in BUCKETS), first
    epoch = field(first, "epoch")
    assert epoch != "0000000000000000", first
    b.stop()
    assert "cluster-engine-disconnected" not in b.stderr_text(), b.stderr_tail()  # a stop is no outage
    b.start()
    wait_until(lambda: b.stderr_text().count("event=started") == 2, 20, what="started again")
    again = ready_line(b)
    assert field(again, "stream_state") == "found", again
    assert field(again, "buckets") == ",".join(f"{n}:found" for n in BUCKETS), again
    assert field(again, "epoch") == epoch, (first, again)
    # The engine going away is said once, as a warning, and the node keeps running.
    js.procs[0].kill()
    js.procs[0].wait(timeout=10)
    wait_until(lambda: "event=cluster-engine-disconnected" in b.stderr_text(), 10,
               what="the disconnect logged")
    assert b.running(), b.stderr_tail()
    t.note(f"epoch {epoch}")


@case(versions=None, hydrant_only=WHY, start_broker=False, timeout=60)
def prefix_and_limits_follow_the_configuration(t):
    """cluster-prefix names a separate stream and buckets; a restart with other history limits
    updates the stream's."""
    js = JetStream(t)
    args = {"cluster": js.urls, "cluster-replicas": 1, "cluster-prefix": "alt",
            "history-max-age": 3600}
    b = start_node(t, args)
    line = ready_line(b)
    assert field(line, "stream") == "alt-exchanges", line
    assert "alt-sessions:created" in field(line, "buckets"), line
    assert field(line, "max_age_s") == "3600", line
    b.stop()
    b.args["history-max-age"] = 7200
    b.start()
    wait_until(lambda: b.stderr_text().count("event=started") == 2, 20, what="started again")
    line = ready_line(b)
    assert field(line, "stream_state") == "found", line
    assert "limits=updated" in line, line
    assert field(line, "max_age_s") == "7200", line


@case(versions=None, hydrant_only=WHY, start_broker=False, timeout=90)
def three_servers_keep_three_copies(t):
    """A JetStream cluster of three: the default cluster-replicas 3 places the stream on all of
    them, with a leader; a second node finds the same stream (same epoch)."""
    js = JetStream(t, servers=3)
    a = start_node(t, {"cluster": js.urls, "node-name": "node-a"})
    line_a = ready_line(a)
    assert field(line_a, "replicas") == "3", line_a
    assert field(line_a, "leader") in js.names, line_a
    b = start_node(t, {"cluster": js.urls, "node-name": "node-b"})
    line_b = ready_line(b)
    assert field(line_b, "stream_state") == "found", line_b
    assert field(line_b, "epoch") == field(line_a, "epoch"), (line_a, line_b)
    t.note(f"leader {field(line_a, 'leader')}")


@case(versions=None, hydrant_only=WHY, start_broker=False, timeout=60)
def more_replicas_than_servers_refused(t):
    js = JetStream(t)
    err = refused_start("--cluster", js.urls, "--cluster-replicas", "3")
    assert "cluster-replicas 3" in err and "lower cluster-replicas" in err, err


@case(versions=None, hydrant_only=WHY, start_broker=False, timeout=60)
def unusable_engine_refused(t):
    """No server at the URL, a server without JetStream, a URL that is not one, and credentials
    or a CA file that cannot be read: each stops the start with exit 2 and says what to change."""
    err = refused_start("--cluster", f"nats://{HOST}:{free_port()}")
    assert "cannot reach the engine" in err and "cluster key" in err, err
    plain = JetStream(t, jetstream=False)
    err = refused_start("--cluster", plain.urls, "--cluster-replicas", "1")
    assert "JetStream is not enabled" in err, err
    err = refused_start("--cluster", "http://example.org:4222")
    assert "--cluster" in err and "not an engine URL" in err, err
    err = refused_start("--cluster", plain.urls, "--cluster-prefix", "a.b")
    assert "--cluster-prefix" in err, err
    js = JetStream(t)
    err = refused_start("--cluster", js.urls, "--cluster-replicas", "1",
                        "--cluster-creds", "/nonexistent/engine.creds")
    assert "cluster-creds /nonexistent/engine.creds" in err, err
    err = refused_start("--cluster", js.urls, "--cluster-replicas", "1",
                        "--cluster-ca", "/nonexistent/ca.pem")
    assert "cluster-ca /nonexistent/ca.pem" in err, err


@case(versions=None, hydrant_only=WHY, start_broker=False, timeout=60)
def engine_password_never_logged(t):
    """A user and password in the engine URL (nats-server without authorization accepts them)
    reach the engine but no log line: the startup lines show ***@ instead."""
    js = JetStream(t)
    url = js.urls.replace("nats://", "nats://alice:s3cret-pw@")
    b = start_node(t, {"cluster": url, "cluster-replicas": 1})
    line = ready_line(b)
    assert "nats://***@" in field(line, "servers"), line
    assert "s3cret-pw" not in b.stderr_text(), b.stderr_tail()
    err = refused_start("--cluster", f"nats://alice:s3cret-pw@{HOST}:{free_port()}")
    assert "cannot reach the engine at nats://***@" in err and "s3cret-pw" not in err, err
    err = refused_start("--cluster", "http://alice:s3cret-pw@example.org:4222")
    assert "not an engine URL" in err and "s3cret-pw" not in err, err


# ---- items 2 and 3: publish through the stream, delivery from it on every node ---------------

def position_of(m):
    for key, value in (getattr(m.properties, "UserProperty", None) or []):
        if key == "position":
            return value
    return None


def cluster_view(node):
    with urllib.request.urlopen(f"http://{HOST}:{node.http_port}/api/v1/cluster", timeout=5) as resp:
        return json.loads(resp.read())


@case(hydrant_only=WHY, start_broker=False, timeout=120)
def publish_on_one_node_delivered_on_every_node(t):
    """Three nodes on one engine: 200 QoS 1 and 2 and 20 QoS 0 publishes on node a reach subscribers
    on a (TCP), b (TCP) and c (WebSocket) once each, in order; MQTT 5 subscribers see the same
    position for each message on every node, one stream sequence after the other."""
    js = JetStream(t)
    common = {"cluster": js.urls, "cluster-replicas": 1}
    a = start_node(t, dict(common, **{"node-name": "a", "http": "free"}))
    b = start_node(t, dict(common, **{"node-name": "b"}))
    c = start_node(t, dict(common, **{"node-name": "c", "http": "free"}))
    subs = {"a": t.client(port=a.port), "b": t.client(port=b.port),
            "c-ws": t.client(port=c.http_port, transport="websockets")}
    for s in subs.values():
        s.subscribe("exchange/it/#", qos=1)
    pub = t.client(port=a.port)
    expected = []
    for i in range(220):
        payload = b'{"n":%d}' % i
        qos = 0 if i >= 200 else (2 if i % 4 == 0 else 1)
        pub.publish(f"exchange/it/k{i % 5}", payload, qos=qos)  # waits for PUBACK / PUBCOMP
        expected.append(payload)
    positions = {}
    for name, s in subs.items():
        got = s.wait_messages(220, timeout=30)
        s.expect_no_message(0.3)  # and no more: once each
        assert [m.payload for m in got] == expected, (name, [m.payload for m in got][:5])
        if t.v == V5:
            positions[name] = [position_of(m) for m in got]
    if t.v == V5:
        first = positions["a"]
        assert all(p == first for p in positions.values()), positions
        epoch = first[0].split("-")[0]
        sequences = [int(p.split("-")[1]) for p in first]
        assert all(p.split("-")[0] == epoch for p in first), first
        assert sequences == list(range(sequences[0], sequences[0] + 220)), sequences[:5]
        t.note(f"positions {first[0]} .. {first[-1]} on a, b and c-ws")
        # Node c's own view: connected, and it read up to the last message.
        view = cluster_view(c)
        assert view["node"] == "c" and view["engine"] == "connected", view
        assert view["last_delivered_sequence"] == sequences[-1] and view["epoch"] == epoch, view
        assert view["publishes_waiting"] == 0, view
        # The other nodes, from their heartbeats in the engine; and the node in /api/v1/info
        # (the viewer shows it).
        names = wait_until(lambda: (lambda v: sorted(n["name"] for n in v["nodes"] if n["alive"])
                                    if len(v["nodes"]) == 3 else None)(cluster_view(c)), 10,
                           what="three nodes seen")
        assert names == ["a", "b", "c"], names
        assert [n["name"] for n in cluster_view(c)["nodes"] if n["this_node"]] == ["c"]
        with urllib.request.urlopen(f"http://{HOST}:{c.http_port}/api/v1/info", timeout=5) as resp:
            assert json.loads(resp.read())["node"] == "c"
    # /metrics: node a had its 220 publishes stored (each timed), node c read 220 messages.
    def metrics(node):
        with urllib.request.urlopen(f"http://{HOST}:{node.http_port}/metrics", timeout=5) as resp:
            text = resp.read().decode()
        return {l.split(" ")[0]: float(l.split(" ")[1]) for l in text.splitlines()
                if l.startswith("hydrant_cluster_")}
    on_a, on_c = metrics(a), metrics(c)
    assert on_a["hydrant_cluster_publishes_stored_total"] == 220, on_a
    assert on_a["hydrant_cluster_publish_ack_seconds_count"] == 220, on_a
    assert on_a['hydrant_cluster_publish_ack_seconds_bucket{le="+Inf"}'] == 220, on_a
    assert on_a["hydrant_cluster_publishes_failed_total"] == 0, on_a
    assert on_c["hydrant_cluster_delivered_total"] == 220 and on_c["hydrant_cluster_engine_connected"] == 1, on_c
    assert on_c["hydrant_cluster_publishes_stored_total"] == 0, on_c
    assert on_c["hydrant_cluster_consumer_pending"] == 0, on_c  # caught up
    mean_ms = 1000 * on_a["hydrant_cluster_publish_ack_seconds_sum"] / 220
    t.note(f"mean time to the engine's acknowledgement {mean_ms:.2f} ms (ASan build, one server)")
    # History from the stream, on another node than the publisher's: by position, page by page,
    # and the newest N; the same positions as the live deliveries.
    def history(node, query):
        url = f"http://{HOST}:{node.http_port}/api/v1/history?filter=exchange/it/%23&{query}"
        with urllib.request.urlopen(url, timeout=10) as resp:
            return json.loads(resp.read())
    page = history(c, "limit=150")
    assert [m["payload"]["n"] for m in page["messages"]] == list(range(150)), page["next"]
    assert page["more"] is True and page["complete"] is True, page["next"]
    rest = history(c, f"limit=150&since={page['next']}")
    assert [m["payload"]["n"] for m in rest["messages"]] == list(range(150, 220)), rest["next"]
    assert rest["more"] is False, rest
    newest = history(c, "last=5")
    assert [m["payload"]["n"] for m in newest["messages"]] == list(range(215, 220)), newest
    if t.v == V5:
        assert [m["position"] for m in page["messages"] + rest["messages"]] == positions["a"]
    # Replay over MQTT 5 on node b: the newest 3, then live.
    if t.v == V5:
        late = t.client(port=b.port)
        late.subscribe("exchange/it/#", qos=1, properties=props5(
            PacketTypes.SUBSCRIBE, UserProperty=[("replay", "last:3")]))
        got = late.wait_messages(3, timeout=10)
        assert [m.payload for m in got] == expected[-3:], got
        assert [position_of(m) for m in got] == positions["a"][-3:], got


@case(hydrant_only=WHY, start_broker=False, timeout=90)
def engine_stall_holds_then_refuses_the_acknowledgement(t):
    """The engine stops answering (nats-server stopped with SIGSTOP): a QoS 1 publish gets no
    PUBACK while cluster-ack-timeout runs, then MQTT 5 hears 0x97 and 3.1.1 is disconnected:
    never a PUBACK for a message the engine did not store. Once the engine answers again,
    publishing goes on."""
    js = JetStream(t)
    a = start_node(t, {"cluster": js.urls, "cluster-replicas": 1, "cluster-ack-timeout": 2})
    r = t.raw(port=a.port)
    r.publish("exchange/it/stall", b'{"before":1}', qos=1, pid=1)
    assert r.expect(PUBACK, timeout=10).f.get("rc", 0) == 0
    os.kill(js.procs[0].pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        r.publish("exchange/it/stall", b'{"stalled":1}', qos=1, pid=2)
        if t.v == V5:
            ack = r.expect(PUBACK, timeout=15)
            waited = time.monotonic() - started
            assert ack.f.get("rc") == 0x97, ack
            assert waited >= 1.5, waited  # held for the timeout, not refused at once
        else:
            got = r.wait_closed(timeout=15)
            waited = time.monotonic() - started
            assert not got, got  # closed without a PUBACK
            assert waited >= 1.5, waited
        t.note(f"refused after {waited:.1f} s")
    finally:
        os.kill(js.procs[0].pid, signal.SIGCONT)
    again = t.raw(port=a.port)
    again.publish("exchange/it/stall", b'{"after":1}', qos=1, pid=3)
    assert again.expect(PUBACK, timeout=15).f.get("rc", 0) == 0


@case(versions=(V5,), hydrant_only=WHY, start_broker=False, timeout=60)
def engine_gone_refuses_at_once_and_readyz_says_why(t):
    """The engine killed: /readyz answers 503 naming it, and a QoS 1 publish to an exchange is
    refused at once (0x97, with a reason string) instead of waiting for a store that is gone.
    Started again, the node reconnects, publishing goes on and its subscriber gets the next
    message (the node's consumer resumes after the last one it delivered)."""
    js = JetStream(t)
    a = start_node(t, {"cluster": js.urls, "cluster-replicas": 1, "http": "free"})
    sub = t.client(port=a.port)
    sub.subscribe("exchange/it/#", qos=1)
    t.client(port=a.port).publish("exchange/it/gone", b'{"n":0}', qos=1)
    sub.wait_messages(1, timeout=10)
    js.procs[0].kill()
    js.procs[0].wait(timeout=10)

    def readyz():
        try:
            with urllib.request.urlopen(f"http://{HOST}:{a.http_port}/readyz", timeout=5) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()
    status, body = wait_until(lambda: (lambda s: s if s[0] == 503 else None)(readyz()), 10,
                              what="readyz 503")
    assert "engine" in json.loads(body)["reason"], body
    r = t.raw(port=a.port)
    started = time.monotonic()
    r.publish("exchange/it/gone", b'{"n":1}', qos=1, pid=1)
    ack = r.expect(PUBACK, timeout=5)
    assert ack.f.get("rc") == 0x97, ack
    assert "engine" in (ack.prop(P_REASON_STRING) or ""), ack
    assert time.monotonic() - started < 1.5
    # A persistent session the node does not have is asked of the engine: none answers, so the
    # CONNECT is refused at once (0x88 Server unavailable) rather than given an empty session.
    started = time.monotonic()
    t.raw(connect=False, port=a.port).connect("gone-durable", clean=False,
                                               props=[(P_SESSION_EXPIRY, 300)], expect_rc=0x88)
    assert time.monotonic() - started < 1.5
    js.start(0)
    js.wait_ready()
    wait_until(lambda: readyz()[0] == 200, 20, interval=0.2, what="readyz 200 again")
    r2 = t.raw(port=a.port)
    r2.publish("exchange/it/gone", b'{"n":2}', qos=1, pid=2)
    assert r2.expect(PUBACK, timeout=15).f.get("rc", 0) == 0
    # Delivery resumes on the node's consumer, after the message it had, with nothing between.
    got = sub.wait_messages(2, timeout=15)
    assert [m.payload for m in got] == [b'{"n":0}', b'{"n":2}'], got


@case(versions=(V5,), hydrant_only=WHY, start_broker=False, timeout=60)
def history_says_what_the_stream_no_longer_holds(t):
    """History from the stream is marked incomplete, with the reason, when the position asked
    for has aged out (history-max-age, the stream's MaxAge) or comes from another stream, or
    when the node's history reads are over cluster-history-rate."""
    js = JetStream(t)
    a = start_node(t, {"cluster": js.urls, "cluster-replicas": 1, "http": "free",
                        "history-max-age": 1, "cluster-history-rate": 5})
    pub = t.client(port=a.port)
    for i in range(3):
        pub.publish("exchange/it/old", b'{"n":%d}' % i, qos=1)
    time.sleep(2.5)  # MaxAge 1 s: the three are gone
    pub.publish("exchange/it/old", b'{"n":3}', qos=1)

    def history(query):
        url = f"http://{HOST}:{a.http_port}/api/v1/history?filter=exchange/it/%23&{query}"
        with urllib.request.urlopen(url, timeout=10) as resp:
            return json.loads(resp.read())
    epoch = history("last=1")["epoch"]
    page = history(f"since={epoch}-1")
    assert [m["payload"]["n"] for m in page["messages"]] == [3], page
    assert page["complete"] is False and "retention" in page["gap"], page
    other = history("since=0000000000000001-1")
    assert other["complete"] is False and "another epoch" in other["gap"], other
    # A flood of history requests is bounded (each costs the engine a consumer): past
    # cluster-history-rate (5 a second here) the answer says so instead of reading.
    started = time.monotonic()
    pages = [history("last=1") for _ in range(40)]
    seconds = time.monotonic() - started
    refused = [p for p in pages if not p["complete"] and "too many history reads" in p["gap"]]
    served = len(pages) - len(refused)
    assert served <= 5 + 5 * seconds + 1 and refused, (served, seconds)
    t.note(f"40 reads in {seconds:.2f} s: {served} served, {len(refused)} refused")


def stored_numbers(node, topic):
    """The "n" of every message of `topic` the stream holds, in order: read page by page from
    the node's history API."""
    stored, since = [], None
    while True:
        query = f"filter={topic}&limit=1000" + (f"&since={since}" if since else "")
        with urllib.request.urlopen(f"http://{HOST}:{node.http_port}/api/v1/history?{query}",
                                    timeout=20) as resp:
            page = json.loads(resp.read())
        stored += [m["payload"]["n"] for m in page["messages"]]
        if not page["more"]:
            return stored
        since = page["next"]


def stream_leader(js, stream="hydrant-exchanges"):
    """The server leading `stream` now, as any live server's monitoring endpoint reports it."""
    for i, proc in enumerate(js.procs):
        if proc.poll() is not None:
            continue
        try:
            url = f"http://{HOST}:{js.monitor_ports[i]}/jsz?streams=true"
            with urllib.request.urlopen(url, timeout=2) as resp:
                jsz = json.loads(resp.read())
        except OSError:
            continue
        for account in jsz.get("account_details", []):
            for s in account.get("stream_detail", []):
                if s["name"] == stream and s.get("cluster", {}).get("leader"):
                    return s["cluster"]["leader"]
    return None


@case(versions=(V5,), hydrant_only=WHY, start_broker=False, timeout=180)
def kill_nine_rounds_lose_no_acknowledged_message(t):
    """QoS 1 publishing through a node while the stream's leader is killed with SIGKILL, three
    rounds (each time the leader of that moment, then restarted): every publish the node
    acknowledged with 0x00 is in the stream, none twice; the others were refused, never
    acknowledged. Reports the longest stall between two acknowledgements."""
    js = JetStream(t, servers=3)
    a = start_node(t, {"cluster": js.urls, "node-name": "a", "http": "free",
                       "cluster-ack-timeout": 5})
    acked, refused, ack_times = [], 0, []
    state = {"n": 0, "raw": t.raw(port=a.port)}

    def publish_for(seconds):
        nonlocal refused
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            state["n"] += 1
            n = state["n"]
            try:
                state["raw"].publish("exchange/it/kill", b'{"n":%d}' % n, qos=1, pid=n % 65535 + 1)
                ack = state["raw"].expect(PUBACK, timeout=10)
            except AssertionError:  # closed or silent: a new connection, the publish not acked
                refused += 1
                state["raw"] = t.raw(port=a.port)
                continue
            if ack.f.get("rc", 0) == 0:
                acked.append(n)
                ack_times.append(time.monotonic())
            else:
                refused += 1

    killed = []
    for _ in range(3):
        publish_for(1.0)
        leader = wait_until(lambda: stream_leader(js), 20, interval=0.2, what="a stream leader")
        i = js.names.index(leader)
        js.procs[i].kill()
        js.procs[i].wait(timeout=10)
        killed.append(leader)
        publish_for(3.0)
        js.start(i)
        js.wait_ready()
        publish_for(1.0)
    stall = max(b - a_ for a_, b in zip(ack_times, ack_times[1:]))

    stored = stored_numbers(a, "exchange/it/kill")
    lost = sorted(set(acked) - set(stored))
    duplicated = len(stored) - len(set(stored))
    assert not lost, f"{len(lost)} acknowledged messages missing: {lost[:10]}"
    assert duplicated == 0, duplicated
    t.note(f"leaders killed {killed}: {len(acked)} acknowledged, 0 lost, {duplicated} duplicated, "
           f"{refused} refused; {len(stored)} stored; longest stall {stall:.1f} s")


@case(versions=(V5,), hydrant_only=WHY, start_broker=False, timeout=60)
def full_window_refuses_at_once(t):
    """cluster-window bounds the publishes waiting for the engine: with the engine stalled and
    the window (2) full, the next QoS 1 publish is refused at once (0x97, with the reason), not
    queued; the two waiting are stored and acknowledged once the engine answers again."""
    js = JetStream(t)
    a = start_node(t, {"cluster": js.urls, "cluster-replicas": 1, "cluster-window": 2,
                       "cluster-ack-timeout": 10})
    r = t.raw(port=a.port)
    os.kill(js.procs[0].pid, signal.SIGSTOP)
    try:
        r.publish("exchange/it/window", b'{"n":1}', qos=1, pid=1)
        r.publish("exchange/it/window", b'{"n":2}', qos=1, pid=2)
        started = time.monotonic()
        r.publish("exchange/it/window", b'{"n":3}', qos=1, pid=3)
        refused = r.expect(PUBACK, timeout=5)
        assert refused.f.get("pid") == 3 and refused.f.get("rc") == 0x97, refused
        assert time.monotonic() - started < 2, "refused only after waiting"
        assert "engine" in (refused.prop(P_REASON_STRING) or ""), refused
    finally:
        os.kill(js.procs[0].pid, signal.SIGCONT)
    acks = {}
    for _ in range(2):
        p = r.expect(PUBACK, timeout=15)
        acks[p.f.get("pid")] = p.f.get("rc", 0)
    assert acks == {1: 0, 2: 0}, acks


def share_users(source, *nodes):
    """Gives every node the users file of `source` (an atomic replace, which each running node
    reads at once), so that a test of sessions does not depend on how users propagate."""
    data = open(os.path.join(source.data_dir, "users.json"), "rb").read()
    for n in nodes:
        tmp = os.path.join(n.data_dir, "users.json.tmp")
        with open(tmp, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o600)
        os.rename(tmp, os.path.join(n.data_dir, "users.json"))


def persistent_client(t, port, cid, user, token):
    """A paho client with a persistent session (CleanSession 0 / Clean Start 0 + expiry 300),
    authenticated as `user`; returns (client, session present)."""
    c = t.client(client_id=cid, clean=False, port=port, connect=False)
    if t.v == V5:
        present = c.connect(clean_start=False, username=user, password=token,
                            properties=props5(PacketTypes.CONNECT, SessionExpiryInterval=300))[0]
    else:
        present = c.connect(username=user, password=token)[0]
    return c, bool(present)


def connect_when_user_known(t, port, user, token, timeout=10):
    """Connects as `user` once the node accepts the token (its users file reloaded)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            c = t.client(port=port, client_id=user, connect=False)
            c.connect(username=user, password=token)
            return c
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@case(hydrant_only=WHY, start_broker=False, timeout=120)
def persistent_session_moves_between_nodes(t):
    """A persistent session opened on node a, offline while node b publishes, resumes on node c
    with session present = 1 and every message since, in order; then a connection on node a
    takes it back while c's is connected: c's connection is closed as taken over (MQTT 5:
    DISCONNECT 0x8E) and a gets what is published next, nothing twice."""
    js = JetStream(t)
    common = {"cluster": js.urls, "cluster-replicas": 1}
    a = start_node(t, dict(common, **{"node-name": "a"}))
    b = start_node(t, dict(common, **{"node-name": "b"}))
    c = start_node(t, dict(common, **{"node-name": "c"}))
    token = a.add_user("alice")
    share_users(a, b, c)
    cid = "queue/alice/mover"
    for node in (a, b, c):
        connect_when_user_known(t, node.port, "alice", token).disconnect()

    sub, present = persistent_client(t, a.port, cid, "alice", token)
    assert not present
    sub.subscribe("exchange/alice/moves/#", qos=1)
    time.sleep(1.5)  # the session's record (with its subscription) reaches the engine
    sub.disconnect()

    pub = connect_when_user_known(t, b.port, "alice", token)
    first = [b'{"n":%d}' % i for i in range(30)]
    for p in first:
        pub.publish("exchange/alice/moves/k", p, qos=1)

    on_c, present = persistent_client(t, c.port, cid, "alice", token)
    assert present, "session present = 0 on node c"
    got = on_c.wait_messages(30, timeout=15)
    on_c.expect_no_message(0.5)
    assert [m.payload for m in got] == first, [m.payload for m in got][:5]
    assert "event=cluster-session-taken" in c.stderr_text(), c.stderr_tail()

    # Taken back by node a while node c's connection is up, once c's cursor (written once a
    # second) says it has the 30.
    time.sleep(2.5)
    on_a, present = persistent_client(t, a.port, cid, "alice", token)
    assert present, "session present = 0 back on node a"
    wait_until(lambda: on_c.disconnected is not None, 10, what="node c's connection closed")
    # As a takeover on one node (DISCONNECT 0x8E in MQTT 5: 05_session checks the bytes).
    assert 'client="queue/alice/mover" event=taken-over' in c.stderr_text(), c.stderr_tail()
    assert "event=cluster-session-given-up" in c.stderr_text(), c.stderr_tail()
    second = [b'{"m":%d}' % i for i in range(10)]
    for p in second:
        pub.publish("exchange/alice/moves/k", p, qos=1)
    got_a = on_a.wait_messages(10, timeout=15)
    on_a.expect_no_message(0.5)
    assert [m.payload for m in got_a] == second, [m.payload for m in got_a]
    t.note("30 messages queued on node c from the stream, the next 10 on a; none twice")


@case(hydrant_only=WHY, start_broker=False, timeout=120)
def retained_messages_on_every_node_and_on_a_node_that_joins_later(t):
    """A retained message published on node a is the retained message on node b at once, and on
    node c, started afterwards with an empty data directory; clearing it on b clears it on every
    node, c included, and on a node restarted afterwards."""
    js = JetStream(t)
    common = {"cluster": js.urls, "cluster-replicas": 1}
    a = start_node(t, dict(common, **{"node-name": "a"}))
    b = start_node(t, dict(common, **{"node-name": "b"}))
    pub = t.client(port=a.port)
    pub.publish("exchange/it/retained/k", b'{"state":"green"}', qos=1, retain=True)
    pub.publish("exchange/it/retained/other", b'{"state":"blue"}', qos=1, retain=True)

    def retained_on(node, expected, topic="exchange/it/retained/#"):
        def have():
            s = t.client(port=node.port)
            s.subscribe(topic, qos=1)
            time.sleep(0.3)
            got = sorted((m.topic, m.payload) for m in s.messages if m.retain)
            s.disconnect()
            return got == sorted(expected) or got
        last = None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            last = have()
            if last is True:
                return
        raise AssertionError(f"retained on {node}: {last!r}, expected {expected!r}")

    both = [("exchange/it/retained/k", b'{"state":"green"}'),
            ("exchange/it/retained/other", b'{"state":"blue"}')]
    retained_on(b, both)
    c = start_node(t, dict(common, **{"node-name": "c"}))  # joins with nothing of its own
    retained_on(c, both)
    t.client(port=b.port).publish("exchange/it/retained/k", b"", qos=1, retain=True)  # clears
    only_other = [("exchange/it/retained/other", b'{"state":"blue"}')]
    for node in (a, b, c):
        retained_on(node, only_other)
    a.stop()
    a.start()  # the same data directory
    wait_until(lambda: a.stderr_text().count("event=started") == 2, 20, what="a started again")
    retained_on(a, only_other)


@case(hydrant_only=WHY, start_broker=False, timeout=120)
def wills_of_a_dead_node_published_once_by_a_survivor(t):
    """Node a is killed (SIGKILL) with three clients: one with a clean session and a will, one
    with a persistent session and a will (MQTT 5: a will delay of 2 s), one that had
    disconnected normally. Node b sees a's heartbeat stop, takes over a's sessions and publishes
    the two wills once each (through the stream: on every node); a restarted does not publish
    them again; the persistent client resumes its session on a (session present 1)."""
    from harness import P_WILL_DELAY
    js = JetStream(t)
    common = {"cluster": js.urls, "cluster-replicas": 1}
    a = start_node(t, dict(common, **{"node-name": "a"}))
    b = start_node(t, dict(common, **{"node-name": "b"}))
    watch = t.client(port=b.port)
    watch.subscribe("exchange/it/wills/#", qos=1)

    def will(name, props=None):
        return dict(topic=f"exchange/it/wills/{name}", payload=b'{"gone":"%s"}' % name.encode(),
                    qos=1, props=props)
    clean = t.raw(connect=False, port=a.port)
    clean.connect("w-clean", will=will("clean"))
    durable = t.raw(connect=False, port=a.port)
    if t.v == V5:
        durable.connect("w-durable", clean=False, props=[(P_SESSION_EXPIRY, 300)],
                        will=will("durable", props=[(P_WILL_DELAY, 2)]))
    else:
        durable.connect("w-durable", clean=False, will=will("durable"))
    polite = t.raw(connect=False, port=a.port)
    polite.connect("w-polite", will=will("polite"))
    polite.disconnect()  # a normal DISCONNECT: its will is never published
    time.sleep(1.5)      # the sessions' records reach the engine
    killed_at = time.monotonic()
    os.kill(a.pid, signal.SIGKILL)
    a.proc.wait(timeout=10)

    got = watch.wait_messages(2, timeout=20)
    took = time.monotonic() - killed_at
    watch.expect_no_message(2.0)
    assert sorted(m.topic for m in watch.messages) == ["exchange/it/wills/clean", "exchange/it/wills/durable"], \
        [m.topic for m in watch.messages]
    assert "event=cluster-node-died" in b.stderr_text() and "event=session-adopted" in b.stderr_text(), \
        b.stderr_tail()
    a.start()  # the same data directory: it finds its sessions taken, publishes nothing again
    wait_until(lambda: a.stderr_text().count("event=started") == 2, 20, what="a started again")
    watch.expect_no_message(2.0)
    assert len(watch.messages) == 2, [m.topic for m in watch.messages]
    back = t.raw(connect=False, port=a.port)
    kw = dict(clean=False, props=[(P_SESSION_EXPIRY, 300)]) if t.v == V5 else dict(clean=False)
    assert back.connect("w-durable", **kw).f["session_present"] == 1
    t.note(f"both wills {took:.1f} s after the kill (heartbeat timeout 5 s); none twice")


@case(hydrant_only=WHY, start_broker=False, timeout=90)
def resent_publish_stored_once_across_nodes(t):
    """A QoS 1 publish whose PUBACK was lost, re-sent (DUP) through another node after the
    persistent session moved there, is stored once: JetStream de-duplicates it by the id built
    from the session, the packet id and the message. The same packet id later reused for an
    equal message (DUP 0: new) is stored again."""
    js = JetStream(t)
    common = {"cluster": js.urls, "cluster-replicas": 1, "http": "free"}
    a = start_node(t, dict(common, **{"node-name": "a"}))
    b = start_node(t, dict(common, **{"node-name": "b"}))
    watch = t.client(port=b.port)
    watch.subscribe("exchange/it/dedup/#", qos=1)
    kw = dict(clean=False, props=[(P_SESSION_EXPIRY, 300)]) if t.v == V5 else dict(clean=False)
    topic, payload = "exchange/it/dedup/k", b'{"build":42}'

    first = t.raw(connect=False, port=a.port)
    first.connect("dedup-pub", **kw)
    first.publish(topic, payload, qos=1, pid=7)
    first.expect(PUBACK)
    time.sleep(1.5)  # the session's record reaches the engine
    first.close()    # as if the PUBACK had been lost with the connection

    second = t.raw(connect=False, port=b.port)
    assert second.connect("dedup-pub", **kw).f["session_present"] == 1
    second.publish(topic, payload, qos=1, pid=7, dup=True)  # the re-send
    second.expect(PUBACK)
    second.publish(topic, payload, qos=1, pid=7)  # new, equal to the first
    second.expect(PUBACK)
    watch.wait_messages(2, timeout=10)
    watch.expect_no_message(1.5)
    assert [m.payload for m in watch.messages] == [payload, payload], watch.messages
    with urllib.request.urlopen(f"http://{HOST}:{b.http_port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    assert "hydrant_cluster_publishes_deduplicated_total 1" in text, \
        [l for l in text.splitlines() if "dedup" in l]


@case(versions=(V5,), hydrant_only=WHY, start_broker=False, timeout=180)
def kill_nine_of_a_node_loses_no_acknowledged_message(t):
    """QoS 1 publishing through node a or b with a persistent session; the node the publisher is
    on is killed (SIGKILL) mid-stream, three rounds (then restarted on its data directory). The
    publisher resumes its session on the other node and re-sends the publish it had no PUBACK
    for (DUP): every acknowledged publish is in the stream, and the re-sends are stored once."""
    import threading
    js = JetStream(t)
    common = {"cluster": js.urls, "cluster-replicas": 1, "http": "free"}
    nodes = [start_node(t, dict(common, **{"node-name": "a"})),
             start_node(t, dict(common, **{"node-name": "b"}))]
    kw = dict(clean=False, props=[(P_SESSION_EXPIRY, 300)])
    acked, resent, state = [], 0, {"on": 0}

    def connect(i):
        r = t.raw(connect=False, port=nodes[i].port)
        r.connect("kill-pub", **kw)
        state.update(on=i, raw=r)

    def publish_for(seconds):
        nonlocal resent
        end = time.monotonic() + seconds
        n = len(acked) + 1
        dup = False
        while time.monotonic() < end:
            try:
                state["raw"].publish("exchange/it/nodekill", b'{"n":%d}' % n, qos=1,
                                     pid=n % 65535 + 1, dup=dup)
                ack = state["raw"].expect(PUBACK, timeout=10)
            except (AssertionError, OSError):  # the node is gone: the session goes on elsewhere
                connect(1 - state["on"])
                resent += 1
                dup = True
                continue
            assert ack.f.get("rc", 0) == 0, ack
            acked.append(n)
            n += 1
            dup = False

    connect(0)
    for _ in range(3):
        victim = nodes[state["on"]]
        time.sleep(1.2)  # the session's record (and its incarnation) is in the engine
        killer = threading.Timer(0.8, lambda: os.kill(victim.pid, signal.SIGKILL))
        killer.start()
        publish_for(2.5)
        killer.join()
        victim.proc.wait(timeout=10)
        victim.start()
        wait_until(lambda: "event=started" in victim.stderr_text().split("event=store-recovered")[-1],
                   30, what="the killed node started again")
    survivor = nodes[state["on"]]
    stored = stored_numbers(survivor, "exchange/it/nodekill")
    lost = sorted(set(acked) - set(stored))
    duplicated = len(stored) - len(set(stored))
    assert not lost, f"{len(lost)} acknowledged messages missing: {lost[:10]}"
    assert duplicated == 0, f"{duplicated} stored twice"
    t.note(f"3 node kills: {len(acked)} acknowledged, 0 lost; {resent} re-sent after a kill, "
           f"{duplicated} stored twice")


@case(versions=(V5,), hydrant_only=WHY, start_broker=False, timeout=90)
def declared_exchanges_on_every_node(t):
    """An exchange declared through the admin API on node a (a name of two levels) is declared on
    node b within a second, and on node c, started afterwards with nothing of its own; deleted on
    b, it is gone on a and c too."""
    js = JetStream(t)
    common = {"cluster": js.urls, "cluster-replicas": 1, "http": "free"}
    a = start_node(t, dict(common, **{"node-name": "a"}))
    b = start_node(t, dict(common, **{"node-name": "b"}))
    token = a.add_user("treeherder")
    connect_when_user_known(t, b.port, "treeherder", token).disconnect()  # the user is on b
    a.admin("exchange", "declare", "treeherder", "v1/jobs")

    def declared_on(node):
        return "exchange/treeherder/v1/jobs" in node.admin("exchange", "list").stdout
    wait_until(lambda: declared_on(b), 5, interval=0.05, what="declared on b")
    c = start_node(t, dict(common, **{"node-name": "c"}))
    assert declared_on(c), c.admin("exchange", "list").stdout
    b.admin("exchange", "delete", "treeherder", "v1/jobs")
    wait_until(lambda: not declared_on(a) and not declared_on(c), 5, interval=0.05,
               what="deleted on a and c")


@case(versions=(V5,), hydrant_only=WHY, start_broker=False, timeout=60)
def anonymous_connections_never_ask_the_engine_for_a_session(t):
    """With the access rules on, only users have persistent sessions, so only their CONNECTs
    without clean start cost the engine a look-up: with the engine gone, an anonymous CONNECT
    with Clean Start 0 is accepted at once (a new session), a user's is refused with 0x88."""
    js = JetStream(t)
    a = start_node(t, {"cluster": js.urls, "cluster-replicas": 1, "open": "false"})
    token = a.add_user("alice")
    connect_when_user_known(t, a.port, "alice", token).disconnect()
    js.procs[0].kill()
    js.procs[0].wait(timeout=10)
    wait_until(lambda: "event=cluster-engine-disconnected" in a.stderr_text(), 10,
               what="the node lost the engine")
    started = time.monotonic()
    for i in range(20):
        ack = t.raw(connect=False, port=a.port).connect(f"anon-{i}", clean=False)
        assert ack.f["session_present"] == 0, ack
    assert time.monotonic() - started < 3, "anonymous CONNECTs waited for the engine"
    t.raw(connect=False, port=a.port).connect("queue/alice/q", clean=False, username="alice",
                                               password=token, props=[(P_SESSION_EXPIRY, 300)],
                                               expect_rc=0x88)
