// The live viewer, the bus's front page: a directory of exchanges (directory.js) under an
// overview strip (overview.js), and the events view: bindings in the URL, one MQTT connection
// (connection.js), each binding's history then its live messages (feeds.js), a virtualised
// table (table.js) and a payload view (payload.js). This file wires them and keeps the URL,
// the counts, pause and the keyboard. See web/README.md.
import { Connection, brokerUrl } from "./connection.js";
import { Feeds, MAX_HISTORY } from "./feeds.js";
import { filterForBinding, describeTopic, isExchange } from "./mapping.js";
import { EventTable } from "./table.js";
import { renderPayload } from "./payload.js";
import { Directory } from "./directory.js";
import { Overview } from "./overview.js";
import { relativeTime } from "./time.js";

const MAX_EVENTS = 100000;   // kept and scrollable; older ones are dropped (counted)
const DROP_CHUNK = 1000;     // dropped at once, so that a full table costs one splice per 1,000
const DEFAULT_HISTORY = 50;  // messages of a binding's history shown when it opens
// Positions remembered to show each logged message once: more than the table keeps.
const MAX_SEEN = 2 * MAX_EVENTS;

const $ = (id) => document.getElementById(id);
const state = {
  view: "directory",
  bindings: [],        // {kind: "exchange", exchange, pattern} | {kind: "filter", filter}
  events: [],          // newest last
  held: [],            // arrived while paused
  seen: new Set(),
  received: 0,
  fromHistory: 0,
  dropped: 0,
  paused: false,
  running: false,
  wanted: null,        // the position of the event the link selects, until it is shown
  selected: null,
  exchanges: new Map(),  // prefix -> the API's entry (last publish, for an empty binding)
  known: [],             // exchange names of several levels, to split topics as declared
  mqtt: { host: location.hostname.replace(/^\[|\]$/g, ""), port: 1883, tls: false },
  dirty: false,
};

// ---- the URL: view, bindings, run, last, filter text, selected event ----

function readUrl() {
  const params = new URLSearchParams(location.search);
  const bindings = [];
  for (const value of params.getAll("b")) {
    const sep = value.indexOf(":");
    const kind = value.slice(0, sep);
    const rest = value.slice(sep + 1);
    if (kind === "x") {
      const space = rest.indexOf(" ");
      bindings.push(space < 0 ? { kind: "exchange", exchange: rest, pattern: "#" }
        : { kind: "exchange", exchange: rest.slice(0, space), pattern: rest.slice(space + 1) });
    } else if (kind === "t") {
      bindings.push({ kind: "filter", filter: rest });
    }
  }
  const last = Number(params.get("last"));
  return {
    bindings,
    run: params.get("run") === "1",
    historyLast: params.has("last") && Number.isInteger(last) && last >= 0 && last <= MAX_HISTORY ? last : DEFAULT_HISTORY,
    view: params.get("view") || (bindings.length ? "events" : "directory"),
    text: params.get("q") || "",
    selected: params.get("sel"),
  };
}

function writeUrl() {
  const params = new URLSearchParams();
  if (state.view !== (state.bindings.length ? "events" : "directory")) params.set("view", state.view);
  for (const b of state.bindings) {
    params.append("b", b.kind === "exchange" ? `x:${b.exchange} ${b.pattern}` : `t:${b.filter}`);
  }
  if (state.running) params.set("run", "1");
  if (feeds.historyLast !== DEFAULT_HISTORY) params.set("last", String(feeds.historyLast));
  const text = $("text-filter").value.trim();
  if (text) params.set("q", text);
  const selected = state.selected?.position || state.wanted;
  if (selected) params.set("sel", selected);
  const query = params.toString();
  history.replaceState(null, "", query ? `${location.pathname}?${query}` : location.pathname);
}

// ---- views ----

function setView(view) {
  state.view = view === "events" ? "events" : "directory";
  $("directory-view").hidden = state.view !== "directory";
  $("events-view").hidden = state.view !== "events";
  $("tab-directory").toggleAttribute("aria-current", state.view === "directory");
  $("tab-events").toggleAttribute("aria-current", state.view === "events");
  if (state.view === "directory") $("tab-directory").setAttribute("aria-current", "page");
  else $("tab-events").setAttribute("aria-current", "page");
  if (state.view === "events") scheduleRender();
  // The directory polls its list only while it is seen.
  if (directory) {
    if (state.view === "directory") directory.start();
    else directory.stop();
  }
  writeUrl();
}

