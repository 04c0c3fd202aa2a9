"""19 hg: hydrant-hg end to end against a real hydrant with the access rules (issue 7). The
changegroup hook, run with a push's environment, publishes the hgpushes v2 message of
hg-push.json and exits 0 only once the broker confirmed it; the json-pushes poller, against a
local HTTP server answering like hg.mozilla.org, publishes each push once and in order across
runs (its state file), keeps a push while the broker is away and records it only once
confirmed, and survives bad answers. Loopback only; every process is stopped by PID.
"""

import http.server
import json
import os
import signal
import subprocess
import threading
import time
import urllib.parse
import urllib.request

from harness import publisher_bin, ROOT, V5, Skip, case, free_port, wait_until

WHY = "hydrant's publishers (issue 7)"
RULES = {"open": "false", "http": "free"}
SAMPLE_DIRS = [os.path.join(ROOT, "tests", "integration", "samples"),
               os.path.join(ROOT, "..", "shared", "samples")]


def sample(name):
    for d in SAMPLE_DIRS:
        p = os.path.join(d, name)
        if os.path.exists(p):
            with open(p, "rb") as f:
                return json.loads(f.read())
    raise Skip(f"sample {name} not found")


def token_file(t, name="hgpushes"):
    token = t.broker.add_user(name)
    path = os.path.join(t.broker.tmp, f"{name}.token")
    with open(path, "w") as f:
        f.write(token + "\n")
    return path


def common(t, tok):
    return ["--port", str(t.port), "--heartbeat", "0", "--client-id", "hgpushes",
            "--token-file", tok]


def history(t, filt="exchange/hgpushes/%23"):
    out, since = [], None
    for _ in range(100):
        q = f"filter={filt}&limit=1000" + (f"&since={since}" if since else "")
        url = f"http://127.0.0.1:{t.broker.http_port}/api/v1/history?{q}"
        with urllib.request.urlopen(url, timeout=10) as r:
            page = json.loads(r.read())
        out += page["messages"]
        since = page["next"]
        if not page["more"]:
            return out
    raise AssertionError("history did not end")


