"""17 publishers: hydrant-gerrit and hydrant-pipe end to end against a real hydrant with the
access rules (issue 7). The Gerrit sample stream goes through `hydrant-gerrit --command "cat …"`
and an anonymous mosquitto_sub sees every event on the topic the layout gives it, payload
unchanged; bad lines, split lines and numbers as strings; a broker restart in the middle of a
pipe loses nothing (the offline buffer); wrong credentials exit 4; --dry-run needs no broker.
"""

import json
import os
import signal
import subprocess
import tempfile
import time
import urllib.request

from harness import publisher_bin, ROOT, V5, Skip, case, free_port, wait_until
from tls_certs import make_test_pki

WHY = "hydrant's publishers (issue 7)"
RULES = {"open": "false", "http": "free"}
SAMPLES = os.path.join(ROOT, "tests", "integration", "samples")  # real event payloads (SOURCES.md)


def sample_path(name):
    p = os.path.join(SAMPLES, name)
    if not os.path.exists(p):
        raise Skip(f"sample {name} not found")
    return p


def user_token_file(t, name):
    token = t.broker.add_user(name)
    path = os.path.join(t.broker.tmp, f"{name}.token")
    with open(path, "w") as f:
        f.write(token + "\n")
    return path


def run_adapter(t, name, args, stdin=None, timeout=60):
    argv = [publisher_bin(name), "--port", str(t.port), "--heartbeat", "0"] + args
    return subprocess.run(argv, input=stdin, capture_output=True, timeout=timeout)


def encode_word(w):
    return w.replace("%", "%25").replace("/", "%2F").replace("+", "%2B").replace("#", "%23")


def gerrit_topic(client, event):
    """The layout, written out independently: v1/<type>/<project>/<branch>/<change number>."""
    change, ref = event.get("change", {}), event.get("refUpdate", {})
    project = change.get("project") or ref.get("project") or event.get("project")
    branch = change.get("branch") or ref.get("refName") or event.get("branch")
    if branch and branch.startswith("refs/heads/"):
        branch = branch[len("refs/heads/"):]
    number = change.get("number")
    words = [encode_word(str(w)) if w not in (None, "") else "_" for w in (project, branch, number)]
    return "/".join([f"exchange/{client}/v1", encode_word(event["type"])] + words)


def history(t, query):
    url = f"http://127.0.0.1:{t.broker.http_port}/api/v1/history?{query}"
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


def all_history(t, filt):
    out, since = [], None
    for _ in range(100):
        page = history(t, f"filter={filt}&limit=1000" + (f"&since={since}" if since else ""))
        out += page["messages"]
        since = page["next"]
        if not page["more"]:
            return out
    raise AssertionError("history did not end")


@case(versions=(V5,), broker_args=RULES, hydrant_only=WHY, timeout=90)
def gerrit_sample_stream_reaches_anonymous_reader(t):
    """Issue 7's "done when" for Gerrit: the sample stream piped through hydrant-gerrit; an
    anonymous mosquitto_sub sees each event once, on its topic, with its payload unchanged."""
    token = user_token_file(t, "gerrit")
    path = sample_path("gerrit-stream-events.jsonl")
    with open(path, "rb") as f:
        lines = [l.rstrip(b"\n") for l in f if l.strip()]
    events = [json.loads(l) for l in lines]
    sub = t.mosquitto_sub("exchange/gerrit/#", count=len(lines))
    sub.wait_subscribed()
    r = run_adapter(t, "gerrit", ["--client-id", "gerrit", "--token-file", token, "--once",
                                  "--command", f"cat '{path}'"])
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    sub.wait_exit(20)
    got = sub.messages()
    expected = [f"{gerrit_topic('gerrit', e)} {l.decode()}" for e, l in zip(events, lines)]
    assert got == expected, (got[:2], expected[:2])
    t.note(f"{len(lines)} events from gerrit-stream-events.jsonl")


