"""nats-server processes with JetStream for the cluster cases: one server, or a cluster of
three on loopback, each with its own store directory under the case's temporary directory. Every
process is tracked by the case (t.track_proc) and killed by PID at its end."""

import atexit
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request

from harness import HOST, Skip, free_port, wait_until

NATS_SERVER = shutil.which("nats-server") or "/usr/bin/nats-server"


class ServerExited(AssertionError):
    """A server process ended while it was awaited (a port taken, a bad configuration)."""


class JetStream:
    """The servers of one engine: `urls` for --cluster, `procs` by server."""

    def __init__(self, t, servers=1, jetstream=True):
        if not os.path.exists(NATS_SERVER):
            raise Skip("nats-server is not installed (Debian: nats-server)")
        self.t = t
        self.tmp = tempfile.mkdtemp(prefix="hydrant-js-")
        atexit.register(shutil.rmtree, self.tmp, True)  # each case runs in its own process
        self.names = [f"n{i + 1}" for i in range(servers)]
        self.jetstream = jetstream
        self.procs = [None] * servers
        # A free port can be taken by another case's process before the server binds it (the
        # cases run in parallel): then the server exits at once, and gets fresh ports.
        for attempt in range(3):
            self.ports = [free_port() for _ in range(servers)]
            self.monitor_ports = [free_port() for _ in range(servers)]
            self.route_ports = [free_port() for _ in range(servers)] if servers > 1 else []
            for i in range(servers):
                self.start(i)
            try:
                self.wait_ready()
                return
            except ServerExited:
                for proc in self.procs:
                    if proc.poll() is None:
                        proc.kill()
                        proc.wait(timeout=10)
        raise AssertionError(f"nats-server did not start three times; its log: {self.log()[-800:]}")

    @property
    def urls(self):
        return ",".join(f"nats://{HOST}:{p}" for p in self.ports)

    def _config(self, i):
        lines = [f'server_name: "{self.names[i]}"', f"listen: {HOST}:{self.ports[i]}",
                 f"http: {HOST}:{self.monitor_ports[i]}"]
        if self.jetstream:
            store = os.path.join(self.tmp, self.names[i])
            lines.append(f'jetstream {{ store_dir: "{store}", max_memory_store: 64MB, '
                         f"max_file_store: 1GB }}")
        if self.route_ports:
            routes = ", ".join(f"nats-route://{HOST}:{p}" for j, p in enumerate(self.route_ports)
                               if j != i)
            lines.append(f'cluster {{ name: "hydrant-test", listen: {HOST}:{self.route_ports[i]}, '
                         f"routes: [{routes}] }}")
        path = os.path.join(self.tmp, f"{self.names[i]}.conf")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def start(self, i):
        log = open(os.path.join(self.tmp, f"{self.names[i]}.log"), "ab")
        self.procs[i] = self.t.track_proc(subprocess.Popen(
            [NATS_SERVER, "-c", self._config(i)], stdin=subprocess.DEVNULL, stdout=log,
            stderr=log))

    def jsz(self, i):
        url = f"http://{HOST}:{self.monitor_ports[i]}/jsz"
        with urllib.request.urlopen(url, timeout=2) as r:
            return json.loads(r.read())

    def wait_ready(self, timeout=30):
        """Every server accepts clients and, with JetStream, knows its meta leader."""
        def ready():
            for i, port in enumerate(self.ports):
                if self.procs[i].poll() is not None:
                    raise ServerExited(f"nats-server {self.names[i]} exited: {self.log(i)[-400:]}")
                try:
                    socket.create_connection((HOST, port), timeout=0.5).close()
                    if self.jetstream and len(self.ports) > 1:
                        if not self.jsz(i).get("meta_cluster", {}).get("leader"):
                            return False
                    elif self.jetstream:
                        self.jsz(i)
                except OSError:
                    return False
            return True
        wait_until(ready, timeout, interval=0.1, what="nats-server ready")

    def log(self, i=0):
        with open(os.path.join(self.tmp, f"{self.names[i]}.log"), errors="replace") as f:
            return f.read()
