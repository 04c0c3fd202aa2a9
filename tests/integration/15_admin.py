"""15 admin: the admin API under /api/v1/admin/ (bearer admin token from <data>/admin-token) and
the queue watch: warning, recovery and deletion notices on $SYS/hydrant/notices/<owner>, in the
log and through the notify command (issue 5). Real broker, real HTTP, real MQTT clients.
"""

import http.client
import json
import os
import stat
import urllib.request

from harness import (api_call, HOST, V5, Broker, case, PUBLISH, PUBACK,
                     P_SESSION_EXPIRY, P_USER_PROPERTY,
                     enc_ack, enc_connect, enc_publish,
                     expect_violation, wait_until)

WHY = "hydrant's admin API and queue watch (issue 5)"
RULES = {"open": "false", "http": "free", "auth-failure-delay": "0"}




def persistent(v):
    return dict(clean=False, props=[(P_SESSION_EXPIRY, 3600)]) if v == V5 else dict(clean=False)


@case(versions=None, broker_args=RULES, hydrant_only=WHY)
def admin_api_needs_the_admin_token(t):
    """No token or a wrong one: 401 with WWW-Authenticate, a log line, nothing changed. The
    token file is created on first start with mode 0600."""
    b = t.broker
    mode = stat.S_IMODE(os.stat(os.path.join(b.data_dir, "admin-token")).st_mode)
    assert mode == 0o600, oct(mode)
    for token in (False, "wrong"):
        status, headers, body = api_call(b, "POST", "/api/v1/admin/users", {"name": "x"}, token=token)
        assert status == 401, (status, body)
        assert headers.get("www-authenticate", headers.get("WWW-Authenticate", "")).startswith("Bearer")
        assert body["error"] == "unauthorized"
    assert api_call(b, "GET", "/api/v1/admin/users")[2] == {"users": []}
    assert "event=admin-refused" in b.stderr_text()


@case(versions=(V5,), broker_args=RULES, hydrant_only=WHY)
def access_counters_in_stats_and_metrics(t):
    """Refusals are counted: /api/v1/stats and /metrics carry auth failures, refused publishes
    and payloads over the soft limit."""
    b = t.broker
    bad = t.raw(connect=False)
    bad.send(enc_connect(t.v, t.uid(), username="nobody", password="wrong"))
    bad.wait_closed()
    anon = t.raw()
    anon.publish("exchange/x/y", b"{}", qos=1, pid=1)
    assert anon.expect(PUBACK).f["rc"] == 0x87
    stats = api_call(b, "GET", "/api/v1/stats", token=False)[2]
    assert stats["auth_failures"] == 1 and stats["publishes_refused"] == 1, stats
    conn = http.client.HTTPConnection(HOST, b.http_port, timeout=10)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    assert "hydrant_auth_failures_total 1" in text and "hydrant_publishes_refused_total 1" in text