@case(versions=(V5,), broker_args=RULES, hydrant_only=WHY, timeout=60)
def gerrit_tolerates_bad_and_split_lines(t):
    """Not JSON, no type, a line written in two parts, a change number as a string, a blank
    line: the bad ones are logged with their line number and skipped, the rest published."""
    token = user_token_file(t, "gerrit")
    script = os.path.join(t.broker.tmp, "stream.sh")
    with open(script, "w") as f:
        f.write("""printf 'not json at all\\n'
printf '{"no":"type"}\\n\\n'
printf '{"type":"patchset-created","change":{"project":"a/b","bra'
sleep 0.3
printf 'nch":"main","number":"42"}}\\n'
printf '{"type":"dropped-output"}\\n'
printf '{"type":"ref-updated","refUpdate":{"project":"c","refName":"refs/heads/x+y"}}'
""")
    sub = t.mosquitto_sub("exchange/gerrit/#", count=3)
    sub.wait_subscribed()
    r = run_adapter(t, "gerrit", ["--client-id", "gerrit", "--token-file", token, "--once",
                                  "--command", f"sh {script}"])
    err = r.stderr.decode()
    assert r.returncode == 0, err[-2000:]
    sub.wait_exit(20)
    topics = [l.split(" ", 1)[0] for l in sub.messages()]
    assert topics == ["exchange/gerrit/v1/patchset-created/a%2Fb/main/42",
                      "exchange/gerrit/v1/dropped-output/_/_/_",
                      "exchange/gerrit/v1/ref-updated/c/x%2By/_"], topics
    assert "line=1 why=\"not JSON" in err and "line=2 why=\"no type" in err, err
    assert "gerrit-dropped-output" in err, err


@case(versions=(V5,), broker_args=RULES, hydrant_only=WHY, timeout=90)
def pipe_survives_broker_restart(t):
    """hydrant-pipe fed through a pipe while the broker stops and starts again on its port:
    every line is on the exchange afterwards (the offline buffer; QoS 1 may repeat one)."""
    token = user_token_file(t, "pipe")
    argv = [publisher_bin("pipe"), "--port", str(t.port), "--heartbeat", "0", "--client-id",
            "pipe", "--token-file", token, "--exchange", "feed", "--routing-key", "a.b"]
    p = t.track_proc(subprocess.Popen(argv, stdin=subprocess.PIPE, stderr=subprocess.PIPE))
    for n in range(50):
        p.stdin.write(json.dumps({"n": n}).encode() + b"\n")
    p.stdin.flush()
    wait_until(lambda: len(all_history(t, "exchange/pipe/%23")) >= 50, 15, what="first 50")
    t.broker.stop()
    for n in range(50, 100):
        p.stdin.write(json.dumps({"n": n}).encode() + b"\n")
    p.stdin.flush()
    time.sleep(1)
    t.broker.start(same_port=True)
    p.stdin.close()
    assert p.wait(timeout=60) == 0, p.stderr.read().decode()[-2000:]
    got = [m["payload"]["n"] for m in all_history(t, "exchange/pipe/%23")]
    assert sorted(set(got)) == list(range(100)), sorted(set(range(100)) - set(got))
    assert all(m == "exchange/pipe/feed/a/b" for m in
               {m["topic"] for m in all_history(t, "exchange/pipe/%23")})
    t.note(f"100 lines across a broker restart, {len(got) - 100} sent twice")


@case(versions=(V5,), broker_args=RULES, hydrant_only=WHY, timeout=60)
def pipe_replays_recorded_stream_by_field(t):
    """Replaying a recorded Taskcluster stream: the routing key from each line's `routes`
    field and the payload from its `payload` field; a line missing the field is skipped."""
    token = user_token_file(t, "replay")
    path = sample_path("taskcluster-pulse-messages.jsonl")
    with open(path) as f:
        recorded = [json.loads(l) for l in f if l.strip()]
    stdin = b"".join(json.dumps(r).encode() + b"\n" for r in recorded[:10]) + b'{"nokey":1}\n'
    r = run_adapter(t, "pipe", ["--client-id", "replay", "--token-file", token, "--exchange",
                                "tc", "--routing-key-field", "routes", "--payload-field",
                                "payload"], stdin=stdin)
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    assert "line=11 why=\"no string field routes\"" in r.stderr.decode()
    got = all_history(t, "exchange/replay/%23")
    assert [m["payload"] for m in got] == [rec["payload"] for rec in recorded[:10]]
    for m, rec in zip(got, recorded):
        words = [encode_word(w) for w in rec["routes"].split(".")]
        assert m["topic"] == "/".join(["exchange/replay/tc"] + words), (m["topic"], rec["routes"])


