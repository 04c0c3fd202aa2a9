"""14 access: the Pulse access model without --open (issue 5). Anonymous clients read exchanges
and $SYS/broker; users (clientId + access token from `hydrant user add`) publish JSON under their
own exchange/<clientId>/; persistent sessions are queues named queue/<clientId>/<name>. Every
refusal is checked with its reason code, in MQTT 5 and in 3.1.1, with real clients.
"""

import json
import os
import time

from harness import (V311, V5, case, PUBLISH, PUBACK, enc_connect, P_SESSION_EXPIRY,
                     P_CONTENT_TYPE, P_MAXIMUM_PACKET_SIZE, P_REASON_STRING, enc_publish,
                     enc_subscribe, expect_connect_refused, expect_violation, wait_until,
                     mosquitto_pub)

RULES = {"open": "false", "auth-failure-delay": "300"}
WHY = "hydrant's access model (issue 5)"
SAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "samples")

NOT_AUTHORIZED, BAD_CREDENTIALS, QUOTA = 0x87, 0x86, 0x97
PAYLOAD_INVALID, TOO_LARGE, MAX_CONNECT_TIME = 0x99, 0x95, 0xA0
CONNACK_311_BAD_CREDENTIALS, CONNACK_311_NOT_AUTHORIZED = 4, 5


def sample(name):
    with open(os.path.join(SAMPLES, name), "rb") as f:
        return f.read()


def rules(**extra):
    return dict(RULES, **extra)


def publisher(t, name="gerrit"):
    """A user and a raw connection authenticated as it; returns (raw, token)."""
    token = t.broker.add_user(name, "--owner", f"{name}-team@example.org")
    r = t.raw(connect=False)
    r.connect(t.uid(name), username=name, password=token)
    return r, token


def expect_refused_publish(r, code, qos=1, pid=7):
    """MQTT 5 QoS 1: PUBACK with `code`; QoS 0 and every 3.1.1 refusal: the connection ends."""
    if r.v == V5 and qos:
        ack = r.expect(PUBACK)
        assert ack.f["pid"] == pid and ack.f["rc"] == code, ack
        assert r.ping()  # still connected
    else:
        expect_violation(r, code)


@case(broker_args=rules(), hydrant_only=WHY, versions=(V5,))
def new_publisher_reaches_anonymous_reader(t):
    """Issue 5's "done when": one command creates a publisher, a real sample published to its
    exchange reaches an anonymous mosquitto_sub; the token is the last line of stdout."""
    token = t.broker.add_user("hgpushes", "--owner", "hg@example.org")
    assert len(token) >= 43, token  # 256 random bits in base64url
    sub = t.mosquitto_sub("exchange/hgpushes/#", count=1)
    sub.wait_subscribed()
    body = json.dumps(json.loads(sample("hg-push.json")))  # one line: mosquitto_sub prints lines
    r = mosquitto_pub(t.port, t.v, "exchange/hgpushes/v2/try", body, qos=1,
                      extra=["-u", "hgpushes", "-P", token, "-i", t.uid("pub")])
    assert r.returncode == 0, r.stderr
    assert sub.wait_exit() == 0
    got = sub.messages()
    assert got, sub.lines
    topic, _, payload = got[0].partition(" ")
    assert topic == "exchange/hgpushes/v2/try", got
    assert json.loads(payload) == json.loads(body)


@case(broker_args=rules(), hydrant_only=WHY)
def anonymous_publish_refused(t):
    """Anonymous PUBLISH: MQTT 5 QoS 1 gets PUBACK 0x87 and stays; QoS 0 gets DISCONNECT 0x87;
    3.1.1 is disconnected. Nothing reaches a subscriber."""
    sub = t.raw()
    sub.subscribe([("#", 0)])
    anon = t.raw()
    body = sample("gerrit-change-merged.json")
    anon.publish("exchange/gerrit/v1/change-merged", body, qos=1, pid=7)
    expect_refused_publish(anon, NOT_AUTHORIZED)
    if t.v == V5:
        anon.publish("exchange/gerrit/v1/change-merged", body, qos=0)
        expect_violation(anon, NOT_AUTHORIZED)
    sub.expect_nothing(0.3)
    assert "anonymous clients may not publish" in t.broker.stderr_text()