@case(broker_args=RULES, hydrant_only=WHY)
def admin_api_manages_users(t):
    """Create (201, the token once), list, show with its connections, rotate (the old
    connection closes), replace owners, delete (the new connection closes); 404/409/400/405."""
    b = t.broker
    status, _, body = api_call(b, "POST", "/api/v1/admin/users",
                           {"name": "gerrit", "owners": ["infra@example.org"]})
    assert status == 201 and body["name"] == "gerrit" and len(body["token"]) == 43, body
    token = body["token"]
    owners = ["x@example.org"]
    assert api_call(b, "POST", "/api/v1/admin/users", {"name": "gerrit", "owners": owners})[0] == 409
    assert api_call(b, "POST", "/api/v1/admin/users", {"name": "admin", "owners": owners})[0] == 409
    assert api_call(b, "POST", "/api/v1/admin/users", {"name": "9x", "owners": owners})[0] == 400
    assert api_call(b, "POST", "/api/v1/admin/users", "not json")[0] == 400
    assert api_call(b, "POST", "/api/v1/admin/users", {"name": "x", "owners": "a@b"})[0] == 400
    assert api_call(b, "DELETE", "/api/v1/admin/users")[0] == 405
    status, _, body = api_call(b, "POST", "/api/v1/admin/users",
                           json.dumps({"name": "big", "owners": ["x" * 70000 + "@example.org"]}))
    assert status == 413 and body["error"] == "payload too large", (status, body)
    assert api_call(b, "GET", "/api/v1/admin/users/nobody")[0] == 404
    r = t.raw(connect=False)
    r.connect(t.uid(), username="gerrit", password=token)
    r.publish("exchange/gerrit/v1/change-merged", b'{"change": 1}', qos=1, pid=1)
    assert r.expect(PUBACK).f["rc"] == 0
    def shown():
        return api_call(b, "GET", "/api/v1/admin/users/gerrit")[2]
    wait_until(lambda: shown()["connections"] == 1, 5, what="connection counted")
    assert shown()["owners"] == ["infra@example.org"]
    status, _, body = api_call(b, "POST", "/api/v1/admin/users/gerrit/token")
    assert status == 200 and body["token"] != token
    expect_violation(r, 0x87, timeout=10)
    fresh = t.raw(connect=False)
    fresh.connect(t.uid(), username="gerrit", password=body["token"])
    status, _, body = api_call(b, "PUT", "/api/v1/admin/users/gerrit/owners",
                           {"owners": ["a@example.org", "b@example.org"]})
    assert status == 200 and body["owners"] == ["a@example.org", "b@example.org"], body
    assert api_call(b, "PUT", "/api/v1/admin/users/gerrit/owners", {"owners": ["nope"]})[0] == 400
    assert api_call(b, "POST", "/api/v1/admin/users", {"name": "nobody-owns"})[0] == 400
    status, _, body = api_call(b, "GET", "/api/v1/admin/connections")
    assert {"user": "gerrit", "connections": 1} in body["users"], body
    assert [u["name"] for u in api_call(b, "GET", "/api/v1/admin/users")[2]["users"]] == ["gerrit"]
    assert api_call(b, "DELETE", "/api/v1/admin/users/gerrit")[0] == 200
    expect_violation(fresh, 0x87, timeout=10)
    with open(os.path.join(b.data_dir, "audit.log")) as f:
        actions = [(e["action"], e["by"].split(":")[0]) for e in map(json.loads, f)]
    assert actions == [("user-add", "api"), ("token-rotate", "api"), ("user-owners", "api"),
                       ("user-delete", "api")], actions


NOTIFY_SCRIPT = """#!/bin/sh
# The notify command of the queue-watch test: one line per notice, fields joined with '|'.
echo "$1|$2|$3|$4" >> "$(dirname "$0")/notices.txt"
"""


def start_with_notify_script(t):
    """Starts this case's broker with a notify command written into the broker's own temporary
    directory (removed with it); returns the broker and the script's output file."""
    b = Broker(dict(t.case.opts["broker_args"]))
    script = os.path.join(b.tmp, "notify.sh")
    with open(script, "w") as f:
        f.write(NOTIFY_SCRIPT)
    os.chmod(script, 0o755)
    b.args["notify-command"] = script
    t.brokers.append(b)
    b.start()
    t.broker = b
    return b, os.path.join(b.tmp, "notices.txt")


@case(broker_args=dict(RULES, **{"max-queued-messages": "10", "queue-overlimit-timeout": "2"}),
      start_broker=False, hydrant_only=WHY, timeout=60)
