"""03 publish: QoS 0/1/2 flows byte by byte, exactly-once, ordering, payload fidelity, fan-out.

Each case runs for MQTT 3.1.1 and 5. Retained messages are in 04, sessions in 05, malformed
PUBLISH bytes in 08, MQTT 5 properties in 09.
"""

from harness import (V311, V5, case, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP, enc_ack, sub_opts)


@case()
def qos0_delivery(t):
    sub = t.raw()
    sub.subscribe([("p/q0", 0)])
    pub = t.raw()
    pub.publish("p/q0", b"zero")
    p = sub.expect(PUBLISH)
    assert (p.f["topic"], p.f["payload"], p.f["qos"], p.f["retain"], p.f["dup"]) == \
        ("p/q0", b"zero", 0, 0, 0), p
    if t.v == V311:
        assert p.raw == b"\x30\x0a\x00\x04p/q0zero", p.raw.hex(" ")


@case()
def qos1_flow_bytes(t):
    """PUBLISH QoS 1 pid 0x1234 -> PUBACK 0x1234 [MQTT-4.3.2-2]; subscriber gets QoS 1 with a
    non-zero packet id and acks it."""
    sub = t.raw()
    sub.subscribe([("p/q1", 1)])
    pub = t.raw()
    pub.publish("p/q1", b"one", qos=1, pid=0x1234)
    ack = pub.expect(PUBACK)
    assert ack.f["pid"] == 0x1234 and ack.f["rc"] in (0x00, 0x10), ack
    if t.v == V311:
        assert ack.raw == b"\x40\x02\x12\x34", ack.raw.hex(" ")
    p = sub.expect(PUBLISH)
    assert p.f["qos"] == 1 and p.f["pid"] and p.f["payload"] == b"one" and not p.f["dup"], p
    sub.send(enc_ack(PUBACK, t.v, p.f["pid"]))
    sub.ping()


@case()
def qos2_flow_bytes(t):
    """PUBLISH QoS 2 -> PUBREC; PUBREL (flags 0x2) -> PUBCOMP [MQTT-4.3.3]; delivery to a
    QoS 2 subscriber runs the full flow in the other direction."""
    sub = t.raw()
    sub.subscribe([("p/q2", 2)])
    pub = t.raw()
    pub.publish("p/q2", b"two", qos=2, pid=0x0102)
    rec = pub.expect(PUBREC)
    assert rec.f["pid"] == 0x0102 and rec.f["rc"] in (0x00, 0x10), rec
    if t.v == V311:
        assert rec.raw == b"\x50\x02\x01\x02", rec.raw.hex(" ")
    pub.send(enc_ack(PUBREL, t.v, 0x0102))
    comp = pub.expect(PUBCOMP)
    assert comp.f["pid"] == 0x0102 and comp.f["rc"] == 0, comp
    p = sub.expect(PUBLISH)
    assert p.f["qos"] == 2 and p.f["payload"] == b"two", p
    sub.send(enc_ack(PUBREC, t.v, p.f["pid"]))
    rel = sub.expect(PUBREL)
    assert rel.flags == 0x2 and rel.f["pid"] == p.f["pid"], rel
    sub.send(enc_ack(PUBCOMP, t.v, p.f["pid"]))
    sub.ping()


@case()
def qos2_duplicate_publish_delivered_once(t):
    """A QoS 2 PUBLISH re-sent with DUP before PUBREL is delivered once [MQTT-4.3.3-10]."""
    sub = t.client()
    sub.subscribe("p/dup2", 2)
    pub = t.raw()
    pub.publish("p/dup2", b"once", qos=2, pid=9)
    assert pub.expect(PUBREC).f["pid"] == 9
    pub.publish("p/dup2", b"once", qos=2, pid=9, dup=True)
    assert pub.expect(PUBREC).f["pid"] == 9
    pub.send(enc_ack(PUBREL, t.v, 9))
    assert pub.expect(PUBCOMP).f["pid"] == 9
    pub.publish("p/dup2", b"end", qos=2, pid=10)
    pub.expect(PUBREC)
    pub.send(enc_ack(PUBREL, t.v, 10))
    pub.expect(PUBCOMP)
    sub.wait_for(lambda ms: any(m.payload == b"end" for m in ms), 10, "end")
    assert [m.payload for m in sub.messages] == [b"once", b"end"], sub.messages


