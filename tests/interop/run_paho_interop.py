#!/usr/bin/python3
"""Driver for the Eclipse Paho MQTT interoperability client tests against a running broker.

The suite itself (https://github.com/eclipse/paho.mqtt.testing, directory interoperability/:
client_test.py = MQTT 3.1.1, client_test5.py = MQTT 5.0, plus its mqtt/ package) is NOT part of
this repository.  Put a copy in .paho-testing/ (git-ignored, never commit it), e.g.

    git clone --depth 1 https://github.com/eclipse/paho.mqtt.testing .paho-testing

Its own entry points ignore our host/port conventions (client_test5.py even rewrites sys.argv),
so this driver imports the two modules from the copy, sets the module-level globals their test
classes read, and runs their unittest TestCase classes (class `Test` in each) itself:

    /usr/bin/python3 tests/interop/run_paho_interop.py --host 127.0.0.1 --port 1883 \
        [--suite 311|5|both] [--paho-dir .paho-testing] [--only NAME[,NAME..]] \
        [--skip NAME[,NAME..]] [--nosubscribe-topic FILTER] [--test-timeout S] [--verbose]

NAME is a test method name (test_keepalive), optionally qualified with the suite
(5:test_keepalive, 311:testBasic), or an fnmatch glob (test_*alias*).  Output: one line per test
(PASS/FAIL/ERROR/SKIP, seconds, and for failures the reason plus the suite's captured output),
then

    interop 3.1.1: N passed, N failed
    interop 5: N passed, N failed
    N passed, N failed

Skipped tests (--skip) are never silent: each suite line is followed by
"interop <suite> skipped: name, name".  Exit status: 0 only if nothing failed (1 otherwise,
2 for usage errors / missing suite copy).

Globals the driver sets (client_test.py's __main__ block would otherwise set them):
  3.1.1: host, port, topics, wildtopics, nosubscribe_topics (values identical to upstream's
         __main__: topics = TopicA, TopicA/B, Topic/C, TopicA/C, /TopicA;
         wildtopics = TopicA/+, +/C, #, /#, /+, +/+, TopicA/#; nosubscribe = test/nosubscribe).
  5:     host, port, topic_prefix ("client_test5/", used only by test_shared_subscriptions).
         Test.setUpClass calls the module's setData(), which (re)sets topics/wildtopics/
         nosubscribe_topics to the SAME unprefixed values as 3.1.1 -- upstream's __main__ sets
         prefixed topics first but setData() overwrites them, so the effective upstream topics
         are unprefixed and that is what we use too.  --nosubscribe-topic is re-applied after
         setData().

Tests that depend on broker CONFIGURATION (not just on protocol conformance):
  * 311:test_subscribe_failure, 5:test_subscribe_failure -- the broker must refuse
    subscriptions to the filter "test/nosubscribe" (or --nosubscribe-topic) and answer the
    SUBACK with return/reason code 0x80.  The 5.0 test asserts exactly 0x80 (Unspecified
    error); 0x87 (Not authorized) fails it.  A broker in "open"/allow-all mode fails these.
    hydrant: needs a way to refuse that filter (not available in --open mode).  mosquitto
    2.0.11 cannot be configured to pass: its acl_file never refuses a SUBSCRIBE (checked with
    "topic deny test/nosubscribe" and with an ACL not covering the filter: SUBACK grants QoS 2).
  * 5:test_server_keep_alive -- connects with keepalive 120 and asserts the CONNACK carries
    Server Keep Alive == 60, i.e. the broker must be configured with a maximum keep-alive of
    exactly 60 s (hydrant: --max-keepalive 60; mosquitto: max_keepalive 60, which run.sh adds
    with MOSQUITTO_PAHO_CONF=1).
  * 5:test_flow_control2 -- publishes (server Receive Maximum + 1) QoS 2 messages without ever
    reading PUBRECs and expects DISCONNECT reason 0x93 (147, Receive Maximum exceeded).  With no
    Receive Maximum in CONNACK (default 65535) the client runs out of packet ids and the test
    errors out, so the broker must advertise a small Receive Maximum (hydrant:
    --receive-maximum N).  mosquitto 2.0.11 advertises 20 but never disconnects, so the test
    hangs until --test-timeout.
  * 5:test_client_topic_alias -- the alias part only runs if CONNACK has Topic Alias Maximum
    > 0 (hydrant: --topic-alias-maximum >= 1); with 0 only the "alias 0 -> DISCONNECT" part runs.
  * 5:test_maximum_packet_size -- the server-limit part only runs if CONNACK's Maximum Packet
    Size < 65535 (then a publish of exactly that many payload bytes must be answered with
    DISCONNECT "Packet too large"); otherwise only the client-limit part runs.
  * 5:test_shared_subscriptions -- needs $share support (not configuration, but listed
    because some brokers switch it off).
  * 3.1.1 and 5 test_dollar_topics publish to "$TopicA/B"; a broker may refuse that (the test
    only asserts that "+/+" does not receive it).
Timing-sensitive tests (no configuration, but the broker's timers must be accurate):
  test_keepalive (both: keepalive 5 s, will must arrive within 15 s), 5:test_will_message
  (keepalive 2 s, will within ~13 s), 5:test_session_expiry (expiry 5 s / 1 s checked at 2,
  3 and 8 s), 5:test_publication_expiry (expiry 1 s vs 6 s), 5:test_will_delay (will delay
  3 s / expiry 5 s -> 3..5 s; expiry 0 -> 0..2 s; expiry 2 < delay 5 -> 2..4 s).

Several upstream tests contain unbounded wait loops (e.g. 5:test_will_delay,
5:test_user_properties, 5:test_flow_control2); every test (and setUpClass) therefore runs under a
SIGALRM deadline (--test-timeout, default 60 s) and a test that hits it is reported as ERROR.
Tests share the two clients "myclientid"/"myclientid2" and run in unittest's default
(alphabetical) order, exactly as upstream.

Use /usr/bin/python3 (Debian 3.11); the suite needs nothing outside the standard library.
"""

