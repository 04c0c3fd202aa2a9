"""09 MQTT 5 features: subscription identifiers, No Local, Retain As Published, Retain Handling,
message expiry, topic aliases (both directions), shared subscriptions, payload format
validation, request problem information, property pass-through.

All MQTT 5 only (shared subscriptions too: 3.1.1 does not define $share).
"""

import time

from harness import (V5, case, PUBLISH, PUBACK, SUBACK, UNSUBACK, DISCONNECT, enc_ack,
                     enc_subscribe, enc_unsubscribe, sub_opts, expect_violation, P_SUBSCRIPTION_ID,
                     P_TOPIC_ALIAS, P_TOPIC_ALIAS_MAXIMUM, P_PAYLOAD_FORMAT, P_MESSAGE_EXPIRY,
                     P_CONTENT_TYPE, P_RESPONSE_TOPIC, P_CORRELATION_DATA, P_USER_PROPERTY,
                     P_REQUEST_PROBLEM_INFO, P_REASON_STRING, P_SESSION_EXPIRY)

V5_ONLY = (V5,)


@case(versions=V5_ONLY)
def subscription_identifier_delivered(t):
    """A subscription made with Subscription Identifier 7 delivers with that id
    [MQTT-3.3.4-3]; one without an id delivers none."""
    r = t.raw()
    r.subscribe([("si/a", 0)], props=[(P_SUBSCRIPTION_ID, 7)])
    r.subscribe([("si/b", 0)], pid=2)
    pub = t.raw()
    pub.publish("si/a", b"a")
    pub.publish("si/b", b"b")
    pa = r.expect(PUBLISH)
    pb = r.expect(PUBLISH)
    assert pa.props_all(P_SUBSCRIPTION_ID) == [7], pa
    assert pb.props_all(P_SUBSCRIPTION_ID) == [], pb


@case(versions=V5_ONLY, hydrant_only="mosquitto 2.0.11 sends one copy per matching subscription; "
                                     "hydrant sends one PUBLISH carrying every id")
def subscription_identifiers_several_in_one_publish(t):
    """Overlapping subscriptions with ids 1 and 268435455 (the maximum): one PUBLISH carrying
    both ids [MQTT-3.3.4-4/-5]."""
    r = t.raw()
    r.subscribe([("sm/+", 0)], props=[(P_SUBSCRIPTION_ID, 1)])
    r.subscribe([("sm/#", 1)], pid=2, props=[(P_SUBSCRIPTION_ID, 268435455)])
    t.raw().publish("sm/x", b"m", qos=1, pid=1)
    p = r.expect(PUBLISH)
    assert sorted(p.props_all(P_SUBSCRIPTION_ID)) == [1, 268435455], p
    assert p.f["qos"] == 1, p
    r.send(enc_ack(PUBACK, V5, p.f["pid"]))
    r.expect_nothing(0.3)


@case(versions=V5_ONLY)
def no_local(t):
    """No Local 1: the client does not get its own publishes [MQTT-3.8.3-3], but gets others'."""
    c = t.raw()
    c.subscribe([("nl/t", sub_opts(qos=1, nl=1))])
    c.publish("nl/t", b"mine", qos=1, pid=1)
    c.expect(PUBACK)
    other = t.raw()
    other.publish("nl/t", b"theirs", qos=1, pid=1)
    p = c.expect(PUBLISH)
    assert p.f["payload"] == b"theirs", p


@case(versions=V5_ONLY)
def retain_as_published(t):
    """RAP 1 keeps RETAIN 1 on live forwarding; RAP 0 clears it [MQTT-3.3.1-12/-13]."""
    keep = t.raw()
    keep.subscribe([("rap/t", sub_opts(rap=1))])
    clear = t.raw()
    clear.subscribe([("rap/t", sub_opts(rap=0))])
    t.raw().publish("rap/t", b"r", retain=True)
    assert keep.expect(PUBLISH).f["retain"] == 1
    assert clear.expect(PUBLISH).f["retain"] == 0


@case(versions=V5_ONLY)
def retain_handling_0_1_2(t):
    """RH 0: retained sent on every subscribe; RH 1: only if the subscription is new;
    RH 2: never [MQTT-3.3.1-9/-10/-11]."""
    pub = t.raw()
    pub.publish("rh/t", b"kept", qos=1, retain=True, pid=1)
    pub.publish("rh/barrier", b"b", qos=0, retain=True)
    pub.ping()  # both are stored before anyone subscribes
    for rh, expect_first, expect_again in ((0, True, True), (1, True, False), (2, False, False)):
        r = t.raw()
        for attempt, expected in ((1, expect_first), (2, expect_again)):
            r.subscribe([("rh/t", sub_opts(qos=0, rh=rh))], pid=attempt)
            # a retained barrier on a fresh filter shows the broker is done with this SUBACK
            r.subscribe([("rh/barrier", sub_opts(qos=0, rh=0))], pid=10 + attempt)
            got = []
            while True:
                p = r.expect(PUBLISH)
                if p.f["topic"] == "rh/barrier":
                    break
                got.append(p.f["payload"])
            assert got == ([b"kept"] if expected else []), (rh, attempt, got)


