"""02 subscribe: SUBSCRIBE/SUBACK/UNSUBSCRIBE/UNSUBACK, wildcard matching, QoS downgrade,
overlapping subscriptions, $-topics. Each case runs for MQTT 3.1.1 and 5.

Not here: retained delivery on subscribe (04), MQTT 5 subscription options (09), malformed
SUBSCRIBE bytes (08).
"""

from harness import (V311, V5, case, P_REASON_STRING, PUBLISH, SUBACK, UNSUBACK, enc_subscribe, enc_unsubscribe,
                     wait_until)


@case()
def subscribe_exact_topic(t):
    sub = t.client()
    assert sub.subscribe("a/b", 0) == [0]
    pub = t.client()
    pub.publish("a/b", b"hello")
    m = sub.wait_messages(1)[0]
    assert (m.topic, m.payload, m.qos, m.retain) == ("a/b", b"hello", 0, False), m


@case()
def suback_grants_requested_qos(t):
    """One SUBSCRIBE with three filters -> SUBACK with codes 0, 1, 2 in order [MQTT-3.9.3-1]."""
    r = t.raw()
    r.send(enc_subscribe(t.v, 0x1234, [("q/0", 0), ("q/1", 1), ("q/2", 2)]))
    p = r.expect(SUBACK)
    assert p.f["pid"] == 0x1234 and p.f["codes"] == [0, 1, 2], p


@case()
def suback_many_filters(t):
    """A SUBSCRIBE with 40 filters gets 40 return codes."""
    r = t.raw()
    subs = [(f"many/{i}/+", i % 3) for i in range(40)]
    r.send(enc_subscribe(t.v, 7, subs))
    p = r.expect(SUBACK)
    assert p.f["codes"] == [i % 3 for i in range(40)], p


MATCH_CASES = [
    # filter, topic, should match
    ("a/+/c", "a/b/c", True),
    ("a/+/c", "a/b/x/c", False),
    ("a/+", "a/", True),          # empty level matches +
    ("a/#", "a", True),           # parent level [MQTT-4.7.1-2]
    ("a/#", "a/b/c/d", True),
    ("a/#", "ab/c", False),
    ("+/+", "/x", True),
    ("+", "/x", False),
    ("/#", "/x", True),
    ("#", "x/y/z", True),
    ("a/b", "a/b/", False),
    ("A/B", "a/b", False),        # case sensitive
    ("+/b/#", "x/b", True),
]


@case()
def wildcard_matching(t):
    """+ and # match per [MQTT-4.7.1]; each filter is checked against matching and
    non-matching topics, with a barrier message proving non-delivery."""
    pub = t.client()
    for i, (filt, topic, should) in enumerate(MATCH_CASES):
        sub = t.client()
        sub.subscribe(filt, 1)
        sub.subscribe("barrier/" + str(i), 1)
        pub.publish(topic, f"m{i}".encode(), qos=1)
        pub.publish("barrier/" + str(i), b"b", qos=1)
        sub.wait_messages(1, topic="barrier/" + str(i))
        got = [m for m in sub.messages if m.payload == f"m{i}".encode()]
        if should:
            # per-publisher ordering: the match was delivered before the barrier
            assert len(got) == 1 and got[0].topic == topic, (filt, topic, got)
        else:
            assert not got, f"filter {filt!r} must not match {topic!r}"
        sub.disconnect()


@case(broker_args={"sys-interval": 1})
def dollar_topics_not_matched_by_leading_wildcards(t):
    """Topics starting with $ ($SYS, published by the broker every second, retained) are not
    matched by filters starting with # or + [MQTT-4.7.2-1], neither on subscribe (retained)
    nor live; "$SYS/#" gets them."""
    hash_sub = t.client()
    hash_sub.subscribe("#", 0)
    plus_sub = t.client()
    plus_sub.subscribe("+/broker/uptime", 0)
    dollar_sub = t.client()
    dollar_sub.subscribe("$SYS/broker/uptime", 0)
    # the first copy is the retained one, the second a live periodic publish
    dollar_sub.wait_messages(2, timeout=5)
    pub = t.client()
    pub.publish("plain/x", b"plain", qos=1)
    hash_sub.wait_messages(1, topic="plain/x")
    hash_sub.expect_no_message(0.3, topic="$SYS/broker/uptime")
    assert not [m for m in hash_sub.messages if m.topic.startswith("$")], hash_sub.messages
    assert not plus_sub.messages, plus_sub.messages


