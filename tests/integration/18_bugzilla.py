"""18 bugzilla: hydrant-bugzilla, the Bugzilla (BMO) webhook endpoint (issue 7), end to end
against a real hydrant with the access rules. BMO's sample bodies are POSTed (compact, as BMO
sends them) and an anonymous mosquitto_sub on exchange/bugzilla/# sees each on the topic its
event.routing_key gives, public bodies unchanged, private ones reduced to ids and routing fields;
every answer's status (200 only after the broker confirmed, 401, 400, 405, 413, /healthz); with
the broker stopped a POST gets 503 after --confirm-timeout, and after the restart the retried
POST succeeds and each event is on the exchange exactly once.
"""

import copy
import json
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request

from harness import publisher_bin, HOST, ROOT, V5, Skip, case, free_port, wait_until

WHY = "hydrant's publishers (issue 7)"
RULES = {"open": "false"}
SAMPLES = os.path.join(ROOT, "tests", "integration", "samples")  # real event payloads (SOURCES.md)
KEY = "s3cret-webhook-key"


def sample(name):
    """The sample as BMO posts it: compact JSON (Mojo::JSON writes no whitespace)."""
    p = os.path.join(SAMPLES, name)
    if not os.path.exists(p):
        raise Skip(f"sample {name} not found in {SAMPLES}")
    with open(p) as f:
        return json.load(f)