@case(broker_args=rules(), hydrant_only=WHY)
def publish_outside_own_exchange_refused(t):
    """A user publishes only under exchange/<own clientId>/<name>/...: another user's exchange
    and a topic outside exchange/ get 0x87, the bare exchange/<clientId> 0x90 Topic Name invalid
    (3.1.1: disconnected)."""
    t.broker.add_user("bugzilla")
    token = t.broker.add_user("gerrit")
    body = sample("bugzilla-bug-modify.json")
    for topic, code in (("exchange/bugzilla/v1/bug.modify", NOT_AUTHORIZED),
                        ("bugs/modify", NOT_AUTHORIZED),
                        ("$SYS/broker/uptime", NOT_AUTHORIZED),
                        ("exchange/gerrit", 0x90)):
        r = t.raw(connect=False)
        r.connect(t.uid(), username="gerrit", password=token)
        r.publish(topic, body, qos=1, pid=7)
        expect_refused_publish(r, code)


@case(broker_args=rules(**{"payload-hard-limit": "4096", "payload-soft-limit": "1024"}),
      hydrant_only=WHY)
def exchange_payload_rules(t):
    """On an exchange: non-JSON, invalid UTF-8 and a content type other than application/json
    get 0x99; above the hard limit 0x95; above the soft limit accepted, counted and logged."""
    token = t.broker.add_user("ci")
    sub = t.raw()
    sub.subscribe([("exchange/ci/#", 1)])
    topic = "exchange/ci/v1/task"
    ok = json.dumps({"filler": "x" * 2000}).encode()  # between soft and hard limit
    refusals = [(b"not json at all", None, PAYLOAD_INVALID),
                (b'{"name": "\xff"}', None, PAYLOAD_INVALID),
                (json.dumps({"filler": "x" * 5000}).encode(), None, TOO_LARGE)]
    if t.v == V5:
        refusals.append((b'{"a": 1}', [(P_CONTENT_TYPE, "text/plain")], PAYLOAD_INVALID))
    for payload, props, code in refusals:
        r = t.raw(connect=False)
        r.connect(t.uid(), username="ci", password=token)
        r.send(enc_publish(t.v, topic, payload, qos=1, pid=7, props=props))
        expect_refused_publish(r, code)
    sub.expect_nothing(0.3)
    r = t.raw(connect=False)
    r.connect(t.uid(), username="ci", password=token)
    props = [(P_CONTENT_TYPE, "application/json")] if t.v == V5 else None
    r.send(enc_publish(t.v, topic, ok, qos=1, pid=8, props=props))
    assert r.expect(PUBACK).f["rc"] == 0
    got = sub.expect(PUBLISH)
    assert got.f["payload"] == ok
    wait_until(lambda: "event=payload-over-soft-limit" in t.broker.stderr_text(), 5,
               what="soft-limit log line")


@case(broker_args=rules(), hydrant_only=WHY)
def wrong_credentials_refused_late(t):
    """A wrong token and an unknown user get the same answer, CONNACK "bad user name or
    password" (0x86; 3.1.1: 4), after the configured delay, and a log line."""
    t.broker.add_user("gerrit")
    for user, password in (("gerrit", "wrong-token"), ("nobody", "wrong-token")):
        r = t.raw(connect=False)
        started = time.monotonic()
        r.send(enc_connect(t.v, t.uid(), username=user, password=password))
        expect_connect_refused(r, BAD_CREDENTIALS, CONNACK_311_BAD_CREDENTIALS,
                               require_connack=True)
        assert time.monotonic() - started >= 0.25, "answered without the delay"
    wait_until(lambda: t.broker.stderr_text().count("event=auth-failed") >= 2, 5,
               what="auth-failed log lines")


