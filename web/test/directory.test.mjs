// node --test web/test/: the landing view's pure helpers (overview.js, directory.js), and the
// Directory and Overview classes against a small stand-in DOM defined below.
import test from "node:test";
import assert from "node:assert/strict";
import {
  rate, formatUptime, formatRate, formatCount, sparklinePoints, sparklineLabel, formatSpan,
  matchesSearch, splitExchange, formatTransports,
} from "../src/overview.js";
import { normalizeEntry, entriesFrom } from "../src/directory.js";

const sample = (t, stats) => ({ t, stats });

test("rate: the delta over the elapsed seconds", () => {
  const a = sample(1000, { messages_received: 100, messages_sent: 50 });
  const b = sample(3000, { messages_received: 110, messages_sent: 51 });
  assert.equal(rate(a, b, "messages_received"), 5);
  assert.equal(rate(a, b, "messages_sent"), 0.5);
});

test("rate: none until two samples, none for a counter reset or no elapsed time", () => {
  const b = sample(3000, { messages_received: 110 });
  assert.equal(rate(null, b, "messages_received"), null);
  const reset = sample(5000, { messages_received: 3 }); // the broker restarted
  assert.equal(rate(b, reset, "messages_received"), null);
  assert.equal(rate(b, sample(3000, { messages_received: 120 }), "messages_received"), null);
  assert.equal(rate(b, sample(2000, { messages_received: 120 }), "messages_received"), null);
  assert.equal(rate(b, sample(4000, {}), "messages_received"), null);
  assert.equal(rate(b, sample(4000, { messages_received: 110 }), "messages_received"), 0);
});

test("formatUptime: the two largest units", () => {
  assert.equal(formatUptime(0), "0 s");
  assert.equal(formatUptime(42), "42 s");
  assert.equal(formatUptime(5 * 60 + 12), "5 min 12 s");
  assert.equal(formatUptime(3600), "1 h 0 min");
  assert.equal(formatUptime(5 * 3600 + 2 * 60 + 7), "5 h 2 min");
  assert.equal(formatUptime(3 * 86400 + 4 * 3600 + 59), "3 d 4 h");
  assert.equal(formatUptime(12.9), "12 s");
  assert.equal(formatUptime(undefined), "—");
  assert.equal(formatUptime(-1), "—");
});

test("formatRate: 2 decimals below 10, 1 from 10, — when unknown", () => {
  assert.equal(formatRate(0), "0.00");
  assert.equal(formatRate(0.2), "0.20");
  assert.equal(formatRate(1 / 60), "0.02");
  assert.equal(formatRate(9.999), "10.00"); // rounds up but stays in the 2-decimal band
  assert.equal(formatRate(12.345), "12.3");
  assert.equal(formatRate(12345.67), "12,345.7");
  assert.equal(formatRate(null), "—");
  assert.equal(formatRate(undefined), "—");
  assert.equal(formatRate(NaN), "—");
  assert.equal(formatCount(1234567), "1,234,567");
  assert.equal(formatCount(undefined), "—");
});

const parse = (points) => points.split(" ").map((p) => p.split(",").map(Number));

test("sparklinePoints: all zeros draw a flat line at the bottom", () => {
  const pts = parse(sparklinePoints(new Array(30).fill(0), 90, 20));
  assert.equal(pts.length, 30);
  assert.deepEqual(pts[0], [0, 19]);
  assert.deepEqual(pts[29], [90, 19]);
  assert.ok(pts.every(([, y]) => y === 19));
});

test("sparklinePoints: one value is a flat line across; none is nothing", () => {
  assert.equal(sparklinePoints([7], 90, 20), "0,1 90,1");
  assert.equal(sparklinePoints([0], 90, 20), "0,19 90,19");
  assert.equal(sparklinePoints([], 90, 20), "");
  assert.equal(sparklinePoints(undefined, 90, 20), "");
});

