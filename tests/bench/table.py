#!/usr/bin/python3
"""Prints run.sh's comparison table from its raw JSON lines: for each scenario and figure, the
median over the repetitions for hydrant and for mosquitto, and the ratio hydrant/mosquitto; the
WebSocket rows follow their TCP counterparts. A row may name another broker for the hydrant
column (hydrant-nosync: hydrant with --durability none). Then hydrant's WebSocket figures against
its own TCP ones, with issue 4's targets. A run that failed shows as "error" and is listed at the
end.
Usage: table.py RAW.jsonl"""
import json
import statistics
import sys

NOSYNC = "hydrant-nosync"
ROWS = [  # scenario, figure, key, format[, the broker in the hydrant column]
    ("fanout-q0", "deliveries/s", "deliveries_per_s", "{:,.0f}"),
    ("fanout-q0", "loss (deliveries)", "loss", "{:,.0f}"),
    ("fanout-q0", "p50 latency µs", "p50_us", "{:,.0f}"),
    ("fanout-q0", "p99 latency µs", "p99_us", "{:,.0f}"),
    ("fanout-q0", "broker CPU µs/delivery", "cpu_us_per_delivery", "{:.3f}"),
    ("fanout-q0", "broker peak RSS MiB", "hwm_mib", "{:.1f}"),
    ("fanout-q0", "loadgen CPU %", "loadgen_pct", "{:.0f}"),
    ("fanout-q0-ws", "deliveries/s (subscribers on WebSocket)", "deliveries_per_s", "{:,.0f}"),
    ("fanout-q0-ws", "loss (deliveries)", "loss", "{:,.0f}"),
    ("fanout-q0-ws", "p50 latency µs", "p50_us", "{:,.0f}"),
    ("fanout-q0-ws", "p99 latency µs", "p99_us", "{:,.0f}"),
    ("fanout-q0-ws", "broker CPU µs/delivery", "cpu_us_per_delivery", "{:.3f}"),
    ("fanout-q0-ws", "broker peak RSS MiB", "hwm_mib", "{:.1f}"),
    ("fanout-q0-ws", "loadgen CPU %", "loadgen_pct", "{:.0f}"),
    ("fanout-q1", "deliveries/s", "deliveries_per_s", "{:,.0f}"),
    ("fanout-q1", "loss (deliveries)", "loss", "{:,.0f}"),
    ("fanout-q1", "p50 latency µs", "p50_us", "{:,.0f}"),
    ("fanout-q1", "p99 latency µs", "p99_us", "{:,.0f}"),
    ("fanout-q1", "broker CPU µs/delivery", "cpu_us_per_delivery", "{:.3f}"),
    ("fanout-q1", "broker peak RSS MiB", "hwm_mib", "{:.1f}"),
    ("fanout-q1", "loadgen CPU %", "loadgen_pct", "{:.0f}"),
    ("fanin-q0", "deliveries/s", "deliveries_per_s", "{:,.0f}"),
    ("fanin-q0", "loss (deliveries)", "loss", "{:,.0f}"),
    ("fanin-q0", "p50 latency µs", "p50_us", "{:,.0f}"),
    ("fanin-q0", "p99 latency µs", "p99_us", "{:,.0f}"),
    ("fanin-q0", "broker CPU µs/delivery", "cpu_us_per_delivery", "{:.3f}"),
    ("fanin-q0", "broker peak RSS MiB", "hwm_mib", "{:.1f}"),
    ("fanin-q0", "loadgen CPU %", "loadgen_pct", "{:.0f}"),
    ("latency", "deliveries/s (fixed)", "deliveries_per_s", "{:,.0f}"),
    ("latency", "loss (deliveries)", "loss", "{:,.0f}"),
    ("latency", "p50 latency µs", "p50_us", "{:,.0f}"),
    ("latency", "p99 latency µs", "p99_us", "{:,.0f}"),
    ("latency", "max latency µs", "max_us", "{:,.0f}"),
    ("latency", "broker CPU µs/delivery", "cpu_us_per_delivery", "{:.3f}"),
    ("fanin-q1-durable", "acknowledged publishes/s (PUBACKs)", "acked_per_s", "{:,.0f}"),
    ("fanin-q1-durable", "  hydrant-nosync (--durability none)", "acked_per_s", "{:,.0f}", NOSYNC),
    ("fanin-q1-durable", "deliveries/s", "deliveries_per_s", "{:,.0f}"),
    ("fanin-q1-durable", "  hydrant-nosync (--durability none)", "deliveries_per_s", "{:,.0f}", NOSYNC),
    ("fanin-q1-durable", "p50 PUBACK latency µs", "ack_p50_us", "{:,.0f}"),
    ("fanin-q1-durable", "p99 PUBACK latency µs", "ack_p99_us", "{:,.0f}"),
    ("fanin-q1-durable", "  hydrant-nosync (--durability none)", "ack_p99_us", "{:,.0f}", NOSYNC),
    ("fanin-q1-durable", "loss (deliveries)", "loss", "{:,.0f}"),
    ("fanin-q1-durable", "publishes refused", "pub_refused", "{:,.0f}"),
    ("fanin-q1-durable", "broker CPU µs/delivery", "cpu_us_per_delivery", "{:.3f}"),
    ("fanin-q1-durable", "broker peak RSS MiB", "hwm_mib", "{:.1f}"),
    ("fanin-q1-durable", "loadgen CPU %", "loadgen_pct", "{:.0f}"),
    ("history-read", "messages/s served over HTTP (pages of 1000)", "messages_per_s", "{:,.0f}"),
    ("history-read", "  MiB/s of JSON", "mib_per_s", "{:.1f}"),
    ("history-read", "p50 page latency µs", "page_p50_us", "{:,.0f}"),
    ("history-read", "p99 page latency µs", "page_p99_us", "{:,.0f}"),
    ("history-read", "passes short of every message", "short_passes", "{:,.0f}"),
    ("history-read", "broker CPU µs/message", "cpu_us_per_message", "{:.3f}"),
    ("history-read", "loadgen CPU %", "loadgen_pct", "{:.0f}"),
    ("history-read", "filling the log: QoS 1 msgs/s (10 publishers)", "prefill_msgs_per_s", "{:,.0f}"),
    ("connections", "connects/s (CONNACK+SUBACK)", "connects_per_s", "{:,.0f}"),
    ("connections", "broker RSS MiB, all held", "rss_mib", "{:.1f}"),
    ("connections", "RSS bytes per idle connection", "rss_bytes_per_conn", "{:,.0f}"),
    ("connections", "connections lost", "lost_conns", "{:,.0f}"),
    ("connections-ws", "connects/s over WebSocket (upgrade+CONNACK+SUBACK)", "connects_per_s", "{:,.0f}"),
    ("connections-ws", "broker RSS MiB, all held", "rss_mib", "{:.1f}"),
    ("connections-ws", "RSS bytes per idle WebSocket connection", "rss_bytes_per_conn", "{:,.0f}"),
    ("connections-ws", "connections lost", "lost_conns", "{:,.0f}"),
    ("stepup", "highest lossless msgs/s (to 1000 subs)", "highest_rate", "{:,.0f}"),
    ("stepup", "  = deliveries/s", "highest_deliveries", "{:,.0f}"),
    ("stepup", "  p99 latency µs at that rate", "p99_us", "{:,.0f}"),
    ("stepup", "  loadgen CPU % at that rate", "loadgen_pct", "{:.0f}"),
]