@case()
def qos_downgrade_to_subscription(t):
    """Delivered QoS = min(publish QoS, subscription QoS) [MQTT-3.8.4-8 / 3.8.4-6]."""
    pub = t.client()
    subs = {}
    for sq in (0, 1, 2):
        c = t.client()
        c.subscribe("dg/t", sq)
        subs[sq] = c
    for pq in (0, 1, 2):
        pub.publish("dg/t", f"p{pq}".encode(), qos=pq)
    for sq, c in subs.items():
        ms = c.wait_messages(3)
        got = {m.payload: m.qos for m in ms}
        assert got == {f"p{pq}".encode(): min(pq, sq) for pq in (0, 1, 2)}, (sq, got)


@case()
def resubscribe_replaces_subscription(t):
    """Subscribing again to the same filter replaces it: one copy, at the new QoS
    [MQTT-3.8.4-3]."""
    sub = t.client()
    sub.subscribe("rs/t", 0)
    sub.subscribe("rs/t", 2)
    pub = t.client()
    pub.publish("rs/t", b"one", qos=2)
    pub.publish("rs/t", b"end", qos=2)
    sub.wait_for(lambda ms: any(m.payload == b"end" and m.qos == 2 for m in ms), 10, "end@2")
    sub.expect_no_message(0.3)
    got = [(m.payload, m.qos) for m in sub.messages]
    assert got == [(b"one", 2), (b"end", 2)], got


@case(hydrant_only="mosquitto 2.0.11 deviates: v5 sends one copy per matching subscription "
                   "(allowed), 3.1.1 sends a single copy at QoS 1 when the highest matching "
                   "subscription is QoS 2 (violates MQTT-3.3.5-1)")
def overlapping_subscriptions_delivered_once(t):
    """Overlapping filters on one session: one delivery at the maximum QoS of the matches
    [MQTT-3.3.5-1] (hydrant's choice; the spec allows extra copies)."""
    sub = t.client()
    sub.subscribe("ov/+", 0)
    sub.subscribe("ov/#", 2)
    sub.subscribe("ov/x", 1)
    pub = t.client()
    pub.publish("ov/x", b"once", qos=2)
    pub.publish("ov/x", b"end", qos=2)
    sub.wait_for(lambda ms: any(m.payload == b"end" and m.qos == 2 for m in ms), 10, "end@2")
    sub.expect_no_message(0.3)
    got = [(m.payload, m.qos) for m in sub.messages]
    assert got == [(b"once", 2), (b"end", 2)], f"expected one copy each at QoS 2, got {got}"


@case()
def overlapping_subscriptions_highest_qos(t):
    """Overlapping filters: the message arrives at least once at the maximum QoS of the
    matching subscriptions [MQTT-3.3.5-1] (extra copies are allowed by the spec)."""
    sub = t.client()
    sub.subscribe("ovq/+", 0)
    sub.subscribe("ovq/x", 2)
    pub = t.client()
    pub.publish("ovq/x", b"m", qos=2)
    sub.wait_for(lambda ms: any(m.qos == 2 and m.payload == b"m" for m in ms), 10,
                 "a QoS 2 copy")


@case()
def unsubscribe_stops_delivery(t):
    sub = t.client()
    sub.subscribe("us/t", 1)
    pub = t.client()
    pub.publish("us/t", b"before", qos=1)
    sub.wait_messages(1)
    sub.unsubscribe("us/t")
    pub.publish("us/t", b"after", qos=1)
    sub.expect_no_message(0.5)


@case()
def unsuback_bytes(t):
    """UNSUBACK carries the packet id; MQTT 5 adds one reason per filter: 0x00 for an existing
    subscription, 0x11 No subscription existed [MQTT-3.11.3-1]."""
    r = t.raw()
    r.subscribe([("un/a", 0)])
    r.send(enc_unsubscribe(t.v, 0x4321, ["un/a", "un/none"]))
    p = r.expect(UNSUBACK)
    assert p.f["pid"] == 0x4321, p
    if t.v == V311:
        assert p.raw == b"\xb0\x02\x43\x21", p.raw.hex(" ")
    else:
        assert p.f["codes"] == [0x00, 0x11], p


