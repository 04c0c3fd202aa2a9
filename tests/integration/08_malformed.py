"""08 malformed: raw bytes the broker must refuse after a successful CONNECT.

MQTT 5 expects a DISCONNECT carrying the exact reason code, then close (0x81 Malformed Packet,
0x82 Protocol Error, 0x90 Topic Name invalid, 0x94 Topic Alias invalid, 0x95 Packet too large);
MQTT 3.1.1 expects the connection to close with no DISCONNECT [MQTT-4.8.0-1]. Where the spec
leaves the classification open (malformed vs protocol error) both codes are accepted and the
case says so. After each violation a fresh client must still be served (the broker survived).

Malformed CONNECT packets are in 01_connect.
"""

import struct

from harness import (V311, V5, BOTH, case, CONNACK, fixed, varint, enc_connect, enc_publish,
                     enc_subscribe, enc_unsubscribe, sub_opts, PUBLISH, UNSUBSCRIBE, PUBACK,
                     P_PAYLOAD_FORMAT, P_SUBSCRIPTION_ID, P_TOPIC_ALIAS, P_SESSION_EXPIRY)

MAL = 0x81
PROTO = 0x82


# why a case is hydrant-only: where mosquitto 2.0.11 itself deviates (observed, not assumed)
NO_DISC = "mosquitto 2.0.11 deviates: closes without the DISCONNECT it SHOULD send [4.13.1]"
ACCEPTS = "mosquitto 2.0.11 deviates: accepts this packet and keeps the connection"


def sends(code):
    return f"mosquitto 2.0.11 deviates: answers DISCONNECT 0x{code:02x}, not the spec's code"


def violation_case(name, build, code, versions=BOTH, broker_args=None, mosq_v5=None,
                   mosq_v311=None, doc=""):
    """Registers case `name`: connect, send build(v), expect `code` (int or tuple) / close.

    mosq_v5 / mosq_v311: the observed mosquitto deviation making that version hydrant-only.
    """
    codes = code if isinstance(code, tuple) else (code,)

    def fn(t):
        r = t.raw()
        r.send(build(t.v))
        got = r.wait_closed(5)
        from harness import DISCONNECT
        disc = [p for p in got if p.type == DISCONNECT]
        unexpected = [p for p in got if p.type not in (DISCONNECT, PUBACK, 5, 7, PUBLISH)]
        assert not unexpected, f"unexpected packets before close: {unexpected!r}"
        if t.v == V5:
            assert disc, f"expected DISCONNECT {[hex(c) for c in codes]} before close, got {got!r}"
            assert disc[0].f["rc"] in codes, \
                f"DISCONNECT reason 0x{disc[0].f['rc']:02x}, expected {[hex(c) for c in codes]}: " \
                f"{disc[0]!r}"
        else:
            assert not disc, f"3.1.1 server sent DISCONNECT: {disc!r}"
        t.raw().ping()  # the broker still serves others

    fn.__name__ = name
    fn.__qualname__ = name
    fn.__doc__ = doc
    for v in versions:
        case(versions=(v,), broker_args=broker_args,
             hydrant_only=(mosq_v5 if v == V5 else mosq_v311))(fn)


def props_raw(body):
    """A property block from raw bytes (for ids the encoder refuses)."""
    return varint(len(body)) + body


def publish_raw(v, topic_bytes, payload=b"", flags=0, pid=None, props=b""):
    body = struct.pack("!H", len(topic_bytes)) + topic_bytes
    if pid is not None:
        body += struct.pack("!H", pid)
    if v == V5:
        body += props if props else b"\x00"
    return fixed(PUBLISH, flags, body + payload)


# --- fixed header ---------------------------------------------------------------------------
violation_case("remaining_length_five_bytes",
               lambda v: b"\x30\xff\xff\xff\xff\x7f", MAL,
               mosq_v5=NO_DISC,
               doc="Remaining Length longer than 4 bytes [MQTT-1.5.5 / 2.1.4].")
violation_case("reserved_packet_type_0",
               lambda v: b"\x00\x00", (MAL, PROTO),
               doc="Packet type 0 is reserved/forbidden [2.1.2].")