def compact(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def encode_word(w):
    return w.replace("%", "%25").replace("/", "%2F").replace("+", "%2B").replace("#", "%23")


def topic_of(client, routing_key, exchange="v1"):
    """The layout, written out independently: exchange/<client>/<exchange>/<routing key words>."""
    return "/".join([f"exchange/{client}/{exchange}"] +
                    [encode_word(w) for w in routing_key.split(".")])


class Adapter:
    """hydrant-bugzilla on a free loopback port; stop() sends SIGTERM to its PID."""

    def __init__(self, t, *extra, client="bugzilla", key=KEY):
        self.t = t
        self.port = free_port()
        tmp = t.broker.tmp
        argv = [publisher_bin("bugzilla"), "--listen", f"{HOST}:{self.port}", "--heartbeat", "0", *extra]
        if "--dry-run" not in extra:
            token_file = os.path.join(tmp, f"{client}.token")
            if not os.path.exists(token_file):  # a second adapter for the same user reuses it
                with open(token_file, "w") as f:
                    f.write(t.broker.add_user(client) + "\n")
            argv += ["--port", str(t.port), "--client-id", client, "--token-file", token_file]
        if key:
            key_file = os.path.join(tmp, "bugzilla.key")
            with open(key_file, "w") as f:
                f.write(key + "\n")
            argv += ["--api-key-file", key_file]
        self.stderr_path = os.path.join(tmp, "hydrant-bugzilla.stderr")
        self.stdout_path = os.path.join(tmp, "hydrant-bugzilla.stdout")
        with open(self.stderr_path, "wb") as err, open(self.stdout_path, "wb") as out:
            self.proc = t.track_proc(subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                                      stderr=err))
        wait_until(self._healthy, 15, interval=0.05, what="hydrant-bugzilla /healthz")

    def _healthy(self):
        assert self.proc.poll() is None, f"hydrant-bugzilla exited {self.proc.returncode}: " \
                                         f"{self.stderr()[-2000:]}"
        try:
            return self.request("GET", "/healthz", timeout=2)[0] == 200
        except OSError:
            return False

    def request(self, method, path="/", body=None, headers=None, timeout=20):
        """(status, text) of one request; HTTP errors are answers, not exceptions."""
        req = urllib.request.Request(f"http://{HOST}:{self.port}{path}", data=body,
                                     method=method, headers=dict(headers or {}))
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def post(self, body, key=KEY, **kw):
        headers = {"Content-Type": "application/json"}
        if key is not None:
            headers["X-Api-Key"] = key
        return self.request("POST", "/", body, headers, **kw)

    def stderr(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stdout(self):
        with open(self.stdout_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self, timeout=20):
        os.kill(self.proc.pid, signal.SIGTERM)
        return self.proc.wait(timeout=timeout)


def history(t, filt):
    url = f"http://{HOST}:{t.broker.http_port}/api/v1/history?filter={filt}&limit=1000"
    with urllib.request.urlopen(url, timeout=10) as r:
        page = json.loads(r.read())
    assert not page["more"]
    return page["messages"]


def private_comment():
    """A private comment on a public bug: the comment's content must not be published."""
    body = sample("bugzilla-comment-create.json")
    body = copy.deepcopy(body)
    body["bug"]["comment"]["is_private"] = True
    return body


@case(versions=(V5,), broker_args=RULES, hydrant_only=WHY, timeout=90)
def bmo_samples_reach_anonymous_reader(t):
    """Issue 7's "done when" for Bugzilla: the BMO samples POSTed with the key, each answered
    200 once confirmed; the reader sees exactly these topics and payloads (public: the body as
    sent; private bug, private comment: ids and routing fields only). Refused requests (wrong or
    missing key, not JSON, not an event, GET, PUT, over 1 MiB) publish nothing."""
    a = Adapter(t)
    public = [sample(n) for n in ("bugzilla-bug-modify.json", "bugzilla-comment-create.json",
                                  "bugzilla-attachment-create.json")]
    private = sample("bugzilla-bug-modify-private.json")
    comment = private_comment()
    sub = t.mosquitto_sub("exchange/bugzilla/#", count=5)
    sub.wait_subscribed()

    # Refusals first: anything they published would be among the reader's first five messages.
    body = compact(public[0])
    assert a.post(body, key="wrong")[0] == 401
    assert a.post(body, key=None)[0] == 401
    status, text = a.post(b"{not json")
    assert status == 400 and "not JSON" in text, (status, text)
    status, text = a.post(compact(sample("bugzilla-simple.json")))  # mozillapulse, not a webhook
    assert status == 400 and "no event" in text, (status, text)
    status, text = a.request("GET", "/")
    assert status == 405 and "POST" in text, (status, text)
    assert a.request("PUT", "/", b"{}")[0] == 405
    big = compact({"event": {"routing_key": "bug.create"}, "bug": {"id": 1, "x": "a" * (1 << 20)}})
    try:
        status = a.post(big)[0]
    except (ConnectionError, urllib.error.URLError):
        status = 413  # the server may answer and close before urllib has sent the whole body
    assert status == 413, status
    assert a.request("GET", "/nowhere")[0] == 404

    for body in public + [private, comment]:
        status, text = a.post(compact(body))
        assert status == 200 and text.startswith("published "), (status, text)
    sub.wait_exit(20)
    got = [tuple(l.split(" ", 1)) for l in sub.messages()]

    expected = [(topic_of("bugzilla", b["event"]["routing_key"]), compact(b).decode())
                for b in public]
    ev = private["event"]
    expected.append((topic_of("bugzilla", ev["routing_key"]), compact({
        "bug": {"id": 2, "is_private": True},
        "event": {k: ev[k] for k in ("action", "routing_key", "target", "time")}}).decode()))
    ev = comment["event"]
    expected.append((topic_of("bugzilla", ev["routing_key"]), compact({
        "bug": {"id": 1629704, "is_private": False, "comment": {"id": 14748073, "is_private": True}},
        "event": {k: ev[k] for k in ("action", "routing_key", "target", "time")}}).decode()))
    assert got == expected, (got, expected)
    assert expected[0][0] == "exchange/bugzilla/v1/bug/modify:priority"
    for _, payload in got[3:]:
        assert "nobody@mozilla.org" not in payload and "another test comment" not in payload

    err = a.stderr()
    assert "status=401" in err and "status=413" in err and "status=200" in err, err[-3000:]
    assert KEY not in err
    assert a.stop() == 0, a.stderr()[-2000:]
    t.note("5 events published, 8 refusals published nothing")


@case(versions=(V5,), broker_args={**RULES, "http": "free"}, hydrant_only=WHY, timeout=120)
def broker_down_503_then_retry_loses_nothing(t):
    """The broker stops: a POST gets no 2xx (503 after --confirm-timeout 2); the broker starts
    again on its data directory; the retried POST (what Bugzilla does) gets 200 and every event
    is in the exchange's history exactly once (the retry joins the kept publish, not a copy)."""
    a = Adapter(t, "--confirm-timeout", "2", key=None)
    first = sample("bugzilla-bug-modify.json")
    second = sample("bugzilla-comment-create.json")
    third = sample("bugzilla-attachment-create.json")
    assert a.post(compact(first))[0] == 200

    t.broker.stop()
    t0 = time.monotonic()
    status, text = a.post(compact(second))
    took = time.monotonic() - t0
    assert status == 503 and 1.5 <= took < 10, (status, text, took)
    status, _ = a.post(compact(second))  # Bugzilla's retry, still down
    assert status == 503, status

    t.broker.start(same_port=True)
    status = None
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:  # Bugzilla retries after 5, 10, 15 s; we poll faster
        status, text = a.post(compact(second))
        if status == 200:
            break
        assert status == 503, (status, text)
    assert status == 200, (status, text)
    assert a.post(compact(third))[0] == 200

    msgs = history(t, "exchange/bugzilla/%23")
    got = [(m["topic"], m["payload"]) for m in msgs]
    expected = [(topic_of("bugzilla", b["event"]["routing_key"]), b) for b in (first, second, third)]
    assert got == expected, [g[0] for g in got]
    assert a.stop() == 0, a.stderr()[-2000:]
    t.note(f"retried POST answered 200 {text.split(' ', 1)[0]!r}")


@case(versions=(V5,), broker_args={**RULES, "http": "free"}, hydrant_only=WHY, timeout=90)
def dry_run_prints_and_sigterm_answers_waiting(t):
    """--dry-run needs no broker and prints topic<TAB>payload. With the broker stopped, SIGTERM
    makes a POST waiting for its confirmation answer 503 within about 2 s (Bugzilla keeps it and
    retries); the adapter exits 3 (left unconfirmed by --flush-timeout); the broker started
    again, Bugzilla's retry reaches the exchange, once."""
    d = Adapter(t, "--dry-run", "--exchange", "bmo", key=None)
    body = compact(sample("bugzilla-bug-modify-private.json"))
    status, _ = d.post(body)
    assert status == 200
    assert d.stop() == 0
    line = d.stdout().strip()
    assert line.startswith("exchange/dry-run/bmo/bug/modify:priority\t{\"bug\":{\"id\":2,"), line

    a = Adapter(t, "--flush-timeout", "1", key=None)
    t.broker.stop()
    result = {}

    def post():
        try:
            result["r"] = a.post(body, timeout=30)
        except OSError as e:
            result["r"] = (repr(e),)
    poster = threading.Thread(target=post)
    poster.start()
    time.sleep(1.5)  # the POST is waiting for a confirmation that cannot come
    os.kill(a.proc.pid, signal.SIGTERM)
    t0 = time.monotonic()
    poster.join(timeout=10)
    assert result.get("r", (None,))[0] == 503, (result, a.stderr()[-3000:])
    assert time.monotonic() - t0 < 5
    # Past --flush-timeout with the broker away: the adapter gives up and says so (exit 3). The
    # event is not lost: its POST was answered 503, so Bugzilla sends it again.
    rc = a.proc.wait(timeout=20)
    assert rc == 3, (rc, a.stderr()[-2000:])
    assert "unconfirmed=1" in a.stderr(), a.stderr()[-2000:]
    t.broker.start(same_port=True)
    b = Adapter(t, key=None)
    assert b.post(body)[0] == 200
    assert [m["payload"]["bug"] for m in history(t, "exchange/bugzilla/%23")] == \
        [{"id": 2, "is_private": True}]
    assert b.stop() == 0
