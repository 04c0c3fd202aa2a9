"""04 retain: retained store, replacement, clearing, retain flag on delivery, wildcard fetch of
many retained messages (not truncated). Each case runs for MQTT 3.1.1 and 5.

MQTT 5 retain handling / retain-as-published are in 09.
"""

from harness import (case, PUBLISH, PUBACK, enc_ack, enc_publish)


@case()
def retained_delivered_on_subscribe(t):
    """A retained message is sent to a new subscriber with RETAIN 1 [MQTT-3.3.1-6/-8]."""
    pub = t.client()
    pub.publish("r/a", b"kept", qos=1, retain=True)
    sub = t.raw()
    sub.subscribe([("r/a", 1)])
    p = sub.expect(PUBLISH)
    assert (p.f["topic"], p.f["payload"], p.f["retain"], p.f["qos"]) == ("r/a", b"kept", 1, 1), p


@case()
def retained_replaced_by_newer(t):
    pub = t.client()
    pub.publish("r/b", b"old", qos=1, retain=True)
    pub.publish("r/b", b"new", qos=1, retain=True)
    sub = t.client()
    sub.subscribe("r/b", 1)
    sub.wait_messages(1)
    sub.expect_no_message(0.3)
    assert [m.payload for m in sub.messages] == [b"new"], sub.messages


@case()
def empty_retained_clears(t):
    """A retained PUBLISH with empty payload removes the retained message and is itself not
    stored [MQTT-3.3.1-10/-11]."""
    pub = t.client()
    pub.publish("r/c", b"x", qos=1, retain=True)
    pub.publish("r/c", b"", qos=1, retain=True)
    pub.publish("r/c2", b"marker", qos=1, retain=True)
    sub = t.client()
    sub.subscribe("r/c2", 1)
    sub.subscribe("r/c", 1)
    sub.wait_messages(1, topic="r/c2")
    sub.expect_no_message(0.3, topic="r/c")


@case()
def empty_retained_delivered_live(t):
    """The clearing publish itself is delivered to current subscribers (empty payload)."""
    sub = t.client()
    sub.subscribe("r/d", 1)
    pub = t.client()
    pub.publish("r/d", b"", qos=1, retain=True)
    m = sub.wait_messages(1)[0]
    assert m.payload == b"", m


@case()
def live_retained_publish_has_retain_clear(t):
    """A retained message published while subscribed is forwarded with RETAIN 0 (3.1.1
    [MQTT-3.3.1-9]; MQTT 5 default Retain As Published 0 [MQTT-3.3.1-12])."""
    sub = t.raw()
    sub.subscribe([("r/e", 0)])
    t.client().publish("r/e", b"live", qos=1, retain=True)
    p = sub.expect(PUBLISH)
    assert p.f["retain"] == 0 and p.f["payload"] == b"live", p


@case()
def retained_qos_downgraded(t):
    """A QoS 2 retained message goes to a QoS 0 subscriber at QoS 0."""
    t.client().publish("r/f", b"q2", qos=2, retain=True)
    sub = t.raw()
    sub.subscribe([("r/f", 0)])
    p = sub.expect(PUBLISH)
    assert p.f["qos"] == 0 and p.f["retain"] == 1, p


@case()
def retained_wildcard_many(t):
    """Wildcard subscription gets every retained message under it, each once."""
    pub = t.raw()
    for i in range(50):
        pub.publish(f"r/w/{i}", str(i).encode(), qos=0, retain=True)
    pub.publish("r/other", b"no", qos=0, retain=True)
    pub.ping()
    sub = t.client()
    sub.subscribe("r/w/+", 1)
    ms = sub.wait_messages(50)
    sub.expect_no_message(0.3)
    assert sorted(int(m.payload) for m in sub.messages) == list(range(50))
    assert all(m.retain for m in ms)


@case()
def retained_survives_publisher_disconnect(t):
    pub = t.client()
    pub.publish("r/g", b"stay", qos=1, retain=True)
    pub.disconnect()
    sub = t.client()
    sub.subscribe("r/#", 1)
    assert sub.wait_messages(1)[0].payload == b"stay"


@case()
def retained_on_resubscribe(t):
    """Re-subscribing (default options) sends the retained message again [MQTT-3.8.4-3]."""
    t.client().publish("r/h", b"again", qos=1, retain=True)
    sub = t.client()
    sub.subscribe("r/h", 1)
    sub.wait_messages(1)
    sub.subscribe("r/h", 1)
    ms = sub.wait_messages(2)
    assert [m.payload for m in ms] == [b"again", b"again"] and all(m.retain for m in ms), ms


@case(timeout=120, broker_args={"max-retained-per-user": 20000},
      mosquitto_optional={"max-retained-per-user"})
def retained_wildcard_not_truncated(t):
    """12,500 retained messages all reach a QoS 1 `#` subscriber that acks them, paced by its
    flow control, none dropped (an older mosquitto delivered 1,020; 2.0.11 passes). The
    per-owner retained quota (default 10,000) is raised: this case is about pacing."""
    n = 12500
    pub = t.raw()
    batch = bytearray()
    for i in range(n):
        batch += enc_publish(t.v, f"rt/dev/{i}", str(i).encode(), qos=0, retain=True)
        if len(batch) > 60000:
            pub.send(bytes(batch))
            batch.clear()
    pub.send(bytes(batch))
    pub.ping(timeout=60)  # all publishes before it were processed
    sub = t.raw()
    sub.subscribe([("rt/#", 1)])
    seen = set()
    while len(seen) < n:
        try:
            p = sub.expect(PUBLISH, timeout=10)
        except AssertionError as e:
            raise AssertionError(f"retained delivery stopped at {len(seen)} of {n}: {e}")
        assert p.f["retain"] == 1
        if p.f["qos"]:
            sub.send(enc_ack(PUBACK, t.v, p.f["pid"]))
        seen.add(int(p.f["payload"]))
    assert seen == set(range(n))
