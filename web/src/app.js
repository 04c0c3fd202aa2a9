// The live viewer: bindings in the URL, one MQTT-over-WebSocket connection to the page's own
// origin (/mqtt), a table capped at MAX_ROWS and redrawn at most once per animation frame, a
// payload panel, a text filter, pause and download. See web/README.md.
import mqtt from "mqtt";
import { filterForBinding, describeTopic, isExchange } from "./mapping.js";

const MAX_ROWS = 2000;      // kept and shown; older ones are dropped from view (counted)
const MAX_BACKOFF_MS = 30000;

const $ = (id) => document.getElementById(id);
const state = {
  bindings: [],        // {kind: "exchange", exchange, pattern} | {kind: "filter", filter}
  messages: [],        // newest last: {time, topic, exchange, routingKey, size, payload}
  held: [],            // arrived while paused
  received: 0,
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
  return { bindings: out, start: params.get("run") === "1" };
}

function writeUrl() {
  const params = new URLSearchParams();
  for (const b of state.bindings) {
    params.append("b", b.kind === "exchange" ? `x:${b.exchange} ${b.pattern}` : `t:${b.filter}`);
  }
  if (state.running) params.set("run", "1");
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
  if (state.client && state.client.connected) state.client.subscribe(filter, { qos: 0 });
  renderBindings();
  writeUrl();
}

function removeBinding(i) {
  const [b] = state.bindings.splice(i, 1);
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
    for (const b of state.bindings) client.subscribe(bindingFilter(b), { qos: 0 });
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

// ---- messages ----

const decoder = new TextDecoder();

function onMessage(topic, payload) {
  state.received += 1;
  const where = describeTopic(topic);
  const m = {
    time: new Date().toISOString(),
    topic,
    exchange: where.exchange,
    routingKey: where.routingKey,
    size: payload.length,
    payload: decoder.decode(payload),
  };
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
  $("detail-meta").textContent = `${m.topic} · ${m.size} bytes · ${m.time}`;
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
  const blob = new Blob([JSON.stringify(state.messages.map(({ time, topic, exchange, routingKey, size, payload }) => {
    let body = payload;
    try {
      body = JSON.parse(payload);
    } catch {
      // kept as text
    }
    return { time, topic, exchange, routingKey, size, payload: body };
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
    scheduleRender();
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
  for (const b of fromUrl.bindings) {
    try {
      addBinding(b);
    } catch {
      // a hand-edited link with a bad binding: ignored
    }
  }
  // A link with bindings starts watching at once.
  if (state.bindings.length > 0) start();
  render();
}

init();
