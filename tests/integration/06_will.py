"""06 will: Will Message on abnormal close, none on normal DISCONNECT, will retain/QoS, keepalive
expiry, MQTT 5 DISCONNECT 0x04, will delay, will properties, will on takeover.

Each case runs for MQTT 3.1.1 and 5 where both have the feature.
"""

from harness import (V5, case, PUBLISH, P_WILL_DELAY, P_SESSION_EXPIRY, P_CONTENT_TYPE,
                     P_RESPONSE_TOPIC, P_CORRELATION_DATA, P_USER_PROPERTY, P_PAYLOAD_FORMAT,
                     P_MESSAGE_EXPIRY)


def will_client(t, topic, payload=b"gone", qos=0, retain=False, will_props=None, **kw):
    """A raw client connected with a will; kw go to CONNECT (props= are CONNECT properties)."""
    r = t.raw(connect=False)
    r.connect(kw.pop("client_id", t.uid("will")),
              will={"topic": topic, "payload": payload, "qos": qos, "retain": retain,
                    "props": will_props}, **kw)
    return r


@case()
def will_on_abnormal_close(t):
    """Closing the socket without DISCONNECT publishes the will [MQTT-3.1.2-8]."""
    sub = t.client()
    sub.subscribe("w/a", 1)
    w = will_client(t, "w/a", b"died", qos=1)
    w.ping()
    w.close()
    m = sub.wait_messages(1)[0]
    assert (m.topic, m.payload, m.qos, m.retain) == ("w/a", b"died", 1, False), m


@case()
def no_will_on_normal_disconnect(t):
    """A DISCONNECT (reason 0x00) discards the will [MQTT-3.1.2-10 / MQTT-3.14.4-3]."""
    sub = t.client()
    sub.subscribe("w/b", 1)
    sub.subscribe("w/b-marker", 1)
    w = will_client(t, "w/b", b"should-not")
    w.disconnect()
    t.client().publish("w/b-marker", b"m", qos=1)
    sub.wait_messages(1, topic="w/b-marker")
    sub.expect_no_message(0.5, topic="w/b")


@case()
def will_on_protocol_violation(t):
    """A will is published when the server closes the connection for a protocol error
    [MQTT-3.1.2-8]."""
    sub = t.client()
    sub.subscribe("w/c", 0)
    w = will_client(t, "w/c", b"bad")
    w.send(b"\x00\x00")  # reserved packet type 0
    w.wait_closed(5)
    assert sub.wait_messages(1)[0].payload == b"bad"


@case()
def will_retained(t):
    """A will with Will Retain 1 becomes the retained message [MQTT-3.1.2-17]."""
    mon = t.client()
    mon.subscribe("w/d", 1)
    w = will_client(t, "w/d", b"ret", qos=1, retain=True)
    w.close()
    mon.wait_messages(1)  # the will was published (live copy), so now it is stored
    sub = t.client()
    sub.subscribe("w/d", 1)
    m = sub.wait_messages(1)[0]
    assert m.payload == b"ret" and m.retain, m


@case()
def will_qos2(t):
    sub = t.client()
    sub.subscribe("w/e", 2)
    w = will_client(t, "w/e", b"q2", qos=2)
    w.close()
    m = sub.wait_messages(1)[0]
    assert m.qos == 2 and m.payload == b"q2", m


@case(timeout=30)
def will_on_keepalive_expiry(t):
    """A silent client with keepalive 1 s is dropped after 1.5 s and its will published
    [MQTT-3.1.2-24]."""
    sub = t.client()
    sub.subscribe("w/ka", 0)
    w = will_client(t, "w/ka", b"timeout", keepalive=1)
    m = sub.wait_messages(1, timeout=6)[0]
    assert m.payload == b"timeout"
    w.wait_closed(3)


@case(versions=(V5,))
def v5_disconnect_with_will(t):
    """MQTT 5 DISCONNECT reason 0x04 (Disconnect with Will Message) publishes the will."""
    sub = t.client()
    sub.subscribe("w/f", 0)
    w = will_client(t, "w/f", b"asked")
    w.disconnect(rc=0x04)
    assert sub.wait_messages(1)[0].payload == b"asked"


@case(versions=(V5,), timeout=30)
def v5_will_delay(t):
    """Will Delay Interval 2 s: not published at once, published after the delay
    [MQTT-3.1.3-9] (session expiry 30 s keeps the session alive meanwhile)."""
    sub = t.client()
    sub.subscribe("w/g", 0)
    w = will_client(t, "w/g", b"late", will_props=[(P_WILL_DELAY, 2)], clean=False,
                    props=[(P_SESSION_EXPIRY, 30)])
    w.close()
    sub.expect_no_message(0.5)
    assert sub.wait_messages(1, timeout=6)[0].payload == b"late"


