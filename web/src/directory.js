// The landing view's exchange directory (issue 17 item 1): every exchange the broker has seen,
// from GET /api/v1/exchanges?kind=exchange every 5 s, newest publish first, with a search box,
// each exchange's rate, a sparkline of its last minutes, its last publish, and a Bind control
// (routing-key pattern + button) that hands (exchange, pattern) to the page. Rows are kept per
// exchange and updated in place, so a pattern being typed keeps its value and focus across
// refreshes. API data only ever reaches the page as textContent or attribute values.
import { el, setText } from "./dom.js";
import { formatRate, sparklinePoints, sparklineLabel, matchesSearch, splitExchange } from "./overview.js";
import { relativeTime } from "./time.js";

export { formatRate, sparklinePoints, sparklineLabel, matchesSearch, splitExchange };

const REFRESH_MS = 5000;
const SPARK_W = 90;
const SPARK_H = 20;
const SVG = "http://www.w3.org/2000/svg";
const EMPTY_TEXT = "No exchanges yet — publishers appear here after their first message";

// One API entry -> what the directory shows, tolerant of an older broker (no owner/name, no
// recent, no last_publish_ms; last_publish at the epoch for "never").
export function normalizeEntry(raw) {
  const prefix = String(raw?.prefix ?? "");
  const split = splitExchange(prefix);
  const owner = typeof raw?.owner === "string" && raw.owner !== "" ? raw.owner : split.owner;
  const name = typeof raw?.name === "string" && raw.name !== "" ? raw.name : split.name;
  let lastMs = Number.isFinite(raw?.last_publish_ms) ? raw.last_publish_ms : null;
  if (lastMs === null && typeof raw?.last_publish === "string") {
    const parsed = Date.parse(raw.last_publish);
    if (Number.isFinite(parsed)) lastMs = parsed;
  }
  if (lastMs !== null && lastMs <= 0) lastMs = null; // the epoch: never published
  const recent = raw?.recent && Array.isArray(raw.recent.messages) && raw.recent.messages.length > 0
    ? { bucket_s: Number(raw.recent.bucket_s) || 0, messages: raw.recent.messages.map((v) => Number(v) || 0) }
    : null;
  return {
    prefix,
    owner,
    name,
    declared: raw?.declared === true,
    messagesPerS: Number.isFinite(raw?.messages_per_s) ? raw.messages_per_s : null,
    messages: Number.isFinite(raw?.messages) ? raw.messages : null,
    lastMs,
    lastIso: lastMs === null ? null : new Date(lastMs).toISOString(),
    recent,
  };
}

// The exchanges of an /api/v1/exchanges answer, in its order (an older broker that ignores
// ?kind= may list plain prefixes too: those are left out).
export function entriesFrom(body) {
  const list = Array.isArray(body?.exchanges) ? body.exchanges : [];
  return list
    .filter((e) => e && typeof e.prefix === "string" &&
      (e.kind === undefined ? e.prefix.startsWith("exchange/") : e.kind === "exchange"))
    .map(normalizeEntry);
}

let uid = 0;


function setAttr(node, name, value) {
  if (value === null || value === undefined) {
    if (node.hasAttribute(name)) node.removeAttribute(name);
  } else if (node.getAttribute(name) !== String(value)) {
    node.setAttribute(name, String(value));
  }
}

export class Directory {
  // root: an element the directory owns. Options: onBind(exchange, pattern), fetchImpl (fetch),
  // now (Date.now), and for tests refreshMs (the poll period, 5 s).
  constructor(root, { onBind = () => {}, fetchImpl = globalThis.fetch, now = Date.now,
    refreshMs = REFRESH_MS } = {}) {
    this.root = root;
    this.onBind = onBind;
    this._fetch = (url, init) => fetchImpl(url, init); // never called as a method: no Illegal invocation
    this._now = now;
    this._refreshMs = refreshMs;
    this._running = false;
    this._busy = false;
    this._timer = null;
    this._abort = null;
    this.entries = [];    // the last answer, normalised, in its order
    this.loaded = false;  // whether an answer has come
    this.search = "";
    this._rows = new Map(); // prefix -> row {tr, ...cells, pattern}
    this._shown = [];
    this._id = `dir${++uid}`;
    this._build();
  }

  // The entries displayed now (after the search), in order.
  get shown() {
    return this._shown.slice();
  }

