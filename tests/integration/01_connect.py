"""01 connect: CONNECT/CONNACK, client identifiers, ping, normal disconnect, bad CONNECT fields.

Each case runs for MQTT 3.1.1 and 5 unless the feature exists in one version only.
Malformed bytes after CONNECT live in 08_malformed; limits (keepalive, timeouts) in 07_limits.
"""

import socket

from harness import (V311, V5, case, CONNACK, PINGRESP, P_ASSIGNED_CLIENT_ID, P_RECEIVE_MAXIMUM,
                     P_MAXIMUM_QOS, P_RETAIN_AVAILABLE, P_WILDCARD_AVAILABLE, P_SUB_ID_AVAILABLE,
                     P_SHARED_AVAILABLE, P_AUTH_METHOD, P_AUTH_DATA, enc_connect, enc_pingreq,
                     enc_disconnect, expect_connect_refused)


@case()
def connect_clean_session_accepted(t):
    """A clean CONNECT gets CONNACK success with session present 0 [MQTT-3.2.2-1/-2]."""
    c = t.client(clean=True)
    session_present, rc, _ = c.connack
    assert rc == 0 and session_present == 0, c.connack


@case()
def connack_bytes(t):
    """The CONNACK is byte-exact for 3.1.1 (20 02 00 00) and well formed for 5."""
    r = t.raw(connect=False)
    r.send(enc_connect(t.v, t.uid(), clean=True))
    p = r.expect(CONNACK)
    if t.v == V311:
        assert p.raw == b"\x20\x02\x00\x00", p.raw.hex(" ")
    else:
        assert p.raw[0] == 0x20 and p.body[0] == 0 and p.body[1] == 0, p
        # capabilities the server announces, if announced, must not be "unsupported"
        for pid in (P_RETAIN_AVAILABLE, P_WILDCARD_AVAILABLE, P_SUB_ID_AVAILABLE,
                    P_SHARED_AVAILABLE):
            assert p.prop(pid, 1) == 1, f"property 0x{pid:02x} = {p.prop(pid)}"
        assert p.prop(P_MAXIMUM_QOS, 2) in (1, 2)


@case()
def empty_client_id_clean(t):
    """Zero-length client id with clean session is accepted [MQTT-3.1.3-6]; MQTT 5 returns an
    Assigned Client Identifier [MQTT-3.2.2-16]."""
    r = t.raw(connect=False)
    r.send(enc_connect(t.v, "", clean=True))
    p = r.expect(CONNACK)
    assert p.f["rc"] == 0, p
    if t.v == V5:
        assigned = p.prop(P_ASSIGNED_CLIENT_ID)
        assert assigned, f"no Assigned Client Identifier in {p!r}"


@case()
def assigned_client_ids_are_unique(t):
    """Two clients with empty ids get different assigned ids and coexist (no takeover)."""
    a = t.raw(connect=False)
    b = t.raw(connect=False)
    ida = a.connect("").prop(P_ASSIGNED_CLIENT_ID)
    idb = b.connect("").prop(P_ASSIGNED_CLIENT_ID)
    if t.v == V5:
        assert ida and idb and ida != idb, (ida, idb)
    a.subscribe(t.topic())
    b.publish(t.topic(), b"x")
    p = a.expect(3)
    assert p.f["payload"] == b"x"
    b.ping()  # b is still connected: a did not take it over


@case(versions=(V311,))
def empty_client_id_persistent_rejected(t):
    """3.1.1: zero-length client id with CleanSession 0 -> CONNACK 0x02, close [MQTT-3.1.3-8]."""
    r = t.raw(connect=False)
    r.send(enc_connect(V311, "", clean=False))
    got = r.wait_closed()
    assert got and got[0].type == CONNACK and got[0].f["rc"] == 0x02, got


@case()
def long_client_id_accepted(t):
    """Client ids longer than 23 bytes and with non-ASCII characters are accepted."""
    cid = "long-client-id-" + "x" * 200 + "-ÿ-日本"
    r = t.raw(client_id=cid)
    r.ping()


@case()
def username_password_open_mode(t):
    """With --open, a CONNECT carrying username and password is accepted."""
    r = t.raw(connect=False)
    r.send(enc_connect(t.v, t.uid(), username="someone", password=b"secret"))
    p = r.expect(CONNACK)
    assert p.f["rc"] == 0, p


@case(versions=(V5,))
def password_without_username_v5(t):
    """MQTT 5 allows a password without a username [3.1.2.9]; open mode accepts it."""
    r = t.raw(connect=False)
    r.send(enc_connect(V5, t.uid(), password=b"secret"))
    p = r.expect(CONNACK)
    assert p.f["rc"] == 0, p


@case()
def pingreq_pingresp(t):
    """PINGREQ is answered with exactly PINGRESP d0 00 [MQTT-3.12.4-1]."""
    r = t.raw()
    for _ in range(3):
        r.send(enc_pingreq())
        p = r.expect(PINGRESP)
        assert p.raw == b"\xd0\x00", p.raw.hex(" ")


@case()
def disconnect_closes_connection(t):
    """After a DISCONNECT the server closes the network connection [MQTT-3.14.4-1]."""
    r = t.raw()
    r.send(enc_disconnect(t.v))
    got = r.wait_closed(5)
    assert got == [], f"server sent packets after DISCONNECT: {got!r}"