@case(broker_args=rules(), hydrant_only=WHY)
def anonymous_session_not_persistent(t):
    """Anonymous clients hold no persistent session: MQTT 5 is told Session Expiry 0 in
    CONNACK; 3.1.1 with clean session 0 is refused "not authorized"."""
    r = t.raw(connect=False)
    if t.v == V5:
        ack = r.connect(t.uid(), clean=False, props=[(P_SESSION_EXPIRY, 300)])
        assert ack.prop(P_SESSION_EXPIRY) == 0, ack
    else:
        r.send(enc_connect(t.v, t.uid(), clean=False))
        expect_connect_refused(r, NOT_AUTHORIZED, CONNACK_311_NOT_AUTHORIZED)


@case(broker_args=rules(), hydrant_only=WHY)
def queue_belongs_to_its_owner(t):
    """queue/<clientId>/<name> is a persistent session only its owner may open: another user and
    an anonymous client are refused (0x87; 3.1.1: 5), the owner's session persists."""
    owner = t.broker.add_user("treeherder")
    other = t.broker.add_user("mallory")
    qid = "queue/treeherder/jobs"
    persist = dict(clean=False, props=[(P_SESSION_EXPIRY, 600)]) if t.v == V5 else dict(clean=False)
    r = t.raw(connect=False)
    ack = r.connect(qid, username="treeherder", password=owner, **persist)
    if t.v == V5:
        assert ack.prop(P_SESSION_EXPIRY) in (None, 600), ack
    r.subscribe([("exchange/#", 1)])
    for creds in (dict(username="mallory", password=other), {}):
        h = t.raw(connect=False)
        h.send(enc_connect(t.v, qid, **persist, **creds))
        expect_connect_refused(h, NOT_AUTHORIZED, CONNACK_311_NOT_AUTHORIZED)
    assert r.ping()  # the owner's connection was not taken over
    r.disconnect()
    again = t.raw(connect=False)
    ack = again.connect(qid, username="treeherder", password=owner, **persist)
    assert ack.f["session_present"] == 1, ack


@case(broker_args=rules(), hydrant_only=WHY)
def revoked_credentials_close_connections(t):
    """`hydrant token rotate` closes connections made with the old token and the old token stops
    working; `hydrant user delete` closes the user's connections (MQTT 5: DISCONNECT 0x87)."""
    r, token = publisher(t, "gerrit")
    new_token = t.broker.admin("token", "rotate", "gerrit").stdout.strip().splitlines()[-1]
    assert new_token != token
    expect_violation(r, NOT_AUTHORIZED, timeout=10)
    old = t.raw(connect=False)
    old.send(enc_connect(t.v, t.uid(), username="gerrit", password=token))
    expect_connect_refused(old, BAD_CREDENTIALS, CONNACK_311_BAD_CREDENTIALS, require_connack=True)
    fresh = t.raw(connect=False)
    fresh.connect(t.uid(), username="gerrit", password=new_token)
    t.broker.admin("user", "delete", "gerrit")
    expect_violation(fresh, NOT_AUTHORIZED, timeout=10)
    gone = t.raw(connect=False)
    gone.send(enc_connect(t.v, t.uid(), username="gerrit", password=new_token))
    expect_connect_refused(gone, BAD_CREDENTIALS, CONNACK_311_BAD_CREDENTIALS, require_connack=True)


