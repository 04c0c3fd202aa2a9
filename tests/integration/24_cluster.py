"""24 cluster (issue 15), first step: a node connects to its engine, NATS JetStream, and creates
or checks the stream and buckets it keeps there, saying what it found in one log line; an engine
it cannot use stops the start with exit 2 and the key to change."""

import re
import shutil
import subprocess
import tempfile

from harness import HOST, case, free_port, hydrant_bin, wait_until
from jetstream import JetStream

WHY = "hydrant's cluster mode (issue 15)"
BUCKETS = ("hydrant-sessions", "hydrant-retained", "hydrant-users", "hydrant-nodes")


def ready_line(broker):
    lines = [l for l in broker.stderr_text().splitlines() if "event=cluster-ready" in l]
    assert lines, broker.stderr_tail()
    return lines[-1]


def field(line, key):
    m = re.search(rf'\b{key}=("([^"]*)"|\S+)', line)
    assert m, (key, line)
    return m.group(2) if m.group(2) is not None else m.group(1)


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
    b = t.start_broker(args)
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
    b = t.start_broker(args)
    line = ready_line(b)
    assert field(line, "stream") == "alt-exchanges", line
    assert "alt-sessions:created" in field(line, "buckets"), line
    assert field(line, "max_age_s") == "3600", line
    b.stop()
    b.args["history-max-age"] = 7200
    b.start()
    line = ready_line(b)
    assert field(line, "stream_state") == "found", line
    assert "limits=updated" in line, line
    assert field(line, "max_age_s") == "7200", line


@case(versions=None, hydrant_only=WHY, start_broker=False, timeout=90)
def three_servers_keep_three_copies(t):
    """A JetStream cluster of three: the default cluster-replicas 3 places the stream on all of
    them, with a leader; a second node finds the same stream (same epoch)."""
    js = JetStream(t, servers=3)
    a = t.start_broker({"cluster": js.urls, "node-name": "node-a"})
    line_a = ready_line(a)
    assert field(line_a, "replicas") == "3", line_a
    assert field(line_a, "leader") in js.names, line_a
    b = t.start_broker({"cluster": js.urls, "node-name": "node-b"})
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
    """No server at the URL, a server without JetStream, and a URL that is not one: each stops
    the start with exit 2 and says what to change."""
    err = refused_start("--cluster", f"nats://{HOST}:{free_port()}")
    assert "cannot reach the engine" in err and "cluster key" in err, err
    plain = JetStream(t, jetstream=False)
    err = refused_start("--cluster", plain.urls, "--cluster-replicas", "1")
    assert "JetStream is not enabled" in err, err
    err = refused_start("--cluster", "http://example.org:4222")
    assert "--cluster" in err and "not an engine URL" in err, err
    err = refused_start("--cluster", plain.urls, "--cluster-prefix", "a.b")
    assert "--cluster-prefix" in err, err


@case(versions=None, hydrant_only=WHY, start_broker=False, timeout=60)
def engine_password_never_logged(t):
    """A user and password in the engine URL (nats-server without authorization accepts them)
    reach the engine but no log line: the startup lines show ***@ instead."""
    js = JetStream(t)
    url = js.urls.replace("nats://", "nats://alice:s3cret-pw@")
    b = t.start_broker({"cluster": url, "cluster-replicas": 1})
    line = ready_line(b)
    assert "nats://***@" in field(line, "servers"), line
    assert "s3cret-pw" not in b.stderr_text(), b.stderr_tail()
    err = refused_start("--cluster", f"nats://alice:s3cret-pw@{HOST}:{free_port()}")
    assert "cannot reach the engine at nats://***@" in err and "s3cret-pw" not in err, err
    err = refused_start("--cluster", "http://alice:s3cret-pw@example.org:4222")
    assert "not an engine URL" in err and "s3cret-pw" not in err, err
