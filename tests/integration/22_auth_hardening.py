"""22 auth hardening (issue 13): client identifiers that belong to registered users, wills
checked like publishes, signed-token lifetimes and revocation, escaped and rate-limited refusal
logs, and the per-address budget of failed authentications. Real broker, raw clients.
"""

import base64
import json
import time

from harness import (V311, V5, case, CONNACK, PUBACK, PUBLISH, P_CONTENT_TYPE, P_SESSION_EXPIRY,
                     enc_connect, expect_connect_refused, expect_violation, wait_until)

RULES = {"open": "false", "auth-failure-delay": "0"}
WHY = "hydrant's access model (issue 13)"
NOT_AUTHORIZED, CONNACK_311_NOT_AUTHORIZED = 0x87, 5


def rules(**extra):
    return dict(RULES, **extra)


def body(n):
    return json.dumps({"n": n})


def expect_delivery(reader, topic, payload, timeout=5.0):
    p = reader.expect(PUBLISH, timeout=timeout)
    assert p.f["topic"] == topic and p.f["payload"] == payload.encode(), p


# ---- item 2: identifiers of registered users ------------------------------------------------

@case(broker_args=rules(), hydrant_only=WHY)
def users_identifiers_refused_to_others(t):
    """A clientId equal to a user's name, or starting with "<user>-" or "<user>/", belongs to
    that user: anonymous clients and other users are refused (0x87; 3.1.1: 5) and the owner's
    live connection is not taken over: it keeps publishing to a reader."""
    token = t.broker.add_user("gerrit")
    other = t.broker.add_user("mallory")
    reader = t.raw()
    reader.subscribe([("exchange/gerrit/#", 0)])
    pub = t.raw(connect=False)
    pub.connect("gerrit-adapter", username="gerrit", password=token)
    for n, cid in enumerate(["gerrit", "gerrit-adapter", "gerrit/x", "gerrit-adapter-2"]):
        for creds in ({}, dict(username="mallory", password=other)):
            h = t.raw(connect=False)
            h.send(enc_connect(t.v, cid, **creds))
            expect_connect_refused(h, NOT_AUTHORIZED, CONNACK_311_NOT_AUTHORIZED)
        pub.publish("exchange/gerrit/v1/x", body(n))
        expect_delivery(reader, "exchange/gerrit/v1/x", body(n))
    assert pub.ping()
    # Identifiers that only look alike stay free.
    for cid in ("gerritx", "xgerrit-1", "gerri"):
        t.raw(client_id=cid).disconnect()


@case(broker_args=rules(), hydrant_only=WHY)
def owner_uses_its_identifiers(t):
    """The owner may use its name, <name>-... and <name>/...; with overlapping names ("bob" and
    "bob-ci") an identifier owned by both is usable by either, and by nobody else."""
    bob = t.broker.add_user("bob")
    ci = t.broker.add_user("bob-ci")
    eve = t.broker.add_user("eve")
    for cid in ("bob", "bob-x", "bob/y"):
        t.raw(client_id=cid, username="bob", password=bob).disconnect()
    for cid in ("bob-ci", "bob-ci-1"):
        t.raw(client_id=cid, username="bob-ci", password=ci).disconnect()
        t.raw(client_id=cid, username="bob", password=bob).disconnect()
        h = t.raw(connect=False)
        h.send(enc_connect(t.v, cid, username="eve", password=eve))
        expect_connect_refused(h, NOT_AUTHORIZED, CONNACK_311_NOT_AUTHORIZED)
    h = t.raw(connect=False)
    h.send(enc_connect(t.v, "bob-x", username="bob-ci", password=ci))  # bob's, not bob-ci's
    expect_connect_refused(h, NOT_AUTHORIZED, CONNACK_311_NOT_AUTHORIZED)


@case(broker_args=rules(), hydrant_only=WHY, versions=(V5,))
def clean_start_0_never_inherits(t):
    """MQTT 5 clean start 0 never resumes a session another connection made: on a user's
    identifier it is refused; on a free identifier the attacker starts a fresh session (Session
    Present 0) and receives nothing the victim subscribed to, its notices included."""
    token = t.broker.add_user("gerrit")
    pub = t.raw(connect=False)
    pub.connect("gerrit-adapter", username="gerrit", password=token)
    pub.subscribe([("exchange/#", 0), ("$SYS/hydrant/notices/gerrit", 0)])
    h = t.raw(connect=False)
    h.send(enc_connect(V5, "gerrit-adapter", clean=False, props=[(P_SESSION_EXPIRY, 0)]))
    expect_connect_refused(h, NOT_AUTHORIZED)
    assert pub.ping()
    # A free identifier: an anonymous victim with a subscription, then a takeover.
    victim = t.raw(client_id="shared-id")
    victim.subscribe([("exchange/#", 0)])
    thief = t.raw(connect=False)
    ack = thief.connect("shared-id", clean=False, props=[(P_SESSION_EXPIRY, 0)])
    assert ack.f["session_present"] == 0, ack
    pub.publish("exchange/gerrit/v1/x", body(1))
    thief.expect_nothing(1.0)


