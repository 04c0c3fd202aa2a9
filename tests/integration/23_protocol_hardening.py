"""23 protocol hardening (issue 13): what one hostile client can do with a single packet, the
per-session and retained quotas, and the protocol choices listed in docs/conformance.md.

Nothing here asserts a duration: a stalled worker shows as a reply that never comes within the
harness's ordinary timeouts.
"""

from harness import (V311, V5, case, SUBACK, UNSUBACK, PUBLISH, enc_subscribe, enc_unsubscribe)

N_FILTERS = 65535


def many_filters(prefix):
    return [f"{prefix}/{i}" for i in range(N_FILTERS)]


@case(broker_args={"max-subscriptions-per-session": 0, "max-packet-size": 4194304},
      hydrant_only="hydrant's own subscription limit key", timeout=120)
def unsubscribe_65535_filters(t):
    """One SUBSCRIBE then one UNSUBSCRIBE of 65,535 filters (issue 13 item 6): each is answered
    in full, the session is left with none of them, and the broker answers another client right
    after (the session's map was updated in one pass, not shifted once per filter)."""
    filters = many_filters("many")
    r = t.raw()
    r.send(enc_subscribe(t.v, 1, [(f, 0) for f in filters]))
    ack = r.expect(SUBACK, timeout=60)
    assert ack.f["codes"] == [0] * N_FILTERS, set(ack.f["codes"])
    r.send(enc_unsubscribe(t.v, 2, filters))
    other = t.raw()  # another client, on whatever worker: it must not wait behind the packet
    other.ping()
    unack = r.expect(UNSUBACK, timeout=60)
    if t.v == V5:
        assert unack.f["codes"] == [0] * N_FILTERS, set(unack.f["codes"])
    # Nothing left: a second UNSUBSCRIBE of the same filters finds none of them (v5 says so).
    r.send(enc_unsubscribe(t.v, 3, filters[:100] + filters[:1]))
    again = r.expect(UNSUBACK, timeout=30)
    if t.v == V5:
        assert again.f["codes"] == [0x11] * 101, again
    pub = t.client()
    pub.publish("many/7", b"{}", qos=1)
    r.expect_nothing(0.3)
    r.ping()


@case(hydrant_only="hydrant's own subscription limit key",
      broker_args={"max-subscriptions-per-session": 3})
def subscriptions_per_session_limit(t):
    """--max-subscriptions-per-session 3: a SUBSCRIBE of 5 new filters is granted 3, the rest
    refused with 0x97 Quota exceeded (3.1.1: 0x80); re-subscribing a held filter is granted;
    after an UNSUBSCRIBE there is room again."""
    r = t.raw()
    ack = r.subscribe([(f"q/{i}", 1) for i in range(5)])
    refused = 0x97 if t.v == V5 else 0x80
    assert ack.f["codes"] == [1, 1, 1, refused, refused], ack
    ack = r.subscribe([("q/0", 0)], pid=2)
    assert ack.f["codes"] == [0], ack
    r.send(enc_unsubscribe(t.v, 3, ["q/1"]))
    r.expect(UNSUBACK)
    ack = r.subscribe([("q/3", 1), ("q/4", 1)], pid=4)
    assert ack.f["codes"] == [1, refused], ack