def derive(r):
    if "broker_cpu_s" in r and r.get("received"):
        r["cpu_us_per_delivery"] = r["broker_cpu_s"] * 1e6 / r["received"]
    if "broker_cpu_s" in r and r.get("messages"):
        r["cpu_us_per_message"] = r["broker_cpu_s"] * 1e6 / r["messages"]
    if "broker_hwm_kib" in r:
        r["hwm_mib"] = r["broker_hwm_kib"] / 1024
    if "broker_rss_kib" in r:
        r["rss_mib"] = r["broker_rss_kib"] / 1024
    if "loadgen_cpu" in r:
        r["loadgen_pct"] = r["loadgen_cpu"] * 100
    if "highest_rate" in r:
        r["highest_deliveries"] = r["highest_rate"] * r.get("subs", 100)
    return r


# hydrant over WebSocket against hydrant over TCP, with issue 4's targets.
WS_PAIRS = [  # figure, WebSocket scenario, TCP scenario, key, target (ratio, "min" or "max")
    ("fan-out deliveries/s", "fanout-q0-ws", "fanout-q0", "deliveries_per_s", 0.8, "min"),
    ("RSS bytes per idle connection", "connections-ws", "connections", "rss_bytes_per_conn", 2.0, "max"),
]


def websocket_vs_tcp(runs, failed):
    def med(name, key):
        xs = [r[key] for r in runs.get((name, "hydrant"), []) if key in r]
        return statistics.median(xs) if xs else None
    lines = []
    for label, ws, tcp, key, target, kind in WS_PAIRS:
        w, t = med(ws, key), med(tcp, key)
        if w is None and t is None and not failed(ws, "hydrant"):
            continue
        show = lambda v, name: ("error" if failed(name, "hydrant") else "—") if v is None else f"{v:,.0f}"
        if w is not None and t:
            ratio = w / t
            met = ratio >= target if kind == "min" else ratio <= target
            verdict = f"{ratio:.2f} ({'met' if met else 'MISSED'})"
        else:
            verdict = "—"
        bound = "≥" if kind == "min" else "≤"
        lines.append(f"| {label} | {show(w, ws)} | {show(t, tcp)} | {verdict} | {bound} {target} |")
    if lines:
        print("\nhydrant over WebSocket against its own TCP, same run")
        print("| figure | WebSocket | TCP | WS/TCP | target |")
        print("| --- | ---: | ---: | ---: | ---: |")
        print("\n".join(lines))