@case()
def disconnect_then_reconnect_same_id(t):
    """A client id is free again right after a normal disconnect."""
    cid = t.uid()
    a = t.client(client_id=cid)
    a.disconnect()
    b = t.client(client_id=cid)
    assert b.connack[1] == 0


@case()
def unsupported_protocol_level(t):
    """Protocol level 6 (unknown) -> CONNACK 0x01 (3.1.1 form) or 0x84 (5 form), then close
    [MQTT-3.1.2-2]; never a successful CONNACK."""
    r = t.raw(connect=False)
    r.send(enc_connect(V311, t.uid(), proto_level=6))
    got = r.wait_closed()
    assert all(p.type == CONNACK for p in got), got
    for p in got:
        assert p.body[1] in (0x01, 0x84), p
    assert got, "expected a CONNACK carrying 0x01/0x84 before close [MQTT-3.1.2-2]"


@case()
def wrong_protocol_name(t):
    """Protocol name other than "MQTT" -> the connection is closed without success
    [MQTT-3.1.2-1]; MQTT 5 may first send CONNACK 0x84 (unsupported protocol version)."""
    r = t.raw(connect=False)
    r.send(enc_connect(t.v, t.uid(), proto_name=b"MQTX"))
    got = r.wait_closed()
    for p in got:
        assert p.type == CONNACK and p.body[1] != 0, f"unexpected {p!r}"


@case()
def reserved_connect_flag(t):
    """CONNECT flags bit 0 set -> malformed [MQTT-3.1.2-3]: v5 CONNACK 0x81, 3.1.1 close."""
    r = t.raw(connect=False)
    r.send(enc_connect(t.v, t.uid(), flag_bits=0x01))
    expect_connect_refused(r, 0x81)


@case()
def will_qos_without_will_flag(t):
    """Will QoS 1 with Will Flag 0 -> malformed [MQTT-3.1.2-13 / MQTT-3.1.2-11]."""
    r = t.raw(connect=False)
    r.send(enc_connect(t.v, t.uid(), flag_bits=0x08))
    expect_connect_refused(r, 0x81)


@case()
def will_retain_without_will_flag(t):
    """Will Retain 1 with Will Flag 0 -> malformed [MQTT-3.1.2-15 / MQTT-3.1.2-13]."""
    r = t.raw(connect=False)
    r.send(enc_connect(t.v, t.uid(), flag_bits=0x20))
    expect_connect_refused(r, 0x81)


@case()
def will_qos_3(t):
    """Will QoS 3 -> malformed [MQTT-3.1.2-14 / MQTT-3.1.2-12]."""
    r = t.raw(connect=False)
    r.send(enc_connect(t.v, t.uid(), will={"topic": "w", "payload": b"x", "qos": 3}))
    expect_connect_refused(r, 0x81)


@case(versions=(V311,))
def password_without_username_v311(t):
    """3.1.1: Password Flag without User Name Flag is a protocol violation [MQTT-3.1.2-22]."""
    r = t.raw(connect=False)
    r.send(enc_connect(V311, t.uid(), password=b"pw"))  # flags 0x40 without 0x80
    expect_connect_refused(r, 0x82)


@case()
def invalid_utf8_client_id(t):
    """Client id with invalid UTF-8 (0xFF) -> malformed [MQTT-1.5.3-1]: v5 CONNACK 0x81 or
    0x85, 3.1.1 close (or CONNACK 0x02)."""
    r = t.raw(connect=False)
    r.send(enc_connect(t.v, b"bad\xffid"))
    got = r.wait_closed()
    for p in got:
        assert p.type == CONNACK and p.body[1] in ((0x81, 0x85) if t.v == V5 else (0x02,)), p


@case(versions=(V5,))
def unsupported_auth_method(t):
    """An Authentication Method the server does not support -> CONNACK 0x8C, close
    [MQTT-4.12.0-1]."""
    r = t.raw(connect=False)
    r.send(enc_connect(V5, t.uid(), props=[(P_AUTH_METHOD, "SCRAM-SHA-512"),
                                           (P_AUTH_DATA, b"client-first")]))
    got = r.wait_closed()
    assert got and got[0].type == CONNACK and got[0].f["rc"] == 0x8C, got


@case(versions=(V5,))
def client_receive_maximum_zero(t):
    """Receive Maximum 0 in CONNECT is a protocol error [3.1.2.11.3] -> CONNACK 0x82 / close."""
    r = t.raw(connect=False)
    r.send(enc_connect(V5, t.uid(), props=[(P_RECEIVE_MAXIMUM, 0)]))
    expect_connect_refused(r, 0x82)


@case(versions=(V5,))
def duplicate_connect_property(t):
    """Session Expiry Interval twice in CONNECT -> protocol error 0x82 [3.1.2.11.2]."""
    r = t.raw(connect=False)
    r.send(enc_connect(V5, t.uid(), props=[(0x11, 10), (0x11, 20)]))
    expect_connect_refused(r, 0x82)


@case()
def many_clients_connect(t):
    """50 concurrent connections are all accepted and answer pings."""
    raws = [t.raw() for _ in range(50)]
    for r in raws:
        r.ping()


@case()
def half_open_connect_then_close(t):
    """A client that closes mid-CONNECT does not disturb the broker."""
    s = socket.create_connection(("127.0.0.1", t.port))
    s.sendall(enc_connect(t.v, t.uid())[:5])
    s.close()
    r = t.raw()
    r.ping()
