"""28 front page API: what the viewer's front page reads (issue 17) — /api/v1/exchanges with each
exchange's owner, name (of several levels when declared so), whether it was declared, the last
publish in unix ms and the messages of the last 10 minutes in 20-s buckets; declared exchanges
without traffic listed too; /api/v1/stats with connections and deliveries by transport.

Hydrant only: the HTTP API is served by hydrant's bridge.
"""

import time

from harness import api_call, V5, PUBACK, case, wait_until

WHY = "hydrant's HTTP API for the viewer's front page (issue 17)"
RULES = {"open": "false", "http": "free", "auth-failure-delay": "0"}




def exchanges(b, query=""):
    status, _, body = api_call(b, "GET", "/api/v1/exchanges" + query, token=False)
    assert status == 200, (status, body)
    return {e["prefix"]: e for e in body["exchanges"]}, [e["prefix"] for e in body["exchanges"]]


@case(versions=(V5,), broker_args=RULES, hydrant_only=WHY)
def exchanges_carry_owner_name_declared_and_recent_buckets(t):
    b = t.broker
    token = b.add_user("gerrit")
    assert api_call(b, "POST", "/api/v1/admin/exchanges",
                {"owner": "gerrit", "name": "v1/change-merged"})[0] == 201
    assert api_call(b, "POST", "/api/v1/admin/exchanges",
                {"owner": "gerrit", "name": "v1/ref-updated"})[0] == 201
    p = t.raw(connect=False)
    p.connect(t.uid(), username="gerrit", password=token)
    pid = iter(range(1, 100))
    def publish(topic):
        p.publish(topic, b'{"type": "x"}', qos=1, pid=next(pid))
        assert p.expect(PUBACK).f["rc"] == 0
    before_ms = int(time.time() * 1000)
    publish("exchange/gerrit/v1/patchset-created/project-a")
    for project in ("a", "b", "c"):
        publish(f"exchange/gerrit/v1/change-merged/project-{project}")
    after_ms = int(time.time() * 1000)

    def listed():
        return exchanges(b, "?kind=exchange")[0]
    wait_until(lambda: listed().get("exchange/gerrit/v1/change-merged", {}).get("messages") == 3,
               5, what=f"the declared exchange counted {listed()}")
    rows, order = exchanges(b, "?kind=exchange")
    merged = rows["exchange/gerrit/v1/change-merged"]
    assert merged["kind"] == "exchange" and merged["owner"] == "gerrit", merged
    assert merged["name"] == "v1/change-merged" and merged["declared"] is True, merged
    assert before_ms - 1000 <= merged["last_publish_ms"] <= after_ms + 1000, (before_ms, merged)
    assert merged["last_publish"].endswith("Z"), merged  # the ISO time stays
    assert merged["recent"]["bucket_s"] == 20, merged
    buckets = merged["recent"]["messages"]
    # The publishes of a moment: in the newest bucket, or the one before when a 20-s boundary
    # fell between them and the request.
    assert len(buckets) == 30 and sum(buckets) == 3 and sum(buckets[-2:]) == 3, buckets
    # Registered by its first publish: not declared; its name has one level.
    first = rows["exchange/gerrit/v1"]
    assert first["owner"] == "gerrit" and first["name"] == "v1" and first["declared"] is False, first
    assert first["messages"] == 1 and sum(first["recent"]["messages"]) == 1, first
    # Declared, never published: listed with zeros, last; no time.
    quiet = rows["exchange/gerrit/v1/ref-updated"]
    assert quiet["declared"] is True and quiet["name"] == "v1/ref-updated", quiet
    assert quiet["messages"] == 0 and quiet["bytes"] == 0 and quiet["messages_per_s"] == 0, quiet
    assert quiet["last_publish"] is None and quiet["last_publish_ms"] is None, quiet
    assert quiet["recent"]["messages"] == [0] * 30, quiet
    assert order[-1] == "exchange/gerrit/v1/ref-updated", order
    assert order.index("exchange/gerrit/v1/change-merged") < order.index("exchange/gerrit/v1"), order
    # kind=prefix leaves exchanges out, declared ones included; limit still cuts.
    assert all(e["kind"] == "prefix" for e in exchanges(b, "?kind=prefix")[0].values())
    assert exchanges(b, "?limit=1")[1] == ["exchange/gerrit/v1/change-merged"]


@case(versions=(V5,), broker_args=RULES, hydrant_only=WHY)
def declared_exchange_without_traffic_is_listed(t):
    b = t.broker
    b.add_user("taskcluster")
    assert api_call(b, "POST", "/api/v1/admin/exchanges",
                {"owner": "taskcluster", "name": "v1/task-completed"})[0] == 201
    rows, order = exchanges(b)
    assert order == ["exchange/taskcluster/v1/task-completed"], order
    e = rows["exchange/taskcluster/v1/task-completed"]
    assert e == {"prefix": "exchange/taskcluster/v1/task-completed", "kind": "exchange",
                 "owner": "taskcluster", "name": "v1/task-completed", "declared": True,
                 "messages": 0, "bytes": 0, "messages_per_s": 0, "bytes_per_s": 0,
                 "last_publish": None, "last_publish_ms": None,
                 "recent": {"bucket_s": 20, "messages": [0] * 30}}, e


@case(versions=None, broker_args={"http": "free"}, hydrant_only=WHY)
def stats_count_connections_and_deliveries_by_transport(t):
    topic = t.topic()
    ws = t.client(transport="websockets")
    ws.subscribe(topic, qos=0)
    pub = t.client()

    def stats():
        return api_call(t.broker, "GET", "/api/v1/stats", token=False)[2]
    # The harness's probe of the port at start may still be closing: wait for the counts.
    expected = {"tcp": 1, "tls": 0, "ws": 1, "wss": 0}
    wait_until(lambda: stats()["connections_by_transport"] == expected, 5,
               what=f"connections {expected}: {stats()}")
    before = stats()
    assert before["clients_connected"] == 2, before  # the existing fields stay
    assert set(before["deliveries_by_transport"]) == {"tcp", "tls", "ws", "wss"}, before
    n = 3
    for i in range(n):
        pub.publish(topic, f'{{"i":{i}}}'.encode(), qos=0)
    ws.wait_messages(n)
    # The answer is cached for a second (api::ResponseCache): the counts show by then.
    wait_until(lambda: stats()["deliveries_by_transport"]["ws"] == before["deliveries_by_transport"]["ws"] + n, 5,
               what=f"{n} ws deliveries counted: {stats()}")
    after = stats()["deliveries_by_transport"]
    assert after["wss"] == 0 and after["tls"] == 0, after
    ws.disconnect()
    wait_until(lambda: stats()["connections_by_transport"]["ws"] == 0, 5,
               what="the ws connection to be uncounted")