def push_env(node):
    """What Mercurial puts in a changegroup hook's environment for a push over ssh."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HG")}
    env.update({"HG_NODE": node, "HG_NODE_LAST": node, "HG_SOURCE": "serve",
                "HG_URL": "remote:ssh:192.0.2.7", "HG_HOOKTYPE": "changegroup",
                "HG_HOOKNAME": "changegroup.hydrant", "HG_TXNID": "TXN:0123456789abcdef"})
    return env


# --------------------------------------------------------------------------------------------
# A json-pushes server: answers /<repo>/json-pushes?version=2[&full=1][&startID=&endID=] from a
# dict of pushes the way hg.mozilla.org does (startID exclusive, endID inclusive; no range: the
# newest 10), or with an error / broken JSON when told to.
# --------------------------------------------------------------------------------------------

class Pushlog:
    def __init__(self, repo_path, pushes):
        self.repo_path = repo_path
        self.pushes = {int(k): v for k, v in pushes.items()}
        self.mode = "ok"   # "ok", "500", "badjson"
        self.requests = []
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.answer(self)

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/{repo_path}"

    def answer(self, h):
        u = urllib.parse.urlsplit(h.path)
        q = dict(urllib.parse.parse_qsl(u.query))
        with self.lock:
            self.requests.append(q)
            mode, pushes = self.mode, dict(self.pushes)
        if u.path != f"/{self.repo_path}/json-pushes":
            return self.send(h, 404, b"not found")
        if mode == "500":
            return self.send(h, 500, b"internal error")
        if mode == "badjson":
            return self.send(h, 200, b'{"lastpushid": 33278, "pushes": {')
        last = max(pushes)
        if "startID" in q:
            lo, hi = int(q["startID"]), int(q.get("endID", last))
            ids = [i for i in sorted(pushes) if lo < i <= hi]
        else:
            ids = sorted(pushes)[-10:]
        body = {"lastpushid": last, "pushes": {str(i): pushes[i] for i in ids}}
        self.send(h, 200, json.dumps(body).encode())

    @staticmethod
    def send(h, status, body):
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def set(self, mode=None, pushes=None):
        with self.lock:
            if mode:
                self.mode = mode
            if pushes:
                self.pushes.update({int(k): v for k, v in pushes.items()})

    def request_count(self):
        with self.lock:
            return len(self.requests)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


EXTRA_PUSH = {"33278": {"date": 1378292001, "user": "jdoe@mozilla.com", "changesets": [
    {"node": "a" * 40, "tags": [], "author": "John Doe <jdoe@mozilla.com>", "branch": "default",
     "desc": "Bug 1 - part 1", "parents": ["b" * 40]},
    {"node": "c" * 40, "tags": [], "author": "John Doe <jdoe@mozilla.com>", "branch": "default",
     "desc": "Bug 1 - part 2", "parents": ["a" * 40]}]}}


def expected_message(repo_url, push_id, push):
    """The hgpushes v2 payload the poller publishes for one json-pushes entry."""
    nodes = [c["node"] for c in push["changesets"]]
    parents = {p for c in push["changesets"] for p in c.get("parents", [])}
    heads = [n for n in nodes if n not in parents] if parents else [nodes[-1]]
    q = f"startID={push_id - 1}&endID={push_id}"
    return {"type": "changegroup.1", "data": {
        "repo_url": repo_url, "heads": heads,
        "pushlog_pushes": [{"time": push["date"], "pushid": push_id, "user": push["user"],
                            "push_json_url": f"{repo_url}/json-pushes?version=2&{q}",
                            "push_full_json_url": f"{repo_url}/json-pushes?version=2&full=1&{q}"}],
        "source": "serve"}}


def read_state(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except FileNotFoundError:
        return None


def run_poll(t, tok, log, state, *extra, timeout=60):
    argv = [publisher_bin("hg"), "poll", *common(t, tok), "--url", log.url, "--state-file", state, *extra]
    return subprocess.run(argv, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)


# --------------------------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------------------------

@case(versions=(V5,), broker_args=RULES, hydrant_only=WHY, timeout=60)
def hook_publishes_push_from_env(t):
    """Issue 7's "done when" for hg: the hook, run as Mercurial runs a changegroup hook (the
    push's HG_* environment, cwd = the repository), publishes hg-push.json's message on
    exchange/hgpushes/v2/try; an anonymous mosquitto_sub sees exactly that topic and payload."""
    want = sample("hg-push.json")["payload"]
    pl = want["data"]["pushlog_pushes"][0]
    tok = token_file(t)
    repos = os.path.join(t.broker.tmp, "repos")
    os.makedirs(os.path.join(repos, "try"))
    sub = t.mosquitto_sub("exchange/hgpushes/#", count=1)
    sub.wait_subscribed()
    argv = [publisher_bin("hg"), "hook", *common(t, tok), "--repo-root", repos,
            "--base-url", "https://hg.mozilla.org/", "--push-id", str(pl["pushid"]),
            "--push-user", pl["user"], "--push-date", str(pl["time"])]
    r = subprocess.run(argv, cwd=os.path.join(repos, "try"), env=push_env(want["data"]["heads"][0]),
                       capture_output=True, timeout=40, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    # issue 16 item 11: the pusher sees one line on success, naming the push and the topic
    said = (r.stdout + r.stderr).decode().splitlines()
    assert len(said) == 1 and "exchange/hgpushes/v2/try" in said[0] and str(pl["pushid"]) in said[0], said
    assert sub.wait_exit(20) == 0
    got = sub.messages()
    assert len(got) == 1, got
    topic, _, payload = got[0].partition(" ")
    assert topic == "exchange/hgpushes/v2/try", got
    assert json.loads(payload) == want, payload
    stored = history(t)
    assert [m["topic"] for m in stored] == ["exchange/hgpushes/v2/try"], stored
    assert stored[0]["payload"] == want


@case(versions=(V5,), broker_args=RULES, hydrant_only=WHY, timeout=60)
def hook_nested_repo_and_failures(t):
    """integration/autoland below --repo-root is one level (integration%2Fautoland) with that
    repo_url; without HG_NODE the hook exits 2; with the broker unreachable it exits 3 at its
    --timeout, so the push reports that the message did not reach the bus."""
    tok = token_file(t)
    repos = os.path.join(t.broker.tmp, "repos")
    repo = os.path.join(repos, "integration", "autoland")
    os.makedirs(repo)
    node = "0123456789abcdef0123456789abcdef01234567"
    argv = [publisher_bin("hg"), "hook", *common(t, tok), "--repo-root", repos,
            "--base-url", "https://hg.mozilla.org", "--push-id", "7", "--push-user", "a@b.c",
            "--push-date", "1700000000"]
    r = subprocess.run(argv, cwd=repo, env=push_env(node), capture_output=True, timeout=40)
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    stored = history(t)
    assert [m["topic"] for m in stored] == ["exchange/hgpushes/v2/integration%2Fautoland"], stored
    data = stored[0]["payload"]["data"]
    assert data["repo_url"] == "https://hg.mozilla.org/integration/autoland", data
    assert data["heads"] == [node] and data["source"] == "serve", data
    assert data["pushlog_pushes"][0]["push_json_url"] == \
        "https://hg.mozilla.org/integration/autoland/json-pushes?version=2&startID=6&endID=7", data

    env = push_env(node)
    del env["HG_NODE"]
    r = subprocess.run(argv, cwd=repo, env=env, capture_output=True, timeout=20)
    assert r.returncode == 2 and b"HG_NODE" in r.stderr, (r.returncode, r.stderr[-500:])

    dead = [a if a != str(t.port) else str(free_port()) for a in argv] + ["--timeout", "2"]
    t0 = time.monotonic()
    r = r_deadline = subprocess.run(dead, cwd=repo, env=push_env(node), capture_output=True, timeout=30)
    assert r.returncode == 3, (r.returncode, r.stderr[-1000:])
    assert time.monotonic() - t0 < 15, "the hook outlived its --timeout"
    # issue 16 item 9: --connect-timeout gives up on connecting alone, whatever --timeout says
    dead = [a if a != str(t.port) else str(free_port()) for a in argv] + [
        "--timeout", "120", "--connect-timeout", "2"]
    t0 = time.monotonic()
    r = subprocess.run(dead, cwd=repo, env=push_env(node), capture_output=True, timeout=60)
    assert r.returncode == 3 and b"--connect-timeout" in r.stderr, (r.returncode, r.stderr[-1000:])
    assert time.monotonic() - t0 < 15, "the hook outlived its --connect-timeout"
    # issue 16 item 11: a failure tells the pusher everything (each attempt, then what it means)
    assert b"event=connect-failed" in r.stderr and b"the push is not on the bus (exit 3" in r.stderr, r.stderr
    # ... and so does the --timeout deadline (a forced exit)
    assert b"event=connect-failed" in r_deadline.stderr and b"event=deadline-passed" in r_deadline.stderr, \
        r_deadline.stderr
    assert len(history(t)) == 1


@case(versions=(V5,), broker_args=RULES, hydrant_only=WHY, timeout=90)
def poll_publishes_each_push_once_in_order(t):
    """json-pushes served locally: a --from-start run publishes the sample's 10 pushes in id
    order; a second run with one more push (two changesets) publishes only that one; a third
    publishes nothing. The state file follows: 33277, then 33278."""
    tok = token_file(t)
    base = sample("hg-pushlog-v2.json")
    log = Pushlog("integration/autoland", base["pushes"])
    try:
        state = os.path.join(t.broker.tmp, "autoland.state")
        r = run_poll(t, tok, log, state, "--once", "--from-start")
        assert r.returncode == 0, r.stderr.decode()[-2000:]
        assert read_state(state) == "33277"
        log.set(pushes=EXTRA_PUSH)
        for _ in range(2):
            r = run_poll(t, tok, log, state, "--once")
            assert r.returncode == 0, r.stderr.decode()[-2000:]
            assert read_state(state) == "33278"
    finally:
        log.close()
    stored = history(t)
    topics = {m["topic"] for m in stored}
    assert topics == {"exchange/hgpushes/v2/integration%2Fautoland"}, topics
    ids = [m["payload"]["data"]["pushlog_pushes"][0]["pushid"] for m in stored]
    assert ids == list(range(33268, 33279)), ids
    all_pushes = dict(base["pushes"], **EXTRA_PUSH)
    for m, i in zip(stored, ids):
        assert m["payload"] == expected_message(log.url, i, all_pushes[str(i)]), m["payload"]
    assert stored[-1]["payload"]["data"]["heads"] == ["c" * 40]
    t.note(f"{len(ids)} pushes, each once, in order over 3 runs")


@case(versions=(V5,), broker_args=RULES, hydrant_only=WHY, timeout=90)
def poll_starts_at_newest_and_skips_bad_answers(t):
    """Without a state file (and without --from-start) the first run publishes nothing and
    records the newest push id; an HTTP 500 and an answer that is not JSON are logged, exit 1
    with --once and leave the state where it was; the next good answer publishes the push."""
    tok = token_file(t)
    log = Pushlog("try", sample("hg-pushlog-v2.json")["pushes"])
    try:
        state = os.path.join(t.broker.tmp, "try.state")
        r = run_poll(t, tok, log, state, "--once")
        assert r.returncode == 0, r.stderr.decode()[-2000:]
        assert read_state(state) == "33277" and history(t) == []
        log.set(mode="500", pushes=EXTRA_PUSH)
        r = run_poll(t, tok, log, state, "--once")
        assert r.returncode == 1 and b"status=500" in r.stderr, (r.returncode, r.stderr[-1000:])
        log.set(mode="badjson")
        r = run_poll(t, tok, log, state, "--once")
        assert r.returncode == 1 and b"event=answer-skipped" in r.stderr, (r.returncode, r.stderr[-1000:])
        assert read_state(state) == "33277" and history(t) == []
        log.set(mode="ok")
        r = run_poll(t, tok, log, state, "--once")
        assert r.returncode == 0, r.stderr.decode()[-2000:]
    finally:
        log.close()
    assert read_state(state) == "33278"
    stored = history(t)
    assert [m["topic"] for m in stored] == ["exchange/hgpushes/v2/try"], stored
    assert stored[0]["payload"]["data"]["pushlog_pushes"][0]["pushid"] == 33278


@case(versions=(V5,), broker_args=RULES, hydrant_only=WHY, timeout=120)
def poll_keeps_push_while_broker_away(t):
    """The broker stops while the poller runs; a new push appears: the poller fetches it and
    keeps it (offline buffer), the state file stays at the old id while nothing confirmed it;
    the broker starts again on the same data and port: the push arrives and the state moves.
    SIGTERM then ends the poller with status 0."""
    tok = token_file(t)
    log = Pushlog("try", sample("hg-pushlog-v2.json")["pushes"])
    state = os.path.join(t.broker.tmp, "try.state")
    with open(state, "w") as f:
        f.write("33277\n")
    argv = [publisher_bin("hg"), "poll", *common(t, tok), "--url", log.url, "--state-file", state,
            "--interval", "1"]
    errpath = os.path.join(t.broker.tmp, "poll.stderr")
    try:
        with open(errpath, "wb") as err:
            p = t.track_proc(subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=err, stderr=err))
        seen = log.request_count()
        wait_until(lambda: log.request_count() > seen, 15, what="a first request")
        t.broker.stop()
        log.set(pushes=EXTRA_PUSH)
        seen = log.request_count()
        # The request after the change carries the new push; the poller then waits for the broker.
        wait_until(lambda: log.request_count() > seen, 15, what="a request while the broker is away")
        time.sleep(2)  # give a wrong implementation time to record what nobody confirmed
        assert read_state(state) == "33277", read_state(state)
        assert p.poll() is None, open(errpath, "rb").read()[-2000:]
        asked = log.request_count()
        time.sleep(1.5)
        assert log.request_count() == asked, "fetched again before the broker confirmed the push"
        t.broker.start(same_port=True)
        wait_until(lambda: read_state(state) == "33278", 45, interval=0.1, what="state 33278")
        stored = history(t)
        ids = [m["payload"]["data"]["pushlog_pushes"][0]["pushid"] for m in stored]
        assert ids == [33278], ids
        os.kill(p.pid, signal.SIGTERM)
        assert p.wait(timeout=20) == 0, open(errpath, "rb").read()[-2000:]
    finally:
        log.close()
    t.note("push kept across a broker restart; state written only after the PUBACK")


@case(versions=(V5,), broker_args=RULES, hydrant_only=WHY, timeout=90)
def hook_installed_in_real_mercurial(t):
    """Where Mercurial is installed: the README's hgrc snippet on a served repository; a push
    of two changesets publishes one message whose heads come from `hg log` (the pushed tip) with
    HG_SOURCE; with the broker gone the push still succeeds and Mercurial prints the hook's
    status 3."""
    import shutil
    hg = shutil.which("hg")
    if not hg:
        raise Skip("Mercurial (hg) is not installed")
    tok = token_file(t)
    root = os.path.join(t.broker.tmp, "hg")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HG")}
    env.update({"HGRCPATH": os.devnull, "HGUSER": "dev@example.org", "HGPLAIN": "1"})

    def hgrun(*args, cwd=root):
        return subprocess.run([hg, *args], cwd=cwd, env=env, capture_output=True, timeout=60,
                              stdin=subprocess.DEVNULL)

    os.makedirs(os.path.join(root, "repos", "projects"))
    assert hgrun("init", "repos/projects/demo").returncode == 0
    hook = (f"{publisher_bin('hg')} hook --port {t.port} --heartbeat 0 --client-id hgpushes "
            f"--token-file {tok} --repo-root {root}/repos --base-url https://hg.example.org "
            f"--timeout 3")
    with open(os.path.join(root, "repos", "projects", "demo", ".hg", "hgrc"), "w") as f:
        f.write(f"[hooks]\nchangegroup.hydrant = {hook}\n")
    assert hgrun("init", "work").returncode == 0
    work = os.path.join(root, "work")
    for text in ("one", "two"):
        with open(os.path.join(work, "f"), "w") as f:
            f.write(text)
        assert hgrun("commit", "-A", "-m", text, cwd=work).returncode == 0
    tip = hgrun("log", "-r", "tip", "-T", "{node}", cwd=work).stdout.decode()
    r = hgrun("push", "../repos/projects/demo", cwd=work)
    assert r.returncode == 0 and b"hook exited" not in r.stdout + r.stderr, r
    said = [l for l in (r.stdout + r.stderr).decode().splitlines() if "hydrant" in l]
    assert len(said) == 1 and "published on exchange/hgpushes/v2/projects%2Fdemo" in said[0], r
    stored = history(t)
    assert [m["topic"] for m in stored] == ["exchange/hgpushes/v2/projects%2Fdemo"], stored
    data = stored[0]["payload"]["data"]
    assert data["heads"] == [tip] and data["source"] == "push", data
    assert data["repo_url"] == "https://hg.example.org/projects/demo", data

    t.broker.stop()
    with open(os.path.join(work, "f"), "w") as f:
        f.write("three")
    assert hgrun("commit", "-m", "three", cwd=work).returncode == 0
    r = hgrun("push", "../repos/projects/demo", cwd=work)
    out = (r.stdout + r.stderr).decode()
    assert r.returncode == 0 and "changegroup.hydrant hook exited with status 3" in out, out
