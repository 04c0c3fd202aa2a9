#!/usr/bin/python3
"""Runs the integration cases in tests/integration/NN_*.py, each in its own process.

Each case starts its own broker (see harness.py), so cases run in parallel (--jobs) and a hung
case is killed with its process group after its time limit. Prints one line per case
(PASS/FAIL/SKIP id, failure detail indented) and ends with
    integration: N passed, N failed, N skipped
Exit status is non-zero if any case failed.

Usage: /usr/bin/python3 tests/integration/run.py [--only PATTERN] [--jobs N] [--list]
  PATTERN: substring or glob matched against ids like "07_limits::keepalive_timeout[v5]";
           comma-separated for several.
  env BROKER=mosquitto runs against /usr/sbin/mosquitto (hydrant-only cases are skipped);
  env FORCE_ALL=1 runs hydrant-only cases against mosquitto too (to confirm a deviation);
  env HYDRANT_BIN=path picks the hydrant binary (default build-asan/, then build/).
Use /usr/bin/python3 (Debian's, which has python3-paho-mqtt).
"""

import argparse
import concurrent.futures
import fnmatch
import glob
import importlib.util
import json
import os
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness  # noqa: E402

RESULT_MARK = "@@RESULT "


def load_cases():
    for path in sorted(glob.glob(os.path.join(HERE, "[0-9][0-9]_*.py"))):
        name = os.path.splitext(os.path.basename(path))[0]
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    return list(harness.REGISTRY)


def matches(case_id, patterns):
    if not patterns:
        return True
    for p in patterns:
        if any(ch in p for ch in "*?[") and fnmatch.fnmatchcase(case_id, p):
            return True
        if p in case_id:
            return True
    return False


def run_one(case_id):
    cases = {c.id: c for c in load_cases()}
    if case_id not in cases:
        print(RESULT_MARK + json.dumps({"status": "FAIL", "detail": f"no such case {case_id}"}))
        return 1
    status, detail = harness.run_case(cases[case_id])
    sys.stdout.flush()
    print(RESULT_MARK + json.dumps({"status": status, "detail": detail}), flush=True)
    return 0


def spawn(case_):
    """Runs one case in a child process (own process group); returns (status, detail, secs)."""
    t0 = time.monotonic()
    limit = case_.opts["timeout"] + 30
    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--one", case_.id],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the case's group: its broker and clients too
        out, _ = proc.communicate()
        return "FAIL", f"case exceeded {limit}s and was killed\n{out[-3000:]}", \
            time.monotonic() - t0
    result = None
    for line in out.splitlines():
        if line.startswith(RESULT_MARK):
            result = json.loads(line[len(RESULT_MARK):])
    if result is None:
        return "FAIL", f"case process exited {proc.returncode} without a result\n{out[-3000:]}", \
            time.monotonic() - t0
    detail = result["detail"]
    noise = "\n".join(l for l in out.splitlines() if not l.startswith(RESULT_MARK)).strip()
    if result["status"] == "FAIL" and noise:
        detail += "\n--- case output ---\n" + noise[-2000:]
    return result["status"], detail, time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", action="append", default=[],
                    help="run only cases whose id contains PATTERN (or matches the glob)")
    ap.add_argument("--jobs", "-j", type=int, default=0,
                    help="cases run in parallel (default: 2 x CPU cores, at most 8)")
    ap.add_argument("--list", action="store_true", help="list case ids and exit")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.one:
        return run_one(args.one)

    patterns = [p for arg in args.only for p in arg.split(",") if p]
    cases = [c for c in load_cases() if matches(c.id, patterns)]
    if args.list:
        for c in cases:
            print(c.id)
        return 0

    kind = harness.BROKER_KIND
    target = (f"mosquitto {harness.MOSQUITTO_BIN}" if kind == "mosquitto"
              else harness.hydrant_bin())
    print(f"integration: {len(cases)} case(s) against {target}", flush=True)
    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    if kind == "hydrant" and not (harness.hydrant_bin() and os.path.exists(harness.hydrant_bin())):
        print(f"FAIL integration: hydrant binary not found (HYDRANT_BIN="
              f"{os.environ.get('HYDRANT_BIN', '')}); set BROKER=mosquitto to validate the tests")
        print("integration: 0 passed, 1 failed, 0 skipped")
        return 1

    jobs = args.jobs or min(8, 2 * (os.cpu_count() or 1))
    lock = threading.Lock()
    t0 = time.monotonic()
    failures = []

    def report(case_, status, detail, secs):
        with lock:
            counts[status] += 1
            line = f"{status} {case_.id} ({secs:.1f}s)"
            if status == "PASS" and detail:
                line += f" {detail}"
            if status == "SKIP":
                line = f"SKIP {case_.id}: {detail}"
            print(line, flush=True)
            if status == "FAIL":
                failures.append((case_.id, detail))
                for dl in detail.rstrip().splitlines():
                    print(f"    {dl}", flush=True)

    todo = []
    for c in cases:
        if c.opts["hydrant_only"] and kind != "hydrant" and not harness.FORCE_ALL:
            report(c, "SKIP", f"hydrant-only: {c.opts['hydrant_only']}", 0.0)
        else:
            todo.append(c)

    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futs = {pool.submit(spawn, c): c for c in todo}
        for fut in concurrent.futures.as_completed(futs):
            c = futs[fut]
            try:
                status, detail, secs = fut.result()
            except Exception as e:  # the runner itself broke: still a failure, never a pass
                status, detail, secs = "FAIL", f"runner error: {e!r}", 0.0
            report(c, status, detail, secs)

    if failures:
        print(f"\nfailed cases ({len(failures)}):")
        for cid, _ in sorted(failures):
            print(f"  {cid}")
    print(f"(wall {time.monotonic() - t0:.1f}s, {jobs} jobs)")
    print(f"integration: {counts['PASS']} passed, {counts['FAIL']} failed, "
          f"{counts['SKIP']} skipped", flush=True)
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