@case()
def qos1_packet_id_reuse_after_ack(t):
    """A publisher may reuse a packet id once acknowledged; both messages are delivered."""
    sub = t.client()
    sub.subscribe("p/reuse", 1)
    pub = t.raw()
    for i in range(3):
        pub.publish("p/reuse", f"m{i}".encode(), qos=1, pid=1)
        assert pub.expect(PUBACK).f["pid"] == 1
    ms = sub.wait_messages(3)
    assert [m.payload for m in ms] == [b"m0", b"m1", b"m2"], ms


@case()
def pubrel_unknown_packet_id(t):
    """PUBREL for an unknown packet id is answered with PUBCOMP (v5 reason 0x92 Packet
    Identifier not found) and the connection stays up [MQTT-4.3.3]."""
    r = t.raw()
    r.send(enc_ack(PUBREL, t.v, 777))
    comp = r.expect(PUBCOMP)
    assert comp.f["pid"] == 777, comp
    if t.v == V5:
        assert comp.f["rc"] in (0x00, 0x92), comp
    r.ping()


@case()
def ordering_qos1_single_publisher(t):
    """200 QoS 1 messages from one publisher arrive in order [MQTT-4.6.0-6]."""
    sub = t.client()
    sub.subscribe("p/order", 1)
    pub = t.raw()
    for i in range(200):
        pub.publish("p/order", str(i).encode(), qos=1, pid=i + 1)
    for i in range(200):
        pub.expect(PUBACK)
    ms = sub.wait_messages(200, timeout=20)
    assert [int(m.payload) for m in ms] == list(range(200))


@case()
def ordering_qos0_single_publisher(t):
    """QoS 0 messages from one publisher to a reading subscriber arrive in order (a prefix,
    ending with a QoS 1 marker that must arrive)."""
    sub = t.raw()
    sub.subscribe([("p/order0", 1)])
    pub = t.raw()
    for i in range(500):
        pub.publish("p/order0", str(i).encode(), qos=0)
    pub.publish("p/order0", b"end", qos=1, pid=1)
    got = []
    while True:
        p = sub.expect(PUBLISH, timeout=10)
        if p.f["payload"] == b"end":
            sub.send(enc_ack(PUBACK, t.v, p.f["pid"]))
            break
        got.append(int(p.f["payload"]))
    assert got == sorted(got) and len(set(got)) == len(got), "QoS 0 out of order or duplicated"
    assert len(got) == 500, f"only {len(got)} of 500 QoS 0 messages reached a reading subscriber"


@case()
def large_payload_roundtrip(t):
    """A 512 KiB payload (below the 1 MiB default limit) arrives intact, QoS 1."""
    payload = bytes((i * 7) & 0xFF for i in range(512 * 1024))
    sub = t.client()
    sub.subscribe("p/big", 1)
    pub = t.client()
    pub.publish("p/big", payload, qos=1, timeout=20)
    m = sub.wait_messages(1, timeout=20)[0]
    assert m.payload == payload


@case()
def binary_and_empty_payloads(t):
    """Every byte value survives; an empty non-retained payload is delivered as empty."""
    sub = t.client()
    sub.subscribe("p/bin", 2)
    pub = t.client()
    binary = bytes(range(256)) * 4
    pub.publish("p/bin", binary, qos=2)
    pub.publish("p/bin", b"", qos=2)
    ms = sub.wait_messages(2)
    assert ms[0].payload == binary and ms[1].payload == b"", ms