  _build() {
    const root = this.root;
    root.classList.add("directory");
    root.replaceChildren();

    const search = el("div", "directory-search");
    const label = el("label", "directory-search-label", "Search exchanges");
    label.htmlFor = `${this._id}-search`;
    this.searchInput = el("input", "directory-search-input");
    this.searchInput.type = "search";
    this.searchInput.id = `${this._id}-search`;
    this.searchInput.autocomplete = "off";
    this.searchInput.spellcheck = false;
    this.searchInput.placeholder = "owner or name, e.g. taskcluster-queue";
    this.searchInput.addEventListener("input", () => this.setSearch(this.searchInput.value));
    search.append(label, this.searchInput);

    this.status = el("div", "directory-status");
    this.status.setAttribute("role", "status");
    this.errorLine = el("p", "directory-error");
    this.errorLine.hidden = true;
    this.status.append(this.errorLine);
    this.message = el("p", "directory-message");
    this.message.hidden = true;

    this.table = el("table", "directory-table");
    this.caption = el("caption", "directory-caption", "Exchanges");
    const thead = el("thead", "phone-visually-hidden");
    const hr = el("tr");
    for (const [text, cls] of [["Exchange", "col-exchange"], ["Owner", "col-owner"],
      ["Msgs/s", "col-rate"], ["Activity", "col-activity"], ["Last publish", "col-last"],
      ["Bind", "col-bind"]]) {
      const th = el("th", cls, text);
      th.scope = "col";
      hr.append(th);
    }
    thead.append(hr);
    this.tbody = el("tbody");
    this.table.append(this.caption, thead, this.tbody);
    this.table.hidden = true;

    root.append(search, this.status, this.message, this.table);
  }

  setSearch(text) {
    this.search = String(text ?? "");
    if (this.searchInput.value !== this.search) this.searchInput.value = this.search;
    this.render();
  }

  start() {
    if (this._running) return;
    this._running = true;
    this._tick();
  }

  stop() {
    this._running = false;
    clearTimeout(this._timer);
    this._timer = null;
    if (this._abort) this._abort.abort();
    this._abort = null;
  }