def queue_watch_warns_recovers_and_deletes(t):
    """A queue past 80 % of its limit: a queue-warning notice (on $SYS/hydrant/notices/<owner>,
    in the log, through the notify command with the owner's addresses); drained: queue-recovered;
    at its limit for queue-overlimit-timeout: deleted with a queue-deleted notice, unless an
    admin marked it unbounded. The admin API lists it with size, limit, warning and bindings."""
    b, out = start_with_notify_script(t)
    token = b.add_user("treeherder", "--owner", "th@example.org")
    pub_token = b.add_user("ci")
    kept, doomed = "queue/treeherder/kept", "queue/treeherder/jobs"
    for qid in (kept, doomed):
        q = t.raw(connect=False)
        q.connect(qid, username="treeherder", password=token, **persistent(t.v))
        q.subscribe([("exchange/ci/#", 1)])
        q.disconnect()
    assert api_call(b, "PATCH", f"/api/v1/admin/queues/{kept}", {"unbounded": True})[0] == 200
    notices = t.raw(connect=False)
    notices.connect(t.uid(), username="treeherder", password=token)
    notices.subscribe([("$SYS/hydrant/notices/treeherder", 0)])
    p = t.raw(connect=False)
    p.connect(t.uid(), username="ci", password=pub_token)
    for i in range(9):
        p.publish("exchange/ci/v1/job", json.dumps({"n": i}).encode(), qos=1, pid=i + 1)
        p.expect(PUBACK)
    got = [json.loads(notices.expect(PUBLISH, timeout=5).f["payload"]) for _ in range(2)]
    assert sorted(n["queue"] for n in got) == [doomed, kept], got
    # The once-a-second sweep may see a queue at 8 (80 %, the threshold) before the 9th arrives.
    assert all(n["kind"] == "queue-warning" and n["queued"] in (8, 9) and n["limit"] == 10
               for n in got), got
    # The listing is as of the hosts' last sweep, which may be the one that saw 8: the next one
    # (within a second) has the 9th.
    def listing():
        return {q["queue"]: q for q in api_call(b, "GET", "/api/v1/admin/queues?user=treeherder")[2]["queues"]}
    queues = wait_until(lambda: (lambda q: q if q[doomed]["size"] == 9 else None)(listing()), 3,
                        interval=0.1, what="the queue at 9 in the listing")
    assert queues[doomed]["warning"], queues
    # The same depth in /metrics, per queue (issue 16 item 13).
    with urllib.request.urlopen(f"http://{HOST}:{b.http_port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    assert f'hydrant_queue_messages{{queue="{doomed}",owner="treeherder"}} 9\n' in text, \
        [l for l in text.splitlines() if l.startswith("hydrant_queue")]
    # The sweep that saw the 9 deliveries also measured them: smoothed, but above zero.
    assert queues[doomed]["limit"] == 10 and queues[doomed]["rate_per_s"] > 0, queues
    assert queues[doomed]["bindings"] == ["exchange/ci/#"] and not queues[doomed]["connected"]
    assert queues[kept]["unbounded"]
    # Drain one queue: recovered.
    q = t.raw(connect=False)
    q.connect(kept, username="treeherder", password=token, **persistent(t.v))
    for _ in range(9):
        m = q.expect(PUBLISH)
        q.send(enc_ack(PUBACK, t.v, m.f["pid"]))
    n = json.loads(notices.expect(PUBLISH, timeout=5).f["payload"])
    assert n["kind"] == "queue-recovered" and n["queue"] == kept, n
    q.disconnect()
    # Fill both past the limit (the oldest are dropped); only the bounded one is deleted.
    for i in range(12):
        p.publish("exchange/ci/v1/job", json.dumps({"n": i}).encode(), qos=1, pid=100 + i)
        p.expect(PUBACK)
    wait_until(lambda: "queue-deleted" in b.stderr_text(), 10, what="queue deleted")
    names = [q["queue"] for q in api_call(b, "GET", "/api/v1/admin/queues")[2]["queues"]]
    wait_until(lambda: [q["queue"] for q in api_call(b, "GET", "/api/v1/admin/queues")[2]["queues"]] == [kept],
               5, what=f"only {kept} left, got {names}")
    again = t.raw(connect=False)
    ack = again.connect(doomed, username="treeherder", password=token, **persistent(t.v))
    assert ack.f["session_present"] == 0, ack
    again.disconnect()
    # The notify command got the owner, addresses, kind and text.
    wait_until(lambda: os.path.exists(out) and "queue-deleted" in open(out).read(), 5,
               what="notify command output")
    lines = open(out).read().splitlines()
    assert any(l.startswith("treeherder|th@example.org|queue-warning|") for l in lines), lines
    # DELETE through the API ends a queue (the kept one, and the one just made again).
    assert api_call(b, "DELETE", f"/api/v1/admin/queues/{kept}")[0] == 200
    assert api_call(b, "DELETE", f"/api/v1/admin/queues/{doomed}")[0] == 200
    assert api_call(b, "DELETE", "/api/v1/admin/queues/queue/treeherder/none")[0] == 404
    assert api_call(b, "PATCH", f"/api/v1/admin/queues/{kept}", {"unbounded": "yes"})[0] == 400
    assert api_call(b, "PATCH", "/api/v1/admin/queues/not-a-queue", {"unbounded": True})[0] == 404
    wait_until(lambda: api_call(b, "GET", "/api/v1/admin/queues")[2]["queues"] == [], 5,
               what="queue list empty")
    with open(os.path.join(b.data_dir, "audit.log")) as f:
        actions = [json.loads(line)["action"] for line in f]
    assert actions.count("queue-delete") == 2 and "queue-unbounded" in actions, actions


@case(versions=None, broker_args=RULES, hydrant_only=WHY)
def admin_api_lists_exchanges(t):
    """/api/v1/admin/exchanges: every exchange with its owner, counts and last publish."""
    b = t.broker
    token = b.add_user("hgpushes")
    p = t.raw(connect=False, v=V5)
    p.connect(t.uid(), username="hgpushes", password=token)
    p.publish("exchange/hgpushes/v2/try", b'{"push": 1}', qos=1, pid=1)
    p.expect(PUBACK)
    def listed():
        return api_call(b, "GET", "/api/v1/admin/exchanges?user=hgpushes")[2]["exchanges"]
    wait_until(lambda: listed() and listed()[0]["messages"] == 1, 5, what="exchange listed")
    e = listed()[0]
    assert e["exchange"] == "exchange/hgpushes/v2" and e["owner"] == "hgpushes", e
    assert e["last_publish_unix_ms"] > 0


@case(versions=(V5,), broker_args=RULES, hydrant_only=WHY)
def exchanges_counted_as_declared_and_kept_across_restart(t):
    """Issue 16 item 15: a declared `v1/change-merged` counts its own messages, not its
    parent's (those from before it was declared included); after a restart, the exchanges that
    history holds are listed (admin API, `hydrant exchange list`, the public list) before any
    publisher publishes again, counted from history as declared."""
    b = t.broker
    token = b.add_user("gerrit")
    p = t.raw(connect=False)
    p.connect(t.uid(), username="gerrit", password=token)
    pid = iter(range(1, 100))
    def publish(topic):
        p.publish(topic, b'{"type": "x"}', qos=1, pid=next(pid))
        p.expect(PUBACK)
    publish("exchange/gerrit/v1/change-merged/project-a")
    publish("exchange/gerrit/v1/patchset-created/project-a")
    publish("exchange/gerrit/v1/patchset-created/project-b")
    assert api_call(b, "POST", "/api/v1/admin/exchanges", {"owner": "gerrit", "name": "v1/change-merged"})[0] == 201
    def counts():
        listed = api_call(b, "GET", "/api/v1/admin/exchanges?user=gerrit")[2]["exchanges"]
        return {e["name"]: e["messages"] for e in listed}
    assert counts() == {"v1": 3, "v1/change-merged": 0}, counts()
    publish("exchange/gerrit/v1/change-merged/project-a")
    publish("exchange/gerrit/v1/change-merged/project-b")
    wait_until(lambda: counts() == {"v1": 3, "v1/change-merged": 2}, 5, what=f"counts as declared {counts()}")
    p.disconnect()
    b.stop()
    b.start()
    # History keeps five messages: three under the declared name (one from before it was
    # declared: history is counted as the exchanges are declared now), two under v1.
    assert counts() == {"v1": 2, "v1/change-merged": 3}, counts()
    listed = {e["name"]: e for e in api_call(b, "GET", "/api/v1/admin/exchanges?user=gerrit")[2]["exchanges"]}
    assert listed["v1"]["declared"] is False and listed["v1/change-merged"]["declared"] is True, listed
    assert all(e["last_publish_unix_ms"] > 0 for e in listed.values()), listed
    table = b.admin("exchange", "list").stdout
    assert "exchange/gerrit/v1 " in table and "exchange/gerrit/v1/change-merged " in table, table
    conn = http.client.HTTPConnection(HOST, b.http_port, timeout=10)
    conn.request("GET", "/api/v1/exchanges?kind=exchange")
    public = {e["prefix"]: e["messages"] for e in json.loads(conn.getresponse().read())["exchanges"]}
    conn.close()
    assert public == {"exchange/gerrit/v1": 2, "exchange/gerrit/v1/change-merged": 3}, public
    # /metrics' counters start again at 0: history is not traffic of this start.
    conn = http.client.HTTPConnection(HOST, b.http_port, timeout=10)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    conn.close()
    assert 'hydrant_topic_messages_total{prefix="exchange/gerrit/v1",kind="exchange"} 0' in text, text
    assert "event=exchanges-recovered from_history=1" in b.stderr_text()


@case(versions=(V5,), broker_args=RULES, hydrant_only=WHY)
def cc_routing_keys(t):
    """CC'd routing keys (MQTT 5 user property `cc`, repeatable) route a message also to those
    keys of the same exchange; a subscriber matching several gets it once. With the exchange
    `v1/task-completed` declared through the API (two levels), the split is known."""
    b = t.broker
    token = b.add_user("taskcluster")
    status, _, body = api_call(b, "POST", "/api/v1/admin/exchanges",
                           {"owner": "taskcluster", "name": "v1/task-completed"})
    assert status == 201, body
    assert api_call(b, "POST", "/api/v1/admin/exchanges",
                {"owner": "taskcluster", "name": "v1/task-completed"})[0] == 409
    assert api_call(b, "POST", "/api/v1/admin/exchanges", {"owner": "nobody", "name": "x"})[0] == 404
    ex = "exchange/taskcluster/v1/task-completed"
    routes = t.raw()
    routes.subscribe([(f"{ex}/route/index/#", 0)])
    everything = t.raw()
    everything.subscribe([(f"{ex}/#", 1)])
    both = t.raw()
    both.subscribe([(f"{ex}/primary/#", 0), (f"{ex}/route/#", 0)])
    other = t.raw()
    other.subscribe([(f"{ex}/nothing/#", 0)])
    p = t.raw(connect=False)
    p.connect(t.uid(), username="taskcluster", password=token)
    props = [(P_USER_PROPERTY, ("cc", "route.index.project.mozci.classification._")),
             (P_USER_PROPERTY, ("cc", "route.tc-treeherder.v2.try.abc"))]
    p.send(enc_publish(V5, f"{ex}/primary/task-1/_", b'{"status": "completed"}', qos=1, pid=1,
                       props=props))
    assert p.expect(PUBACK).f["rc"] == 0
    for sub in (routes, everything, both):
        m = sub.expect(PUBLISH)
        assert m.f["topic"] == f"{ex}/primary/task-1/_", m  # the original topic, once
        sub.expect_nothing(0.3)
    other.expect_nothing(0.2)
    # More than 32 CC'd keys: refused (0x97), nothing delivered.
    many = [(P_USER_PROPERTY, ("cc", f"route.r{i}")) for i in range(33)]
    p.send(enc_publish(V5, f"{ex}/primary/task-2/_", b'{"status": "x"}', qos=1, pid=2, props=many))
    ack = p.expect(PUBACK)
    assert ack.f["rc"] == 0x97, ack
    everything.expect_nothing(0.3)
    listed = api_call(b, "GET", "/api/v1/admin/exchanges?user=taskcluster")[2]["exchanges"]
    assert [(e["name"], e["declared"]) for e in listed] == [("v1/task-completed", True)], listed
    assert api_call(b, "DELETE", "/api/v1/admin/exchanges/taskcluster/v1/task-completed")[0] == 200
    assert api_call(b, "DELETE", "/api/v1/admin/exchanges/taskcluster/v1/task-completed")[0] == 404


@case(versions=(V5,), broker_args=RULES, hydrant_only=WHY)
def live_state_subcommands(t):
    """`hydrant queue|exchange|connections` on the data directory of a running broker reach its
    admin API (runtime.json + admin-token): list, --json, declare, unbounded, delete; without a
    running broker they say so and exit 1."""
    b = t.broker
    token = b.add_user("treeherder")
    q = t.raw(connect=False)
    q.connect("queue/treeherder/jobs", username="treeherder", password=token, **persistent(t.v))
    q.subscribe([("exchange/ci/#", 1)])
    def listed():
        return json.loads(b.admin("queue", "list", "--json").stdout)["queues"]
    wait_until(lambda: [x["queue"] for x in listed()] == ["queue/treeherder/jobs"], 5,
               what="queue in `hydrant queue list --json`")
    table = b.admin("queue", "list", "--user", "treeherder").stdout
    assert "queue/treeherder/jobs" in table and "exchange/ci/#" in table, table
    wait_until(lambda: "treeherder" in b.admin("connections").stdout, 5, what="connections")
    b.admin("queue", "unbounded", "queue/treeherder/jobs")
    wait_until(lambda: listed()[0]["unbounded"], 5, what="unbounded")
    b.admin("exchange", "declare", "treeherder", "v1/jobs")
    r = b.admin("exchange", "declare", "treeherder", "v1/jobs", check=False)
    assert r.returncode == 1 and "409" in r.stderr, r.stderr
    assert "exchange/treeherder/v1/jobs" in b.admin("exchange", "list").stdout
    b.admin("exchange", "delete", "treeherder", "v1/jobs")
    q.disconnect()
    b.admin("queue", "delete", "queue/treeherder/jobs")
    wait_until(lambda: listed() == [], 5, what="queue deleted")
    r = b.admin("queue", "delete", "queue/treeherder/jobs", check=False)
    assert r.returncode == 1 and "404" in r.stderr, r.stderr
    b.stop()
    r = b.admin("queue", "list", check=False)
    assert r.returncode == 1 and "no broker is running" in r.stderr, r.stderr
