"""20 store hardening (issue 13): an idle broker holding more durable state than the old
snapshot interval stops writing once its state is snapshotted, and recovers it; a data
directory removed under a running broker stops the acknowledgements; damage in the log is
found and set aside by `hydrant store check` / `store repair`.
"""

import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request

from harness import V311, V5, case, PUBACK, enc_publish, hydrant_bin, wait_until

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


# ---- item 8: a data directory removed under a running broker ---------------------------------

def readyz(t):
    url = f"http://127.0.0.1:{t.broker.http_port}/readyz"
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


@case(hydrant_only=WHY, broker_args={"http": "free"}, timeout=60)
def removed_data_directory_stops_acknowledging(t):
    """`rm -rf` of the data directory under a running broker: the next durable publish is not
    acknowledged (MQTT 5: PUBACK 0x97; 3.1.1: the connection is closed, no PUBACK), /readyz
    answers 503 naming the directory (/healthz, liveness, stays 200), and an error line says
    what happened. Before the fix the publishes were acknowledged into the deleted files."""
    topic = f"exchange/{t.uid()}/lost"
    r = t.raw()
    r.publish(topic, b'{"n":0}', qos=1, pid=1)
    assert r.expect(PUBACK).f["rc"] == 0
    assert readyz(t)[0] == 200
    # The listeners accept before start-up has written its last file (runtime.json): removing
    # the directory in between races that write, and rmtree would find a new entry.
    wait_until(lambda: "event=started" in t.broker.stderr_text(), 5, what="start-up to finish")
    shutil.rmtree(t.broker.data_dir)
    r.publish(topic, b'{"n":1}', qos=1, pid=2)
    if t.v == V5:
        assert r.expect(PUBACK).f["rc"] == 0x97
    else:
        got = r.wait_closed(timeout=5)
        assert not [p for p in got if p.type == PUBACK], got
    status, body = readyz(t)
    assert status == 503 and t.broker.data_dir in body, (status, body)
    with urllib.request.urlopen(f"http://127.0.0.1:{t.broker.http_port}/healthz", timeout=5) as r:
        assert r.status == 200  # alive all the same
    wait_until(lambda: "event=store-directory-lost" in t.broker.stderr_text(), 5,
               what="the error line")
    later = t.raw()  # and it stays so for every later publish
    later.publish(topic, b'{"n":2}', qos=1, pid=3)
    if t.v == V5:
        assert later.expect(PUBACK).f["rc"] == 0x97
    else:
        later.wait_closed(timeout=5)


# ---- item 9: damage in the log: store check / store repair -----------------------------------

def publish_numbered(t, topic, count):
    r = t.raw()
    for n in range(count):
        r.publish(topic, b'{"n":%d}' % n, qos=1, pid=n + 1)
    assert sorted(r.expect(PUBACK).f["pid"] for _ in range(count)) == list(range(1, count + 1))
    r.disconnect()


def flip_byte_of(t, marker):
    """Flips one byte inside the payload `marker` in the newest segment; returns its name."""
    log_dir = os.path.join(t.broker.data_dir, "log")
    seg = sorted(f for f in os.listdir(log_dir) if f.endswith(".seg"))[-1]
    path = os.path.join(log_dir, seg)
    with open(path, "r+b") as f:
        data = f.read()
        at = data.rindex(marker) + 2
        f.seek(at)
        f.write(bytes([data[at] ^ 0x01]))
    return seg


def store_cmd(t, verb):
    return subprocess.run([hydrant_bin(), "store", verb, "--data", t.broker.data_dir],
                          capture_output=True, text=True, timeout=60)


def recovered(t):
    return [l for l in t.broker.stderr_text().splitlines() if "event=store-recovered" in l][-1]


@case(versions=(V5,), hydrant_only=WHY, timeout=90)
def damage_mid_log_check_and_repair(t):
    """One flipped byte in the middle of a segment: the broker refuses to start and says to run
    `hydrant store check`; check exits 1 naming the damaged byte range and the sequences around
    it; `store repair` sets the damaged range aside, keeps every intact record, and the broker
    starts with the other 39 messages. Before the fix there was no way forward but deleting."""
    topic = f"exchange/{t.uid()}/dmg"
    publish_numbered(t, topic, 40)
    t.broker.stop()
    seg = flip_byte_of(t, b'"n":20}')
    try:
        t.broker.start(timeout=10)
        raise AssertionError("the broker started on a log damaged in the middle")
    except AssertionError as e:
        assert "store check" in str(e) and seg in str(e), str(e)
    t.broker.proc = None  # refused as it should be: not a failed shutdown
    check = store_cmd(t, "check")
    assert check.returncode == 1, (check.returncode, check.stdout, check.stderr)
    assert "damaged:" in check.stdout and seg in check.stdout and "1 damaged ranges" in check.stdout, \
        check.stdout
    repair = store_cmd(t, "repair")
    assert repair.returncode == 0, (repair.returncode, repair.stdout, repair.stderr)
    assert "damaged:" in repair.stdout, repair.stdout
    aside = os.path.join(t.broker.data_dir, "log", "damaged")
    assert os.path.isdir(aside) and os.listdir(aside), "nothing set aside"
    again = store_cmd(t, "check")
    assert again.returncode == 0 and "0 damaged ranges" in again.stdout, again.stdout
    t.broker.start()
    assert "messages=39" in recovered(t), recovered(t)


@case(versions=(V5,), hydrant_only=WHY, timeout=60)
def damaged_last_record_is_an_error_with_positions(t):
    """One flipped byte in the last record (acknowledged, then damaged on disk): the broker
    starts, cuts it, and logs an error naming the file, the offset and the sequences dropped,
    keeping the cut bytes aside. Before the fix: an info line."""
    topic = f"exchange/{t.uid()}/tail"
    publish_numbered(t, topic, 10)
    t.broker.stop()
    seg = flip_byte_of(t, b'"n":9}')
    t.broker.start()
    lines = [l for l in t.broker.stderr_text().splitlines() if "event=store-damaged-tail-cut" in l]
    assert lines and " error " in lines[-1] and seg in lines[-1], lines
    assert "offset=" in lines[-1] and "dropped=\"sequences after" in lines[-1], lines[-1]
    assert "messages=9" in recovered(t), recovered(t)