test("sparklinePoints: scales to the peak, oldest on the left", () => {
  const pts = parse(sparklinePoints([0, 5, 10, 5, 0], 100, 22));
  assert.deepEqual(pts.map(([x]) => x), [0, 25, 50, 75, 100]);
  assert.deepEqual(pts.map(([, y]) => y), [21, 11, 1, 11, 21]); // peak at the top margin
  const big = parse(sparklinePoints([1, 1000000, 1], 90, 20));
  assert.equal(big[1][1], 1);
  assert.ok(big[0][1] > 18.9 && big[0][1] <= 19);
  // negative or junk values count as zero
  assert.equal(sparklinePoints([-3, "x", null], 90, 20), "0,19 45,19 90,19");
});

test("sparklineLabel: the window, total, peak and latest bucket", () => {
  const messages = new Array(30).fill(0);
  messages[10] = 5;
  messages[20] = 7;
  assert.equal(sparklineLabel({ bucket_s: 20, messages }),
    "messages in the last 10 minutes: 12 in total, peak 7 per 20 s, 0 in the latest 20 s");
  assert.equal(sparklineLabel(undefined), "");
  assert.equal(sparklineLabel({ bucket_s: 20, messages: [] }), "");
  assert.equal(formatSpan(60), "1 minute");
  assert.equal(formatSpan(90), "90 seconds");
  assert.equal(formatSpan(7200), "2 hours");
});

test("splitExchange: owner is the second level, the name keeps every level after it", () => {
  assert.deepEqual(splitExchange("exchange/taskcluster-queue/v1/task-completed"),
    { owner: "taskcluster-queue", name: "v1/task-completed" });
  assert.deepEqual(splitExchange("exchange/gerrit/v1/change-merged"),
    { owner: "gerrit", name: "v1/change-merged" });
  assert.deepEqual(splitExchange("exchange/hgpushes/v2"), { owner: "hgpushes", name: "v2" });
  assert.deepEqual(splitExchange("exchange/a/b/c/d/e"), { owner: "a", name: "b/c/d/e" });
  assert.deepEqual(splitExchange("sensors/room1"), { owner: "", name: "sensors/room1" });
  assert.deepEqual(splitExchange(undefined), { owner: "", name: "" });
});

test("matchesSearch: case-insensitive substring of the full name, owner or name", () => {
  const e = normalizeEntry({ prefix: "exchange/taskcluster-queue/v1/task-completed" });
  assert.equal(matchesSearch(e, ""), true);
  assert.equal(matchesSearch(e, "   "), true);
  assert.equal(matchesSearch(e, "TaskCluster"), true);
  assert.equal(matchesSearch(e, "v1/task-comp"), true); // across levels of the name
  assert.equal(matchesSearch(e, "queue/v1/task"), true); // across owner and name
  assert.equal(matchesSearch(e, "exchange/taskcluster-queue/v1/task-completed"), true);
  assert.equal(matchesSearch(e, "completed queue"), true); // every word, in any order
  assert.equal(matchesSearch(e, "task-failed"), false);
  assert.equal(matchesSearch(e, "completed gerrit"), false);
  // an entry straight from the API, with or without owner/name
  assert.equal(matchesSearch({ prefix: "exchange/gerrit/v1/change-merged" }, "GERRIT"), true);
  assert.equal(matchesSearch({ prefix: "exchange/x/y", owner: "gerrit", name: "y" }, "gerrit"), true);
});

test("formatTransports: the non-zero ones, all four when none", () => {
  assert.equal(formatTransports({ tcp: 3, tls: 0, ws: 2, wss: 0 }), "tcp 3 · ws 2");
  assert.equal(formatTransports({ tcp: 0, tls: 0, ws: 0, wss: 0 }), "tcp 0 · tls 0 · ws 0 · wss 0");
  assert.equal(formatTransports(undefined), "");
});