# ---- item 7: wills are checked like publishes -----------------------------------------------

PAYLOAD_INVALID, TOO_LARGE = 0x99, 0x95
WILL_LIMITS = {"payload-hard-limit": "16384", "payload-soft-limit": "8192"}


@case(broker_args=rules(**WILL_LIMITS), hydrant_only=WHY)
def wills_follow_the_exchange_rules(t):
    """A will that a PUBLISH could not send refuses the CONNECT with the PUBLISH's code (MQTT 5:
    0x99 not JSON / not UTF-8 / wrong content type, 0x95 above the hard limit; 3.1.1: rc 5),
    retained or not; nothing reaches an exchange subscriber and no will is retained. A valid will
    still goes out when its connection drops."""
    token = t.broker.add_user("gerrit")
    reader = t.raw()
    reader.subscribe([("exchange/#", 0)])
    topic = "exchange/gerrit/v1/will"
    big = json.dumps({"pad": "x" * 65000}).encode()
    bad = [(b"not json", PAYLOAD_INVALID), (b'"\xff\xfe"', PAYLOAD_INVALID), (big, TOO_LARGE)]
    if t.v == V5:
        bad.append((b"{}", PAYLOAD_INVALID, [(P_CONTENT_TYPE, "text/plain")]))
    for retain in (False, True):
        for payload, code, *props in bad:
            will = dict(topic=topic, payload=payload, qos=1, retain=retain,
                        props=props[0] if props else None)
            h = t.raw(connect=False)
            h.send(enc_connect(t.v, "gerrit-w", will=will, username="gerrit", password=token))
            expect_connect_refused(h, code, CONNACK_311_NOT_AUTHORIZED)
    reader.expect_nothing(1.0)
    late = t.raw()
    late.subscribe([("exchange/#", 0)])
    late.expect_nothing(0.5)  # no retained will
    ok = t.raw(connect=False)
    ok.connect("gerrit-w", will=dict(topic=topic, payload=b'{"gone":true}'), username="gerrit",
               password=token)
    ok.close()
    expect_delivery(reader, topic, '{"gone":true}')


# ---- item 4: signed tokens end with their user ------------------------------------------------

BAD_CREDENTIALS, CONNACK_311_BAD_CREDENTIALS = 0x86, 4


def sign(t, name, *extra, check=True):
    r = t.broker.admin("token", "sign", name, *extra, check=check)
    return r if not check else r.stdout.strip().splitlines()[-1]


def expect_bad_credentials(t, name, password):
    h = t.raw(connect=False)
    h.send(enc_connect(t.v, t.uid(name), username=name, password=password))
    expect_connect_refused(h, BAD_CREDENTIALS, CONNACK_311_BAD_CREDENTIALS, require_connack=True)


@case(broker_args=rules(), hydrant_only=WHY)
def signed_tokens_end_with_their_user(t):
    """A signed token issued before `token rotate` is refused and its open connection closed
    (MQTT 5: DISCONNECT 0x87), like an access token; `user delete` does the same to the tokens
    signed after the rotation; re-creating the user does not revive them."""
    t.broker.add_user("bob")
    old = sign(t, "bob")
    time.sleep(1.1)  # iat has a resolution of one second
    p = t.raw(connect=False)
    p.connect(t.uid("bob"), username="bob", password=old)
    t.broker.admin("token", "rotate", "bob")
    expect_violation(p, NOT_AUTHORIZED, timeout=10)
    expect_bad_credentials(t, "bob", old)
    new = sign(t, "bob")
    q = t.raw(connect=False)
    q.connect(t.uid("bob"), username="bob", password=new)
    q.publish("exchange/bob/v1/x", body(1), qos=1, pid=3)
    assert q.expect(PUBACK).f["rc"] == 0
    t.broker.admin("user", "delete", "bob")
    expect_violation(q, NOT_AUTHORIZED, timeout=10)
    expect_bad_credentials(t, "bob", new)
    time.sleep(1.1)
    t.broker.add_user("bob")
    expect_bad_credentials(t, "bob", new)


