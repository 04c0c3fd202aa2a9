// The landing view's broker overview (issue 17 item 2): messages in and out per second (from the
// deltas of /api/v1/stats between two polls), connections now and by transport, subscriptions,
// uptime and version. Also the pure helpers both landing modules use (directory.js re-exports
// the ones it needs), so that node --test can check them without a DOM.

import { el, setText } from "./dom.js";

// ---- pure helpers ----

// Messages (or bytes) per second of a counter between two samples {t: ms, stats: {...}}.
// null until there are two usable samples; a counter that went down (the broker restarted)
// gives null rather than a negative rate, and so does a zero or negative elapsed time.
export function rate(prevSample, nextSample, field) {
  if (!prevSample || !nextSample) return null;
  const a = Number(prevSample.stats?.[field]);
  const b = Number(nextSample.stats?.[field]);
  const dt = (nextSample.t - prevSample.t) / 1000;
  if (!Number.isFinite(a) || !Number.isFinite(b) || !Number.isFinite(dt) || dt <= 0) return null;
  if (b < a) return null;
  return (b - a) / dt;
}

// "3 d 4 h", "5 h 2 min", "5 min 12 s", "42 s": the two largest units.
export function formatUptime(seconds) {
  const s = Math.floor(Number(seconds));
  if (!Number.isFinite(s) || s < 0) return "—";
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${m} min`;
  if (m > 0) return `${m} min ${sec} s`;
  return `${sec} s`;
}

// A rate with 2 decimals below 10, 1 decimal from 10 on (grouped by thousands); "—" when unknown.
export function formatRate(x) {
  if (x === null || x === undefined || x === "") return "—";
  const v = Number(x);
  if (!Number.isFinite(v)) return "—";
  const digits = Math.abs(v) < 10 ? 2 : 1;
  return v.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

// A whole number grouped by thousands ("12,345"); "—" when unknown.
export function formatCount(x) {
  const v = Number(x);
  if (x === null || x === undefined || !Number.isFinite(v)) return "—";
  return Math.round(v).toLocaleString("en-US");
}

const round2 = (v) => Math.round(v * 100) / 100;

// The `points` of an SVG <polyline> drawing `values` (oldest first) in width x height, scaled
// to the largest value, with a 1-unit margin top and bottom so the stroke is not clipped. All
// zeros draw a flat line at the bottom; one value draws a flat line across; none draws nothing.
export function sparklinePoints(values, width, height) {
  const vs = (Array.isArray(values) ? values : []).map((v) => {
    const n = Number(v);
    return Number.isFinite(n) && n > 0 ? n : 0;
  });
  if (vs.length === 0) return "";
  const max = Math.max(...vs);
  const top = 1;
  const bottom = height - 1;
  const y = (v) => round2(max > 0 ? bottom - (v / max) * (bottom - top) : bottom);
  if (vs.length === 1) return `0,${y(vs[0])} ${round2(width)},${y(vs[0])}`;
  const step = width / (vs.length - 1);
  return vs.map((v, i) => `${round2(i * step)},${y(v)}`).join(" ");
}

// "10 minutes", "1 minute", "90 seconds", "2 hours".
export function formatSpan(seconds) {
  const s = Math.round(Number(seconds));
  if (!Number.isFinite(s) || s <= 0) return "";
  const unit = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
  if (s % 3600 === 0) return unit(s / 3600, "hour");
  if (s % 60 === 0) return unit(s / 60, "minute");
  return unit(s, "second");
}

// The sparkline's text alternative: "messages in the last 10 minutes: 12 in total, peak 5 per
// 20 s, 0 in the latest 20 s". "" when there is nothing to describe.
export function sparklineLabel(recent) {
  const ms = Array.isArray(recent?.messages) ? recent.messages.map((v) => Math.max(0, Number(v) || 0)) : [];
  const bucket = Number(recent?.bucket_s);
  if (ms.length === 0 || !Number.isFinite(bucket) || bucket <= 0) return "";
  const total = ms.reduce((a, b) => a + b, 0);
  const peak = Math.max(...ms);
  const last = ms[ms.length - 1];
  return `messages in the last ${formatSpan(bucket * ms.length)}: ${formatCount(total)} in total, ` +
    `peak ${formatCount(peak)} per ${bucket} s, ${formatCount(last)} in the latest ${bucket} s`;
}

// exchange/<owner>/<name…> -> {owner, name}; the name keeps all its levels
// ("exchange/taskcluster-queue/v1/task-completed" -> taskcluster-queue, v1/task-completed).
// Anything else: owner "", name the whole prefix.
export function splitExchange(prefix) {
  const p = String(prefix ?? "");
  const levels = p.split("/");
  if (levels.length >= 3 && levels[0] === "exchange" && levels[1] !== "") {
    return { owner: levels[1], name: levels.slice(2).join("/") };
  }
  return { owner: "", name: p };
}

// Whether a directory entry matches the search text: case-insensitive substring of its full
// name (prefix), owner or name. Blank text matches everything. Several words must all match.
export function matchesSearch(entry, text) {
  const words = String(text ?? "").toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return true;
  const { owner, name } = entry?.owner !== undefined && entry?.name !== undefined
    ? entry : splitExchange(entry?.prefix);
  const hay = [entry?.prefix ?? "", owner ?? "", name ?? ""].join("\n").toLowerCase();
  return words.every((w) => hay.includes(w));
}

const TRANSPORTS = ["tcp", "tls", "ws", "wss"];

// "tcp 3 · ws 2": the non-zero transports, all four when none is (or "" without the figures).
export function formatTransports(byTransport) {
  if (!byTransport || typeof byTransport !== "object") return "";
  const all = TRANSPORTS.map((k) => [k, Number(byTransport[k]) || 0]);
  const nonZero = all.filter(([, n]) => n > 0);
  return (nonZero.length ? nonZero : all).map(([k, n]) => `${k} ${formatCount(n)}`).join(" · ");
}

// ---- the view ----

const STATS_MS = 2000;
const INFO_MS = 60000;

export class Overview {
  // root: an element the overview owns. Options: fetchImpl (fetch), now (Date.now), and for
  // tests statsMs / infoMs (poll periods, 2 s and 60 s).
  constructor(root, { fetchImpl = globalThis.fetch, now = Date.now, statsMs = STATS_MS,
    infoMs = INFO_MS } = {}) {
    this.root = root;
    this._fetch = (url, init) => fetchImpl(url, init); // never called as a method: no Illegal invocation
    this._now = now;
    this._statsMs = statsMs;
    this._infoMs = infoMs;
    this._running = false;
    this._timers = { stats: null, info: null };
    this._busy = { stats: false, info: false };
    this._aborts = new Set();
    this.samples = [];   // the last two {t, stats}
    this.info = null;
    this._build();
  }

  _build() {
    const root = this.root;
    root.classList.add("overview");
    root.replaceChildren();
    const section = el("section", "overview-section");
    section.setAttribute("aria-label", "Broker overview");
    const dl = el("dl", "overview-figures");
    this.fields = {};
    const add = (key, label) => {
      const div = el("div", `overview-figure overview-${key}`);
      const dd = el("dd", "overview-value");
      const value = el("span", "overview-number", "—");
      const detail = el("span", "overview-detail");
      detail.hidden = true;
      dd.append(value, detail);
      div.append(el("dt", "overview-label", label), dd);
      dl.append(div);
      this.fields[key] = { dd, value, detail };
    };
    add("in", "Messages in /s");
    add("out", "Messages out /s");
    add("connections", "Connections");
    add("subscriptions", "Subscriptions");
    add("uptime", "Uptime");
    add("version", "Version");
    // the live region stays in place; the line inside it shows and hides
    const status = el("div", "overview-status");
    status.setAttribute("role", "status");
    this.error = el("p", "overview-error");
    this.error.hidden = true;
    status.append(this.error);
    section.append(dl, status);
    root.append(section);
  }

  _set(key, value, detail = "") {
    const f = this.fields[key];
    setText(f.value, value);
    setText(f.detail, detail);
    f.detail.hidden = detail === "";
  }

  start() {
    if (this._running) return;
    this._running = true;
    this._poll("stats");
    this._poll("info");
  }

  stop() {
    this._running = false;
    for (const k of Object.keys(this._timers)) {
      clearTimeout(this._timers[k]);
      this._timers[k] = null;
    }
    for (const a of this._aborts) a.abort();
    this._aborts.clear();
  }

  async _poll(kind) {
    if (!this._running || this._busy[kind]) return;
    this._busy[kind] = true;
    const abort = typeof AbortController === "function" ? new AbortController() : null;
    if (abort) this._aborts.add(abort);
    try {
      const res = await this._fetch(`/api/v1/${kind}`, {
        headers: { Accept: "application/json" }, cache: "no-store", signal: abort?.signal,
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const body = await res.json();
      if (!this._running) return;
      if (kind === "stats") this.updateStats(body, this._now());
      else this.updateInfo(body);
      this._problem(kind, null);
    } catch (e) {
      if (this._running) this._problem(kind, e);
    } finally {
      if (abort) this._aborts.delete(abort);
      this._busy[kind] = false;
      if (this._running) {
        this._timers[kind] = setTimeout(() => this._poll(kind),
          kind === "stats" ? this._statsMs : this._infoMs);
      }
    }
  }

  _problem(kind, err) {
    this._errors = this._errors ?? {};
    if (err) this._errors[kind] = err.message || String(err);
    else delete this._errors[kind];
    const kinds = Object.keys(this._errors);
    this.error.hidden = kinds.length === 0;
    setText(this.error, kinds.length === 0 ? ""
      : `Could not read the broker's ${kinds.join(" and ")} (${Object.values(this._errors).join(", ")}); retrying.`);
  }

  // Takes one /api/v1/stats answer read at time t (ms) and redraws.
  updateStats(stats, t) {
    this.samples.push({ t, stats });
    if (this.samples.length > 2) this.samples.shift();
    const [prev, next] = this.samples.length === 2 ? this.samples : [null, this.samples[0]];
    const rin = rate(prev, next, "messages_received");
    const rout = rate(prev, next, "messages_sent");
    this._set("in", formatRate(rin), `${formatCount(stats.messages_received)} in all`);
    this._set("out", formatRate(rout), `${formatCount(stats.messages_sent)} in all`);
    this._set("connections", formatCount(stats.clients_connected),
      formatTransports(stats.connections_by_transport));
    this._set("subscriptions", formatCount(stats.subscriptions),
      stats.sessions !== undefined ? `${formatCount(stats.sessions)} sessions` : "");
    this._set("uptime", formatUptime(stats.uptime_s));
  }

  // Takes one /api/v1/info answer and redraws the version (and uptime when stats has none yet).
  updateInfo(info) {
    this.info = info;
    const version = info?.version ? String(info.version) : "—";
    const node = info?.node ? `node ${info.node}` : "";
    this._set("version", version, node);
    if (this.samples.length === 0 && info?.uptime_s !== undefined) {
      this._set("uptime", formatUptime(info.uptime_s));
    }
  }
}