test("normalizeEntry: a new broker's entry", () => {
  const e = normalizeEntry({
    prefix: "exchange/gerrit/v1/change-merged", kind: "exchange", owner: "gerrit",
    name: "v1/change-merged", declared: true, messages: 12, bytes: 3456, messages_per_s: 0.2,
    bytes_per_s: 50.1, last_publish: "2026-12-07T03:53:30Z", last_publish_ms: 1796615610672,
    recent: { bucket_s: 20, messages: [0, 1, 2] },
  });
  assert.equal(e.owner, "gerrit");
  assert.equal(e.name, "v1/change-merged");
  assert.equal(e.declared, true);
  assert.equal(e.messagesPerS, 0.2);
  assert.equal(e.lastMs, 1796615610672);
  assert.equal(e.lastIso, new Date(1796615610672).toISOString());
  assert.deepEqual(e.recent, { bucket_s: 20, messages: [0, 1, 2] });
});

test("normalizeEntry: an older broker's entry (no owner, name, recent or last_publish_ms)", () => {
  const e = normalizeEntry({
    prefix: "exchange/taskcluster-queue/v1/task-completed", kind: "exchange", messages: 3,
    bytes: 10, messages_per_s: 0.05, bytes_per_s: 1, last_publish: "2026-12-07T03:53:30.250Z",
  });
  assert.equal(e.owner, "taskcluster-queue");
  assert.equal(e.name, "v1/task-completed");
  assert.equal(e.declared, false);
  assert.equal(e.recent, null);
  assert.equal(e.lastMs, Date.parse("2026-12-07T03:53:30.250Z"));
  // the epoch (what an older broker writes for "never") and null both read as never
  assert.equal(normalizeEntry({ prefix: "exchange/a/b", last_publish: "1970-01-01T00:00:00Z" }).lastMs, null);
  assert.equal(normalizeEntry({ prefix: "exchange/a/b", last_publish: null, last_publish_ms: null }).lastMs, null);
});

test("entriesFrom: keeps the answer's order and only exchanges", () => {
  const list = entriesFrom({
    exchanges: [
      { prefix: "exchange/b/v1/x", kind: "exchange" },
      { prefix: "exchange/b", kind: "prefix" },
      { prefix: "exchange/a/v1/y" },
      { prefix: "sensors/room1" },
      null,
    ],
  });
  assert.deepEqual(list.map((e) => e.prefix), ["exchange/b/v1/x", "exchange/a/v1/y"]);
  assert.deepEqual(entriesFrom({}), []);
  assert.deepEqual(entriesFrom(null), []);
});

// ---- the classes, against a stand-in DOM just big enough for them ----

class FakeNode {
  constructor(doc) { this.ownerDocument = doc; this.parentNode = null; this.childNodes = []; }
  get firstChild() { return this.childNodes[0] ?? null; }
  get nextSibling() {
    const sibs = this.parentNode?.childNodes;
    return sibs ? sibs[sibs.indexOf(this) + 1] ?? null : null;
  }
  get isConnected() {
    let n = this;
    while (n.parentNode) n = n.parentNode;
    return n === this.ownerDocument.body;
  }
  contains(other) {
    for (let n = other; n; n = n.parentNode) if (n === this) return true;
    return false;
  }
  _detach() {
    if (!this.parentNode) return;
    const doc = this.ownerDocument;
    if (doc.activeElement && this.contains(doc.activeElement)) doc.activeElement = doc.body; // as browsers blur
    const sibs = this.parentNode.childNodes;
    sibs.splice(sibs.indexOf(this), 1);
    this.parentNode = null;
  }
  insertBefore(node, ref) {
    node._detach();
    const i = ref ? this.childNodes.indexOf(ref) : this.childNodes.length;
    this.childNodes.splice(i, 0, node);
    node.parentNode = this;
    return node;
  }
  appendChild(node) { return this.insertBefore(node, null); }
  removeChild(node) { node._detach(); return node; }
  append(...nodes) {
    for (const n of nodes) this.appendChild(typeof n === "string" ? new FakeText(this.ownerDocument, n) : n);
  }
  replaceChildren(...nodes) {
    while (this.childNodes.length) this.childNodes[0]._detach();
    this.append(...nodes);
  }
  get textContent() { return this.childNodes.map((c) => c.textContent).join(""); }
  set textContent(t) { this.replaceChildren(...(t === "" ? [] : [String(t)])); }
}

