"""05 session: persistent sessions, session present, session expiry (MQTT 5), takeover, queued
and in-flight messages across reconnects. Each case runs for 3.1.1 and 5 where both have it.

"Persistent" means CleanSession 0 in 3.1.1 and Clean Start 0 + Session Expiry > 0 in MQTT 5.
"""

import time

from harness import (V311, V5, case, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP, DISCONNECT,
                     P_SESSION_EXPIRY, enc_ack, enc_disconnect, props5, PacketTypes)


def persistent_kw(v, expiry=300):
    """Raw CONNECT keywords for a session that survives disconnect."""
    if v == V5:
        return dict(clean=False, props=[(P_SESSION_EXPIRY, expiry)])
    return dict(clean=False)


def paho_persistent(t, cid, expiry=300, clean_first=False):
    """A paho client whose session persists (connected)."""
    c = t.client(client_id=cid, clean=clean_first if t.v == V311 else False, connect=False)
    if t.v == V5:
        c.connect(clean_start=clean_first,
                  properties=props5(PacketTypes.CONNECT, SessionExpiryInterval=expiry))
    else:
        c.connect()
    return c


@case()
def session_present_on_resume(t):
    """Persistent session: first CONNACK session present 0, after reconnect 1 [MQTT-3.2.2-2/-3]."""
    cid = t.uid()
    a = t.raw(connect=False)
    p = a.connect(cid, **persistent_kw(t.v))
    assert p.f["session_present"] == 0, p
    a.disconnect()
    b = t.raw(connect=False)
    p = b.connect(cid, **persistent_kw(t.v))
    assert p.f["session_present"] == 1, p


@case()
def clean_session_discards(t):
    """A clean connect discards the stored session: session present 0, old subscriptions gone
    [MQTT-3.1.2-6 / MQTT-3.1.2-4]."""
    cid = t.uid()
    a = t.raw(connect=False)
    a.connect(cid, **persistent_kw(t.v))
    a.subscribe([("s/clean", 1)])
    a.disconnect()
    b = t.raw(connect=False)
    p = b.connect(cid, clean=True)
    assert p.f["session_present"] == 0, p
    t.client().publish("s/clean", b"x", qos=1)
    b.expect_nothing(0.5)


@case()
def subscriptions_survive_reconnect(t):
    """Subscriptions of a persistent session apply after reconnect without re-subscribing."""
    cid = t.uid()
    a = t.raw(connect=False)
    a.connect(cid, **persistent_kw(t.v))
    a.subscribe([("s/keep", 1)])
    a.disconnect()
    b = t.raw(connect=False)
    b.connect(cid, **persistent_kw(t.v))
    t.client().publish("s/keep", b"after", qos=1)
    p = b.expect(PUBLISH)
    assert p.f["payload"] == b"after", p


@case()
def queued_messages_delivered_on_reconnect(t):
    """QoS 1 and 2 messages published while a persistent client is offline are delivered, in
    order, when it reconnects [MQTT-3.1.2-5]."""
    cid = t.uid()
    a = t.raw(connect=False)
    a.connect(cid, **persistent_kw(t.v))
    a.subscribe([("s/q", 2)])
    a.disconnect()
    pub = t.client()
    for i in range(10):
        pub.publish("s/q", str(i).encode(), qos=1 + i % 2)
    b = t.raw(connect=False)
    p = b.connect(cid, **persistent_kw(t.v))
    assert p.f["session_present"] == 1
    got = []
    while len(got) < 10:
        p = b.recv(5)
        if p.type == PUBREL:
            b.send(enc_ack(PUBCOMP, t.v, p.f["pid"]))
            continue
        assert p.type == PUBLISH, p
        got.append((int(p.f["payload"]), p.f["qos"]))
        b.send(enc_ack(PUBACK if p.f["qos"] == 1 else PUBREC, t.v, p.f["pid"]))
    assert got == [(i, 1 + i % 2) for i in range(10)], got


@case()
def unacked_qos1_redelivered_with_dup(t):
    """A QoS 1 delivery not acknowledged before the connection drops is re-sent on reconnect
    with DUP 1 and the same packet id [MQTT-4.4.0-1, MQTT-3.3.1-1]."""
    cid = t.uid()
    a = t.raw(connect=False)
    a.connect(cid, **persistent_kw(t.v))
    a.subscribe([("s/redeliver", 1)])
    t.client().publish("s/redeliver", b"again", qos=1)
    first = a.expect(PUBLISH)
    assert first.f["dup"] == 0
    a.close()  # no PUBACK, no DISCONNECT
    b = t.raw(connect=False)
    deadline = time.monotonic() + 5
    while True:  # the broker may not have noticed the close yet: takeover is fine too
        p = b.connect(cid, **persistent_kw(t.v))
        if p.f["session_present"] == 1:
            break
        assert time.monotonic() < deadline, "session lost"
    again = b.expect(PUBLISH)
    assert again.f["payload"] == b"again" and again.f["dup"] == 1, again
    assert again.f["pid"] == first.f["pid"], (first, again)
    b.send(enc_ack(PUBACK, t.v, again.f["pid"]))
    b.expect_nothing(0.3)


