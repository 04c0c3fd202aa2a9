#!/usr/bin/env python3
"""Writes the codec fuzzer's seed corpus: one valid packet per file (plus one stream of several
packets), taken from the annotated byte arrays of tests/unit/codec/. Run from anywhere:
    python3 tests/fuzz/make_corpus.py
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def s(text):  # 2-byte length-prefixed string
    b = text.encode() if isinstance(text, str) else text
    return bytes([len(b) >> 8, len(b) & 0xFF]) + b


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def frame(first, body):
    return bytes([first]) + varint(len(body)) + body


def props(p):
    return varint(len(p)) + p


SEEDS = {
    "connect_v31": frame(0x10, s("MQIsdp") + bytes([3, 0x02, 0, 60]) + s("x")),
    "connect_v311": frame(0x10, s("MQTT") + bytes([4, 0xEC, 0, 10]) + s("c") + s("w/t") + s("bye")
                          + s("u") + s("p")),
    "connect_v5": frame(0x10, s("MQTT") + bytes([5, 0xC6, 0, 30])
                        + props(bytes([0x11, 0, 0, 0x0E, 0x10, 0x21, 0, 20, 0x26]) + s("k") + s("v"))
                        + s("c5") + props(bytes([0x01, 1, 0x18, 0, 0, 0, 5])) + s("t") + s("x")
                        + s("u") + s("pw")),
    "connack_v311": bytes([0x20, 0x02, 0x01, 0x00]),
    "connack_v5": frame(0x20, bytes([0, 0]) + props(bytes([0x12]) + s("ab") + bytes([0x22, 0, 10, 0x24, 1,
                                                                                     0x27, 0, 0, 0x10, 0]))),
    "publish_qos0": frame(0x30, s("a/b") + b"hi"),
    "publish_qos1_v5": frame(0x32, s("t") + bytes([0, 7]) + props(
        bytes([0x01, 1, 0x02, 0, 0, 0, 60, 0x03]) + s("js") + bytes([0x08]) + s("r") + bytes([0x09]) + s(b"\x01\x02")
        + bytes([0x0B, 1, 0x0B, 0xAC, 0x02, 0x23, 0, 3, 0x26]) + s("a") + s("b")) + b"p"),
    "publish_qos2_v311": frame(0x3D, s("t") + bytes([0x12, 0x34]) + b"x"),
    "puback_v5": frame(0x40, bytes([0, 9, 0x99]) + props(bytes([0x1F]) + s("bad"))),
    "pubrel": bytes([0x62, 0x02, 0x00, 0x01]),
    "pubrec_v5_reason": bytes([0x50, 0x03, 0x00, 0x06, 0x97]),
    "subscribe_v311": frame(0x82, bytes([0, 10]) + s("a/+") + bytes([1]) + s("#") + bytes([2])),
    "subscribe_v5": frame(0x82, bytes([0, 1]) + props(bytes([0x0B, 0x80, 0x80, 0x01, 0x26]) + s("u") + s(""))
                          + s("x/y") + bytes([0x2D]) + s("$share/g/z") + bytes([0])),
    "suback_v5": frame(0x90, bytes([0, 3]) + props(bytes([0x1F]) + s("r")) + bytes([0x01, 0x87, 0xA2])),
    "unsubscribe_v5": frame(0xA2, bytes([0, 4]) + props(bytes([0x26]) + s("k") + s("v")) + s("a")),
    "unsuback_v5": frame(0xB0, bytes([0, 9, 0, 0x00, 0x11])),
    "pingreq": bytes([0xC0, 0x00]),
    "disconnect_v5": frame(0xE0, bytes([0x9C]) + props(bytes([0x11, 0, 0, 0, 0, 0x1C]) + s("s"))),
    "auth_v5": frame(0xF0, bytes([0x18]) + props(bytes([0x15]) + s("m") + bytes([0x16]) + s("d"))),
}
SEEDS["stream"] = SEEDS["connect_v311"] + SEEDS["subscribe_v311"] + SEEDS["publish_qos0"] + SEEDS["pingreq"]


def main():
    out = os.path.join(HERE, "corpus")
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print(f"wrote {len(SEEDS)} seeds to {out}")


if __name__ == "__main__":
    main()