class FakeText extends FakeNode {
  constructor(doc, data) { super(doc); this.data = data; }
  get textContent() { return this.data; }
  set textContent(t) { this.data = String(t); }
}

class FakeElement extends FakeNode {
  constructor(doc, tag) {
    super(doc);
    this.tagName = tag.toUpperCase();
    this.attributes = new Map();
    this.dataset = {};
    this.listeners = {};
    this.hidden = false;
    this.value = "";
    this.selectionStart = 0;
    this.selectionEnd = 0;
    const cl = () => new Set(this.className.split(/\s+/).filter(Boolean));
    this.className = "";
    this.classList = {
      add: (...c) => { this.className = [...new Set([...cl(), ...c])].join(" "); },
      contains: (c) => cl().has(c),
    };
  }
  setAttribute(k, v) { this.attributes.set(k, String(v)); }
  getAttribute(k) { return this.attributes.has(k) ? this.attributes.get(k) : null; }
  hasAttribute(k) { return this.attributes.has(k); }
  removeAttribute(k) { this.attributes.delete(k); }
  addEventListener(type, fn) { (this.listeners[type] ??= []).push(fn); }
  dispatch(type) {
    const ev = { type, defaultPrevented: false, preventDefault() { this.defaultPrevented = true; } };
    for (const fn of this.listeners[type] ?? []) fn(ev);
    return ev;
  }
  focus() { if (this.isConnected) this.ownerDocument.activeElement = this; }
  setSelectionRange(a, b) { this.selectionStart = a; this.selectionEnd = b; }
  // test helpers
  all(pred) {
    const out = [];
    const walk = (n) => { for (const c of n.childNodes) { if (c instanceof FakeElement) { if (pred(c)) out.push(c); walk(c); } } };
    walk(this);
    return out;
  }
  byClass(c) { return this.all((e) => e.classList.contains(c)); }
  byTag(t) { return this.all((e) => e.tagName === t.toUpperCase()); }
}

function fakeDocument() {
  const doc = {
    createElement: (tag) => new FakeElement(doc, tag),
    createElementNS: (_ns, tag) => new FakeElement(doc, tag),
  };
  doc.body = new FakeElement(doc, "body");
  doc.activeElement = doc.body;
  return doc;
}

const flush = () => new Promise((r) => setTimeout(r, 0));

function jsonResponse(body, status = 200) {
  return { ok: status >= 200 && status < 300, status, json: async () => body };
}

function entry(prefix, extra = {}) {
  return {
    prefix, kind: "exchange", messages: 12, bytes: 100, messages_per_s: 0.2, bytes_per_s: 5,
    last_publish: "2026-12-07T03:53:30Z", last_publish_ms: Date.parse("2026-12-07T03:53:30Z"),
    ...extra,
  };
}