@case(versions=V5_ONLY)
def message_expiry_forwarded_and_decremented(t):
    """Message Expiry Interval is forwarded, set to the received value minus the time it
    waited [MQTT-3.3.2-6]: 1..100."""
    r = t.raw()
    r.subscribe([("me/t", 1)])
    t.raw().publish("me/t", b"x", qos=1, pid=1, props=[(P_MESSAGE_EXPIRY, 100)])
    p = r.expect(PUBLISH)
    assert 1 <= p.prop(P_MESSAGE_EXPIRY, 0) <= 100, p


@case(versions=V5_ONLY, timeout=30)
def message_expiry_retained_expires(t):
    """A retained message with expiry 1 s is not delivered after it expired [MQTT-3.3.2-5].
    (Waits out the expiry the case configured.)"""
    pub = t.raw()
    pub.publish("me/r", b"short", retain=True, props=[(P_MESSAGE_EXPIRY, 1)])
    pub.publish("me/long", b"long", retain=True, props=[(P_MESSAGE_EXPIRY, 100)])
    pub.ping()
    time.sleep(2.2)
    r = t.raw()
    r.subscribe([("me/#", 0)])
    p = r.expect(PUBLISH)
    assert p.f["topic"] == "me/long" and 1 <= p.prop(P_MESSAGE_EXPIRY, 0) <= 99, p
    r.expect_nothing(0.3)


@case(versions=V5_ONLY, timeout=30)
def message_expiry_offline_queue(t):
    """A queued message for an offline session that expires meanwhile is not delivered;
    a non-expiring one is [MQTT-3.3.2-5]."""
    cid = t.uid()
    a = t.raw(connect=False)
    a.connect(cid, clean=False, props=[(P_SESSION_EXPIRY, 300)])
    a.subscribe([("mq/t", 1)])
    a.disconnect()
    pub = t.raw()
    pub.publish("mq/t", b"expires", qos=1, pid=1, props=[(P_MESSAGE_EXPIRY, 1)])
    pub.publish("mq/t", b"stays", qos=1, pid=2)
    pub.expect(PUBACK)
    pub.expect(PUBACK)
    time.sleep(2.2)
    b = t.raw(connect=False)
    b.connect(cid, clean=False, props=[(P_SESSION_EXPIRY, 300)])
    p = b.expect(PUBLISH)
    assert p.f["payload"] == b"stays", p
    b.send(enc_ack(PUBACK, V5, p.f["pid"]))
    b.expect_nothing(0.3)


@case(versions=V5_ONLY, broker_args={"topic-alias-maximum": 10})
def topic_alias_client_to_server(t):
    """PUBLISH with topic + alias 1 sets the mapping; later PUBLISHes with empty topic and
    alias 1 go to that topic [MQTT-3.3.2-12]; an alias can be remapped."""
    sub = t.raw()
    sub.subscribe([("ta/#", 0)])
    pub = t.raw()
    pub.publish("ta/first", b"1", props=[(P_TOPIC_ALIAS, 1)])
    pub.publish("", b"2", props=[(P_TOPIC_ALIAS, 1)])
    pub.publish("ta/second", b"3", props=[(P_TOPIC_ALIAS, 1)])
    pub.publish("", b"4", props=[(P_TOPIC_ALIAS, 1)])
    got = [(p.f["topic"], p.f["payload"]) for p in (sub.expect(PUBLISH) for _ in range(4))]
    assert got == [("ta/first", b"1"), ("ta/first", b"2"), ("ta/second", b"3"),
                   ("ta/second", b"4")], got


@case(versions=V5_ONLY)
def topic_alias_server_to_client_bounded(t):
    """Client Topic Alias Maximum 2: if the server uses aliases they are 1..2 and resolve to
    the right topic [MQTT-3.3.2-10/-11]; without the property no alias is ever sent."""
    with_alias = t.raw(connect=False)
    with_alias.connect(t.uid(), props=[(P_TOPIC_ALIAS_MAXIMUM, 2)])
    with_alias.subscribe([("tb/#", 0)])
    plain = t.raw()
    plain.subscribe([("tb/#", 0)])
    pub = t.raw()
    topics = [f"tb/{i % 3}" for i in range(12)]
    for i, tp in enumerate(topics):
        pub.publish(tp, str(i).encode())
    for i, tp in enumerate(topics):
        p = with_alias.expect(PUBLISH)
        alias = p.prop(P_TOPIC_ALIAS)
        assert alias is None or 1 <= alias <= 2, p
        assert p.f["topic"] == tp and p.f["payload"] == str(i).encode(), (tp, p)
        q = plain.expect(PUBLISH)
        assert q.prop(P_TOPIC_ALIAS) is None and q.f["topic"] == tp, q


