"""27 metrics: /metrics figures of issue 16 item 13 — the message log (bytes, segments, records
appended, fsync latency, write failures, the oldest kept position) and connections and
deliveries by transport (tcp, tls, ws, wss).

Hydrant only: /metrics is served by hydrant's bridge.
"""

import ssl
import tempfile
import urllib.request

from harness import HOST, case, wait_until
from tls_certs import make_test_pki

WHY = "hydrant's /metrics (issue 16 item 13)"
EXCHANGE = "exchange/it-metrics/builds"


def scrape(port, scheme="http", ca=None):
    """The /metrics samples as {"name{labels}": value}."""
    context = ssl.create_default_context(cafile=ca) if scheme == "https" else None
    with urllib.request.urlopen(f"{scheme}://{HOST}:{port}/metrics", timeout=5,
                                context=context) as resp:
        text = resp.read().decode()
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


def transport(values, name, t):
    return values[f'{name}{{transport="{t}"}}']


@case(versions=None, broker_args={"http": "free", "durability": "fsync"}, hydrant_only=WHY)
def message_log_figures_grow_with_durable_publishes(t):
    before = scrape(t.broker.http_port)
    assert before["hydrant_log_segments"] >= 1, before
    assert before["hydrant_log_bytes"] > 0, before  # a segment header at least
    pub = t.client()
    n = 20
    for i in range(n):
        pub.publish(EXCHANGE, f'{{"i":{i}}}'.encode(), qos=1)  # waits for the PUBACK
    after = scrape(t.broker.http_port)
    assert after["hydrant_log_appends_total"] >= before["hydrant_log_appends_total"] + n, after
    assert after["hydrant_log_bytes"] > before["hydrant_log_bytes"], after
    assert after["hydrant_log_fsync_seconds_count"] > 0, after
    assert after["hydrant_log_fsync_seconds_count"] == after['hydrant_log_fsync_seconds_bucket{le="+Inf"}']
    assert after["hydrant_log_fsync_seconds_sum"] > 0, after
    assert after["hydrant_log_write_failures_total"] == 0, after
    oldest = [k for k in after if k.startswith("hydrant_log_oldest_sequence{epoch=")]
    assert len(oldest) == 1 and after[oldest[0]] >= 1, after
    # The label is the epoch of positions the history API hands out: "<epoch>-<sequence>".
    epoch = oldest[0].split('"')[1]
    assert len(epoch) == 16 and int(epoch, 16) >= 0, epoch


@case(versions=None, broker_args={"http": "free"}, hydrant_only=WHY)
def connections_and_deliveries_by_transport(t):
    topic = t.topic()
    tcp = t.client()
    tcp.subscribe(topic, qos=0)
    ws = t.client(transport="websockets")
    ws.subscribe(topic, qos=0)
    pub = t.client()
    # The harness's probe of the port at start may still be closing: wait for the counts.
    expected = {"tcp": 2, "ws": 1, "tls": 0, "wss": 0}  # tcp: the subscriber and pub
    wait_until(lambda: {k: transport(scrape(t.broker.http_port), "hydrant_connections", k)
                        for k in expected} == expected, 5, what=f"connections {expected}")
    values = scrape(t.broker.http_port)
    assert values["hydrant_clients_connected"] == 3, values  # the unlabelled total stays
    before_tcp = transport(values, "hydrant_deliveries_total", "tcp")
    before_ws = transport(values, "hydrant_deliveries_total", "ws")
    n = 5
    for i in range(n):
        pub.publish(topic, f'{{"i":{i}}}'.encode(), qos=0)
    tcp.wait_messages(n)
    ws.wait_messages(n)
    values = scrape(t.broker.http_port)
    assert transport(values, "hydrant_deliveries_total", "tcp") == before_tcp + n, values
    assert transport(values, "hydrant_deliveries_total", "ws") == before_ws + n, values
    assert transport(values, "hydrant_deliveries_total", "wss") == 0, values
    assert values["hydrant_messages_sent_total"] >= 2 * n, values
    ws.disconnect()
    wait_until(lambda: transport(scrape(t.broker.http_port), "hydrant_connections", "ws") == 0, 5,
               what="the ws connection to be uncounted")


@case(versions=None, start_broker=False, hydrant_only=WHY)
def tls_and_wss_are_counted_apart(t):
    certs = make_test_pki(tempfile.mkdtemp(prefix="hydrant-pki-"))
    t.broker = b = t.start_broker({"mqtts": "free", "https": "free", "http": "off",
                                  "tls-cert": certs["server_cert"], "tls-key": certs["server_key"]})
    topic = t.topic()
    tls = t.client(port=b.mqtts_port, ca_certs=certs["ca_cert"])
    tls.subscribe(topic, qos=0)
    wss = t.client(transport="websockets", ca_certs=certs["ca_cert"])
    wss.subscribe(topic, qos=0)
    t.client().publish(topic, b'{"n":1}', qos=0)
    tls.wait_messages(1)
    wss.wait_messages(1)
    values = scrape(b.https_port, "https", certs["ca_cert"])
    assert transport(values, "hydrant_connections", "tls") == 1, values
    assert transport(values, "hydrant_connections", "wss") == 1, values
    assert transport(values, "hydrant_deliveries_total", "tls") == 1, values
    assert transport(values, "hydrant_deliveries_total", "wss") == 1, values
    assert transport(values, "hydrant_deliveries_total", "ws") == 0, values