@case(broker_args=rules(), hydrant_only=WHY)
def signed_tokens(t):
    """`hydrant token sign` makes a short-lived HS256 JWT accepted as the password: scope
    publish may publish; scope subscribe may not (0x87); a token for another user name is
    refused; at expiry the connection is closed (MQTT 5: DISCONNECT 0xA0)."""
    t.broker.add_user("taskcluster")
    def sign(scope, ttl):
        r = t.broker.admin("token", "sign", "taskcluster", "--scope", scope, "--ttl", ttl)
        return r.stdout.strip().splitlines()[-1]
    pub_jwt = sign("publish", "3s")
    assert pub_jwt.count(".") == 2, pub_jwt
    sub = t.raw()
    sub.subscribe([("exchange/taskcluster/#", 0)])
    p = t.raw(connect=False)
    p.connect(t.uid(), username="taskcluster", password=pub_jwt)
    p.publish("exchange/taskcluster/v1/task-completed", sample("gerrit-change-merged.json"),
              qos=1, pid=3)
    assert p.expect(PUBACK).f["rc"] == 0
    assert sub.expect(PUBLISH).f["topic"] == "exchange/taskcluster/v1/task-completed"
    s = t.raw(connect=False)
    s.connect(t.uid(), username="taskcluster", password=sign("subscribe", "1m"))
    s.publish("exchange/taskcluster/v1/x", b"{}", qos=1, pid=7)
    expect_refused_publish(s, NOT_AUTHORIZED)
    w = t.raw(connect=False)
    w.send(enc_connect(t.v, t.uid(), username="someone-else", password=pub_jwt))
    expect_connect_refused(w, BAD_CREDENTIALS, CONNACK_311_BAD_CREDENTIALS, require_connack=True)
    expect_violation(p, MAX_CONNECT_TIME, timeout=8)


@case(broker_args=rules(**{"anon-max-connections-per-ip": "3"}), hydrant_only=WHY)
def anonymous_connections_capped_per_ip(t):
    """The 4th anonymous connection from one address is refused (0x97; 3.1.1: 3 server
    unavailable); users do not count; a freed slot can be used again."""
    held = [t.raw() for _ in range(3)]
    extra = t.raw(connect=False)
    extra.send(enc_connect(t.v, t.uid()))
    expect_connect_refused(extra, QUOTA, 3)
    t.broker.add_user("gerrit")
    publisher(t, "gerrit-2")  # an authenticated connection is not capped
    held[0].disconnect()
    time.sleep(0.2)
    t.raw()


@case(broker_args=rules(**{"anon-max-subscriptions": "2", "anon-max-packet-size": "256"}),
      hydrant_only=WHY)
def anonymous_limits(t):
    """An anonymous connection holds at most anon-max-subscriptions filters (0x97; 3.1.1: 0x80),
    and sends no packet above anon-max-packet-size (announced in the MQTT 5 CONNACK)."""
    r = t.raw(connect=False)
    ack = r.connect(t.uid())
    if t.v == V5:
        assert ack.prop(P_MAXIMUM_PACKET_SIZE) == 256, ack
    ack = r.subscribe([("exchange/a/#", 0), ("exchange/b/#", 0), ("exchange/c/#", 0)])
    codes = ack.f["codes"]
    assert codes == [0, 0, QUOTA if t.v == V5 else 0x80], codes
    if t.v == V5:  # the reason, for a client to tell its user (issue 17)
        assert ack.prop(P_REASON_STRING), ack
    assert r.subscribe([("exchange/a/#", 1)], pid=2).f["codes"] == [1]  # replacing is fine
    r.send(enc_subscribe(t.v, 3, [("exchange/" + "x" * 300, 0)]))
    expect_violation(r, TOO_LARGE)