  // One load; the next is scheduled when this one has finished, so loads never overlap.
  async _tick() {
    if (!this._running || this._busy) return;
    this._busy = true;
    const abort = typeof AbortController === "function" ? new AbortController() : null;
    this._abort = abort;
    try {
      const res = await this._fetch("/api/v1/exchanges?kind=exchange", {
        headers: { Accept: "application/json" }, cache: "no-store", signal: abort?.signal,
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const body = await res.json();
      if (!this._running) return;
      this.update(body);
      this._setError(null);
    } catch (e) {
      if (this._running) {
        this._setError(e);
        this.render(); // relative times still move on
      }
    } finally {
      if (this._abort === abort) this._abort = null;
      this._busy = false;
      if (this._running) this._timer = setTimeout(() => this._tick(), this._refreshMs);
    }
  }

  _setError(err) {
    this.errorLine.hidden = !err;
    setText(this.errorLine, err
      ? `Could not load the exchanges (${err.message || err}); retrying in ${Math.round(this._refreshMs / 1000)} s.`
      : "");
  }

  // Takes one /api/v1/exchanges answer and redraws (start() calls it; tests may too).
  update(body) {
    this.entries = entriesFrom(body);
    this.loaded = true;
    const live = new Set(this.entries.map((e) => e.prefix));
    for (const [prefix, row] of this._rows) {
      if (!live.has(prefix) && !row.tr.contains(document.activeElement)) this._rows.delete(prefix);
    }
    this.render();
  }

  render() {
    const now = this._now();
    this._shown = this.entries.filter((e) => matchesSearch(e, this.search));

    // Remember the focus (and caret) so moving rows cannot lose it.
    const active = typeof document !== "undefined" ? document.activeElement : null;
    const focused = active && this.tbody.contains(active) ? active : null;
    let selStart = null;
    let selEnd = null;
    if (focused && typeof focused.selectionStart === "number") {
      selStart = focused.selectionStart;
      selEnd = focused.selectionEnd;
    }

    const wanted = this._shown.map((e) => {
      let row = this._rows.get(e.prefix);
      if (!row) {
        row = this._makeRow(e.prefix);
        this._rows.set(e.prefix, row);
      }
      this._fillRow(row, e, now);
      return row.tr;
    });
    // Put the rows in order, moving only those out of place.
    let cursor = this.tbody.firstChild;
    for (const tr of wanted) {
      if (tr === cursor) cursor = cursor.nextSibling;
      else this.tbody.insertBefore(tr, cursor);
    }
    while (cursor) {
      const next = cursor.nextSibling;
      this.tbody.removeChild(cursor);
      cursor = next;
    }
    if (focused && focused.isConnected && document.activeElement !== focused) {
      focused.focus({ preventScroll: true });
      if (selStart !== null) {
        try { focused.setSelectionRange(selStart, selEnd); } catch { /* not a text input */ }
      }
    }

    const total = this.entries.length;
    if (!this.loaded) {
      this.message.hidden = false;
      setText(this.message, "Loading exchanges…");
    } else if (total === 0) {
      this.message.hidden = false;
      setText(this.message, EMPTY_TEXT);
    } else if (this._shown.length === 0) {
      this.message.hidden = false;
      setText(this.message, `No exchange matches “${this.search.trim()}”.`);
    } else {
      this.message.hidden = true;
      setText(this.message, "");
    }
    this.table.hidden = this._shown.length === 0;
    setText(this.caption, this._shown.length === total
      ? `Exchanges (${total}), newest publish first`
      : `Exchanges: ${this._shown.length} of ${total} match “${this.search.trim()}”`);
  }

  _makeRow(prefix) {
    const tr = el("tr", "directory-row");
    tr.dataset.exchange = prefix;

    const exchange = el("th", "cell-exchange");
    exchange.scope = "row";
    exchange.dataset.label = "Exchange";
    const nameSpan = el("span", "exchange-name", prefix);
    nameSpan.title = prefix;
    const badge = el("span", "badge badge-declared", "declared");
    badge.hidden = true;
    const wrap = el("div", "exchange-wrap");
    wrap.append(nameSpan, badge);
    exchange.append(wrap);

    const owner = el("td", "cell-owner");
    owner.dataset.label = "Owner";
    const rateCell = el("td", "cell-rate");
    rateCell.dataset.label = "Msgs/s";

    const activity = el("td", "cell-activity");
    activity.dataset.label = "Activity";
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("class", "sparkline");
    svg.setAttribute("viewBox", `0 0 ${SPARK_W} ${SPARK_H}`);
    svg.setAttribute("width", String(SPARK_W));
    svg.setAttribute("height", String(SPARK_H));
    svg.setAttribute("preserveAspectRatio", "none");
    svg.setAttribute("role", "img");
    svg.setAttribute("focusable", "false");
    const svgTitle = document.createElementNS(SVG, "title");
    const line = document.createElementNS(SVG, "polyline");
    line.setAttribute("fill", "none");
    line.setAttribute("vector-effect", "non-scaling-stroke");
    svg.append(svgTitle, line);
    const noSpark = el("span", "no-sparkline", "—");
    noSpark.title = "no recent activity figures from this broker";
    activity.append(svg, noSpark);

    const last = el("td", "cell-last");
    last.dataset.label = "Last publish";
    const time = el("time", "last-publish");
    last.append(time);

    const bind = el("td", "cell-bind");
    bind.dataset.label = "Bind";
    const form = el("form", "bind-form");
    form.noValidate = true;
    const pattern = el("input", "bind-pattern");
    pattern.type = "text";
    pattern.value = "#";
    pattern.autocomplete = "off";
    pattern.spellcheck = false;
    pattern.setAttribute("aria-label", `Routing-key pattern for ${prefix}`);
    pattern.title = "AMQP routing-key pattern: * one word, # the rest";
    const button = el("button", "bind-button", "Bind");
    button.type = "submit";
    button.setAttribute("aria-label", `Bind ${prefix}`);
    form.append(pattern, button);
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const p = pattern.value.trim() === "" ? "#" : pattern.value.trim();
      this.onBind(prefix, p);
    });
    bind.append(form);

    tr.append(exchange, owner, rateCell, activity, last, bind);
    return { tr, badge, owner, rateCell, svg, svgTitle, line, noSpark, time, pattern };
  }

  _fillRow(row, e, now) {
    row.badge.hidden = !e.declared;
    setText(row.owner, e.owner);
    setText(row.rateCell, formatRate(e.messagesPerS));
    setAttr(row.rateCell, "title", e.messages === null ? null : `${e.messages} messages in all`);

    const label = e.recent ? sparklineLabel(e.recent) : "";
    if (label) {
      row.svg.removeAttribute("display");
      row.noSpark.hidden = true;
      setAttr(row.svg, "aria-label", label);
      setText(row.svgTitle, label);
      setAttr(row.line, "points", sparklinePoints(e.recent.messages, SPARK_W, SPARK_H));
    } else {
      row.svg.setAttribute("display", "none");
      row.noSpark.hidden = false;
    }

    if (e.lastMs === null) {
      setText(row.time, "never");
      setAttr(row.time, "datetime", null);
      setAttr(row.time, "title", null);
    } else {
      setText(row.time, relativeTime(e.lastMs, now));
      setAttr(row.time, "datetime", e.lastIso);
      setAttr(row.time, "title", e.lastIso);
    }
  }
}