// ---- bindings ----

function bindingFilter(b) {
  return b.kind === "exchange" ? filterForBinding(b.exchange, b.pattern) : b.filter;
}

function bindingLabel(b) {
  return b.kind === "exchange" ? `${b.exchange} ${b.pattern}` : b.filter;
}

// What the user reads next to a binding.
function feedText(feed) {
  if (!state.running) return "not started";
  switch (feed.state) {
    case "subscribing": return "subscribing…";
    case "history": return "loading history…";
    case "live": return `live · ${feed.count}`;
    case "refused": return `refused by the broker: ${feed.detail}`;
    case "incomplete": return `history incomplete: ${feed.detail}`;
    case "empty": {
      if (feed.binding.kind !== "exchange") return "no messages yet";
      const e = state.exchanges.get(feed.binding.exchange);
      const last = e?.last_publish_ms ?? (e?.last_publish ? Date.parse(e.last_publish) : null);
      return last ? `no messages yet; last message on this exchange ${relativeTime(last, Date.now())}`
        : "no messages yet; nothing published on this exchange yet";
    }
    default: return "waiting for the connection";
  }
}

function renderBindings() {
  const list = $("binding-list");
  list.replaceChildren();
  state.bindings.forEach((b, i) => {
    const feed = feeds.feeds.get(bindingFilter(b));
    const li = document.createElement("li");
    const name = document.createElement("span");
    name.className = "binding-name";
    name.textContent = bindingLabel(b);
    name.title = bindingLabel(b);
    const status = document.createElement("span");
    status.className = "binding-state";
    status.dataset.state = feed ? feed.state : "idle";
    status.textContent = feed ? feedText(feed) : "";
    const remove = document.createElement("button");
    remove.type = "button";
    remove.textContent = "Remove";
    remove.setAttribute("aria-label", `Remove binding ${bindingLabel(b)}`);
    remove.addEventListener("click", () => removeBinding(i));
    li.append(name, status, remove);
    list.append(li);
  });
}

// The states only, in place: a focused Remove button keeps its focus.
function updateBindingStates() {
  const items = $("binding-list").children;
  state.bindings.forEach((b, i) => {
    const feed = feeds.feeds.get(bindingFilter(b));
    const status = items[i]?.querySelector(".binding-state");
    if (!feed || !status) return;
    status.dataset.state = state.running ? feed.state : "idle";
    status.textContent = feedText(feed);
  });
}

function addBinding(b) {
  const filter = bindingFilter(b);  // throws for a bad exchange
  if (state.bindings.some((x) => bindingFilter(x) === filter)) return;
  state.bindings.push(b);
  // Its topics split at the exchange as bound, before the directory's list has arrived.
  if (b.kind === "exchange" && b.exchange.split("/").length > 3 && !state.known.includes(b.exchange)) {
    state.known.push(b.exchange);
  }
  const feed = feeds.add(filter, b);
  if (connection.connected) feeds.open(connection.client, feed);
  renderBindings();
  writeUrl();
}

function removeBinding(i) {
  const [b] = state.bindings.splice(i, 1);
  feeds.remove(bindingFilter(b), connection.client);
  renderBindings();
  writeUrl();
}

// ---- connection ----

function setStatus({ kind, text }) {
  const el = $("status");
  el.dataset.state = kind;
  el.textContent = text;
  updateBindingStates();
}

function start() {
  if (state.running) return;
  state.running = true;
  $("start").disabled = true;
  $("stop").disabled = false;
  writeUrl();
  connection.start();
}

function stop() {
  state.running = false;
  $("start").disabled = false;
  $("stop").disabled = true;
  connection.stop();
  writeUrl();
}

// ---- messages ----

const decoder = new TextDecoder();
const encoder = new TextEncoder();

function describe(topic, payload, size, more) {
  const where = describeTopic(topic, state.known);
  return { topic, exchange: where.exchange, routingKey: where.routingKey, size, payload, ...more };
}

// A live message; a logged one (under exchange/) carries its position as the MQTT 5 user
// property `position`.
function fromLive(topic, payload, packet) {
  const position = packet.properties?.userProperties?.position;
  const now = Date.now();
  return describe(topic, decoder.decode(payload), payload.length, {
    time: new Date(now).toISOString(),
    timeMs: now,
    position: (Array.isArray(position) ? position[0] : position) || null,
    source: "live",
  });
}

