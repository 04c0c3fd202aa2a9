#!/usr/bin/env bash
# A three-node Hydrant cluster on this machine, for trying it out: three nats-server processes
# (one JetStream cluster, replicas 3) and three hydrant nodes, all on loopback. It creates the
# publisher `demo` on node 1, prints what to run, and keeps running until Ctrl-C (or for
# DURATION seconds); then it stops every process it started, by PID, and removes its files.
#
#   tests/cluster/run-local.sh                 # build/broker/hydrant (HYDRANT=... for another)
#   DURATION=60 tests/cluster/run-local.sh
#
# Ports (each can be moved with the variable): MQTT 1883 1884 1885 (MQTT_BASE), HTTP and
# WebSocket 8080 8081 8082 (HTTP_BASE), NATS clients 4222.. (NATS_BASE), routes 6222..
# (ROUTE_BASE), NATS monitoring 8222.. (MONITOR_BASE).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
HYDRANT=${HYDRANT:-$root/build/broker/hydrant}
MQTT_BASE=${MQTT_BASE:-1883}
HTTP_BASE=${HTTP_BASE:-8080}
NATS_BASE=${NATS_BASE:-4222}
ROUTE_BASE=${ROUTE_BASE:-6222}
MONITOR_BASE=${MONITOR_BASE:-8222}
DURATION=${DURATION:-0}
[[ -x $HYDRANT ]] || { echo "run-local: no $HYDRANT: build it first (see README.md)" >&2; exit 2; }
command -v nats-server >/dev/null || { echo "run-local: nats-server is not installed (.ci/install-deps)" >&2; exit 2; }

work=$(mktemp -d /tmp/hydrant-cluster-XXXXXX)
pids=()
stop_all() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap stop_all EXIT
trap 'exit 0' INT TERM

wait_port() {  # wait_port PORT WHAT
  for _ in $(seq 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "run-local: $2 did not listen on $1; its log: $work" >&2
  exit 1
}

urls=()
for i in 1 2 3; do urls+=("nats://127.0.0.1:$((NATS_BASE + i - 1))"); done
routes=""
for i in 1 2 3; do routes+="${routes:+, }nats-route://127.0.0.1:$((ROUTE_BASE + i - 1))"; done
for i in 1 2 3; do
  cat >"$work/nats$i.conf" <<CONF
server_name: "nats$i"
listen: 127.0.0.1:$((NATS_BASE + i - 1))
http: 127.0.0.1:$((MONITOR_BASE + i - 1))
jetstream { store_dir: "$work/nats$i" }
cluster { name: "hydrant-local", listen: 127.0.0.1:$((ROUTE_BASE + i - 1)), routes: [$routes] }
CONF
  nats-server -c "$work/nats$i.conf" >"$work/nats$i.log" 2>&1 &
  pids+=($!)
done
for i in 1 2 3; do wait_port $((NATS_BASE + i - 1)) "nats-server $i"; done
# JetStream answers once the three servers elected a meta leader.
for _ in $(seq 300); do
  python3 -c "import urllib.request,sys; sys.exit('\"leader\"' not in urllib.request.urlopen('http://127.0.0.1:$MONITOR_BASE/jsz', timeout=1).read().decode())" 2>/dev/null && break
  sleep 0.1
done

cluster=$(IFS=,; echo "${urls[*]}")
mkdir -p "$work/node1"
token=$("$HYDRANT" user add demo --owner demo@example.org --data "$work/node1" 2>>"$work/admin.log" | tail -n1)
for i in 1 2 3; do
  "$HYDRANT" --cluster "$cluster" --node-name "node$i" --data "$work/node$i" \
    --mqtt "127.0.0.1:$((MQTT_BASE + i - 1))" --http "127.0.0.1:$((HTTP_BASE + i - 1))" \
    >"$work/node$i.log" 2>&1 &
  pids+=($!)
  wait_port $((MQTT_BASE + i - 1)) "hydrant node$i"
done
grep -h "event=cluster-ready" "$work"/node*.log | sed 's/ scope=.*//' || true

cat <<TEXT

Three nodes are up (logs in $work):
  node1  mqtt://127.0.0.1:$MQTT_BASE    viewer http://127.0.0.1:$HTTP_BASE/
  node2  mqtt://127.0.0.1:$((MQTT_BASE + 1))    viewer http://127.0.0.1:$((HTTP_BASE + 1))/
  node3  mqtt://127.0.0.1:$((MQTT_BASE + 2))    viewer http://127.0.0.1:$((HTTP_BASE + 2))/

Watch on node 3, publish on node 1 (the publisher demo, made on node 1, exists on every node):
  mosquitto_sub -p $((MQTT_BASE + 2)) -t 'exchange/#' -v -V mqttv5 -F '%t %p %P'
  mosquitto_pub -p $MQTT_BASE -u demo -P '$token' -t exchange/demo/v1/hello -m '{"hello":"cluster"}' -q 1
or open http://127.0.0.1:$((HTTP_BASE + 2))/?b=t:exchange/%23&run=1 in a browser (node 3's viewer).
TEXT
if (( DURATION > 0 )); then
  echo "Stopping in $DURATION s."
  sleep "$DURATION"
else
  echo "Ctrl-C stops everything."
  while true; do sleep 3600; done
fi