violation_case("publish_qos_3",
               lambda v: publish_raw(v, b"m/q3", b"x", flags=0x06, pid=1), MAL,
               doc="PUBLISH with both QoS bits set [MQTT-3.3.1-4].")
violation_case("publish_qos0_with_dup",
               lambda v: publish_raw(v, b"m/dup", b"x", flags=0x08), (MAL, PROTO),
               mosq_v5=ACCEPTS, mosq_v311=ACCEPTS,
               doc="DUP must be 0 for QoS 0 [MQTT-3.3.1-2].")
violation_case("publish_qos1_packet_id_0",
               lambda v: publish_raw(v, b"m/pid0", b"x", flags=0x02, pid=0), (MAL, PROTO),
               doc="QoS > 0 PUBLISH needs a non-zero packet id [MQTT-2.2.1-3].")
violation_case("subscribe_flags_not_0010",
               lambda v: enc_subscribe(v, 1, [("m/s", 0)], flags=0x00), MAL,
               doc="SUBSCRIBE fixed-header flags must be 0010 [MQTT-3.8.1-1].")
violation_case("unsubscribe_flags_not_0010",
               lambda v: fixed(UNSUBSCRIBE, 0, enc_unsubscribe(v, 1, ["m/s"])[2:]), MAL,
               doc="UNSUBSCRIBE fixed-header flags must be 0010 [MQTT-3.10.1-1].")
violation_case("pubrel_flags_not_0010",
               lambda v: b"\x60\x02\x00\x01", MAL,
               mosq_v5=NO_DISC,
               doc="PUBREL fixed-header flags must be 0010 [MQTT-3.6.1-1].")
violation_case("pingreq_flags_set",
               lambda v: b"\xc1\x00", MAL,
               mosq_v5=ACCEPTS, mosq_v311=ACCEPTS,
               doc="PINGREQ flags are reserved 0000 [MQTT-2.1.3-1].")
violation_case("pingreq_with_body",
               lambda v: b"\xc0\x01\x00", MAL,
               mosq_v5=ACCEPTS, mosq_v311=ACCEPTS,
               doc="PINGREQ has no variable header or payload.")
violation_case("puback_too_short",
               lambda v: b"\x40\x01\x00", MAL,
               mosq_v5=NO_DISC,
               doc="PUBACK with a 1-byte packet identifier.")
violation_case("client_sends_connack",
               lambda v: b"\x20\x02\x00\x00", (MAL, PROTO),
               mosq_v5=NO_DISC,
               doc="CONNACK is server-to-client only [2.1.2].")
violation_case("client_sends_suback",
               lambda v: b"\x90\x03\x00\x01\x00", (MAL, PROTO),
               mosq_v5=NO_DISC, mosq_v311=ACCEPTS,
               doc="SUBACK is server-to-client only [2.1.2].")
violation_case("auth_packet_in_v311",
               lambda v: b"\xf0\x00", MAL, versions=(V311,),
               doc="Packet type 15 does not exist in 3.1.1.")
violation_case("auth_without_auth_method",
               lambda v: b"\xf0\x02\x18\x00", PROTO, versions=(V5,),
               mosq_v5=NO_DISC,
               doc="AUTH when CONNECT had no Authentication Method [MQTT-4.12.0-?]: protocol "
                   "error.")
violation_case("second_connect",
               lambda v: enc_connect(v, "again"), PROTO,
               mosq_v5=NO_DISC,
               doc="A second CONNECT is a protocol error [MQTT-3.1.0-2].")

# --- strings, topics ------------------------------------------------------------------------
violation_case("topic_invalid_utf8_ff",
               lambda v: publish_raw(v, b"m/\xff"), MAL,
               doc="Topic Name with byte 0xFF is not UTF-8 [MQTT-1.5.4-1].")
violation_case("topic_overlong_utf8",
               lambda v: publish_raw(v, b"m/\xc0\xaf"), MAL,
               doc="Overlong UTF-8 encoding of '/' [MQTT-1.5.4-1].")
violation_case("topic_utf16_surrogate",
               lambda v: publish_raw(v, b"m/\xed\xa0\x80"), MAL,
               doc="UTF-8 encoded surrogate U+D800 [MQTT-1.5.4-1].")