@case()
def qos2_pubrel_resent_after_reconnect(t):
    """A subscriber that sent PUBREC but dropped before PUBCOMP gets the PUBREL again on
    reconnect [MQTT-4.4.0-1], and not the PUBLISH."""
    cid = t.uid()
    a = t.raw(connect=False)
    a.connect(cid, **persistent_kw(t.v))
    a.subscribe([("s/q2", 2)])
    t.client().publish("s/q2", b"x", qos=2)
    p = a.expect(PUBLISH)
    a.send(enc_ack(PUBREC, t.v, p.f["pid"]))
    a.expect(PUBREL)
    a.close()
    b = t.raw(connect=False)
    b.connect(cid, **persistent_kw(t.v))
    rel = b.expect(PUBREL)
    assert rel.f["pid"] == p.f["pid"], rel
    b.send(enc_ack(PUBCOMP, t.v, rel.f["pid"]))
    b.expect_nothing(0.3)


@case()
def takeover_closes_old_connection(t):
    """A second CONNECT with the same client id takes over: the old connection is closed
    [MQTT-3.1.4-2] and the new one works."""
    cid = t.uid()
    old = t.raw(client_id=cid)
    new = t.raw(client_id=cid)
    got = old.wait_closed(5)
    assert all(p.type == DISCONNECT for p in got), got
    if t.v == V311:
        assert got == [], got
    new.ping()


@case(versions=(V5,), hydrant_only="mosquitto 2.0.11 deviates: closes the old MQTT 5 connection "
                                   "without DISCONNECT 0x8E [MQTT-3.1.4-3]")
def takeover_sends_disconnect_0x8e(t):
    """MQTT 5 takeover: the old connection gets DISCONNECT 0x8E Session taken over, then close
    [MQTT-3.1.4-3]."""
    cid = t.uid()
    old = t.raw(client_id=cid)
    t.raw(client_id=cid)
    got = old.wait_closed(5)
    assert len(got) == 1 and got[0].type == DISCONNECT and got[0].f["rc"] == 0x8E, got


@case()
def takeover_keeps_persistent_session(t):
    """Takeover with a persistent session: the new connection gets session present 1 and the
    subscriptions made on the old one."""
    cid = t.uid()
    old = t.raw(connect=False)
    old.connect(cid, **persistent_kw(t.v))
    old.subscribe([("s/take", 1)])
    new = t.raw(connect=False)
    p = new.connect(cid, **persistent_kw(t.v))
    assert p.f["session_present"] == 1, p
    old.wait_closed(5)
    t.client().publish("s/take", b"to-new", qos=1)
    assert new.expect(PUBLISH).f["payload"] == b"to-new"


@case()
def takeover_churn(t):
    """A lesson from NanoMQ: 30 rapid takeovers of one client id stay clean; the last
    connection works and every earlier one was closed."""
    cid = t.uid()
    conns = []
    for _ in range(30):
        r = t.raw(client_id=cid)
        conns.append(r)
    for r in conns[:-1]:
        r.wait_closed(5)
    conns[-1].ping()


@case(versions=(V5,))
def v5_expiry_zero_discards_on_disconnect(t):
    """MQTT 5: Clean Start 0 with Session Expiry 0 (absent): the session ends at disconnect, so
    the next CONNACK has session present 0 [MQTT-3.1.2-23 note]."""
    cid = t.uid()
    a = t.raw(connect=False)
    a.connect(cid, clean=False)
    a.subscribe([("s/x", 1)])
    a.disconnect()
    b = t.raw(connect=False)
    p = b.connect(cid, clean=False)
    assert p.f["session_present"] == 0, p


@case(versions=(V5,))
def v5_disconnect_sets_expiry_zero(t):
    """MQTT 5: DISCONNECT may set Session Expiry to 0, ending a persistent session at once."""
    cid = t.uid()
    a = t.raw(connect=False)
    a.connect(cid, **persistent_kw(V5, 300))
    a.subscribe([("s/y", 1)])
    a.disconnect(rc=0, props=[(P_SESSION_EXPIRY, 0)])
    b = t.raw(connect=False)
    p = b.connect(cid, clean=False)
    assert p.f["session_present"] == 0, p