@case(versions=(V5,), timeout=30)
def v5_will_delay_capped_by_session_end(t):
    """Will Delay 60 s but Session Expiry 1 s: the will is published when the session ends
    (the earlier of the two) [MQTT-3.1.2-8 note, 3.1.3.2.2]."""
    sub = t.client()
    sub.subscribe("w/h", 0)
    w = will_client(t, "w/h", b"session-ended", will_props=[(P_WILL_DELAY, 60)], clean=False,
                    props=[(P_SESSION_EXPIRY, 1)])
    w.close()
    assert sub.wait_messages(1, timeout=8)[0].payload == b"session-ended"


@case(versions=(V5,), timeout=30,
      hydrant_only="mosquitto 2.0.11 deviates (spec reading): a Clean Start 1 reconnect ends the "
                   "old session [MQTT-3.1.2-4] but mosquitto drops the delayed will instead of "
                   "publishing it")
def v5_will_delay_clean_reconnect_publishes(t):
    """Will delay pending; the client reconnects with Clean Start 1, which discards the old
    session [MQTT-3.1.2-4]; the will is published when the session ends, whichever of delay
    and session end comes first [3.1.3.2.2], so it is published now, not after 30 s."""
    sub = t.client()
    sub.subscribe("w/i", 0)
    cid = t.uid()
    w = will_client(t, "w/i", b"ended", will_props=[(P_WILL_DELAY, 30)], clean=False,
                    props=[(P_SESSION_EXPIRY, 60)], client_id=cid)
    w.close()
    sub.expect_no_message(0.3)
    again = t.raw(client_id=cid)  # clean start 1
    assert sub.wait_messages(1, timeout=5)[0].payload == b"ended"
    again.ping()


@case(versions=(V5,))
def v5_will_properties_passed_through(t):
    """Will properties reach the subscriber: content type, response topic, correlation data,
    user properties (order kept), payload format indicator, message expiry [MQTT-3.1.3-10]."""
    sub = t.raw()
    sub.subscribe([("w/j", 0)])
    props = [(P_PAYLOAD_FORMAT, 1), (P_MESSAGE_EXPIRY, 600), (P_CONTENT_TYPE, "application/json"),
             (P_RESPONSE_TOPIC, "w/reply"), (P_CORRELATION_DATA, b"\x01\x02corr"),
             (P_USER_PROPERTY, ("k1", "v1")), (P_USER_PROPERTY, ("k2", "v2")),
             (P_USER_PROPERTY, ("k1", "v3"))]
    w = will_client(t, "w/j", b'{"state":"gone"}', will_props=props)
    w.close()
    p = sub.expect(PUBLISH)
    assert p.f["payload"] == b'{"state":"gone"}'
    assert p.prop(P_PAYLOAD_FORMAT) == 1, p
    assert p.prop(P_CONTENT_TYPE) == "application/json", p
    assert p.prop(P_RESPONSE_TOPIC) == "w/reply", p
    assert p.prop(P_CORRELATION_DATA) == b"\x01\x02corr", p
    assert p.props_all(P_USER_PROPERTY) == [("k1", "v1"), ("k2", "v2"), ("k1", "v3")], p
    assert 0 < p.prop(P_MESSAGE_EXPIRY, 0) <= 600, p


@case(versions=(V5,))
def v5_will_on_takeover(t):
    """MQTT 5 takeover of a client with a will (no delay) publishes the will [MQTT-3.1.4-3]."""
    sub = t.client()
    sub.subscribe("w/k", 0)
    cid = t.uid()
    will_client(t, "w/k", b"taken", client_id=cid)
    t.raw(client_id=cid)
    assert sub.wait_messages(1)[0].payload == b"taken"


@case()
def will_topic_with_wildcard_refused(t):
    """A will topic containing a wildcard is invalid [MQTT-3.1.3-11 / 3.1.3.3]: the CONNECT is
    refused (v5 CONNACK 0x90 Topic Name invalid, or 0x81/0x82) and nothing is published."""
    sub = t.client()
    sub.subscribe("#", 0)
    r = t.raw(connect=False)
    from harness import enc_connect
    r.send(enc_connect(t.v, t.uid(), will={"topic": "w/+", "payload": b"x"}))
    got = r.wait_closed(5)
    for p in got:
        assert p.type == 2 and p.f["rc"] != 0, p
        if t.v == V5:
            assert p.f["rc"] in (0x90, 0x81, 0x82), p
    sub.expect_no_message(0.3)