violation_case("topic_contains_nul",
               lambda v: publish_raw(v, b"m/a\x00b"), MAL,
               doc="U+0000 in a UTF-8 string [MQTT-1.5.4-2].")
violation_case("topic_with_plus_wildcard",
               lambda v: enc_publish(v, "m/+/x", b"x"), (PROTO, 0x90),
               doc="Topic Name must not contain wildcards [MQTT-3.3.2-2]: 0x90 Topic Name "
                   "invalid, or 0x82 (the spec describes 0x90 as 'correctly formed but not "
                   "accepted', so either reading is defensible; mosquitto sends 0x82).")
violation_case("topic_with_hash_wildcard",
               lambda v: enc_publish(v, "m/#", b"x"), (PROTO, 0x90),
               doc="Topic Name must not contain wildcards [MQTT-3.3.2-2].")
violation_case("topic_empty_without_alias",
               lambda v: enc_publish(v, "", b"x"), PROTO,
               doc="Zero-length Topic Name without Topic Alias: protocol error in MQTT 5 "
                   "[3.3.2.3.4], malformed in 3.1.1 [MQTT-4.7.3-1].")
violation_case("string_length_overrun",
               lambda v: fixed(PUBLISH, 0, b"\x01\x00m/short"), MAL,
               doc="Topic length 256 but the packet ends earlier.")
violation_case("filter_invalid_utf8",
               lambda v: enc_subscribe(v, 1, [(b"m/\xff", 0)]), MAL,
               doc="Topic Filter with invalid UTF-8 [MQTT-1.5.4-1].")

# --- SUBSCRIBE / UNSUBSCRIBE payloads -------------------------------------------------------
violation_case("subscribe_without_filters",
               lambda v: enc_subscribe(v, 1, []), PROTO,
               mosq_v5=sends(MAL),
               doc="SUBSCRIBE with no Topic Filter is a protocol error [MQTT-3.8.3-3].")
violation_case("unsubscribe_without_filters",
               lambda v: enc_unsubscribe(v, 1, []), PROTO,
               mosq_v5=sends(MAL),
               doc="UNSUBSCRIBE with no Topic Filter is a protocol error [MQTT-3.10.3-2].")
violation_case("subscribe_qos_3",
               lambda v: enc_subscribe(v, 1, [("m/s", 3)]), MAL,
               doc="Requested QoS 3 [MQTT-3.8.3-4 / 3.8.3.1].")
violation_case("subscribe_reserved_option_bits",
               lambda v: enc_subscribe(v, 1, [("m/s", 0xC0)]), MAL,
               doc="Subscription options bits 6-7 (3.1.1: bits 2-7) reserved [MQTT-3.8.3-5].")
violation_case("subscribe_retain_handling_3",
               lambda v: enc_subscribe(v, 1, [("m/s", sub_opts(rh=3))]), PROTO, versions=(V5,),
               mosq_v5=sends(MAL),
               doc="Retain Handling 3 is a protocol error [3.8.3.1].")
violation_case("shared_subscription_no_local",
               lambda v: enc_subscribe(v, 1, [("$share/g/m/s", sub_opts(nl=1))]), PROTO,
               versions=(V5,),
               mosq_v5=ACCEPTS,
               doc="No Local on a shared subscription is a protocol error [MQTT-3.8.3-4].")
violation_case("subscription_identifier_zero",
               lambda v: enc_subscribe(v, 1, [("m/s", 0)], props=[(P_SUBSCRIPTION_ID, 0)]),
               PROTO, versions=(V5,),
               mosq_v5=sends(MAL),
               doc="Subscription Identifier 0 is a protocol error [3.8.2.1.2].")

# --- MQTT 5 properties ----------------------------------------------------------------------
violation_case("publish_with_subscription_identifier",
               lambda v: enc_publish(v, "m/p", b"x", props=[(P_SUBSCRIPTION_ID, 5)]), PROTO,
               versions=(V5,),
               mosq_v5=ACCEPTS,
               doc="A client PUBLISH must not carry a Subscription Identifier [MQTT-3.3.4-6].")
