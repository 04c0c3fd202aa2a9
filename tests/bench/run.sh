#!/bin/bash
# Side-by-side benchmark: hydrant against Debian's mosquitto on loopback (see README.md here).
# For each scenario and each broker, a fresh broker listens on a free 127.0.0.1 port pinned to
# core 0 (hydrant with --threads 1), hydrant-loadgen runs pinned to core 1, and the broker's
# CPU time (/proc/PID/stat utime+stime) and memory (/proc/PID/status VmRSS, VmHWM) are sampled
# around the run. Each scenario runs REPEAT times; the table shows medians. Then an open-loop
# step-up finds the highest fan-out rate each broker holds without loss. fanin-q1-durable adds
# hydrant with --durability none (hydrant-nosync); history-read is hydrant's alone. Every
# process it starts, it stops (by PID); every wait has a time limit.
#
#   tests/bench/run.sh            full run, about 8 minutes
#   QUICK=1 tests/bench/run.sh    1 repeat, shorter runs, under 2 minutes
# Other knobs (environment): REPEAT, DURATION (s), CONNS, MQTT (4 = 3.1.1, 5), ONLY (scenario
# names, comma-separated), BROKERS ("hydrant mosquitto"), BENCH_BUILD (the build directory,
# build-bench), HIST_K (messages history-read stores, 100000), HIST_READERS (4). Raw JSON
# lines: $BENCH_BUILD/bench-*.jsonl. A broker that does not start, or refuses the WebSocket
# upgrade, gives an error row for that run; the script goes on.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BENCH_BUILD:-build-bench}
[[ $BUILD == /* ]] || BUILD=$ROOT/$BUILD
HYDRANT=$BUILD/broker/hydrant
LOADGEN=$BUILD/tests/bench/hydrant-loadgen
MOSQUITTO=${MOSQUITTO:-/usr/sbin/mosquitto}
BROKER_CORE=0
LOADGEN_CORE=1

QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then
  REPEAT=${REPEAT:-1} DURATION=${DURATION:-2} CONNS=${CONNS:-5000} STEP_S=2 STEP_X=2
else
  REPEAT=${REPEAT:-3} DURATION=${DURATION:-5} CONNS=${CONNS:-19500} STEP_S=3 STEP_X=1.5
fi
MQTT=${MQTT:-4}
ONLY=${ONLY:-}
BROKERS=${BROKERS:-hydrant mosquitto}
HIST_K=${HIST_K:-100000}
HIST_READERS=${HIST_READERS:-4}

# The same limits for both brokers (hydrant's defaults, stated explicitly):
# in-flight window 100 per client, 10,000 queued messages per client, 1 MiB max packet,
# no connection cap, no $SYS, TCP_NODELAY on client sockets. Persistence: mosquitto keeps
# nothing; hydrant logs only what is published under exchange/ (fanin-q1-durable and
# history-read), with --durability fsync (its default) or none (as hydrant-nosync).
HYDRANT_ARGS=(--threads 1 --open --log-level warning --sys-interval 0 --max-inflight 100
  --receive-maximum 100 --max-queued-messages 10000 --max-packet-size 1M --max-connections 0
  --outbound-budget 1M)
mosquitto_conf() {
  cat <<EOF
listener $1 127.0.0.1
allow_anonymous true
persistence false
max_inflight_messages 100
max_queued_messages 10000
max_queued_bytes 0
max_packet_size 1048576
max_connections -1
max_keepalive 65535
set_tcp_nodelay true
sys_interval 0
log_dest stderr
log_type error
log_type warning
listener $2 127.0.0.1
protocol websockets
EOF
}

# ---- build -------------------------------------------------------------------------------
if [[ ! -f $BUILD/build.ninja ]]; then
  meson setup "$BUILD" "$ROOT" --buildtype=release -Dtests=false >/dev/null
fi
TARGETS=(tests/bench/hydrant-loadgen)
[[ " $BROKERS " == *" hydrant "* ]] && TARGETS+=(broker/hydrant)
ninja -C "$BUILD" "${TARGETS[@]}" >/dev/null

ulimit -n "$(ulimit -Hn)"  # connections: both the broker and the generator need many files
# hydrant's automatic connection cap is the descriptor limit less a reserve of 64 + limit/16
# (broker/core/fd_budget.cpp); stay under it, so that both brokers hold every connection.
fd_limit=$(ulimit -n)
conn_room=$(( fd_limit - 64 - fd_limit / 16 - 100 ))
if (( CONNS > conn_room )); then CONNS=$conn_room; fi

STAMP=$(date +%Y%m%d-%H%M%S)
RAW=$BUILD/bench-$STAMP.jsonl
for n in $(seq 9); do [[ -e $RAW ]] && RAW=$BUILD/bench-$STAMP-$n.jsonl; done
TMP=$(mktemp -d /tmp/hydrant-bench.XXXXXX)
DATA=$BUILD/bench-data-$$  # hydrant's --data: on the build's disk, fresh per run, removed after
BROKER_PID=
LOADGEN_PID=
cleanup() {
  [[ -n $LOADGEN_PID ]] && kill "$LOADGEN_PID" 2>/dev/null || true
  stop_broker
  rm -rf "$TMP" "$DATA"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

json_string() {  # $1 as a JSON string literal
  python3 -c 'import json, sys; print(json.dumps(sys.argv[1]))' "$1"
}
# The line run_load/run_conns record for a run that could not be measured.
error_row() {  # $1 name, $2 broker, $3 rep, $4 why
  local out
  out="{\"name\":\"$1\",\"broker\":\"$2\",\"rep\":$3,\"error\":$(json_string "$4")}"
  echo "bench: ERROR: $1 $2: $4" >&2
  echo "$out" >>"$RAW"
  echo "$out"
}
# The last loadgen run's last line on stderr (why it printed no result, if it did not); its
# whole stderr goes on to loadgen.log.
loadgen_error() {
  local why
  why=$(tail -n 1 "$TMP/loadgen.err" 2>/dev/null || true)
  cat "$TMP/loadgen.err" >>"$TMP/loadgen.log" 2>/dev/null || true
  echo "${why:-no message}"
}
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
cpu_ticks() {  # utime + stime of PID, in clock ticks
  local s
  s=$(<"/proc/$1/stat")
  s=${s##*) }
  set -- $s
  echo $(( ${12} + ${13} ))
}
cores_ticks() {  # busy (user+nice+system+irq+softirq) and steal ticks of cpu0 and cpu1
  awk '$1 == "cpu0" || $1 == "cpu1" { printf "%d %d ", $2 + $3 + $4 + $7 + $8, $9 }' /proc/stat
}
cores_json() {  # $1 = cores_ticks before, $2 = after: what the two cores did meanwhile
  awk -v a="$1" -v b="$2" -v t="$TICK" 'BEGIN { split(a, x); split(b, y)
    printf ",\"core0_busy_s\":%.2f,\"core0_steal_s\":%.2f,\"core1_busy_s\":%.2f,\"core1_steal_s\":%.2f",
      (y[1] - x[1]) / t, (y[2] - x[2]) / t, (y[3] - x[3]) / t, (y[4] - x[4]) / t }'
}
status_kib() {  # a Vm* line of /proc/PID/status, in KiB (0 if the process is gone)
  awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0
}
TICK=$(getconf CLK_TCK)

# Starts broker $1 (hydrant | hydrant-nosync | mosquitto) with MQTT on PORT and MQTT over
# WebSocket (and hydrant's HTTP API) on WS_PORT; sets BROKER_PID. Returns 1, with START_ERROR
# set, when it exits or does not listen within 5 s on PORT (and on WS_PORT if $2 = ws).
start_broker() {
  PORT=$(free_port)
  WS_PORT=$(free_port)
  START_ERROR=
  rm -rf "$DATA"
  if [[ $1 == hydrant* ]]; then
    local durability=fsync
    [[ $1 == hydrant-nosync ]] && durability=none
    taskset -c $BROKER_CORE "$HYDRANT" --mqtt "127.0.0.1:$PORT" --http "127.0.0.1:$WS_PORT" \
      --data "$DATA" --durability $durability "${HYDRANT_ARGS[@]}" 2>>"$TMP/broker.log" &
  else
    mosquitto_conf "$PORT" "$WS_PORT" >"$TMP/mosquitto.conf"
    taskset -c $BROKER_CORE "$MOSQUITTO" -c "$TMP/mosquitto.conf" 2>>"$TMP/broker.log" &
  fi
  BROKER_PID=$!
  local want=("$PORT") port
  [[ ${2:-} == ws ]] && want+=("$WS_PORT")
  for port in "${want[@]}"; do
    for _ in $(seq 100); do
      if ! kill -0 "$BROKER_PID" 2>/dev/null; then
        wait "$BROKER_PID" 2>/dev/null || true
        BROKER_PID=
        START_ERROR="$1 exited at start: $(tail -n 1 "$TMP/broker.log")"
        return 1
      fi
      if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then continue 2; fi
      sleep 0.05
    done
    START_ERROR="$1 did not listen on $port within 5 s"
    [[ $port == "$WS_PORT" ]] && START_ERROR+=" (no WebSocket listener)"
    stop_broker
    return 1
  done
}

stop_broker() {
  [[ -z $BROKER_PID ]] && return 0
  if kill -0 "$BROKER_PID" 2>/dev/null; then
    kill -TERM "$BROKER_PID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$BROKER_PID" 2>/dev/null || break; sleep 0.05; done
    if kill -0 "$BROKER_PID" 2>/dev/null; then
      echo "bench: broker $BROKER_PID ignored SIGTERM for 5 s; SIGKILL" >&2
      kill -KILL "$BROKER_PID" 2>/dev/null || true
    fi
  else
    echo "bench: broker $BROKER_PID had already exited (crash?)" >&2
  fi
  wait "$BROKER_PID" 2>/dev/null || true
  BROKER_PID=
  rm -rf "$DATA"
}

# One pub/sub run: $1 broker, $2 scenario name, $3 repetition, then loadgen arguments.
# Appends one JSON line (loadgen's figures + broker CPU/RSS) to $RAW and prints it.
run_load() {
  local broker=$1 name=$2 rep=$3 ws=() transport=tcp
  shift 3
  if [[ $name == *-ws ]]; then  # the publisher on TCP, the subscribers over WebSocket
    transport=ws
    ws=(--sub-transport ws)
  fi
  start_broker "$broker" "$transport" || { error_row "$name" "$broker" "$rep" "$START_ERROR"; return 0; }
  measure_load "$broker" "$name" "$rep" "" "${ws[@]}" "$@"
}

# The measured part of a run, on the broker start_broker started; stops it. $1 broker, $2 name,
# $3 repetition, $4 more JSON members for the line ("" or ',"key":value'), then loadgen arguments.
measure_load() {
  local broker=$1 name=$2 rep=$3 extra=$4
  shift 4
  local cpu0 cpu1 rss0 out rc=0 cores0 cores1
  rss0=$(status_kib "$BROKER_PID" VmRSS)
  cpu0=$(cpu_ticks "$BROKER_PID")
  cores0=$(cores_ticks)
  out=$(timeout 120 taskset -c $LOADGEN_CORE "$LOADGEN" --port "$PORT" --ws-port "$WS_PORT" \
          --mqtt "$MQTT" --label "$broker" "$@" 2>"$TMP/loadgen.err") || rc=$?
  local why
  why=$(loadgen_error)
  if ! kill -0 "$BROKER_PID" 2>/dev/null; then
    stop_broker
    error_row "$name" "$broker" "$rep" "broker died during the run (loadgen rc=$rc: $why)"
    return 0
  fi
  if [[ $out != \{* ]]; then
    stop_broker
    error_row "$name" "$broker" "$rep" "loadgen rc=$rc: $why"
    return 0
  fi
  cpu1=$(cpu_ticks "$BROKER_PID")
  cores1=$(cores_ticks)
  out=${out%\}}$extra$(cores_json "$cores0" "$cores1")$(printf ',"broker_cpu_s":%s,"broker_rss0_kib":%s,"broker_rss_kib":%s,"broker_hwm_kib":%s,"loadgen_rc":%s}' \
    "$(awk -v a="$cpu0" -v b="$cpu1" -v t="$TICK" 'BEGIN { printf "%.2f", (b - a) / t }')" \
    "$rss0" "$(status_kib "$BROKER_PID" VmRSS)" "$(status_kib "$BROKER_PID" VmHWM)" "$rc")
  stop_broker
  out="{\"name\":\"$name\",\"broker\":\"$broker\",\"rep\":$rep,${out#\{}"
  echo "$out" >>"$RAW"
  echo "$out"
}

# Idle connections: connects/s, then RSS while all are held (sampled 1 s after all are ready).
run_conns() {  # $3 = "-ws": the clients connect over WebSocket
  local broker=$1 rep=$2 suffix=${3:-} rss0 rss1 out rc=0 transport=tcp
  [[ $suffix == -ws ]] && transport=ws
  start_broker "$broker" "$transport" || {
    error_row "connections$suffix" "$broker" "$rep" "$START_ERROR"; return 0; }
  sleep 0.2
  rss0=$(status_kib "$BROKER_PID" VmRSS)
  rm -f "$TMP/ready"
  timeout 120 taskset -c $LOADGEN_CORE "$LOADGEN" --port "$PORT" --ws-port "$WS_PORT" \
    --transport "$transport" --mqtt "$MQTT" --label "$broker" \
    --scenario connections --subs "$CONNS" --hold 3 --ready-file "$TMP/ready" \
    >"$TMP/conns.out" 2>"$TMP/loadgen.err" &
  LOADGEN_PID=$!
  rss1=0
  for _ in $(seq 600); do
    if [[ -f $TMP/ready ]]; then sleep 1; rss1=$(status_kib "$BROKER_PID" VmRSS); break; fi
    kill -0 "$LOADGEN_PID" 2>/dev/null || break
    sleep 0.1
  done
  wait "$LOADGEN_PID" || rc=$?
  LOADGEN_PID=
  out=$(<"$TMP/conns.out")
  local why
  why=$(loadgen_error)
  if ! kill -0 "$BROKER_PID" 2>/dev/null; then
    stop_broker
    error_row "connections$suffix" "$broker" "$rep" "broker died during the run (loadgen rc=$rc: $why)"
    return 0
  fi
  if [[ $out != \{* ]]; then
    stop_broker
    error_row "connections$suffix" "$broker" "$rep" "loadgen rc=$rc: $why"
    return 0
  fi
  out=${out%\}}$(printf ',"broker_rss0_kib":%s,"broker_rss_kib":%s,"rss_bytes_per_conn":%s,"loadgen_rc":%s}' \
    "$rss0" "$rss1" "$(( (rss1 - rss0) * 1024 / CONNS ))" "$rc")
  stop_broker
  out="{\"name\":\"connections$suffix\",\"broker\":\"$broker\",\"rep\":$rep,${out#\{}"
  echo "$out" >>"$RAW"
  echo "$out"
}

# Open-loop fan-out to 1000 subscribers at rising rates; a step is held when nothing is lost,
# the generator really sent at that rate and the broker kept up during the run (>= 95 % of
# the deliveries arrived before publishing stopped, not only in the drain afterwards).
step_up() {
  local broker=$1 rate=20 best=0 best_p99=0 best_lg=0 line
  while :; do
    line=$(run_load "$broker" "stepup-$rate" 1 --scenario fanout --subs 1000 --size 512 --rate "$rate" \
             --duration "$STEP_S" --drain 2)
    if ! python3 -c 'import json,sys
d = json.loads(sys.argv[1]); r = float(sys.argv[2])
ok = "error" not in d and d["loss"] == 0 and d["lost_conns"] == 0 and d["msgs_per_s"] >= 0.99 * r \
     and d["received_in_run"] >= 0.95 * d["expected"]
sys.exit(0 if ok else 1)' "$line" "$rate"; then
      break
    fi
    best=$rate
    read -r best_p99 best_lg < <(python3 -c 'import json,sys; d = json.loads(sys.argv[1]); print(d["p99_us"], d["loadgen_cpu"])' "$line")
    rate=$(awk -v r="$rate" -v x="$STEP_X" 'BEGIN { printf "%d", r * x }')
    (( rate <= 200000 )) || break
  done
  echo "{\"name\":\"stepup\",\"broker\":\"$broker\",\"rep\":1,\"highest_rate\":$best,\"p99_us\":$best_p99,\"loadgen_cpu\":$best_lg,\"subs\":1000}" >>"$RAW"
}

# history-read, hydrant only: HIST_K messages of 200 B to exchange/bench/hist/<i> from 10
# publishers at QoS 1 (so each is in the log once its PUBACK came), then HIST_READERS HTTP
# clients read them all back (GET /api/v1/history, pages of 1000) over and over for DURATION s.
run_history() {
  local rep=$1 fill rate rc=0
  start_broker hydrant ws || { error_row history-read hydrant "$rep" "$START_ERROR"; return 0; }
  fill=$(timeout 150 taskset -c $LOADGEN_CORE "$LOADGEN" --port "$PORT" --mqtt "$MQTT" --label prefill \
           --scenario fanin --pubs 10 --qos 1 --sub-qos 0 --size 200 --window 1000 --burst 10 \
           --topic-prefix exchange/bench/hist --count "$HIST_K" --duration 120 2>"$TMP/loadgen.err") || rc=$?
  if ! rate=$(python3 -c 'import json, sys
try:
    d = json.loads(sys.argv[1])
except ValueError:
    print("no result")
    sys.exit(1)
ok = d["sent"] == int(sys.argv[2]) and d["acked"] == d["sent"]
print("%.1f" % d["msgs_per_s"] if ok else "%(sent)d sent, %(acked)d acknowledged, %(pub_refused)d refused" % d)
sys.exit(0 if ok else 1)' "$fill" "$HIST_K"); then
    stop_broker
    error_row history-read hydrant "$rep" "filling the log: $rate (loadgen rc=$rc: $(loadgen_error))"
    return 0
  fi
  measure_load hydrant history-read "$rep" ",\"prefill_msgs_per_s\":$rate" --scenario history \
    --readers "$HIST_READERS" --expect "$HIST_K" --filter 'exchange/bench/hist/#' --limit 1000 \
    --duration "$DURATION"
}

want() { [[ -z $ONLY || ",$ONLY," == *",$1,"* ]]; }
# The brokers a scenario runs on: fanin-q1-durable also on hydrant with --durability none.
brokers_for() {
  local b
  for b in $BROKERS; do
    echo "$b"
    [[ $1 == fanin-q1-durable && $b == hydrant ]] && echo hydrant-nosync
  done
}

# FANOUT_WINDOW: messages in flight per subscriber in the QoS 0 fan-out rows (2 = a shallow
# firehose, where each delivery is a write of its own).
FANOUT_WINDOW=${FANOUT_WINDOW:-64}
SCENARIOS=(
  "fanout-q0|--scenario fanout --subs 1000 --qos 0 --size 512 --window $FANOUT_WINDOW"
  "fanout-q0-ws|--scenario fanout --subs 1000 --qos 0 --size 512 --window $FANOUT_WINDOW"
  "fanout-q1|--scenario fanout --subs 100 --qos 1 --size 512 --window 64"
  "fanin-q0|--scenario fanin --pubs 100 --qos 0 --size 512 --window 1000 --burst 10"
  "latency|--scenario latency --subs 10 --qos 0 --size 512 --deliveries-rate 10000"
  # QoS 1 publishes to exchange topics (hydrant logs them before its PUBACK); the subscriber
  # takes them at QoS 0, see README.md.
  "fanin-q1-durable|--scenario fanin --pubs 100 --qos 1 --sub-qos 0 --size 512 --window 1000 --burst 10 --pub-inflight 10 --topic-prefix exchange/bench/fanin"
)
read -r LOAD1 _ </proc/loadavg
if awk -v l="$LOAD1" 'BEGIN { exit !(l > 0.5) }'; then
  echo "bench: WARNING: load average $LOAD1 before starting; other work on these cores skews the figures" >&2
fi
echo "bench: repeat $REPEAT, $DURATION s per run, MQTT $MQTT, broker on core $BROKER_CORE, loadgen on core $LOADGEN_CORE; raw: $RAW" >&2
for entry in "${SCENARIOS[@]}"; do
  name=${entry%%|*}
  want "$name" || continue
  for broker in $(brokers_for "$name"); do
    for rep in $(seq "$REPEAT"); do
      echo "bench: $name $broker $rep/$REPEAT" >&2
      run_load "$broker" "$name" "$rep" ${entry#*|} --duration "$DURATION" >/dev/null
    done
  done
done
if want history-read && [[ " $BROKERS " == *" hydrant "* ]]; then
  for rep in $(seq "$REPEAT"); do
    echo "bench: history-read hydrant $rep/$REPEAT ($HIST_K messages)" >&2
    run_history "$rep" >/dev/null
  done
fi
for suffix in "" -ws; do
  want "connections$suffix" || continue
  for broker in $BROKERS; do
    for rep in $(seq "$REPEAT"); do
      echo "bench: connections$suffix $broker $rep/$REPEAT ($CONNS)" >&2
      run_conns "$broker" "$rep" "$suffix" >/dev/null
    done
  done
done
if want stepup; then
  for broker in $BROKERS; do
    echo "bench: stepup $broker" >&2
    step_up "$broker"
  done
fi

python3 "$ROOT/tests/bench/table.py" "$RAW"
