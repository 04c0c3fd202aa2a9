#!/usr/bin/env bash
# Runs the Eclipse Paho interoperability client tests (MQTT 3.1.1 + 5.0) against a freshly
# started broker on a free loopback port, then stops that broker by its PID.
#
#   tests/interop/run.sh [driver args...]      e.g. --suite 5 --only test_will_delay
#
# Environment:
#   BROKER=hydrant (default) | mosquitto
#   HYDRANT_BIN   hydrant binary (default build/broker/hydrant)
#   HYDRANT_ARGS  extra hydrant arguments (default: the settings the suite's configuration-
#                 dependent tests need: --max-keepalive 60 --deny-subscribe test/nosubscribe)
#                 appended to
#                 "--open --mqtt 127.0.0.1:PORT --data TMPDIR --log-level warning"
#                 (e.g. "--max-keepalive 60 --receive-maximum 20 --topic-alias-maximum 10")
#   MOSQUITTO_BIN mosquitto binary (default /usr/sbin/mosquitto)
#   MOSQUITTO_PAHO_CONF=1  add "max_keepalive 60" (for 5:test_server_keep_alive) to the
#                 generated mosquitto.conf; default 0 = just "listener PORT 127.0.0.1" +
#                 "allow_anonymous true".  (No mosquitto 2.0.11 setting makes the
#                 test_subscribe_failure tests pass: its acl_file never refuses a SUBSCRIBE, it
#                 only filters deliveries -- checked with "topic deny test/nosubscribe".)
#   PAHO_DIR      suite copy (default .paho-testing); PYTHON (default /usr/bin/python3)
#   INTEROP_TIMEOUT  overall limit for the driver in seconds (default 900)
#
# Exit status: the driver's (0 = all passed), 2 if the suite copy is missing, 3 if the
# broker could not be started.
set -u

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

PAHO_DIR="${PAHO_DIR:-.paho-testing}"
PYTHON="${PYTHON:-/usr/bin/python3}"
BROKER="${BROKER:-hydrant}"
HYDRANT_SUITE_ARGS="--max-keepalive 60 --deny-subscribe test/nosubscribe"
INTEROP_TIMEOUT="${INTEROP_TIMEOUT:-900}"

if [[ ! -f "$PAHO_DIR/interoperability/client_test.py" || ! -f "$PAHO_DIR/interoperability/client_test5.py" ]]; then
  cat >&2 <<EOF
interop: the Eclipse Paho interoperability suite is not at $PAHO_DIR/interoperability/.
Get a copy (it is git-ignored; never commit it):
    git clone --depth 1 https://github.com/eclipse/paho.mqtt.testing $PAHO_DIR
or, from a bare mirror:
    mkdir -p $PAHO_DIR && git --git-dir=<mirror>.git archive HEAD | tar -x -C $PAHO_DIR
EOF
  exit 2
fi

tmpdir="$(mktemp -d "${TMPDIR:-/tmp}/hydrant-interop.XXXXXX")"
broker_pid=""
# mosquitto started as root drops to user "mosquitto": it must be able to read its config here
chmod 0755 "$tmpdir"

cleanup() {
  if [[ -n "$broker_pid" ]] && kill -0 "$broker_pid" 2>/dev/null; then
    kill -TERM "$broker_pid" 2>/dev/null
    for _ in $(seq 1 50); do
      kill -0 "$broker_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$broker_pid" 2>/dev/null && kill -KILL "$broker_pid" 2>/dev/null
    wait "$broker_pid" 2>/dev/null
  fi
  rm -rf "$tmpdir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A free loopback port: bind port 0, read it back, release it.
port="$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"

case "$BROKER" in
  hydrant)
    HYDRANT_BIN="${HYDRANT_BIN:-build/broker/hydrant}"
    if [[ ! -x "$HYDRANT_BIN" ]]; then
      echo "interop: hydrant binary $HYDRANT_BIN not found (build it, or set HYDRANT_BIN)" >&2
      exit 3
    fi
    mkdir -p "$tmpdir/data"
    # shellcheck disable=SC2086
    "$HYDRANT_BIN" --open --http off --mqtt "127.0.0.1:$port" --data "$tmpdir/data" --log-level warning \
      ${HYDRANT_ARGS-$HYDRANT_SUITE_ARGS} >"$tmpdir/broker.log" 2>&1 &
    broker_pid=$!
    ;;
  mosquitto)
    MOSQUITTO_BIN="${MOSQUITTO_BIN:-/usr/sbin/mosquitto}"
    conf="$tmpdir/mosquitto.conf"
    {
      echo "listener $port 127.0.0.1"
      echo "allow_anonymous true"
      echo "persistence false"
      echo "log_dest stderr"
      echo "log_type error"
      echo "log_type warning"
      if [[ "${MOSQUITTO_PAHO_CONF:-0}" == 1 ]]; then
        echo "max_keepalive 60"
      fi
    } >"$conf"
    "$MOSQUITTO_BIN" -c "$conf" >"$tmpdir/broker.log" 2>&1 &
    broker_pid=$!
    ;;
  *)
    echo "interop: unknown BROKER=$BROKER (hydrant or mosquitto)" >&2
    exit 3
    ;;
esac

# Wait (bounded) until the port accepts connections.
if ! "$PYTHON" - "$port" "$broker_pid" <<'EOF'
import os, socket, sys, time
port, pid = int(sys.argv[1]), int(sys.argv[2])
deadline = time.monotonic() + 15
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit("broker process exited during start-up")
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit("broker did not accept connections on 127.0.0.1:%d within 15 s" % port)
EOF
then
  echo "interop: $BROKER failed to start; its log:" >&2
  sed 's/^/    /' "$tmpdir/broker.log" >&2
  exit 3
fi
echo "interop: $BROKER (pid $broker_pid) listening on 127.0.0.1:$port"

timeout --kill-after=10 "$INTEROP_TIMEOUT" \
  "$PYTHON" "$here/run_paho_interop.py" --host 127.0.0.1 --port "$port" --paho-dir "$PAHO_DIR" "$@"
rc=$?
if [[ $rc -eq 124 || $rc -eq 137 ]]; then
  echo "interop: driver exceeded INTEROP_TIMEOUT=${INTEROP_TIMEOUT}s" >&2
fi

if ! kill -0 "$broker_pid" 2>/dev/null; then
  echo "interop: $BROKER exited during the run; its log:" >&2
  sed 's/^/    /' "$tmpdir/broker.log" >&2
  [[ $rc -eq 0 ]] && rc=1
elif [[ $rc -ne 0 && -s "$tmpdir/broker.log" ]]; then
  echo "interop: $BROKER log (last 40 lines):" >&2
  tail -n 40 "$tmpdir/broker.log" | sed 's/^/    /' >&2
fi
exit $rc