@case(versions=(V5,), broker_args=RULES, hydrant_only=WHY, timeout=30)
def wrong_token_exits_4_and_dry_run_needs_no_broker(t):
    """Wrong credentials: exit 4 with the broker's reason; --dry-run prints topic and payload."""
    user_token_file(t, "gerrit")
    bad = os.path.join(t.broker.tmp, "bad.token")
    with open(bad, "w") as f:
        f.write("not-the-token\n")
    r = run_adapter(t, "pipe", ["--client-id", "gerrit", "--token-file", bad, "--routing-key", "k"],
                    stdin=b'{"a":1}\n')
    assert r.returncode == 4 and b"refused" in r.stderr, (r.returncode, r.stderr[-500:])
    r = subprocess.run([publisher_bin("pipe"), "--dry-run", "--routing-key", "x.y"],
                       input=b'{"a":1}\n', capture_output=True, timeout=10)
    assert r.returncode == 0 and r.stdout == b'exchange/dry-run/pipe/x/y\t{"a":1}\n', r


@case(versions=(V5,), broker_args=RULES, hydrant_only=WHY, timeout=60)
def one_shot_without_broker_exits_3(t):
    """Issue 16 item 9: a finite input and no broker. hydrant-pipe and hydrant-gerrit --once
    give up after --connect-timeout with exit 3 (they used to retry for ten minutes), and a
    SIGTERM while nothing is confirmed never exits 0."""
    token = user_token_file(t, "pipe")
    dead = str(free_port())
    base = ["--port", dead, "--heartbeat", "0", "--token-file", token]
    t0 = time.monotonic()
    r = subprocess.run([publisher_bin("pipe"), *base, "--client-id", "pipe", "--routing-key", "k",
                        "--connect-timeout", "2"], input=b'{"a":1}\n', capture_output=True, timeout=30)
    assert r.returncode == 3 and b"--connect-timeout" in r.stderr, (r.returncode, r.stderr[-1000:])
    assert time.monotonic() - t0 < 12, "hydrant-pipe outlived its --connect-timeout"
    t0 = time.monotonic()
    r = subprocess.run([publisher_bin("gerrit"), *base, "--client-id", "pipe", "--once",
                        "--connect-timeout", "2", "--command", "echo '{\"type\":\"x\"}'"],
                       capture_output=True, timeout=30)
    assert r.returncode == 3 and b"--connect-timeout" in r.stderr, (r.returncode, r.stderr[-1000:])
    assert time.monotonic() - t0 < 12, "hydrant-gerrit --once outlived its --connect-timeout"
    # the default (30 s) is still waiting when SIGTERM comes: exit 3, not 0
    p = t.track_proc(subprocess.Popen([publisher_bin("pipe"), *base, "--client-id", "pipe",
                                       "--routing-key", "k"], stdin=subprocess.PIPE,
                                      stderr=subprocess.PIPE))
    p.stdin.write(b'{"a":1}\n')
    p.stdin.close()
    time.sleep(1.5)
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=20) == 3, p.stderr.read().decode()[-1000:]