test("Directory: renders, searches, binds, keeps a typed pattern and its focus", async (t) => {
  const { Directory } = await import("../src/directory.js");
  const doc = fakeDocument();
  globalThis.document = doc;
  t.after(() => { delete globalThis.document; });
  const root = doc.createElement("div");
  doc.body.append(root);

  let answer = jsonResponse({ exchanges: [] });
  const urls = [];
  const fetchImpl = async (url) => { urls.push(url); return answer; };
  const binds = [];
  const now = () => Date.parse("2026-12-07T03:56:30Z");
  const d = new Directory(root, { onBind: (x, p) => binds.push([x, p]), fetchImpl, now, refreshMs: 1e6 });
  assert.ok(root.classList.contains("directory"));
  const input = root.byTag("input")[0];
  assert.equal(input.type, "search");
  const label = root.byTag("label")[0];
  assert.equal(label.textContent, "Search exchanges");
  assert.equal(label.htmlFor, input.id);
  assert.equal(root.byTag("caption").length, 1);
  assert.deepEqual(root.byTag("th").map((th) => [th.textContent, th.scope]),
    [["Exchange", "col"], ["Owner", "col"], ["Msgs/s", "col"], ["Activity", "col"],
      ["Last publish", "col"], ["Bind", "col"]]);

  d.start();
  await flush();
  assert.deepEqual(urls, ["/api/v1/exchanges?kind=exchange"]);
  const message = root.byClass("directory-message")[0];
  assert.equal(message.hidden, false);
  assert.equal(message.textContent, "No exchanges yet — publishers appear here after their first message");
  assert.equal(root.byTag("table")[0].hidden, true);

  const recent = { bucket_s: 20, messages: [...new Array(29).fill(0), 5] };
  d.update({ exchanges: [
    entry("exchange/taskcluster-queue/v1/task-completed", { owner: "taskcluster-queue", name: "v1/task-completed", recent, declared: true }),
    entry("exchange/gerrit/v1/change-merged", { last_publish: null, last_publish_ms: null, messages_per_s: 0 }),
  ] });
  assert.equal(message.hidden, true);
  assert.deepEqual(d.shown.map((e) => e.prefix),
    ["exchange/taskcluster-queue/v1/task-completed", "exchange/gerrit/v1/change-merged"]);
  const rows = () => root.byClass("directory-row");
  const [tc, gerrit] = rows();
  assert.equal(tc.byClass("exchange-name")[0].textContent, "exchange/taskcluster-queue/v1/task-completed");
  assert.equal(tc.byClass("exchange-name")[0].title, "exchange/taskcluster-queue/v1/task-completed");
  assert.equal(tc.byClass("badge-declared")[0].hidden, false);
  assert.equal(gerrit.byClass("badge-declared")[0].hidden, true);
  assert.equal(tc.byClass("cell-owner")[0].textContent, "taskcluster-queue");
  assert.equal(gerrit.byClass("cell-owner")[0].textContent, "gerrit");
  assert.equal(tc.byClass("cell-rate")[0].textContent, "0.20");
  const svg = tc.byTag("svg")[0];
  assert.equal(svg.getAttribute("role"), "img");
  assert.match(svg.getAttribute("aria-label"), /^messages in the last 10 minutes: 5 in total, peak 5 per 20 s/);
  assert.equal(gerrit.byTag("svg")[0].getAttribute("display"), "none"); // no recent: no sparkline
  const time = tc.byTag("time")[0];
  assert.equal(time.textContent, "3 min ago");
  assert.equal(time.getAttribute("datetime"), "2026-12-07T03:53:30.000Z");
  assert.equal(time.getAttribute("title"), "2026-12-07T03:53:30.000Z");
  assert.equal(gerrit.byTag("time")[0].textContent, "never");
  const pattern = tc.byClass("bind-pattern")[0];
  assert.equal(pattern.value, "#");
  assert.equal(pattern.getAttribute("aria-label"), "Routing-key pattern for exchange/taskcluster-queue/v1/task-completed");
  assert.equal(tc.byClass("bind-button")[0].getAttribute("aria-label"), "Bind exchange/taskcluster-queue/v1/task-completed");

  // Bind hands the full multi-level name and the pattern over
  pattern.value = "primary.#";
  assert.equal(tc.byTag("form")[0].dispatch("submit").defaultPrevented, true);
  assert.deepEqual(binds, [["exchange/taskcluster-queue/v1/task-completed", "primary.#"]]);
  pattern.value = "  ";
  tc.byTag("form")[0].dispatch("submit");
  assert.deepEqual(binds[1], ["exchange/taskcluster-queue/v1/task-completed", "#"]);

  // typing in gerrit's pattern, then a refresh that reorders the rows: value and focus stay
  const gp = gerrit.byClass("bind-pattern")[0];
  gp.focus();
  gp.value = "refs.heads";
  gp.setSelectionRange(4, 4);
  d.update({ exchanges: [
    entry("exchange/gerrit/v1/change-merged", { messages_per_s: 1.5 }),
    entry("exchange/taskcluster-queue/v1/task-completed", { recent }),
    entry("exchange/hgpushes/v2"),
  ] });
  assert.deepEqual(rows().map((r) => r.dataset.exchange),
    ["exchange/gerrit/v1/change-merged", "exchange/taskcluster-queue/v1/task-completed", "exchange/hgpushes/v2"]);
  assert.equal(rows()[0], gerrit); // the same row, updated in place
  assert.equal(gerrit.byClass("cell-rate")[0].textContent, "1.50");
  assert.equal(gp.value, "refs.heads");
  assert.equal(doc.activeElement, gp);
  d.update({ exchanges: [
    entry("exchange/hgpushes/v2"),
    entry("exchange/taskcluster-queue/v1/task-completed"),
    entry("exchange/gerrit/v1/change-merged"),
  ] });
  assert.equal(rows()[2], gerrit);
  assert.equal(doc.activeElement, gp);
  // a reorder that moves the focused row itself (which blurs it): focus and caret are put back
  let moved = false;
  const insertBefore = gerrit.parentNode.insertBefore;
  gerrit.parentNode.insertBefore = function (node, ref) {
    if (node === gerrit) moved = true;
    return insertBefore.call(this, node, ref);
  };
  d.update({ exchanges: [
    entry("exchange/gerrit/v1/change-merged"),
    entry("exchange/hgpushes/v2"),
    entry("exchange/taskcluster-queue/v1/task-completed"),
  ] });
  assert.ok(moved);
  assert.equal(rows()[0], gerrit);
  assert.equal(doc.activeElement, gp);
  assert.equal(gp.selectionStart, 4);
  assert.equal(gp.value, "refs.heads");

  // search: case-insensitive, on multi-level names; the typed pattern survives being filtered out
  d.setSearch("V1/Change");
  assert.deepEqual(d.shown.map((e) => e.prefix), ["exchange/gerrit/v1/change-merged"]);
  assert.equal(input.value, "V1/Change");
  input.value = "hgpushes";
  input.dispatch("input");
  assert.deepEqual(rows().map((r) => r.dataset.exchange), ["exchange/hgpushes/v2"]);
  d.setSearch("nothing-like-it");
  assert.equal(message.hidden, false);
  assert.match(message.textContent, /No exchange matches/);
  d.setSearch("");
  assert.equal(rows().length, 3);
  assert.equal(gerrit.byClass("bind-pattern")[0].value, "refs.heads");

  // a failed load: an error line, the table stays, and the next tick clears it
  answer = jsonResponse({}, 503);
  d._running = true;
  clearTimeout(d._timer);
  await d._tick();
  const err = root.byClass("directory-error")[0];
  assert.equal(err.hidden, false);
  assert.match(err.textContent, /Could not load the exchanges \(HTTP 503\)/);
  assert.equal(rows().length, 3);
  answer = jsonResponse({ exchanges: [entry("exchange/hgpushes/v2")] });
  clearTimeout(d._timer);
  await d._tick();
  assert.equal(err.hidden, true);
  assert.equal(rows().length, 1);
  d.stop();
  assert.equal(d._timer, null);
});

