"""20 store hardening (issue 13): an idle broker holding more durable state than the old
snapshot interval stops writing once its state is snapshotted, and recovers it.
"""

import os
import time

from harness import V311, case, PUBACK, enc_publish

WHY = "hydrant's message log (issue 13)"


def dir_bytes(path):
    total = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(root, f))
            except OSError:
                pass
    return total


def load_retained(t, count, prefix="exchange/load/r"):
    """Publishes `count` retained QoS 0 messages on distinct topics over one connection, in
    large writes, then a QoS 1 one whose PUBACK says every earlier one was taken in."""
    r = t.raw()
    batch = []
    for i in range(count):
        batch.append(enc_publish(t.v, f"{prefix}/{i}", b'{"n":%d}' % i, qos=0, retain=True))
        if len(batch) == 2000:
            r.send(b"".join(batch))
            batch = []
    if batch:
        r.send(b"".join(batch))
    r.publish(f"{prefix}/done", b'{"done":true}', qos=1, pid=1)
    assert r.expect(PUBACK, timeout=120).f.get("rc", 0) == 0
    return r


@case(versions=(V311,), hydrant_only=WHY, timeout=150,
      broker_args={"durability": "none", "max-retained-per-user": 200000})
def idle_broker_with_large_state_stops_writing(t):
    """110,000 retained messages (more than the old fixed interval of 100,000 records between
    snapshots): once the state is snapshotted, an idle broker's data directory stops growing.
    Before the fix every snapshot made the next one due at once (~10 MB/s written while idle).
    The per-owner retained quota (default 10,000) is raised to let one client hold them."""
    load_retained(t, 110000)
    log_dir = os.path.join(t.broker.data_dir, "log")
    # The snapshot the load made due is written within a second or two; then nothing more.
    time.sleep(4)
    before = dir_bytes(log_dir)
    time.sleep(6)
    after = dir_bytes(log_dir)
    t.note(f"idle growth over 6 s: {after - before} bytes (data dir {after} bytes)")
    assert after - before < 64 * 1024, (before, after)
    # And the state is all there after a restart.
    t.broker.stop()
    t.broker.start(timeout=60)
    line = [l for l in t.broker.stderr_text().splitlines() if "event=store-recovered" in l][-1]
    assert "retained=110000" in line, line