@case(versions=(V5,), start_broker=False, hydrant_only=WHY, timeout=90)
def publishers_over_tls(t):
    """Issue 16 item 8: every publisher speaks TLS to the broker's mqtts listener (a throwaway
    CA): --tls --cafile and --host mqtts://HOST:PORT publish; without the CA (the certificate is
    not trusted) or in plain MQTT on the TLS port nothing is confirmed (exit 3); --insecure
    (testing only) skips the check."""
    certs = make_test_pki(tempfile.mkdtemp(prefix="hydrant-pki-"))
    t.broker = t.start_broker({**RULES, "mqtts": "free", "https": "off", "tls-cert": certs["server_cert"],
                               "tls-key": certs["server_key"]})
    token = user_token_file(t, "pipe")
    port = str(t.broker.mqtts_port)
    # Sanitizer builds: OpenSSL's per-thread state, allocated on Paho C's network threads, is now
    # and then still held when the process exits (those threads are not joined before exit):
    # LeakSanitizer reports it, with only libcrypto frames. Our code makes no OpenSSL calls.
    supp = os.path.join(t.broker.tmp, "lsan-openssl.supp")
    with open(supp, "w") as f:
        f.write("leak:libcrypto.so\n")
    env = dict(os.environ)
    env["LSAN_OPTIONS"] = ":".join(filter(None, [env.get("LSAN_OPTIONS"), f"suppressions={supp}"]))

    def pipe(n, *args):
        argv = [publisher_bin("pipe"), "--heartbeat", "0", "--client-id", "pipe", "--token-file",
                token, "--routing-key", f"r{n}", "--connect-timeout", "3", *args]
        return subprocess.run(argv, input=json.dumps({"n": n}).encode() + b"\n",
                              capture_output=True, timeout=40, env=env)

    ok = [pipe(1, "--host", "localhost", "--port", port, "--tls", "--cafile", certs["ca_cert"]),
          pipe(2, "--host", f"mqtts://localhost:{port}", "--cafile", certs["ca_cert"]),
          pipe(3, "--host", f"mqtts://127.0.0.1:{port}", "--insecure")]
    for r in ok:
        assert r.returncode == 0, r.stderr.decode()[-2000:]
    for r in (pipe(4, "--host", f"mqtts://localhost:{port}"),  # the system's CAs: not ours
              pipe(5, "--host", "localhost", "--port", port)):  # plain MQTT on the TLS port
        assert r.returncode == 3, (r.returncode, r.stderr.decode()[-2000:])
    r = subprocess.run([publisher_bin("gerrit"), "--heartbeat", "0", "--client-id", "pipe",
                        "--token-file", token, "--host", f"mqtts://localhost:{port}", "--cafile",
                        certs["ca_cert"], "--once", "--command", "echo '{\"type\":\"tls\"}'"],
                       capture_output=True, timeout=40, env=env)
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    got = sorted(m["topic"] for m in all_history(t, "exchange/pipe/%23"))
    assert got == ["exchange/pipe/pipe/r1", "exchange/pipe/pipe/r2", "exchange/pipe/pipe/r3",
                   "exchange/pipe/v1/tls/_/_/_"], got
    r = subprocess.run([publisher_bin("pipe"), "--dry-run", "--routing-key", "k", "--insecure"],
                       input=b"{}\n", capture_output=True, timeout=10)
    assert r.returncode == 2 and b"--tls" in r.stderr, r


@case(versions=(V5,), broker_args=RULES, hydrant_only=WHY, timeout=60)
def pipe_replays_each_line_onto_its_exchange(t):
    """Issue 16 item 10: --exchange-field. The recorded Taskcluster stream (task-pending,
    -running, -completed) replayed by a publisher registered as the original owner lands on
    each line's own exchange, exchange/taskcluster-queue/v1/task-…/<routes>, payload from
    `payload`; a line whose exchange field is missing or not an exchange name is skipped."""
    token = user_token_file(t, "taskcluster-queue")
    path = sample_path("taskcluster-pulse-messages.jsonl")
    with open(path) as f:
        recorded = [json.loads(l) for l in f if l.strip()]
    assert len({r["exchange"] for r in recorded}) == 3
    stdin = b"".join(json.dumps(r).encode() + b"\n" for r in recorded)
    stdin += b'{"routes":"a.b","payload":{}}\n{"exchange":"bad#name","routes":"a","payload":{}}\n'
    r = run_adapter(t, "pipe", ["--client-id", "taskcluster-queue", "--token-file", token,
                                "--exchange-field", "exchange", "--routing-key-field", "routes",
                                "--payload-field", "payload"], stdin=stdin)
    err = r.stderr.decode()
    assert r.returncode == 0, err[-2000:]
    n = len(recorded)
    assert f"line={n + 1} why=\"no string field exchange" in err, err[-2000:]
    assert f"line={n + 2} why=\"no string field exchange" in err, err[-2000:]
    got = all_history(t, "exchange/taskcluster-queue/%23")
    assert [m["payload"] for m in got] == [rec["payload"] for rec in recorded]
    for m, rec in zip(got, recorded):
        words = [encode_word(w) for w in rec["routes"].split(".")]
        assert m["topic"] == "/".join([rec["exchange"]] + words), (m["topic"], rec["exchange"])
    r = run_adapter(t, "pipe", ["--dry-run", "--exchange-field", "x", "--topic-field", "t"],
                    stdin=b"")
    assert r.returncode == 2 and b"--exchange-field" in r.stderr, r
    t.note(f"{n} recorded messages onto {len({r['exchange'] for r in recorded})} exchanges")