@case()
def invalid_filters_refused(t):
    """Malformed topic filters ("a/#/b", "a+", "#a", "a/b#") are never subscribed: v5 answers
    SUBACK 0x8F (Topic Filter invalid) or DISCONNECT 0x81/0x8F; 3.1.1 answers SUBACK 0x80 or
    closes [MQTT-4.7.1-1/-2]. A valid filter in the same broker still works."""
    for filt in ("a/#/b", "a+", "#a", "a/b#", "+a/b"):
        r = t.raw()
        r.send(enc_subscribe(t.v, 3, [(filt, 0)]))
        try:
            p = r.recv(5)
        except Exception:
            assert r.closed, f"{filt!r}: neither SUBACK nor close"
            continue
        if p.type == SUBACK:
            allowed = (0x8F,) if t.v == V5 else (0x80,)
            assert p.f["codes"] == [allowed[0]] or p.f["codes"][0] in allowed, (filt, p)
        else:
            assert t.v == V5 and p.type == 14 and p.f["rc"] in (0x81, 0x8F), (filt, p)
            r.wait_closed()
    ok = t.raw()
    ok.subscribe([("valid/#", 0)])


@case()
def subscription_survives_other_clients(t):
    """Fan-out: 20 subscribers on the same filter each get exactly one copy."""
    subs = [t.client() for _ in range(20)]
    for s in subs:
        s.subscribe("fan/+", 1)
    pub = t.client()
    pub.publish("fan/x", b"all", qos=1)
    for s in subs:
        ms = s.wait_messages(1)
        assert [m.payload for m in ms] == [b"all"], ms
    pub.publish("fan/barrier", b"b", qos=1)
    for s in subs:
        s.wait_messages(2)
        assert [m.payload for m in s.messages] == [b"all", b"b"], s.messages


@case()
def publisher_receives_own_message(t):
    """Without No Local, a client subscribed to its own topic receives its own publish."""
    c = t.client()
    c.subscribe("own/t", 1)
    c.publish("own/t", b"mine", qos=1)
    assert c.wait_messages(1)[0].payload == b"mine"


@case()
def unsubscribe_one_of_two_filters(t):
    """Unsubscribing one filter keeps the other: messages matching it still arrive once."""
    sub = t.client()
    sub.subscribe("two/+", 1)
    sub.subscribe("two/x", 1)
    sub.unsubscribe("two/x")
    pub = t.client()
    pub.publish("two/x", b"m", qos=1)
    pub.publish("two/y", b"n", qos=1)
    sub.wait_messages(2)
    wait_until(lambda: len(sub.messages) >= 2, 5)
    assert sorted(m.payload for m in sub.messages) == [b"m", b"n"], sub.messages


@case(broker_args={"deny-subscribe": "private/#"},
      hydrant_only="deny-subscribe is hydrant's; mosquitto 2.0.11 cannot refuse a SUBSCRIBE")
def denied_filter_refused(t):
    """issue 2: a filter the operator denies (deny-subscribe = private/#) is refused in SUBACK —
    0x87 Not authorized in MQTT 5, 0x80 in 3.1.1 — while the other filters of the same
    SUBSCRIBE are granted and the connection stays open; nothing published under it arrives."""
    sub = t.raw()
    p = sub.subscribe([("private/x", 1), ("private/#", 0), ("$share/g/private/y", 0), ("open/x", 1)])
    denied = 0x87 if t.v == V5 else 0x80
    assert p.f["codes"] == [denied, denied, denied, 1], p
    if t.v == V5:  # issue 17: the reason, for a client (the viewer) to show its user
        assert "deny-subscribe" in p.prop(P_REASON_STRING, ""), p
    t.client().publish("private/x", b"secret", qos=1)
    t.client().publish("open/x", b"fine", qos=1)
    m = sub.expect(PUBLISH)
    assert m.f["payload"] == b"fine", m
    sub.expect_nothing(0.3)