import argparse
import fnmatch
import io
import os
import signal
import sys
import time
import traceback
import unittest

SUITES = {
    "311": {"label": "3.1.1", "module": "client_test"},
    "5": {"label": "5", "module": "client_test5"},
}

TOPICS = ("TopicA", "TopicA/B", "Topic/C", "TopicA/C", "/TopicA")
WILDTOPICS = ("TopicA/+", "+/C", "#", "/#", "/+", "+/+", "TopicA/#")
NOSUBSCRIBE = "test/nosubscribe"
TOPIC_PREFIX_V5 = "client_test5/"


class TestTimeout(Exception):
    pass


def _alarm_handler(signum, frame):
    raise TestTimeout("test exceeded its time limit (--test-timeout)")


def with_deadline(func, seconds):
    """Wraps a test method / classmethod body so that it is interrupted after `seconds`."""

    def wrapper(*args, **kwargs):
        old = signal.signal(signal.SIGALRM, _alarm_handler)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            return func(*args, **kwargs)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)

    wrapper.__name__ = getattr(func, "__name__", "wrapped")
    wrapper.__doc__ = None  # keep unittest's description = method name
    return wrapper


def name_matches(patterns, suite_key, test_name):
    for pat in patterns:
        if ":" in pat:
            skey, tpat = pat.split(":", 1)
            if skey not in (suite_key, SUITES[suite_key]["label"]):
                continue
        else:
            tpat = pat
        if tpat == test_name or fnmatch.fnmatchcase(test_name, tpat):
            return True
    return False


def split_names(values):
    out = []
    for v in values or []:
        out.extend(x.strip() for x in v.split(",") if x.strip())
    return out


class LineResult(unittest.TestResult):
    """Prints one line per test as it finishes."""

    def __init__(self, label, verbose, stream):
        super().__init__()
        self.label = label
        self.verbose = verbose
        self.stream = stream
        self.buffer = not verbose
        self.outcomes = []  # (name, status)
        self._start = None

    def startTest(self, test):
        self._start = time.monotonic()
        if self.verbose:
            self.stream.write("---- %s %s\n" % (self.label, test._testMethodName))
            self.stream.flush()
        super().startTest(test)

    def _line(self, test, status, detail=None):
        secs = time.monotonic() - self._start if self._start else 0.0
        name = getattr(test, "_testMethodName", None) or str(test)
        self.outcomes.append((name, status))
        self.stream.write("%-5s %s %s (%.1fs)\n" % (status, self.label, name, secs))
        if detail:
            for ln in detail.rstrip().splitlines():
                self.stream.write("        " + ln + "\n")
        self.stream.flush()

    def addSuccess(self, test):
        super().addSuccess(test)
        self._line(test, "PASS")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._mirrorOutput = False  # captured output is already part of the failure text
        self._line(test, "FAIL", self.failures[-1][1])

    def addError(self, test, err):
        super().addError(test, err)
        self._mirrorOutput = False
        # class-fixture errors arrive as an _ErrorHolder, not a TestCase
        self._line(test, "ERROR", self.errors[-1][1])

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._line(test, "SKIP", reason)

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._line(test, "XFAIL")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._line(test, "UPASS")