def main():
    runs = {}
    with open(sys.argv[1]) as f:
        for line in f:
            if line.strip():
                r = derive(json.loads(line))
                runs.setdefault((r["name"], r["broker"]), []).append(r)
    errors = [(k, r["error"]) for k, rs in runs.items() for r in rs if "error" in r]
    reps = max((len(v) for k, v in runs.items() if not k[0].startswith("stepup")), default=1)
    print(f"\nhydrant vs mosquitto: broker pinned to core 0, load generator to core 1; "
          f"median of {reps} run(s)")
    print("| scenario | figure | hydrant | mosquitto | hydrant/mosquitto |")
    print("| --- | --- | ---: | ---: | ---: |")
    def failed(name, broker):  # every run of it failed
        rs = runs.get((name, broker), [])
        return bool(rs) and all("error" in r for r in rs)

    for name, label, key, fmt, *ours in ROWS:
        brokers = (ours[0] if ours else "hydrant", "mosquitto")
        vals = {}
        for broker in brokers:
            xs = [r[key] for r in runs.get((name, broker), []) if key in r]
            vals[broker] = statistics.median(xs) if xs else None
        if all(vals[b] is None and not failed(name, b) for b in vals):
            continue
        h, m = (vals[b] for b in brokers)
        ratio = f"{h / m:.2f}" if h is not None and m else "—"
        show = lambda v, b: ("error" if failed(name, b) else "—") if v is None else fmt.format(v)
        print(f"| {name} | {label} | {show(h, brokers[0])} | {show(m, 'mosquitto')} | {ratio} |")
    websocket_vs_tcp(runs, failed)
    # Interference: steal (the host ran something else on our vCPU) or core 0 busier than the
    # broker alone (another process, or interrupt work) during a pub/sub run.
    worst = []
    for (name, broker), rs in runs.items():
        for r in rs:
            if "core0_busy_s" in r and r.get("duration_s"):
                steal = (r["core0_steal_s"] + r["core1_steal_s"]) / r["duration_s"]
                other = (r["core0_busy_s"] - r["broker_cpu_s"]) / r["duration_s"]
                if steal > 0.02 or other > 0.15:
                    worst.append(f"{name}/{broker}#{r['rep']}: steal {steal:.0%}, core 0 other {other:.0%}")
    if worst:
        print("\nWARNING: runs with CPU steal or other work on the broker's core "
              "(figures there are suspect):\n  " + "\n  ".join(worst))
    for (name, broker), err in errors:
        print(f"ERROR: {name} {broker}: {err}")
    print(f"\nraw results: {sys.argv[1]}")


if __name__ == "__main__":
    main()