@case(broker_args=rules(), hydrant_only=WHY)
def subscribe_rules(t):
    """Anonymous: exchange/..., '#', '+/...' and $SYS/broker/... are allowed; other topics,
    $SYS/# and someone's notices are refused (0x87; 3.1.1: 0x80). A user reads its own notices."""
    refused = NOT_AUTHORIZED if t.v == V5 else 0x80
    r = t.raw()
    filters = ["exchange/#", "#", "+/gerrit/#", "$SYS/broker/#", "other/#", "$SYS/#",
               "$SYS/hydrant/notices/gerrit", "$share/g/exchange/#"]
    ack = r.subscribe([(f, 0) for f in filters])
    codes = ack.f["codes"]
    assert codes == [0, 0, 0, 0, refused, refused, refused, 0], dict(zip(filters, codes))
    if t.v == V5:  # the first refusal's reason (issue 17)
        assert ack.prop(P_REASON_STRING), ack
    token = t.broker.add_user("gerrit")
    u = t.raw(connect=False)
    u.connect(t.uid(), username="gerrit", password=token)
    codes = u.subscribe([("$SYS/hydrant/notices/gerrit", 0), ("$SYS/hydrant/notices/other", 0)]).f["codes"]
    assert codes == [0, refused], codes


@case(broker_args=rules(), hydrant_only=WHY)
def anonymous_will_refused(t):
    """A will is a publish: an anonymous CONNECT with a will is refused (0x87; 3.1.1: 5)."""
    r = t.raw(connect=False)
    r.send(enc_connect(t.v, t.uid(), will=dict(topic="exchange/x/y", payload=b"{}")))
    expect_connect_refused(r, NOT_AUTHORIZED, CONNACK_311_NOT_AUTHORIZED)


@case(versions=None, broker_args=rules(), hydrant_only=WHY)
def user_admin_commands(t):
    """`hydrant user ...`: invalid, reserved and duplicate names are refused with exit status 1
    and a reason; list/show --json describe users without their token."""
    b = t.broker
    token = b.add_user("gerrit", "--owner", "a@example.org", "--owner", "b@example.org")
    for name, why in (("9lives", "not a valid clientId"), ("admin", "reserved"),
                      ("gerrit", "already exists"), ("a/b", "not a valid clientId")):
        r = b.admin("user", "add", name, "--owner", "x@example.org", check=False)
        assert r.returncode == 1 and why in r.stderr, (name, r.returncode, r.stderr)
    r = b.admin("user", "add", "noowner", check=False)
    assert r.returncode == 1 and "at least one owner" in r.stderr, r.stderr
    r = b.admin("user", "add", "x", "--owner", "not-an-address", check=False)
    assert r.returncode == 1 and "e-mail" in r.stderr, r.stderr
    users = json.loads(b.admin("user", "list", "--json").stdout)["users"]
    assert [u["name"] for u in users] == ["gerrit"], users
    assert users[0]["owners"] == ["a@example.org", "b@example.org"]
    assert token not in b.admin("user", "list", "--json").stdout
    with open(os.path.join(b.data_dir, "users.json")) as f:
        assert token not in f.read()  # only the hash is stored
    assert oct(os.stat(os.path.join(b.data_dir, "users.json")).st_mode & 0o777) == "0o600"
    assert oct(os.stat(os.path.join(b.data_dir, "admin-token")).st_mode & 0o777) == "0o600"
    b.admin("user", "owners", "gerrit", "c@example.org")
    shown = json.loads(b.admin("user", "show", "gerrit", "--json").stdout)
    assert shown["owners"] == ["c@example.org"], shown
    r = b.admin("user", "show", "nobody", check=False)
    assert r.returncode == 1 and "no user" in r.stderr
    r = b.admin("user", "frobnicate", check=False)
    assert r.returncode == 2 and "usage" in r.stderr
    for args, status, why in ((("token", "sign", "gerrit", "--ttl", "5x"), 2, "--ttl"),
                              (("token", "sign", "gerrit", "--scope", "all"), 2, "--scope"),
                              (("token", "sign", "nobody"), 1, "no user"),
                              (("token", "rotate", "nobody"), 1, "no user")):
        r = b.admin(*args, check=False)
        assert r.returncode == status and why in r.stderr, (args, r.returncode, r.stderr)
    r = b.admin("user", "--help")
    assert "hydrant token sign" in r.stdout and "hydrant queue list" in r.stdout, r.stdout
    with open(os.path.join(b.data_dir, "audit.log")) as f:
        actions = [json.loads(line)["action"] for line in f]
    assert actions == ["user-add", "user-owners"], actions


