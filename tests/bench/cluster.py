#!/usr/bin/python3
"""Cluster benchmark: Hydrant on a three-server NATS JetStream cluster, on loopback (see the
"Cluster" section of README.md here). Side by side in one run:

  publish   acknowledged QoS 1 publishes/s through Hydrant node 1 (to exchange/..., window of
            WINDOW unacknowledged) against raw JetStream on the same servers (hydrant-jsbench:
            js_PublishAsync, same payload and window, a stream with replicas 3), also with three
            ordered consumers reading the raw stream as the three nodes read Hydrant's;
  latency   publish on node 1 -> subscriber on node 2 in open loop at RATE msgs/s, against a
            single-node Hydrant (no --cluster) at the same rate;
  fanout    one publisher on node 1 -> FAN_SUBS subscribers spread over the three nodes,
            against FAN_SUBS subscribers on a single-node Hydrant.

Every process it starts it stops by PID (SIGTERM, SIGKILL after 5 s); every wait has a time
limit. Prints one table; every run is a JSON line in BUILD/cluster-YYYYMMDD-HHMMSS.jsonl.

  tests/bench/cluster.py                  # about 2 minutes, plus the build
  QUICK=1 tests/bench/cluster.py          # shorter runs, one repetition: under a minute

Knobs (environment): BENCH_BUILD (build-bench), DURATION (s per run, 8; QUICK 4), REPEAT
(publish comparisons, 2; QUICK 1), WINDOW (256), SIZE (512), RATE (1000), FAN_SUBS (30),
FAN_WINDOW (256), LEADER (nats1: the server both streams' leaders are moved to), ONLY
(comma-separated: publish,latency,fanout), KEEP_LOGS=1 (keep the servers' logs, as after a
failure).
"""

import datetime
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("BENCH_BUILD", "build-bench")
if not os.path.isabs(BUILD):
    BUILD = os.path.join(ROOT, BUILD)
HYDRANT = os.path.join(BUILD, "broker", "hydrant")
LOADGEN = os.path.join(BUILD, "tests", "bench", "hydrant-loadgen")
JSBENCH = os.path.join(BUILD, "tests", "bench", "hydrant-jsbench")
NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"
HOST = "127.0.0.1"

QUICK = os.environ.get("QUICK", "0") == "1"
DURATION = float(os.environ.get("DURATION", "4" if QUICK else "8"))
REPEAT = int(os.environ.get("REPEAT", "1" if QUICK else "2"))
WINDOW = int(os.environ.get("WINDOW", "256"))
SIZE = int(os.environ.get("SIZE", "512"))
RATE = float(os.environ.get("RATE", "1000"))
FAN_SUBS = int(os.environ.get("FAN_SUBS", "30"))
FAN_WINDOW = int(os.environ.get("FAN_WINDOW", "256"))
LEADER = os.environ.get("LEADER", "nats1")
ONLY = [s for s in os.environ.get("ONLY", "").split(",") if s]
NODES = 3

# The nodes' settings, the single node's too: one event loop each (six servers share the two
# cores), a Receive Maximum that lets the publisher keep WINDOW unacknowledged, the limits
# run.sh gives hydrant.
HYDRANT_ARGS = ["--threads", "1", "--open", "--sys-interval", "0", "--max-inflight", "100",
                "--receive-maximum", str(max(WINDOW, 100)), "--max-queued-messages", "10000",
                "--max-packet-size", "1M", "--max-connections", "0", "--outbound-budget", "1M",
                "--log-level", "info"]
TICK = os.sysconf("SC_CLK_TCK")


def want(name):
    return not ONLY or name in ONLY


T0 = time.monotonic()