@case(versions=V5_ONLY)
def shared_subscription_round_robin(t):
    """$share/g/f with 3 members: 30 QoS 1 messages are split across members, each delivered
    once (no message twice, none lost), each member gets its share (10 +- 2)
    [4.8.2]. A non-shared subscriber on the same filter still gets all 30."""
    members = [t.raw() for _ in range(3)]
    for m in members:
        m.subscribe([("$share/g/sh/t", 1)])
    normal = t.raw()
    normal.subscribe([("sh/t", 1)])
    pub = t.raw()
    for i in range(30):
        pub.publish("sh/t", str(i).encode(), qos=1, pid=i + 1)
    for i in range(30):
        pub.expect(PUBACK)
    counts = []
    seen = []
    for m in members:
        got = []
        while True:
            try:
                p = m.recv(1.0)
            except TimeoutError:
                break
            assert p.type == PUBLISH, p
            m.send(enc_ack(PUBACK, t.v, p.f["pid"]))
            got.append(int(p.f["payload"]))
        counts.append(len(got))
        seen += got
    assert sorted(seen) == list(range(30)), f"shared delivery lost/duplicated: {sorted(seen)}"
    assert all(8 <= c <= 12 for c in counts), f"not round robin: {counts}"
    all_normal = []
    for _ in range(30):
        p = normal.expect(PUBLISH)
        normal.send(enc_ack(PUBACK, t.v, p.f["pid"]))
        all_normal.append(int(p.f["payload"]))
    assert all_normal == list(range(30))


@case(versions=V5_ONLY, hydrant_only="mosquitto 2.0.11 deviates: sends retained messages when a "
                                     "shared subscription is made [4.8.2]")
def shared_subscription_no_retained(t):
    """Retained messages are not sent to a session when it makes a shared subscription
    [4.8.2]."""
    pub = t.raw()
    pub.publish("shr/t", b"kept", retain=True, qos=1, pid=1)
    pub.expect(PUBACK)  # stored before the subscription is made
    r = t.raw()
    r.subscribe([("$share/g/shr/t", 1)])
    r.expect_nothing(0.5)


@case(versions=V5_ONLY)
def shared_subscription_member_leaves(t):
    """When a member of a share group disconnects, the rest get all further messages."""
    a = t.raw()
    b = t.raw()
    a.subscribe([("$share/g2/shl/t", 0)])
    b.subscribe([("$share/g2/shl/t", 0)])
    a.disconnect()
    pub = t.client()
    for i in range(6):
        pub.publish("shl/t", str(i).encode(), qos=1)
    got = [int(b.expect(PUBLISH).f["payload"]) for _ in range(6)]
    assert got == list(range(6)), got


@case(versions=V5_ONLY, hydrant_only="mosquitto 2.0.11 does not validate payloads marked UTF-8")
def payload_format_invalid_utf8_qos0(t):
    """Payload Format Indicator 1 with invalid UTF-8, QoS 0 -> DISCONNECT 0x99 Payload format
    invalid [MQTT-3.3.2-4 ... 0x99]; nobody receives it."""
    sub = t.client()
    sub.subscribe("pf/#", 0)
    r = t.raw()
    r.publish("pf/bad", b"\xff\xfe bad", props=[(P_PAYLOAD_FORMAT, 1)])
    expect_violation(r, 0x99)
    sub.expect_no_message(0.3)


@case(versions=V5_ONLY, hydrant_only="mosquitto 2.0.11 does not validate payloads marked UTF-8")
def payload_format_invalid_utf8_qos1(t):
    """Same at QoS 1: PUBACK 0x99 or DISCONNECT 0x99; nobody receives it."""
    sub = t.client()
    sub.subscribe("pf/#", 0)
    r = t.raw()
    r.publish("pf/bad", b"ok \xc3\x28", qos=1, pid=4, props=[(P_PAYLOAD_FORMAT, 1)])
    try:
        p = r.recv(5)
    except Exception as e:
        raise AssertionError(f"no answer to a PUBLISH with invalid UTF-8 payload: {e!r}")
    if p.type == PUBACK:
        assert p.f["pid"] == 4 and p.f["rc"] == 0x99, p
    else:
        assert p.type == DISCONNECT and p.f["rc"] == 0x99, p
    sub.expect_no_message(0.3)