def run_suite(key, mod, args, only, skip):
    """Returns (passed, failed, skipped_names)."""
    label = SUITES[key]["label"]
    mod.host = args.host
    mod.port = args.port
    nosub = (args.nosubscribe_topic,)
    if key == "311":
        mod.topics = TOPICS
        mod.wildtopics = WILDTOPICS
        mod.nosubscribe_topics = nosub
    else:
        mod.topic_prefix = TOPIC_PREFIX_V5
        orig_setdata = getattr(mod, "_hydrant_orig_setData", mod.setData)
        mod._hydrant_orig_setData = orig_setdata

        def setData():
            orig_setdata()
            mod.nosubscribe_topics = nosub

        mod.setData = setData

    cls = mod.Test
    names = unittest.TestLoader().getTestCaseNames(cls)
    selected, skipped = [], []
    for n in names:
        if only and not name_matches(only, key, n):
            continue
        if skip and name_matches(skip, key, n):
            skipped.append(n)
            continue
        selected.append(n)

    for n in selected:
        setattr(cls, n, with_deadline(getattr(cls, n), args.test_timeout))
    if selected and "setUpClass" in cls.__dict__:
        inner = cls.__dict__["setUpClass"].__func__
        cls.setUpClass = classmethod(with_deadline(inner, args.test_timeout))

    print("==== interop %s: %d test(s) against %s:%d%s" % (
        label, len(selected), args.host, args.port,
        (", skipping %d" % len(skipped)) if skipped else ""), flush=True)
    result = LineResult(label, args.verbose, sys.stdout)
    if selected:
        suite = unittest.TestSuite(cls(n) for n in selected)
        suite.run(result)
    passed = sum(1 for _, s in result.outcomes if s in ("PASS", "XFAIL"))
    failed = sum(1 for _, s in result.outcomes if s in ("FAIL", "ERROR", "UPASS"))
    return passed, failed, skipped, [n for n, s in result.outcomes if s in ("FAIL", "ERROR", "UPASS")]


def main():
    ap = argparse.ArgumentParser(description="Run the Eclipse Paho interoperability tests against a broker.")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=1883)
    ap.add_argument("--suite", choices=("311", "5", "both"), default="both")
    ap.add_argument("--paho-dir", default=".paho-testing",
                    help="copy of github.com/eclipse/paho.mqtt.testing (default .paho-testing)")
    ap.add_argument("--only", action="append", metavar="NAME",
                    help="run only these tests (comma-separated, repeatable; [311:|5:]name or glob)")
    ap.add_argument("--skip", action="append", metavar="NAME",
                    help="skip these tests (same syntax); skipped tests are listed in the summary")
    ap.add_argument("--nosubscribe-topic", default=NOSUBSCRIBE,
                    help="filter the broker refuses to subscribe to (default %(default)s)")
    ap.add_argument("--test-timeout", type=float, default=60.0,
                    help="seconds before a single test is aborted (default %(default)s)")
    ap.add_argument("--verbose", action="store_true",
                    help="show the suite's own output live instead of only for failures")
    ap.add_argument("--list", action="store_true", help="list the test names and exit")
    args = ap.parse_args()

    interop = os.path.join(os.path.abspath(args.paho_dir), "interoperability")
    if not os.path.isfile(os.path.join(interop, "client_test.py")) or \
            not os.path.isfile(os.path.join(interop, "client_test5.py")):
        sys.stderr.write(
            "run_paho_interop: no Paho interoperability suite at %s\n"
            "  get it with: git clone --depth 1 https://github.com/eclipse/paho.mqtt.testing %s\n"
            % (interop, args.paho_dir))
        return 2
    sys.path.insert(0, interop)

    keys = ["311", "5"] if args.suite == "both" else [args.suite]
    only = split_names(args.only)
    skip = split_names(args.skip)

    import importlib
    mods = {k: importlib.import_module(SUITES[k]["module"]) for k in keys}

    if args.list:
        for k in keys:
            for n in unittest.TestLoader().getTestCaseNames(mods[k].Test):
                print("%s:%s" % (k, n))
        return 0

    if only:
        total = sum(1 for k in keys for n in unittest.TestLoader().getTestCaseNames(mods[k].Test)
                    if name_matches(only, k, n))
        if total == 0:
            sys.stderr.write("run_paho_interop: --only %s matches no test (see --list)\n" % ",".join(only))
            return 2

    totals = [0, 0]
    lines = []
    for k in keys:
        p, f, skipped, failed_names = run_suite(k, mods[k], args, only, skip)
        totals[0] += p
        totals[1] += f
        label = SUITES[k]["label"]
        lines.append("interop %s: %d passed, %d failed" % (label, p, f))
        if failed_names:
            lines.append("interop %s failed: %s" % (label, ", ".join(failed_names)))
        if skipped:
            lines.append("interop %s skipped: %s" % (label, ", ".join(skipped)))
    print("", flush=True)
    for ln in lines:
        print(ln)
    print("%d passed, %d failed" % tuple(totals), flush=True)
    return 0 if totals[1] == 0 else 1


if __name__ == "__main__":
    rc = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # the suite's receiver threads (_thread) may still be blocked on sockets: don't wait for them
    os._exit(rc)