@case(broker_args=rules(**{"signed-token-max-hours": "1"}), hydrant_only=WHY, versions=(V5,))
def signed_token_lifetimes(t):
    """`token sign` makes 1-hour tokens by default and refuses --ttl above signed-token-max-hours
    (24 by default) with a clear error; the broker refuses tokens living longer than its own
    signed-token-max-hours (here 1) whoever signed them."""
    t.broker.add_user("ci")
    token = sign(t, "ci")
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["exp"] - claims["iat"] == 3600, claims
    t.raw(client_id=t.uid("ci"), username="ci", password=token).disconnect()
    r = sign(t, "ci", "--ttl", "2d", check=False)
    assert r.returncode != 0 and "signed-token-max-hours" in r.stderr, (r.returncode, r.stderr)
    expect_bad_credentials(t, "ci", sign(t, "ci", "--ttl", "2h"))


# ---- item 5 (log part): client strings are escaped and truncated in log lines ----------------

@case(broker_args=rules(), hydrant_only=WHY, versions=(V5,))
def log_lines_escape_client_strings(t):
    """A refused CONNECT whose clientId holds a newline and whose user name is 64 KB: the log has
    no forged line and no long line (client strings are escaped and cut to 128 bytes)."""
    t.broker.add_user("gerrit")
    forged = "\nevent=forged peer=10.0.0.1"
    h = t.raw(connect=False)
    h.send(enc_connect(V5, "x" + forged, username="u" * 65000 + forged, password="wrong"))
    expect_connect_refused(h, BAD_CREDENTIALS)
    h = t.raw(connect=False)
    h.send(enc_connect(V5, "gerrit-" + forged + "\x01\"\\"))
    expect_connect_refused(h, NOT_AUTHORIZED)
    wait_until(lambda: t.broker.stderr_text().count("event=closed") >= 1 and
               "event=auth-failed" in t.broker.stderr_text(), 10, what="refusals logged")
    lines = t.broker.stderr_text().splitlines()
    assert not [l for l in lines if l.startswith("event=forged")], lines[-10:]
    assert max(len(l) for l in lines) < 2000, max(len(l) for l in lines)
    assert any("\\nevent=forged" in l and "(65027 bytes)" in l for l in lines), lines[-10:]


# ---- item 5 (rate part) and item 12: refusals per address ------------------------------------

@case(broker_args=rules(**{"anon-max-connections-per-ip": "1000"}), hydrant_only=WHY,
      versions=(V5,))
def refusals_from_one_address_log_once_then_count(t):
    """300 refused CONNECTs from one address (a clientId owned by another user) write a handful
    of `event=closed` lines, not 300: one line per address and period, then a count. (Each
    refused connection is held for auth-failure-delay before it closes: the per-address cap on
    anonymous connections is raised so that it does not refuse them first.)"""
    t.broker.add_user("gerrit")
    for _ in range(300):
        h = t.raw(connect=False)
        h.send(enc_connect(V5, "gerrit-adapter"))
        expect_connect_refused(h, NOT_AUTHORIZED)
        h.close()
    lines = [l for l in t.broker.stderr_text().splitlines()
             if "event=closed" in l and "gerrit-adapter" in l]
    assert 1 <= len(lines) <= 10, (len(lines), lines[-3:])


RATE_EXCEEDED = 0x9F


@case(broker_args=rules(**{"auth-failure-burst": "5", "auth-failure-refill": "3"}),
      hydrant_only=WHY)
def failed_authentications_spend_the_address_budget(t):
    """After auth-failure-burst (5) wrong passwords from one address, its next credentialed
    CONNECT is refused unchecked — even with the right token — with 0x9F (3.1.1: 3, server
    unavailable) until the budget refills (one per 3 s); anonymous reading goes on meanwhile."""
    token = t.broker.add_user("ci")
    for _ in range(5):
        expect_bad_credentials(t, "ci", "wrong")
    h = t.raw(connect=False)
    h.send(enc_connect(t.v, t.uid("ci"), username="ci", password=token))
    expect_connect_refused(h, RATE_EXCEEDED, 3, require_connack=True)
    t.raw().disconnect()  # anonymous: no credentials, not refused
    wait_until(lambda: _connects(t, token), 10, what="budget refilled")


def _connects(t, token):
    h = t.raw(connect=False)
    h.send(enc_connect(t.v, t.uid("ci"), username="ci", password=token))
    try:
        ack = h.expect(CONNACK, timeout=2.0)
    except AssertionError:
        return False
    return ack.f["rc"] == 0