test("Directory: loads never overlap", async (t) => {
  const { Directory } = await import("../src/directory.js");
  const doc = fakeDocument();
  globalThis.document = doc;
  t.after(() => { delete globalThis.document; });
  let calls = 0;
  let release;
  const fetchImpl = () => { calls++; return new Promise((r) => { release = r; }); };
  const d = new Directory(doc.createElement("div"), { fetchImpl, refreshMs: 1e6 });
  d.start();
  d._tick();
  d._tick();
  assert.equal(calls, 1);
  release(jsonResponse({ exchanges: [] }));
  await flush();
  d.stop();
});

test("Overview: rates from two polls, transports, uptime, version", async (t) => {
  const { Overview } = await import("../src/overview.js");
  const doc = fakeDocument();
  globalThis.document = doc;
  t.after(() => { delete globalThis.document; });
  const root = doc.createElement("div");
  const o = new Overview(root, { fetchImpl: async () => jsonResponse({}) });
  assert.ok(root.classList.contains("overview"));
  const section = root.byTag("section")[0];
  assert.equal(section.getAttribute("aria-label"), "Broker overview");
  assert.equal(root.byTag("dl").length, 1);
  const value = (k) => root.byClass(`overview-${k}`)[0].byClass("overview-number")[0].textContent;
  const detail = (k) => root.byClass(`overview-${k}`)[0].byClass("overview-detail")[0].textContent;
  const stats = {
    uptime_s: 312, clients_connected: 5, sessions: 7, connections_total: 40,
    messages_received: 1000, messages_sent: 2000, subscriptions: 9,
    connections_by_transport: { tcp: 3, tls: 0, ws: 2, wss: 0 },
  };
  o.updateStats(stats, 10000);
  assert.equal(value("in"), "—");
  assert.equal(value("out"), "—");
  assert.equal(value("connections"), "5");
  assert.equal(detail("connections"), "tcp 3 · ws 2");
  assert.equal(value("subscriptions"), "9");
  assert.equal(value("uptime"), "5 min 12 s");
  o.updateStats({ ...stats, uptime_s: 314, messages_received: 1010, messages_sent: 2001 }, 12000);
  assert.equal(value("in"), "5.00");
  assert.equal(value("out"), "0.50");
  o.updateStats({ ...stats, messages_received: 4, messages_sent: 2, connections_by_transport: undefined }, 14000);
  assert.equal(value("in"), "—"); // the broker restarted: no negative rate
  assert.equal(detail("connections"), "");
  o.updateInfo({ name: "hydrant", version: "0.1.0", node: "n1", uptime_s: 5 });
  assert.equal(value("version"), "0.1.0");
  assert.equal(detail("version"), "node n1");
});

