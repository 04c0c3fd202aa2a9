#!/bin/bash
# Browser tests of the live viewer: headless Debian Chromium driven by playwright-core against a
# real hydrant on free loopback ports. Last line: "N passed, M failed".
#   HYDRANT_BIN  the broker (default: build/broker/hydrant)
#   WEB_ROOT     the built viewer (default: the web/ directory next to HYDRANT_BIN's build)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export HYDRANT_BIN=${HYDRANT_BIN:-$root/build/broker/hydrant}
export WEB_ROOT=${WEB_ROOT:-$(dirname "$(dirname "$HYDRANT_BIN")")/web}
export SAMPLES=${SAMPLES:-$here/samples}  # a real Gerrit event, recorded
if [[ ! -x ${CHROMIUM:-/usr/bin/chromium} || ! -x $HYDRANT_BIN || ! -f $WEB_ROOT/index.html ]]; then
  echo "browser: missing chromium, $HYDRANT_BIN or $WEB_ROOT/index.html"
  echo "0 passed, 1 failed"
  exit 1
fi
cd "$here"
if [[ ! -d node_modules/playwright-core || package-lock.json -nt node_modules/.installed ]]; then
  npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.installed
fi
# The mapping module's own tests (node --test), then the browser cases.
mapping_out=$(node --test "$root/web/test/" 2>&1)
m_pass=$(sed -n 's/^# pass //p' <<<"$mapping_out")
m_fail=$(sed -n 's/^# fail //p' <<<"$mapping_out")
echo "mapping: ${m_pass:-0} passed, ${m_fail:-1} failed"
[[ ${m_fail:-1} -eq 0 ]] || echo "$mapping_out" | tail -30
out=$(timeout 300 node viewer.test.mjs 2>&1)
rc=$?
echo "$out" | sed '$d'
last=$(tail -n 1 <<<"$out")
b_pass=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p' <<<"$last")
b_fail=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p' <<<"$last")
if [[ -z $b_pass ]]; then
  echo "browser: the run ended without a summary (status $rc): $last"
  b_pass=0
  b_fail=1
fi
echo "$((${m_pass:-0} + b_pass)) passed, $((${m_fail:-1} + b_fail)) failed"
[[ $((${m_fail:-1} + b_fail)) -eq 0 ]]