@case(broker_args=rules(http="free"), hydrant_only=WHY)
def websocket_clients_follow_the_same_rules(t):
    """Over WebSocket (the viewer's transport) an anonymous client reads exchanges and may not
    publish; a user publishes under its exchange."""
    token = t.broker.add_user("gerrit")
    reader = t.client(transport="websockets")
    assert reader.subscribe("exchange/#", qos=1) == [1]
    anon = t.client(transport="websockets")
    if t.v == V5:
        info = anon.c.publish("exchange/gerrit/v1/x", b"{}", qos=1)
        info.wait_for_publish(5)
        reader.expect_no_message(0.3)
    else:
        anon.c.publish("exchange/gerrit/v1/x", b"{}", qos=1)
        anon.wait_disconnected(5)
    pub = t.client(transport="websockets", connect=False)
    pub.connect(username="gerrit", password=token)
    pub.publish("exchange/gerrit/v1/change-merged", sample("gerrit-change-merged.json"), qos=1)
    got = reader.wait_messages(1)
    assert got[0].topic == "exchange/gerrit/v1/change-merged", got


@case(broker_args=rules(), hydrant_only=WHY)
def retained_message_on_an_exchange_set_and_cleared(t):
    """A user's retained JSON message on its exchange reaches a later anonymous subscriber; an
    empty retained publish (how MQTT deletes one) is allowed on an exchange and clears it."""
    token = t.broker.add_user("ci")
    p = t.raw(connect=False)
    p.connect(t.uid(), username="ci", password=token)
    p.publish("exchange/ci/v1/latest", b'{"build": 42}', qos=1, retain=True, pid=1)
    assert p.expect(PUBACK).f["rc"] == 0
    first = t.raw()
    first.subscribe([("exchange/ci/#", 0)])
    m = first.expect(PUBLISH)
    assert m.f["payload"] == b'{"build": 42}' and m.f["retain"] == 1, m
    p.publish("exchange/ci/v1/latest", b"", qos=1, retain=True, pid=2)
    assert p.expect(PUBACK).f["rc"] == 0
    later = t.raw()
    later.subscribe([("exchange/ci/#", 0)])
    later.expect_nothing(0.3)


@case(versions=(V5,), broker_args=rules(), hydrant_only=WHY)
def broken_users_file_fails_closed(t):
    """A users file that stops parsing while the broker runs is refused with a log line: the
    running users stay (their tokens work, nobody new gets in) and anonymous publishing stays
    refused — reloading access rules never fails open."""
    token = t.broker.add_user("gerrit")
    path = os.path.join(t.broker.data_dir, "users.json")
    with open(path, "w") as f:
        f.write('{"format": 1, "users": [')  # a half-written edit by hand
    wait_until(lambda: "event=users-reload-refused" in t.broker.stderr_text(), 5,
               what="the refused reload")
    ok = t.raw(connect=False)
    ok.connect(t.uid(), username="gerrit", password=token)
    ok.publish("exchange/gerrit/v1/x", b"{}", qos=1, pid=1)
    assert ok.expect(PUBACK).f["rc"] == 0
    bad = t.raw(connect=False)
    bad.send(enc_connect(t.v, t.uid(), username="gerrit", password="guess"))
    expect_connect_refused(bad, BAD_CREDENTIALS, CONNACK_311_BAD_CREDENTIALS, require_connack=True)
    anon = t.raw()
    anon.publish("exchange/gerrit/v1/x", b"{}", qos=1, pid=1)
    assert anon.expect(PUBACK).f["rc"] == NOT_AUTHORIZED
