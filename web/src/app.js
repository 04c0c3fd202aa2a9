// The live viewer: bindings in the URL, one MQTT-over-WebSocket connection to the page's own
// origin (/mqtt), each binding's recent history from /api/v1/history before its live messages
// (and what was missed after a reconnect), a table capped at MAX_ROWS and redrawn at most once
// per animation frame, a payload panel, a text filter, pause and download. See web/README.md.
import mqtt from "mqtt";
import { filterForBinding, describeTopic, isExchange, topicMatches } from "./mapping.js";

const MAX_ROWS = 2000;      // kept and shown; older ones are dropped from view (counted)
const MAX_BACKOFF_MS = 30000;
const DEFAULT_HISTORY = 50; // messages of a binding's history shown when it opens
const MAX_HISTORY = 1000;   // the history API's largest page, and the largest N asked for
// Positions remembered to show each logged message once: far more than the table keeps, so a
// duplicate could only come from a binding whose history reaches back further than that.
const MAX_SEEN = 10 * MAX_ROWS;

const $ = (id) => document.getElementById(id);
const state = {
  bindings: [],        // {kind: "exchange", exchange, pattern} | {kind: "filter", filter}
  feeds: new Map(),    // filter -> feed (see openFeed), one per binding
  historyLast: DEFAULT_HISTORY,
  messages: [],        // newest last: {time, topic, exchange, routingKey, size, payload, position, source}
  held: [],            // arrived while paused
  seen: new Set(),     // positions shown, oldest first (at most MAX_SEEN)
  received: 0,
  fromHistory: 0,
  dropped: 0,
  paused: false,
  running: false,
  selected: null,
  client: null,
  backoff: 1000,
  retryTimer: null,
  dirty: false,
};

// ---- bindings and the URL ----

function bindingFilter(b) {
  return b.kind === "exchange" ? filterForBinding(b.exchange, b.pattern) : b.filter;
}

function bindingLabel(b) {
  return b.kind === "exchange" ? `${b.exchange} ${b.pattern}` : b.filter;
}

function readUrl() {
  const params = new URLSearchParams(location.search);
  const out = [];
  for (const value of params.getAll("b")) {
    const sep = value.indexOf(":");
    const kind = value.slice(0, sep);
    const rest = value.slice(sep + 1);
    if (kind === "x") {
      const space = rest.indexOf(" ");
      out.push({ kind: "exchange", exchange: rest.slice(0, space), pattern: rest.slice(space + 1) });
    } else if (kind === "t") {
      out.push({ kind: "filter", filter: rest });
    }
  }
  const last = Number(params.get("last"));
  const historyLast = params.has("last") && Number.isInteger(last) && last >= 0 && last <= MAX_HISTORY
    ? last : DEFAULT_HISTORY;
  return { bindings: out, start: params.get("run") === "1", historyLast };
}

function writeUrl() {
  const params = new URLSearchParams();
  for (const b of state.bindings) {
    params.append("b", b.kind === "exchange" ? `x:${b.exchange} ${b.pattern}` : `t:${b.filter}`);
  }
  if (state.running) params.set("run", "1");
  if (state.historyLast !== DEFAULT_HISTORY) params.set("last", String(state.historyLast));
  history.replaceState(null, "", `${location.pathname}?${params}`);
}

function renderBindings() {
  const list = $("binding-list");
  list.replaceChildren();
  state.bindings.forEach((b, i) => {
    const li = document.createElement("li");
    const text = document.createElement("span");
    text.textContent = bindingLabel(b);
    const remove = document.createElement("button");
    remove.type = "button";
    remove.textContent = "Remove";
    remove.setAttribute("aria-label", `Remove binding ${bindingLabel(b)}`);
    remove.addEventListener("click", () => removeBinding(i));
    li.append(text, remove);
    list.append(li);
  });
}

function addBinding(b) {
  const filter = bindingFilter(b);  // throws for a bad exchange
  if (state.bindings.some((x) => bindingFilter(x) === filter)) return;
  state.bindings.push(b);
  const feed = { filter, last: null, loading: false, pending: [], generation: 0 };
  state.feeds.set(filter, feed);
  if (state.client && state.client.connected) openFeed(state.client, feed);
  renderBindings();
  writeUrl();
}