// A message from the history API, whose payload is the JSON value when it was JSON, else a
// string: JSON is written back compactly, so its size can differ from the bytes published.
function fromHistory(h) {
  const text = typeof h.payload === "string" ? h.payload : JSON.stringify(h.payload);
  const ms = h.time_ms ?? Date.parse(h.time);
  return describe(h.topic, text, encoder.encode(text).length, {
    time: new Date(ms).toISOString(),
    timeMs: ms,
    position: h.position,
    source: "history",
  });
}

// Shows a message (or holds it while paused), once per position.
function show(m) {
  if (m.position) {
    if (state.seen.has(m.position)) return;
    state.seen.add(m.position);
    if (state.seen.size > MAX_SEEN) state.seen.delete(state.seen.values().next().value);
  }
  state.received += 1;
  if (m.source === "history") state.fromHistory += 1;
  if (state.paused) appendBounded(state.held, m);
  else keep(m);
  if (state.wanted && m.position === state.wanted) {
    state.wanted = null;
    requestAnimationFrame(() => openEvent(m, true));
  }
  scheduleRender();
}

// Appends to a list kept to MAX_EVENTS: the oldest are dropped DROP_CHUNK at a time, counted.
// True when it dropped some. The table's list and, while paused, the held one: a firehose left
// paused does not grow the page either.
function appendBounded(list, m) {
  list.push(m);
  if (list.length <= MAX_EVENTS + DROP_CHUNK) return false;
  const excess = list.length - MAX_EVENTS;
  list.splice(0, excess);
  state.dropped += excess;
  return true;
}

function keep(m) {
  if (appendBounded(state.events, m)) table.setEvents(state.events);  // indices moved
}

function scheduleRender() {
  if (state.dirty) return;
  state.dirty = true;
  requestAnimationFrame(render);
}

function render() {
  state.dirty = false;
  if (state.view === "events") table.refresh();
  $("shown").textContent = String(table.rowCount);
  $("received").textContent = String(state.received);
  $("from-history").textContent = String(state.fromHistory);
  $("dropped").textContent = String(state.dropped);
  $("held").textContent = state.paused ? ` · ${state.held.length} arrived while paused` : "";
}