violation_case("duplicate_payload_format_indicator",
               lambda v: enc_publish(v, "m/p", b"x",
                                     props=[(P_PAYLOAD_FORMAT, 0), (P_PAYLOAD_FORMAT, 0)]),
               PROTO, versions=(V5,),
               mosq_v5=NO_DISC,
               doc="Payload Format Indicator included twice is a protocol error [3.3.2.3.2].")
violation_case("unknown_property_id",
               lambda v: publish_raw(v, b"m/p", b"x", props=props_raw(b"\x7f\x00")), MAL,
               versions=(V5,),
               doc="Property identifier 0x7F does not exist: malformed [2.2.2.2].")
violation_case("property_not_allowed_in_publish",
               lambda v: enc_publish(v, "m/p", b"x", props=[(P_SESSION_EXPIRY, 5)]), MAL,
               versions=(V5,),
               doc="Session Expiry Interval is not a PUBLISH property: malformed [2.2.2.2].")
violation_case("property_length_overrun",
               lambda v: publish_raw(v, b"m/p", b"", props=b"\x10\x01\x00"), MAL,
               versions=(V5,),
               doc="Property length 16 with 2 bytes left in the packet.")
violation_case("topic_alias_zero",
               lambda v: enc_publish(v, "m/ta", b"x", props=[(P_TOPIC_ALIAS, 0)]), 0x94,
               versions=(V5,), broker_args={"topic-alias-maximum": 5},
               mosq_v5=sends(MAL),
               doc="Topic Alias 0 is invalid [MQTT-3.3.2-8]: 0x94.")
violation_case("topic_alias_over_maximum",
               lambda v: enc_publish(v, "m/ta", b"x", props=[(P_TOPIC_ALIAS, 6)]), 0x94,
               versions=(V5,), broker_args={"topic-alias-maximum": 5},
               doc="Topic Alias above the server's Topic Alias Maximum 5 [MQTT-3.3.2-9]: 0x94.")
violation_case("topic_alias_when_maximum_zero",
               lambda v: enc_publish(v, "m/ta", b"x", props=[(P_TOPIC_ALIAS, 1)]), 0x94,
               versions=(V5,), broker_args={"topic-alias-maximum": 0},
               doc="Any Topic Alias when the server allows none [MQTT-3.3.2-9]: 0x94.")
violation_case("topic_alias_unknown_mapping",
               lambda v: enc_publish(v, "", b"x", props=[(P_TOPIC_ALIAS, 3)]), PROTO,
               versions=(V5,), broker_args={"topic-alias-maximum": 5},
               doc="Empty topic with an alias never mapped: protocol error [3.3.2.3.4].")


@case()
def packet_before_connect(t):
    """Any first packet other than CONNECT: the connection is closed without CONNACK
    [MQTT-3.1.0-1]."""
    for pkt in (enc_publish(t.v, "m/early", b"x"), b"\xc0\x00",
                enc_subscribe(t.v, 1, [("m/#", 0)])):
        r = t.raw(connect=False)
        r.send(pkt)
        got = r.wait_closed(5)
        assert not any(p.type == CONNACK and p.f["rc"] == 0 for p in got), got
    t.raw().ping()


@case()
def garbage_stream(t):
    """4 KiB of random-looking bytes after CONNECT: closed (v5: DISCONNECT 0x81 or 0x82
    first); the broker keeps serving."""
    r = t.raw()
    junk = bytes((i * 131 + 17) & 0xFF for i in range(4096))
    r.try_send(junk)
    got = r.wait_closed(5)
    if t.v == V5:
        disc = [p for p in got if p.type == 14]
        assert not disc or disc[0].f["rc"] in (MAL, PROTO, 0x95), got
    t.raw().ping()


@case()
def truncated_packet_then_close(t):
    """A client that sends half a PUBLISH and closes does not publish anything."""
    sub = t.client()
    sub.subscribe("m/#", 0)
    r = t.raw()
    pkt = enc_publish(t.v, "m/half", b"x" * 100)
    r.send(pkt[:len(pkt) // 2])
    r.close()
    t.client().publish("m/marker", b"m", qos=1)
    sub.wait_messages(1, topic="m/marker")
    assert not [m for m in sub.messages if m.topic == "m/half"]