@case(versions=V5_ONLY)
def payload_format_valid_utf8_passes(t):
    """Payload Format Indicator 1 with valid UTF-8 (multi-byte) is forwarded with the
    indicator [MQTT-3.3.2-4]."""
    sub = t.raw()
    sub.subscribe([("pf/ok", 0)])
    payload = '{"name":"Zoë","emoji":"🔥"}'.encode()
    t.raw().publish("pf/ok", payload, props=[(P_PAYLOAD_FORMAT, 1)])
    p = sub.expect(PUBLISH)
    assert p.f["payload"] == payload and p.prop(P_PAYLOAD_FORMAT) == 1, p


@case(versions=V5_ONLY)
def properties_passed_through(t):
    """Content Type, Response Topic, Correlation Data and User Properties (repeated keys,
    order kept) reach the subscriber unchanged [MQTT-3.3.2-15..-20, MQTT-3.3.2-18]."""
    sub = t.raw()
    sub.subscribe([("pp/t", 1)])
    props = [(P_CONTENT_TYPE, "application/json; charset=utf-8"),
             (P_RESPONSE_TOPIC, "pp/reply/ü"), (P_CORRELATION_DATA, bytes(range(32))),
             (P_USER_PROPERTY, ("cc", "route.a")), (P_USER_PROPERTY, ("x", "")),
             (P_USER_PROPERTY, ("cc", "route.b")),
             (P_USER_PROPERTY, ("ключ", "значение"))]
    t.raw().publish("pp/t", b"{}", qos=1, pid=1, props=props)
    p = sub.expect(PUBLISH)
    assert p.prop(P_CONTENT_TYPE) == "application/json; charset=utf-8", p
    assert p.prop(P_RESPONSE_TOPIC) == "pp/reply/ü", p
    assert p.prop(P_CORRELATION_DATA) == bytes(range(32)), p
    assert p.props_all(P_USER_PROPERTY) == [("cc", "route.a"), ("x", ""), ("cc", "route.b"),
                                            ("ключ", "значение")], p


@case(versions=V5_ONLY)
def properties_passed_to_offline_queue(t):
    """Properties survive queueing for an offline session."""
    cid = t.uid()
    a = t.raw(connect=False)
    a.connect(cid, clean=False, props=[(P_SESSION_EXPIRY, 300)])
    a.subscribe([("pq/t", 1)])
    a.disconnect()
    t.raw().publish("pq/t", b"x", qos=1, pid=1,
                    props=[(P_USER_PROPERTY, ("k", "v")), (P_CONTENT_TYPE, "text/plain")])
    b = t.raw(connect=False)
    b.connect(cid, clean=False, props=[(P_SESSION_EXPIRY, 300)])
    p = b.expect(PUBLISH)
    assert p.props_all(P_USER_PROPERTY) == [("k", "v")] and \
        p.prop(P_CONTENT_TYPE) == "text/plain", p


@case(versions=V5_ONLY)
def request_problem_information_zero(t):
    """Request Problem Information 0: no Reason String or User Property on acks such as
    UNSUBACK/SUBACK/PUBACK [MQTT-3.1.2-29]."""
    r = t.raw(connect=False)
    r.connect(t.uid(), props=[(P_REQUEST_PROBLEM_INFO, 0)])
    r.send(enc_subscribe(V5, 1, [("rpi/a", 1), ("rpi/#/bad", 0)]))
    acks = [r.recv(5)]
    if acks[0].type == SUBACK:
        r.send(enc_unsubscribe(V5, 2, ["rpi/none"]))
        acks.append(r.expect(UNSUBACK))
        r.publish("rpi/nobody", b"x", qos=1, pid=3)
        acks.append(r.expect(PUBACK))
    for p in acks:
        if p.type == DISCONNECT:
            continue  # DISCONNECT may carry them [MQTT-3.1.2-29]
        assert p.prop(P_REASON_STRING) is None and not p.props_all(P_USER_PROPERTY), p


@case(versions=V5_ONLY)
def suback_reason_codes(t):
    """SUBACK reason codes: granted QoS per filter, in order [MQTT-3.9.3-1]."""
    r = t.raw()
    r.send(enc_subscribe(V5, 9, [("sr/0", sub_opts(0)), ("sr/1", sub_opts(1, nl=1)),
                                 ("sr/2", sub_opts(2, rap=1, rh=2))]))
    p = r.expect(SUBACK)
    assert p.f["codes"] == [0, 1, 2], p