function removeBinding(i) {
  const [b] = state.bindings.splice(i, 1);
  state.feeds.delete(bindingFilter(b));
  if (state.client && state.client.connected) state.client.unsubscribe(bindingFilter(b));
  renderBindings();
  writeUrl();
}

// ---- connection ----

function setStatus(kind, text) {
  const el = $("status");
  el.dataset.state = kind;
  el.textContent = text;
}

// In a cluster, which node this page (and its MQTT connection) is served by.
async function showNode() {
  try {
    const response = await fetch("/api/v1/info", { cache: "no-store" });
    const info = await response.json();
    if (!info.node) return;
    $("node").textContent = `node ${info.node}`;
    $("node").hidden = false;
  } catch {
    // no API (a static copy of the page): nothing to show
  }
}

function brokerUrl() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/mqtt`;
}

function connect() {
  clearTimeout(state.retryTimer);
  setStatus("connecting", "Connecting…");
  const client = mqtt.connect(brokerUrl(), {
    protocolVersion: 5,
    clean: true,
    reconnectPeriod: 0,  // our own backoff below
    connectTimeout: 10000,
    keepalive: 30,
  });
  state.client = client;
  client.on("connect", () => {
    state.backoff = 1000;
    setStatus("connected", `Connected to ${brokerUrl()}`);
    for (const feed of state.feeds.values()) openFeed(client, feed);
  });
  client.on("message", onMessage);
  client.on("close", () => {
    if (state.client !== client) return;
    if (!state.running) {
      setStatus("disconnected", "Disconnected");
      return;
    }
    const wait = state.backoff;
    state.backoff = Math.min(state.backoff * 2, MAX_BACKOFF_MS);
    setStatus("reconnecting", `Connection lost; reconnecting in ${Math.round(wait / 1000)} s`);
    state.retryTimer = setTimeout(() => {
      client.end(true);
      if (state.running) connect();
    }, wait);
  });
  client.on("error", () => {});  // "close" follows and schedules the retry
}

function start() {
  if (state.running) return;
  state.running = true;
  $("start").disabled = true;
  $("stop").disabled = false;
  writeUrl();
  connect();
}

function stop() {
  state.running = false;
  clearTimeout(state.retryTimer);
  $("start").disabled = false;
  $("stop").disabled = true;
  if (state.client) state.client.end(true);
  state.client = null;
  setStatus("disconnected", "Stopped");
  writeUrl();
}

// ---- feeds: each binding's history, then its live messages ----
//
// A feed opens whenever the connection comes up (at start, after each reconnect) and when a
// binding is added while connected. It subscribes first and asks for history only once the
// broker has acknowledged the subscription, so no message can fall between the two; live
// messages that arrive meanwhile wait in `pending` and follow the history. Both can hold the
// same message, so a logged message is shown once per position (see show).
// The first time, the history is the newest `historyLast` messages; after that, everything
// after `last`, so a reconnect (or Stop then Start) shows what was missed. `last` is the position
// of the feed's newest message shown or, when the history had none, the log position the
// broker named in `next` (it names one even then), so a quiet binding misses nothing either.

async function openFeed(client, feed) {
  const generation = ++feed.generation;
  feed.loading = true;
  feed.pending = [];
  try {
    await client.subscribeAsync(feed.filter, { qos: 0 });
  } catch {
    return;  // the connection closed: the reconnect opens the feed again
  }
  let answer;
  try {
    answer = await readHistory(feed);
  } catch (e) {
    answer = { messages: [], error: e.message };
  }
  // A reconnect, or the binding's removal, while the history was read makes this answer stale.
  if (generation !== feed.generation || state.feeds.get(feed.filter) !== feed) return;
  if (answer.error) notice(`History of ${feed.filter} is unavailable: ${answer.error}`);
  if (answer.gap) notice(`Messages on ${feed.filter} were missed: ${answer.gap}`);
  if (answer.next) feed.last = answer.next;
  for (const m of [...answer.messages, ...feed.pending]) {
    feed.last = m.position;
    show(m);
  }
  feed.pending = [];
  feed.loading = false;
}

// Reads the feed's history from the API, following `next` while the broker says there is
// `more`. Returns {messages, next, gap}: next is the last page's; gap is the broker's reason
// when the answer is incomplete (the position is older than what is kept, or from a log that
// was lost). Throws on an error answer or a network failure.
async function readHistory(feed) {
  if (!feed.last && state.historyLast === 0) return { messages: [] };
  let query = feed.last ? { since: feed.last } : { last: String(state.historyLast) };
  const messages = [];
  let gap = null;
  for (;;) {
    const params = new URLSearchParams({ filter: feed.filter, ...query, limit: String(MAX_HISTORY) });
    const response = await fetch(`/api/v1/history?${params}`, { cache: "no-store" });
    const body = await response.json().catch(() => ({}));
    if (!response.ok || !Array.isArray(body.messages)) throw new Error(body.message || `HTTP ${response.status}`);
    if (body.complete === false && !gap) gap = body.gap || "no reason given";
    messages.push(...body.messages.map(fromHistory));
    if (!body.more || !body.next) return { messages, next: body.next, gap };
    query = { since: body.next };
  }
}

function notice(text) {
  const li = document.createElement("li");
  li.textContent = text;
  $("notices").append(li);
}

// ---- messages ----

const decoder = new TextDecoder();
const encoder = new TextEncoder();

function describe(topic, payload, size, more) {
  const where = describeTopic(topic);
  return { topic, exchange: where.exchange, routingKey: where.routingKey, size, payload, ...more };
}

// A live message; a logged one (under exchange/) carries its position as the MQTT 5 user
// property `position`.
function fromLive(topic, payload, packet) {
  const position = packet.properties?.userProperties?.position;
  return describe(topic, decoder.decode(payload), payload.length, {
    time: new Date().toISOString(),
    position: (Array.isArray(position) ? position[0] : position) || null,
    source: "live",
  });
}

// A message from the history API, whose payload is the JSON value when it was JSON, else a
// string: JSON is written back compactly, so its size can differ from the bytes published.
function fromHistory(h) {
  const text = typeof h.payload === "string" ? h.payload : JSON.stringify(h.payload);
  return describe(h.topic, text, encoder.encode(text).length, {
    time: new Date(h.time_ms ?? h.time).toISOString(),
    position: h.position,
    source: "history",
  });
}

function onMessage(topic, payload, packet) {
  const m = fromLive(topic, payload, packet);
  // Unlogged messages (outside exchange/) have no history to wait for or to overlap with.
  const feeds = m.position ? [...state.feeds.values()].filter((f) => topicMatches(f.filter, topic)) : [];
  for (const feed of feeds) {
    if (feed.loading) feed.pending.push(m);
    else feed.last = m.position;
  }
  // Held back only while every binding it belongs to is still showing its history first.
  if (feeds.length === 0 || feeds.some((f) => !f.loading)) show(m);
}

// Shows a message (or holds it while paused), once per position: the history and the live
// messages overlap at the seam, and overlapping bindings carry the same messages.
function show(m) {
  if (m.position) {
    if (state.seen.has(m.position)) return;
    state.seen.add(m.position);
    if (state.seen.size > MAX_SEEN) state.seen.delete(state.seen.values().next().value);
  }
  state.received += 1;
  if (m.source === "history") state.fromHistory += 1;
  if (state.paused) {
    state.held.push(m);
    if (state.held.length > MAX_ROWS) {
      state.held.shift();
      state.dropped += 1;
    }
  } else {
    keep(m);
  }
  scheduleRender();
}

function keep(m) {
  state.messages.push(m);
  if (state.messages.length > MAX_ROWS) {
    state.messages.shift();
    state.dropped += 1;
  }
}

function scheduleRender() {
  if (state.dirty) return;
  state.dirty = true;
  requestAnimationFrame(render);
}

function matches(m, text) {
  if (!text) return true;
  return m.exchange.includes(text) || m.routingKey.includes(text) || m.payload.includes(text);
}

function render() {
  state.dirty = false;
  const text = $("text-filter").value.trim();
  const tbody = document.querySelector("#messages tbody");
  const rows = [];
  let shown = 0;
  for (let i = state.messages.length - 1; i >= 0; --i) {
    const m = state.messages[i];
    if (!matches(m, text)) continue;
    shown += 1;
    const tr = document.createElement("tr");
    tr.tabIndex = 0;
    tr.dataset.index = String(i);
    tr.dataset.source = m.source;
    tr.setAttribute("aria-selected", String(m === state.selected));
    for (const value of [m.time.slice(11, 23), m.exchange, m.routingKey, String(m.size)]) {
      const td = document.createElement("td");
      td.textContent = value;
      tr.append(td);
    }
    rows.push(tr);
  }
  tbody.replaceChildren(...rows);
  $("shown").textContent = String(shown);
  $("received").textContent = String(state.received);
  $("from-history").textContent = String(state.fromHistory);
  $("dropped").textContent = String(state.dropped);
  $("held").textContent = state.paused ? `, ${state.held.length} held while paused` : "";
}

function select(index) {
  const m = state.messages[index];
  if (!m) return;
  state.selected = m;
  let pretty = m.payload;
  try {
    pretty = JSON.stringify(JSON.parse(m.payload), null, 2);
  } catch {
    // not JSON: shown as received
  }
  const origin = m.position ? ` · ${m.source === "history" ? "from history, " : ""}position ${m.position}` : "";
  $("detail-meta").textContent = `${m.topic} · ${m.size} bytes · ${m.time}${origin}`;
  $("detail").textContent = pretty;
  for (const tr of document.querySelectorAll("#messages tbody tr")) {
    tr.setAttribute("aria-selected", String(tr.dataset.index === String(index)));
  }
}

function togglePause() {
  state.paused = !state.paused;
  const button = $("pause");
  button.setAttribute("aria-pressed", String(state.paused));
  button.textContent = state.paused ? "Resume" : "Pause";
  if (!state.paused) {
    for (const m of state.held) keep(m);
    state.held = [];
  }
  scheduleRender();
}

function download() {
  const blob = new Blob([JSON.stringify(state.messages.map(({ time, topic, exchange, routingKey, size, payload, position }) => {
    let body = payload;
    try {
      body = JSON.parse(payload);
    } catch {
      // kept as text
    }
    return { time, topic, exchange, routingKey, size, payload: body, position };
  }), null, 2)], { type: "application/json" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = `hydrant-${new Date().toISOString().replace(/[:.]/g, "-")}.json`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

// ---- wiring ----

function init() {
  const form = $("add-binding");
  form.addEventListener("change", () => {
    const exchange = form.elements.kind.value === "exchange";
    $("exchange-fields").hidden = !exchange;
    $("filter-fields").hidden = exchange;
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    $("binding-error").textContent = "";
    try {
      if (form.elements.kind.value === "exchange") {
        const exchange = $("exchange").value.trim();
        if (!isExchange(exchange)) throw new Error("An exchange looks like exchange/<owner>/<name>.");
        addBinding({ kind: "exchange", exchange, pattern: $("pattern").value.trim() || "#" });
      } else {
        const filter = $("filter").value.trim();
        if (!filter) throw new Error("Enter an MQTT filter, for example exchange/#.");
        addBinding({ kind: "filter", filter });
      }
    } catch (e) {
      $("binding-error").textContent = e.message;
    }
  });
  $("start").addEventListener("click", start);
  $("stop").addEventListener("click", stop);
  $("pause").addEventListener("click", togglePause);
  $("clear").addEventListener("click", () => {
    state.messages = [];
    state.held = [];
    state.selected = null;
    $("notices").replaceChildren();
    scheduleRender();
  });
  $("history-last").addEventListener("change", (e) => {
    const n = Number(e.target.value);
    if (!Number.isInteger(n) || n < 0 || n > MAX_HISTORY) {
      e.target.value = String(state.historyLast);
      return;
    }
    state.historyLast = n;  // for bindings opened from now on
    writeUrl();
  });
  $("download").addEventListener("click", download);
  $("text-filter").addEventListener("input", scheduleRender);
  const tbody = document.querySelector("#messages tbody");
  tbody.addEventListener("click", (e) => {
    const tr = e.target.closest("tr");
    if (tr) select(Number(tr.dataset.index));
  });
  tbody.addEventListener("keydown", (e) => {
    const tr = e.target.closest("tr");
    if (tr && (e.key === "Enter" || e.key === " ")) {
      e.preventDefault();
      select(Number(tr.dataset.index));
    }
  });

  const fromUrl = readUrl();
  state.historyLast = fromUrl.historyLast;
  $("history-last").value = String(state.historyLast);
  for (const b of fromUrl.bindings) {
    try {
      addBinding(b);
    } catch {
      // a hand-edited link with a bad binding: ignored
    }
  }
  showNode();
  // A link with bindings starts watching at once.
  if (state.bindings.length > 0) start();
  render();
}

init();