def log(msg):
    print(f"cluster-bench: [{time.monotonic() - T0:5.1f} s] {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def listening(port):
    try:
        socket.create_connection((HOST, port), timeout=0.5).close()
        return True
    except OSError:
        return False


def cpu_s(pid):
    """utime + stime of a process, in seconds (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except (OSError, IndexError, ValueError):
        return 0.0


def machine_busy():
    """(busy, total) jiffies of all cores together."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v[:8]) - idle, sum(v[:8])


class Failed(Exception):
    pass


class Bench:
    def __init__(self):
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        self.raw = os.path.join(BUILD, f"cluster-{stamp}.jsonl")
        n = 1
        while os.path.exists(self.raw):
            self.raw = os.path.join(BUILD, f"cluster-{stamp}-{n}.jsonl")
            n += 1
        self.work = tempfile.mkdtemp(prefix="cluster-data-", dir=BUILD)  # on disk, not a tmpfs
        self.procs = {}  # name -> Popen, everything started and not yet stopped
        self.rows = []
        self.nats_ports = []
        self.monitor_ports = []
        self.nodes = {}  # name -> MQTT port

    # ---- processes ---------------------------------------------------------------------------
    def spawn(self, name, argv):
        logf = open(os.path.join(self.work, f"{name}.log"), "ab")
        self.procs[name] = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=logf,
                                            stderr=logf, start_new_session=True)
        logf.close()
        return self.procs[name]

    def stop(self, name):
        p = self.procs.pop(name, None)
        if p is None:
            return
        if p.poll() is not None:
            log(f"{name} (pid {p.pid}) had already exited, status {p.returncode}")
            return
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            log(f"{name} (pid {p.pid}) ignored SIGTERM for 5 s; SIGKILL")
            p.kill()
            p.wait(timeout=5)

    def stop_all(self):
        # Hydrant nodes before the servers, so they leave without waiting on a dead engine.
        for name in sorted(self.procs, key=lambda n: n.startswith("nats")):
            self.stop(name)

    def log_tail(self, name, lines=3):
        try:
            with open(os.path.join(self.work, f"{name}.log"), errors="replace") as f:
                return " | ".join(f.read().strip().splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def wait_for(self, what, ready, timeout, procs=()):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name in procs:
                if self.procs[name].poll() is not None:
                    raise Failed(f"{name} exited while waiting for {what}: {self.log_tail(name)}")
            if ready():
                return
            time.sleep(0.1)
        raise Failed(f"{what}: not within {timeout:.0f} s")

    # ---- the servers -------------------------------------------------------------------------
    def start_nats(self):
        self.nats_ports = [free_port() for _ in range(NODES)]
        self.monitor_ports = [free_port() for _ in range(NODES)]
        routes = [free_port() for _ in range(NODES)]
        for i in range(NODES):
            name = f"nats{i + 1}"
            others = ", ".join(f"nats-route://{HOST}:{p}" for j, p in enumerate(routes) if j != i)
            conf = os.path.join(self.work, f"{name}.conf")
            with open(conf, "w") as f:
                f.write(f'server_name: "{name}"\nlisten: {HOST}:{self.nats_ports[i]}\n'
                        f"http: {HOST}:{self.monitor_ports[i]}\n"
                        f'jetstream {{ store_dir: "{os.path.join(self.work, name)}", '
                        f"max_memory_store: 256MB, max_file_store: 4GB }}\n"
                        f'cluster {{ name: "hydrant-bench", listen: {HOST}:{routes[i]}, '
                        f"routes: [{others}] }}\n")
            self.spawn(name, [NATS_SERVER, "-c", conf])
        names = [f"nats{i + 1}" for i in range(NODES)]

        def ready():
            """Every server knows the meta leader, and the leader has both others current (so
            that a stream with replicas 3 can be placed at once)."""
            peers_current = False
            for i, port in enumerate(self.nats_ports):
                if not listening(port):
                    return False
                try:
                    with urllib.request.urlopen(f"http://{HOST}:{self.monitor_ports[i]}/jsz",
                                                timeout=1) as r:
                        meta = json.loads(r.read()).get("meta_cluster", {})
                except (OSError, ValueError):
                    return False
                if not meta.get("leader"):
                    return False
                replicas = meta.get("replicas") or []
                if len(replicas) >= NODES - 1 and all(p.get("current") for p in replicas):
                    peers_current = True
            return peers_current
        self.wait_for("the JetStream meta leader and its peers", ready, 30, names)

    def start_hydrant(self, name, cluster_url=None):
        port, http = free_port(), free_port()
        data = os.path.join(self.work, f"{name}-data")
        argv = [HYDRANT, "--mqtt", f"{HOST}:{port}", "--http", f"{HOST}:{http}", "--data", data,
                *HYDRANT_ARGS]
        if cluster_url:
            argv += ["--cluster", cluster_url, "--node-name", name, "--cluster-replicas", "3"]
        else:
            argv += ["--durability", "fsync"]
        self.spawn(name, argv)
        logpath = os.path.join(self.work, f"{name}.log")

        def started():
            with open(logpath, errors="replace") as f:
                text = f.read()
            return "event=started" in text and (not cluster_url or "event=cluster-ready" in text) \
                and listening(port)
        self.wait_for(f"{name} to start", started, 40, [name])
        self.nodes[name] = port
        return port

    # ---- measurements ------------------------------------------------------------------------
    def record(self, row, name, target, procs, argv, timeout, extra=None):
        """Runs a generator (argv), samples the CPU of `procs` and of the machine around it, and
        records its JSON line (or an error row) under name/target."""
        cpu0 = {p: cpu_s(self.procs[p].pid) for p in procs}
        busy0 = machine_busy()
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
            line = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""
            why = (out.stderr.strip().splitlines() or [f"exit status {out.returncode}"])[-1]
            d = json.loads(line) if line.startswith("{") else None
        except subprocess.TimeoutExpired:
            d, why = None, f"no result within {timeout} s"
        except ValueError:
            d, why = None, f"unreadable result: {line[:200]}"
        busy1 = machine_busy()
        dead = [p for p in procs if self.procs[p].poll() is not None]
        if dead:
            d, why = None, f"{', '.join(dead)} died during the run: {self.log_tail(dead[0])}"
        if d is None:
            d = {"error": why}
            log(f"ERROR: {row} {target}: {why}")
        else:
            d["server_cpu_s"] = {p: round(cpu_s(self.procs[p].pid) - cpu0[p], 2) for p in procs}
            span = busy1[1] - busy0[1]
            d["machine_busy"] = round((busy1[0] - busy0[0]) / span, 3) if span else 0
        d = {"row": row, "name": name, "target": target, **(extra or {}), **d}
        with open(self.raw, "a") as f:
            f.write(json.dumps(d) + "\n")
        self.rows.append(d)
        return d

    def loadgen(self, row, name, target, procs, *args, extra=None):
        argv = [LOADGEN, "--mqtt", "5", "--size", str(SIZE), "--label", target,
                "--duration", str(DURATION), *args]
        return self.record(row, name, target, procs, argv, DURATION + 60, extra)

    def jsbench(self, row, name, target, procs, *args):
        servers = ",".join(f"nats://{HOST}:{p}" for p in self.nats_ports)
        argv = [JSBENCH, "--servers", servers, "--size", str(SIZE), "--window", str(WINDOW),
                "--duration", str(DURATION), "--label", target, "--leader", LEADER, *args]
        return self.record(row, name, target, procs, argv, DURATION + 90)

    def place_hydrant_leader(self):
        servers = ",".join(f"nats://{HOST}:{p}" for p in self.nats_ports)
        try:
            out = subprocess.run([JSBENCH, "--servers", servers, "--stream", "hydrant-exchanges",
                                  "--place-only", "1", "--leader", LEADER],
                                 capture_output=True, text=True, timeout=60)
            return json.loads(out.stdout.strip().splitlines()[-1]).get("leader", "")
        except (subprocess.TimeoutExpired, ValueError, IndexError):
            return ""

    def run(self):
        node_procs = [f"node{i + 1}" for i in range(NODES)]
        nats_procs = [f"nats{i + 1}" for i in range(NODES)]
        pub_args = ["--scenario", "fanout", "--subs", "0", "--qos", "1",
                    "--pub-inflight", str(WINDOW)]
        lat_args = ["--scenario", "latency", "--subs", "1", "--deliveries-rate", str(RATE),
                    "--qos", "1", "--sub-qos", "0", "--topic", "exchange/bench/latency"]
        fan_args = ["--scenario", "fanout", "--subs", str(FAN_SUBS), "--qos", "1", "--sub-qos", "0",
                    "--pub-inflight", str(WINDOW), "--window", str(FAN_WINDOW),
                    "--topic", "exchange/bench/fanout"]

        # 1. A single node, no cluster: the references for latency and fan-out (and its
        #    publish rate, for information), before any nats-server runs.
        if want("latency") or want("fanout") or want("publish"):
            log("single node")
            port = self.start_hydrant("single")
            if want("publish"):
                self.loadgen("publish", "hydrant-single", "single", ["single"], "--port", str(port),
                             *pub_args, "--topic", "exchange/bench/pub")
            if want("latency"):
                self.loadgen("latency", "hydrant-single", "single", ["single"], "--port", str(port),
                             *lat_args)
            if want("fanout"):
                self.loadgen("fanout", "hydrant-single", "single", ["single"], "--port", str(port),
                             *fan_args)
            self.stop("single")

        # 2. Three nats-servers, then three nodes, node i talking to server i only.
        log("starting 3 nats-server (JetStream, one cluster)")
        self.start_nats()
        for i in range(NODES):
            log(f"starting node{i + 1}")
            self.start_hydrant(f"node{i + 1}", f"nats://{HOST}:{self.nats_ports[i]}")
        leader = self.place_hydrant_leader()
        log(f"stream hydrant-exchanges: leader {leader or '?'}")
        every = nats_procs + node_procs
        n1, n2 = str(self.nodes["node1"]), str(self.nodes["node2"])
        all_ports = ",".join(str(self.nodes[n]) for n in node_procs)

        if want("publish"):
            for rep in range(REPEAT):
                log(f"publish {rep + 1}/{REPEAT}: raw JetStream, raw with 3 readers, hydrant")
                self.jsbench("publish", "jetstream-raw", "raw", every)
                self.jsbench("publish", "jetstream-raw-3readers", "raw3", every, "--readers", "3")
                self.loadgen("publish", "hydrant-cluster", "cluster", every, "--port", n1,
                             *pub_args, "--topic", "exchange/bench/pub",
                             extra={"stream_leader": leader})
        if want("latency"):
            log("latency: node1 -> node2")
            self.loadgen("latency", "hydrant-cluster", "cluster", every, "--pub-port", n1,
                         "--port", n2, *lat_args)
        if want("fanout"):
            log(f"fanout: node1 -> {FAN_SUBS} subscribers on 3 nodes")
            self.loadgen("fanout", "hydrant-cluster", "cluster", every, "--pub-port", n1,
                         "--port", n1, "--sub-ports", all_ports, *fan_args)
        self.stop_all()


# ---- the table -----------------------------------------------------------------------------
def median(xs):
    xs = sorted(xs)
    if not xs:
        return None
    m = len(xs) // 2
    return xs[m] if len(xs) % 2 else (xs[m - 1] + xs[m]) / 2


def figure(rows, row, name, key):
    return median([r[key] for r in rows if r["row"] == row and r["name"] == name and key in r])


def cpu_per_msg(rows, row, name, only=None):
    """Median CPU us per acknowledged publish: of every server (or those starting with `only`)
    and, without `only`, of the generator too (jsbench's libnats client does what node 1 does)."""
    xs = []
    for r in rows:
        if r["row"] != row or r["name"] != name or "error" in r or not r.get("acked"):
            continue
        cpu = sum(v for k, v in r["server_cpu_s"].items() if not only or k.startswith(only))
        if not only:
            cpu += r.get("loadgen_cpu", 0) * r.get("duration_s", 0)
        xs.append(cpu / r["acked"] * 1e6)
    return median(xs)


def fmt(v, digits=0):
    if v is None:
        return "error"
    return f"{v:,.{digits}f}"


def table(rows):
    lines = []
    def add(label, a, b, note=""):
        """b = "-": no reference for this row."""
        ratio = f"{a / b:.2f}" if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b else ""
        lines.append((label, fmt(a), b if b == "-" else fmt(b), ratio, note))

    if any(r["row"] == "publish" for r in rows):
        h = figure(rows, "publish", "hydrant-cluster", "acked_per_s")
        raw = figure(rows, "publish", "jetstream-raw", "acked_per_s")
        raw3 = figure(rows, "publish", "jetstream-raw-3readers", "acked_per_s")
        single = figure(rows, "publish", "hydrant-single", "acked_per_s")
        goal = "" if h is None or not raw else ("target >= 0.8: " + ("met" if h / raw >= 0.8 else "MISSED"))
        add(f"publish acked/s, cluster vs raw JetStream (QoS 1, window {WINDOW})", h, raw, note=goal)
        add("  vs raw JetStream with 3 ordered readers", h, raw3)
        add("  single node (--durability fsync), for information", single, "-")
        for key, label in (("ack_p50_us", "p50 us"), ("ack_p99_us", "p99 us")):
            add(f"  PUBACK {label}, cluster vs raw", figure(rows, "publish", "hydrant-cluster", key),
                figure(rows, "publish", "jetstream-raw", key))
        add("  CPU us per publish, all processes, cluster vs raw",
            cpu_per_msg(rows, "publish", "hydrant-cluster"), cpu_per_msg(rows, "publish", "jetstream-raw"))
        add("    of which the 3 nodes, cluster", cpu_per_msg(rows, "publish", "hydrant-cluster", "node"), "-")
    if any(r["row"] == "latency" for r in rows):
        for key, label in (("p50_us", "p50"), ("p99_us", "p99"), ("max_us", "max")):
            add(f"latency {label} us at {RATE:.0f}/s, node1 -> node2 vs single node",
                figure(rows, "latency", "hydrant-cluster", key),
                figure(rows, "latency", "hydrant-single", key))
        add("  msgs/s sent, cluster vs single", figure(rows, "latency", "hydrant-cluster", "msgs_per_s"),
            figure(rows, "latency", "hydrant-single", "msgs_per_s"))
        add("  CPU us per message, all processes, cluster vs single",
            cpu_per_msg(rows, "latency", "hydrant-cluster"), cpu_per_msg(rows, "latency", "hydrant-single"))
        busy = [figure(rows, "latency", n, "machine_busy") for n in ("hydrant-cluster", "hydrant-single")]
        add("  both cores busy %, cluster vs single", *[None if b is None else 100 * b for b in busy])
    if any(r["row"] == "fanout" for r in rows):
        add(f"fan-out deliveries/s, {FAN_SUBS} subs on 3 nodes vs single node",
            figure(rows, "fanout", "hydrant-cluster", "deliveries_per_s"),
            figure(rows, "fanout", "hydrant-single", "deliveries_per_s"))
        add("  fan-out latency p99 us", figure(rows, "fanout", "hydrant-cluster", "p99_us"),
            figure(rows, "fanout", "hydrant-single", "p99_us"))
    w = max(len(l[0]) for l in lines)
    out = [f"{'':{w}}  {'hydrant cluster':>15}  {'reference':>12}  {'ratio':>6}  note",
           "-" * (w + 50)]
    for label, a, b, ratio, note in lines:
        out.append(f"{label:{w}}  {a:>15}  {b:>12}  {ratio:>6}  {note}".rstrip())
    # Loss and refusals: anything non-zero is worth a look.
    problems = []
    for r in rows:
        if "error" in r:
            problems.append(f"{r['row']} {r['name']}: error: {r['error']}")
            continue
        for key in ("loss", "pub_refused", "publish_errors", "lost_conns", "unacked", "dups"):
            if r.get(key):
                problems.append(f"{r['row']} {r['name']}: {key} = {r[key]}")
    out.append("")
    busy = [r["machine_busy"] for r in rows if "machine_busy" in r]
    if busy:
        out.append(f"both cores' busy share during the runs: median {median(busy):.0%} "
                   f"(everything shares 2 cores; see README.md)")
    out.extend(problems or ["no loss, no refused publish, no lost connection"])
    return "\n".join(out)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--table":
        with open(sys.argv[2]) as f:
            print(table([json.loads(l) for l in f if l.strip()]))
        return 0
    if not os.path.exists(NATS_SERVER):
        log("nats-server is not installed (Debian: nats-server)")
        return 2
    if not os.path.exists(os.path.join(BUILD, "build.ninja")):
        subprocess.run(["meson", "setup", BUILD, ROOT, "--buildtype=release", "-Dtests=false"],
                       check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["ninja", "-C", BUILD, "broker/hydrant", "tests/bench/hydrant-loadgen",
                    "tests/bench/hydrant-jsbench"], check=True, stdout=subprocess.DEVNULL)
    load1 = os.getloadavg()[0]
    if load1 > 0.5:
        log(f"WARNING: load average {load1:.2f} before starting; other work on these 2 cores "
            "skews the figures")
    bench = Bench()
    log(f"{DURATION:g} s per run, publish comparisons x{REPEAT}, window {WINDOW}, {SIZE} B, "
        f"latency at {RATE:g}/s, fan-out to {FAN_SUBS}; raw: {bench.raw}")
    def interrupted(*_):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, interrupted)
    rc = 0
    try:
        bench.run()
    except Failed as e:
        log(f"ERROR: {e}")
        rc = 1
    except KeyboardInterrupt:
        log("interrupted: stopping everything")
        rc = 130
    finally:
        bench.stop_all()
        if rc or os.environ.get("KEEP_LOGS") == "1":  # the servers' logs, for the reason
            keep = bench.raw[:-len(".jsonl")] + "-logs"
            os.makedirs(keep, exist_ok=True)
            for f in os.listdir(bench.work):
                if f.endswith(".log"):
                    shutil.move(os.path.join(bench.work, f), keep)
            log(f"logs kept in {keep}")
        shutil.rmtree(bench.work, ignore_errors=True)
    if bench.rows:
        print(table(bench.rows))
        print(f"\nraw: {bench.raw}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