test("Overview: start reads stats and info at once, polls stats, stop ends it", async (t) => {
  const { Overview } = await import("../src/overview.js");
  const doc = fakeDocument();
  globalThis.document = doc;
  t.after(() => { delete globalThis.document; });
  const urls = [];
  let clock = 0;
  const fetchImpl = async (url) => {
    urls.push(url);
    if (url === "/api/v1/info") return jsonResponse({ version: "0.1.0" });
    clock += 1000;
    return jsonResponse({ messages_received: clock / 100, messages_sent: 0, uptime_s: clock / 1000 });
  };
  const root = doc.createElement("div");
  const o = new Overview(root, { fetchImpl, now: () => clock, statsMs: 5, infoMs: 1e6 });
  o.start();
  o.start(); // a second start is a no-op
  assert.deepEqual(urls, ["/api/v1/stats", "/api/v1/info"]);
  await new Promise((r) => setTimeout(r, 60));
  o.stop();
  const n = urls.length;
  assert.ok(urls.filter((u) => u === "/api/v1/stats").length >= 3);
  assert.equal(urls.filter((u) => u === "/api/v1/info").length, 1);
  assert.equal(root.byClass("overview-in")[0].byClass("overview-number")[0].textContent, "10.0");
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(urls.length, n);
  // a failed read shows a line and clears once a read works again
  const bad = new Overview(doc.createElement("div"), { fetchImpl: async () => jsonResponse({}, 500), statsMs: 1e6, infoMs: 1e6 });
  bad.start();
  await flush();
  const err = bad.root.byClass("overview-error")[0];
  assert.equal(err.hidden, false);
  assert.match(err.textContent, /HTTP 500/);
  bad.stop();
});