@case()
def utf8_topic_names(t):
    """Non-ASCII UTF-8 topic names route exactly (including via +)."""
    topic = "p/ü/ß/日本語/🔥"
    sub = t.client()
    sub.subscribe("p/ü/+/日本語/🔥", 1)
    pub = t.client()
    pub.publish(topic, b"x", qos=1)
    assert sub.wait_messages(1)[0].topic == topic


@case()
def publish_no_subscribers(t):
    """QoS 1/2 publish with nobody subscribed is still acknowledged (v5 may say 0x10)."""
    r = t.raw()
    r.publish("p/nobody", b"x", qos=1, pid=5)
    ack = r.expect(PUBACK)
    assert ack.f["pid"] == 5 and ack.f["rc"] in (0x00, 0x10), ack
    r.publish("p/nobody", b"x", qos=2, pid=6)
    rec = r.expect(PUBREC)
    assert rec.f["pid"] == 6 and rec.f["rc"] in (0x00, 0x10), rec


@case()
def live_delivery_retain_flag_clear(t):
    """A non-retained publish is delivered with RETAIN 0."""
    sub = t.raw()
    sub.subscribe([("p/rf", 0)])
    t.raw().publish("p/rf", b"x")
    assert sub.expect(PUBLISH).f["retain"] == 0


@case()
def fanout_many_subscribers_many_messages(t):
    """10 subscribers x 100 QoS 1 messages: every subscriber gets all, in order, once."""
    subs = [t.raw() for _ in range(10)]
    for s in subs:
        s.subscribe([("p/fan/#", 1)])
    pub = t.raw()
    for i in range(100):
        pub.publish(f"p/fan/{i % 7}", str(i).encode(), qos=1, pid=i + 1)
    for s in subs:
        got = []
        while len(got) < 100:
            p = s.expect(PUBLISH, timeout=10)
            s.send(enc_ack(PUBACK, t.v, p.f["pid"]))
            got.append(int(p.f["payload"]))
        assert got == list(range(100)), got[:20]
    for _ in range(100):
        pub.expect(PUBACK)


@case()
def outbound_packet_ids_unique_while_inflight(t):
    """Packet ids of unacknowledged QoS 1 deliveries to one client are distinct and non-zero
    [MQTT-2.2.1-3]."""
    sub = t.raw()
    sub.subscribe([("p/pid", 1)])
    pub = t.client()
    for i in range(10):
        pub.publish("p/pid", str(i).encode(), qos=1)
    pids = []
    for _ in range(10):
        p = sub.expect(PUBLISH)
        pids.append(p.f["pid"])
    assert 0 not in pids and len(set(pids)) == 10, pids


@case()
def subscriber_qos2_publisher_qos1(t):
    """A QoS 1 publish to a QoS 2 subscription arrives at QoS 1."""
    sub = t.raw()
    sub.subscribe([("p/min", sub_opts(qos=2))])
    t.raw().publish("p/min", b"x", qos=1, pid=1)
    p = sub.expect(PUBLISH)
    assert p.f["qos"] == 1, p


@case(broker_args={"sys-interval": 0}, hydrant_only="$SYS is written by hydrant only")
def client_publish_to_sys_refused(t):
    """issue 2: clients may not forge the broker's statistics: a PUBLISH to $SYS/... gets PUBACK
    0x87 Not authorized in MQTT 5 (3.1.1 has no code: a plain PUBACK) and reaches nobody."""
    sub = t.raw()
    sub.subscribe([("$SYS/#", 0)])
    pub = t.raw()
    pub.publish("$SYS/broker/clients/connected", b"999999", qos=1, pid=5)
    ack = pub.expect(PUBACK)
    assert ack.f["pid"] == 5, ack
    assert ack.f["rc"] == (0x87 if t.v == V5 else 0), ack
    sub.expect_nothing(0.5)
    pub.ping()
