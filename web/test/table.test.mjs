// node --test web/test/: the event table's pure parts — relative (time.js) and clock times, filter
// highlighting, and the filtered, newest-first index that virtualisation reads from.
import test from "node:test";
import assert from "node:assert/strict";
import { clockTime, highlightRanges, EventIndex } from "../src/table.js";
import { relativeTime } from "../src/time.js";

test("relativeTime, as every view writes it", () => {
  const now = 1_700_000_000_000;
  assert.equal(relativeTime(now, now), "now");
  assert.equal(relativeTime(now - 999, now), "now");
  assert.equal(relativeTime(now - 12_400, now), "12 s ago");
  assert.equal(relativeTime(now - 59_999, now), "59 s ago");
  assert.equal(relativeTime(now - 60_000, now), "1 min ago");
  assert.equal(relativeTime(now - 5 * 60_000 - 30_000, now), "5 min ago");
  assert.equal(relativeTime(now - 3 * 3_600_000, now), "3 h ago");
  assert.equal(relativeTime(now - 2 * 86_400_000 - 1, now), "2 d ago");
  assert.equal(relativeTime(now + 4_000, now), "in 4 s");
  assert.equal(relativeTime(NaN, now), "never");
  assert.equal(relativeTime(null, now), "never");
  assert.equal(relativeTime(undefined, now), "never");
});

test("clockTime is HH:MM:SS.mmm local time", () => {
  const d = new Date(2026, 11, 7, 3, 4, 5, 67);
  assert.equal(clockTime(d.getTime()), "03:04:05.067");
  assert.match(clockTime(Date.now()), /^\d\d:\d\d:\d\d\.\d\d\d$/);
  assert.equal(clockTime(NaN), "");
});

test("highlightRanges finds every case-insensitive occurrence", () => {
  assert.deepEqual(highlightRanges("exchange/Gerrit/v1 gerrit", "gerrit"), [[9, 15], [19, 25]]);
  assert.deepEqual(highlightRanges("aaaa", "aa"), [[0, 2], [2, 4]]);
  assert.deepEqual(highlightRanges("abc", ""), []);
  assert.deepEqual(highlightRanges("abc", "x"), []);
  // lower-casing "İ" lengthens the text: offsets would not line up, so nothing is marked
  assert.deepEqual(highlightRanges("İstanbul", "stan"), []);
});

function ev(n, more = {}) {
  return { time: "", timeMs: n, topic: `t/${n}`, exchange: `exchange/o/e${n % 3}`, routingKey: `k.${n}`,
    size: 1, payload: `{"n":${n}}`, position: String(n), source: "live", ...more };
}

function view(index) {
  const out = [];
  for (let v = 0; v < index.count; ++v) out.push(index.eventAt(v).timeMs);
  return out;
}

test("EventIndex shows newest first and takes appended events incrementally", () => {
  const events = [ev(0), ev(1), ev(2)];
  const index = new EventIndex();
  index.setEvents(events);
  assert.deepEqual(view(index), [2, 1, 0]);
  events.push(ev(3), ev(4));
  assert.deepEqual(index.sync(), { added: 2, removed: 0 });
  assert.deepEqual(view(index), [4, 3, 2, 1, 0]);
  assert.equal(index.viewIndexOf(events[1]), 3);
  assert.equal(index.viewIndexOf(ev(1)), -1); // another object with the same content
  assert.equal(index.eventAt(5), undefined);
  assert.equal(index.eventAt(-1), undefined);
});

test("EventIndex filters on exchange, routing key and payload, case-insensitively", () => {
  const events = [ev(0), ev(1, { routingKey: "Build.Failed" }), ev(2, { payload: '{"state":"FAILED"}' }),
    ev(3, { exchange: "exchange/failed/v1" }), ev(4)];
  const index = new EventIndex();
  index.setEvents(events);
  assert.equal(index.setFilter("  failed "), true);
  assert.equal(index.setFilter("FAILED"), false); // the same filter: nothing to do
  assert.deepEqual(view(index), [3, 2, 1]);
  events.push(ev(5), ev(6, { payload: "failed again" }));
  assert.deepEqual(index.sync(), { added: 1, removed: 0 });
  assert.deepEqual(view(index), [6, 3, 2, 1]);
  assert.equal(index.viewIndexOf(events[2]), 2);
  assert.equal(index.viewIndexOf(events[0]), -1); // not shown
  index.setFilter("");
  assert.equal(index.count, 7);
});

test("EventIndex: the filter is text, not a regular expression", () => {
  const events = [ev(0, { routingKey: "a.b" }), ev(1, { routingKey: "axb" }), ev(2, { payload: "(x|y)*" })];
  const index = new EventIndex();
  index.setEvents(events);
  index.setFilter("a.b");
  assert.deepEqual(view(index), [0]);
  index.setFilter("(x|y)*");
  assert.deepEqual(view(index), [2]);
  index.setFilter("[");
  assert.deepEqual(view(index), []);
});

test("EventIndex follows a trim from the front without testing everything again", () => {
  const events = [];
  for (let n = 0; n < 10; ++n) events.push(ev(n));
  const index = new EventIndex();
  index.setEvents(events);
  index.setFilter("e1"); // n % 3 == 1: 1, 4, 7
  assert.deepEqual(view(index), [7, 4, 1]);
  events.splice(0, 5);
  events.push(ev(10), ev(11));
  assert.deepEqual(index.sync(), { added: 1, removed: 2 });
  assert.deepEqual(view(index), [10, 7]);
  assert.equal(index.viewIndexOf(events[2]), 1);
  index.setFilter("");
  events.splice(0, 3);
  assert.deepEqual(index.sync(), { added: 0, removed: 3 });
  assert.deepEqual(view(index), [11, 10, 9, 8]);
  events.length = 0; // Clear
  events.push(ev(20));
  assert.equal(index.sync(), null); // rebuilt
  assert.deepEqual(view(index), [20]);
});

test("EventIndex: 100,000 events filter fast, and new ones cost only themselves", () => {
  const events = [];
  for (let n = 0; n < 100_000; ++n) events.push(ev(n, { payload: `{"build":${n},"state":"${n % 1000 === 0 ? "failed" : "ok"}"}` }));
  const index = new EventIndex();
  index.setEvents(events);
  let t = performance.now();
  index.setFilter("failed");
  const filterMs = performance.now() - t;
  assert.equal(index.count, 100);
  assert.equal(index.eventAt(0).timeMs, 99_000);
  assert.ok(filterMs < 500, `filtering took ${filterMs} ms`);
  events.push(ev(100_000, { payload: "failed" }));
  t = performance.now();
  for (let i = 0; i < 100; ++i) index.sync();
  assert.ok(performance.now() - t < 50);
  assert.equal(index.count, 101);
  assert.equal(index.viewIndexOf(events[1000]), 99);
});