@case(versions=(V5,))
def v5_disconnect_expiry_from_zero_is_error(t):
    """Setting a non-zero Session Expiry on DISCONNECT when CONNECT had 0 is a protocol error
    [MQTT-3.14.2-2]: the server answers DISCONNECT 0x82."""
    a = t.raw()
    a.send(enc_disconnect(V5, 0, [(P_SESSION_EXPIRY, 30)]))
    got = a.wait_closed(5)
    assert got and got[0].type == DISCONNECT and got[0].f["rc"] == 0x82, got


@case(versions=(V5,))
def v5_session_expires(t):
    """MQTT 5: a session with Session Expiry 1 s is gone after it elapses (session present 0).
    (Waits out the expiry the case itself configured; no result is polled by sleeping.)"""
    cid = t.uid()
    a = t.raw(connect=False)
    a.connect(cid, **persistent_kw(V5, 1))
    a.disconnect()
    time.sleep(2.2)
    b = t.raw(connect=False)
    p = b.connect(cid, clean=False, props=[(P_SESSION_EXPIRY, 1)])
    assert p.f["session_present"] == 0, p


@case(versions=(V5,), broker_args={"max-session-expiry": 10},
      hydrant_only="max-session-expiry is a hydrant config key")
def v5_session_expiry_capped(t):
    """--max-session-expiry 10: a requested 3600 s is answered with Session Expiry 10 in
    CONNACK [MQTT-3.2.2-?: server-chosen interval is returned]."""
    a = t.raw(connect=False)
    p = a.connect(t.uid(), props=[(P_SESSION_EXPIRY, 3600)])
    assert p.prop(P_SESSION_EXPIRY) == 10, p


@case(broker_args={"max-queued-messages": 5})
def offline_queue_limit(t):
    """--max-queued-messages 5: of 12 QoS 1 messages sent to an offline session, exactly 5 are
    delivered on reconnect; the broker keeps running and later messages flow."""
    cid = t.uid()
    a = t.raw(connect=False)
    a.connect(cid, **persistent_kw(t.v))
    a.subscribe([("s/lim", 1)])
    a.disconnect()
    pub = t.client()
    for i in range(12):
        pub.publish("s/lim", str(i).encode(), qos=1)
    b = t.raw(connect=False)
    b.connect(cid, **persistent_kw(t.v))
    got = []
    while True:
        try:
            p = b.expect(PUBLISH, timeout=1.0)
        except AssertionError:
            break
        got.append(int(p.f["payload"]))
        b.send(enc_ack(PUBACK, t.v, p.f["pid"]))
    assert len(got) == 5, f"expected exactly 5 queued messages, got {got}"
    assert got == sorted(got), got
    pub.publish("s/lim", b"live", qos=1)
    assert b.expect(PUBLISH).f["payload"] == b"live"


@case(broker_args={"threads": 4}, hydrant_only="exercises hydrant's cross-thread takeover")
def takeover_churn_across_threads(t):
    """issue 2: the same client id reconnecting over and over (a browser tab's reconnect loop),
    with connections landing on different worker threads, leaves exactly one live session that
    still holds its subscription and queued messages; the broker neither crashes nor leaks."""
    cid = t.uid("churn")
    first = t.raw(connect=False)
    first.connect(cid, **persistent_kw(t.v))
    first.subscribe([(t.topic("churn"), 1)])
    pub = t.client()
    for i in range(30):
        r = t.raw(connect=False)
        p = r.connect(cid, **persistent_kw(t.v))
        assert p.f["session_present"] == 1, (i, p)
        pub.publish(t.topic("churn"), f"m{i}".encode(), qos=1)
    last = t.raw(connect=False)
    p = last.connect(cid, **persistent_kw(t.v))
    assert p.f["session_present"] == 1, p
    pub.publish(t.topic("churn"), b"final", qos=1)
    # Messages left unacknowledged by the replaced connections are re-sent to the last one;
    # whatever else arrives, "final" must, exactly once.
    finals = 0
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            pkt = last.expect(PUBLISH, timeout=1.0)
        except AssertionError:
            break
        if pkt.f["qos"] and pkt.f.get("pid"):
            last.send(enc_ack(PUBACK, t.v, pkt.f["pid"]))
        if pkt.f["payload"] == b"final":
            finals += 1
    assert finals == 1, finals