function openEvent(m, select) {
  state.selected = m;
  if (select) table.selectEvent?.(m);
  $("events-view").querySelector(".split").classList.remove("no-selection");
  renderPayload($("detail"), m, { filter: feeds.filterFor(m.topic), ...state.mqtt });
  writeUrl();
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
  const rows = state.events.map(({ time, topic, exchange, routingKey, size, payload, position }) => {
    let body = payload;
    try {
      body = JSON.parse(payload);
    } catch {
      // kept as text
    }
    return { time, topic, exchange, routingKey, size, payload: body, position };
  });
  const blob = new Blob([JSON.stringify(rows, null, 2)], { type: "application/json" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = `hydrant-${new Date().toISOString().replace(/[:.]/g, "-")}.json`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

function notice(text) {
  const li = document.createElement("li");
  li.textContent = text;
  $("notices").append(li);
}

// A stable colour per exchange (decorative: the name is always written beside it).
function colourFor(exchange) {
  let h = 0;
  for (let i = 0; i < exchange.length; ++i) h = (h * 31 + exchange.charCodeAt(i)) >>> 0;
  return `hsl(${h % 360} 65% 50%)`;
}

// ---- what the broker says about itself: the MQTT port for copied commands, node, exchanges ----

async function loadInfo() {
  try {
    const info = await (await fetch("/api/v1/info", { cache: "no-store" })).json();
    if (info.node) {
      $("node").textContent = `node ${info.node}`;
      $("node").hidden = false;
    }
    const tls = location.protocol === "https:";
    const listener = (info.listeners || []).find((l) => l.kind === (tls ? "mqtts" : "mqtt"))
      || (info.listeners || []).find((l) => l.kind === "mqtt");
    if (listener) {
      state.mqtt.port = Number(listener.address.slice(listener.address.lastIndexOf(":") + 1)) || state.mqtt.port;
      state.mqtt.tls = listener.kind === "mqtts";
    }
  } catch {
    // no API (a static copy of the page): the defaults stand
  }
}

async function loadExchanges() {
  try {
    const body = await (await fetch("/api/v1/exchanges?kind=exchange", { cache: "no-store" })).json();
    state.exchanges = new Map((body.exchanges || []).map((e) => [e.prefix, e]));
    const bound = state.bindings.filter((b) => b.kind === "exchange").map((b) => b.exchange);
    state.known = [...new Set([...state.exchanges.keys(), ...bound])].filter((p) => p.split("/").length > 3);
    $("known-exchanges").replaceChildren(...[...state.exchanges.keys()].map((p) => {
      const o = document.createElement("option");
      o.value = p;
      return o;
    }));
    renderBindings();
  } catch {
    // shown again on the next tick
  }
}

// ---- wiring ----

const feeds = new Feeds({
  show,
  notice,
  fromHistory,
  onFeedState: () => updateBindingStates(),
});
const connection = new Connection({
  url: brokerUrl(location),
  onState: setStatus,
  onConnect: (client) => feeds.openAll(client),
  onMessage: (topic, payload, packet) => feeds.live(fromLive(topic, payload, packet)),
});
let directory = null;  // created in init(), once the view is known
const table = new EventTable($("events"), {
  colourFor,
  onSelect: (m) => {
    state.selected = m;
    writeUrl();
  },
  onOpen: (m) => openEvent(m, false),
});
table.setEvents(state.events);

function isTyping(target) {
  return target instanceof HTMLElement && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
}

// `/` filters, `j`/`k` move through the events, Enter opens the selected one.
function onKey(e) {
  if (e.ctrlKey || e.metaKey || e.altKey || isTyping(e.target)) return;
  if (e.key === "/") {
    e.preventDefault();
    if (state.view !== "events") setView("events");
    $("text-filter").focus();
  } else if (state.view === "events" && (e.key === "j" || e.key === "k")) {
    e.preventDefault();
    table.moveSelection(e.key === "j" ? 1 : -1);
  } else if (state.view === "events" && e.key === "Enter" && !(e.target instanceof HTMLButtonElement || e.target instanceof HTMLAnchorElement)) {
    if (table.selected) {
      e.preventDefault();
      table.openSelected();
    }
  }
}

function initForm() {
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
        if (!isExchange(exchange)) {
          throw new Error("An exchange looks like exchange/<owner>/<name>, and its name may have several levels (exchange/gerrit/v1/change-merged).");
        }
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
}

function init() {
  initForm();
  $("start").addEventListener("click", start);
  $("stop").addEventListener("click", stop);
  $("pause").addEventListener("click", togglePause);
  $("clear").addEventListener("click", () => {
    state.events.length = 0;
    state.held = [];
    state.selected = null;
    table.setEvents(state.events);
    $("notices").replaceChildren();
    scheduleRender();
  });
  $("history-last").addEventListener("change", (e) => {
    const n = Number(e.target.value);
    if (!Number.isInteger(n) || n < 0 || n > MAX_HISTORY) {
      e.target.value = String(feeds.historyLast);
      return;
    }
    feeds.historyLast = n;  // for bindings opened from now on
    writeUrl();
  });
  $("download").addEventListener("click", download);
  $("text-filter").addEventListener("input", () => {
    table.setFilter($("text-filter").value.trim());
    writeUrl();
    scheduleRender();
  });
  for (const [id, view] of [["tab-directory", "directory"], ["tab-events", "events"]]) {
    $(id).addEventListener("click", (e) => {
      e.preventDefault();
      setView(view);
    });
  }
  document.addEventListener("keydown", onKey);

  const fromUrl = readUrl();
  feeds.historyLast = fromUrl.historyLast;
  $("history-last").value = String(feeds.historyLast);
  $("text-filter").value = fromUrl.text;
  if (fromUrl.text) table.setFilter(fromUrl.text);
  state.wanted = fromUrl.selected;
  for (const b of fromUrl.bindings) {
    try {
      addBinding(b);
    } catch {
      // a hand-edited link with a bad binding: ignored
    }
  }
  directory = new Directory($("directory"), {
    onBind: (exchange, pattern) => {
      addBinding({ kind: "exchange", exchange, pattern: pattern || "#" });
      setView("events");
      start();
    },
  });
  setView(fromUrl.view);
  new Overview($("overview")).start();
  loadInfo();
  loadExchanges();
  setInterval(loadExchanges, 30000);
  setInterval(() => {
    if (state.view === "events") table.refresh();  // relative times
    updateBindingStates();
  }, 5000);
  // A link with bindings starts watching at once.
  if (state.bindings.length > 0) start();
  render();
}

init();
