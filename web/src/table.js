// The viewer's event table (issue 17 item 3): one line per event, newest first, virtualised so
// 100,000 events scroll smoothly — only the rows in view (plus a small overscan) exist in the DOM,
// absolutely placed inside a spacer as tall as all the rows. The row height comes from the CSS
// variable --event-row-height (it doubles at phone width, where a row becomes two lines), read at
// layout time. Event data is only ever written with textContent: payloads are hostile.
//
// The pure parts (EventIndex, relativeTime, clockTime, highlightRanges) have no DOM and are
// tested with node --test (web/test/table.test.mjs).

import { relativeTime } from "./time.js";

const OVERSCAN = 8;
const DEFAULT_ROW_HEIGHT = 28;

// HH:MM:SS.mmm in the page's local time.
export function clockTime(ms) {
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return "";
  const p = (n, w = 2) => String(n).padStart(w, "0");
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

// [start, end) of each case-insensitive occurrence of needle in text (needle already lower-case),
// not overlapping. Empty when the needle is empty or when lower-casing changes the text's length
// (a few Unicode letters do), where offsets would not line up.
export function highlightRanges(text, needleLower) {
  const ranges = [];
  if (!needleLower || !text) return ranges;
  const lower = text.toLowerCase();
  if (lower.length !== text.length) return ranges;
  let at = lower.indexOf(needleLower);
  while (at !== -1) {
    ranges.push([at, at + needleLower.length]);
    at = lower.indexOf(needleLower, at + needleLower.length);
  }
  return ranges;
}

// A case-insensitive test for the needle: a regular expression rather than toLowerCase(), which
// would copy every payload on each filter change.
function matcher(needle) {
  const re = new RegExp(needle.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "i");
  return (e) => re.test(String(e.exchange ?? "")) || re.test(String(e.routingKey ?? ""))
    || re.test(String(e.payload ?? ""));
}

// Which events a filter shows, and in which order (newest first), over an array that is
// newest-last and that its owner appends to (and may trim from the front). sync() brings the
// index up to date incrementally: only the new events are tested, a trim from the front shifts
// the matches instead of testing everything again. With no filter there is no list at all.
export class EventIndex {
  constructor() {
    this.events = [];
    this.needle = "";
    this.test = null;
    this.matches = null;   // ascending indices into events, or null: every event
    this.seen = 0;         // how many events the index covers
    this.lastSeen = null;  // events[seen - 1] when last synced, to find it again after a trim
  }

  setEvents(events) {
    this.events = events ?? [];
    this.rebuild();
  }

  setFilter(text) {
    const needle = String(text ?? "").trim().toLowerCase();
    if (needle === this.needle) return false;
    this.needle = needle;
    this.test = needle ? matcher(needle) : null;
    this.rebuild();
    return true;
  }

  rebuild() {
    this.matches = this.needle ? [] : null;
    this.seen = 0;
    this.lastSeen = null;
    this.sync();
  }

  // Returns { added, removed }: how many shown events came in at the top (newest) and how many
  // went from the bottom (oldest) since the last sync, or null when the index had to be rebuilt.
  sync() {
    const events = this.events;
    const n = events.length;
    let from = 0;
    let removed = 0;
    if (this.seen > 0) {
      const idx = this.seen <= n && events[this.seen - 1] === this.lastSeen
        ? this.seen - 1 : events.lastIndexOf(this.lastSeen);
      const shift = this.seen - 1 - idx;
      if (idx < 0 || shift < 0) {
        this.matches = this.needle ? [] : null;
        this.seen = 0;
        this.lastSeen = null;
        this.sync();
        return null;
      }
      if (shift > 0) {
        if (this.matches) {
          let drop = 0;
          while (drop < this.matches.length && this.matches[drop] < shift) drop += 1;
          removed = drop;
          this.matches = drop ? this.matches.slice(drop) : this.matches;
          for (let i = 0; i < this.matches.length; ++i) this.matches[i] -= shift;
        } else {
          removed = shift;
        }
      }
      from = idx + 1;
    }
    let added = 0;
    if (this.matches) {
      for (let i = from; i < n; ++i) {
        if (this.test(events[i])) { this.matches.push(i); added += 1; }
      }
    } else {
      added = n - from;
    }
    this.seen = n;
    this.lastSeen = n ? events[n - 1] : null;
    return { added, removed };
  }

  get count() {
    return this.matches ? this.matches.length : Math.min(this.seen, this.events.length);
  }

  // The event at view index v (0 = newest shown).
  eventAt(v) {
    const count = this.count;
    if (!(v >= 0 && v < count)) return undefined;
    const i = this.matches ? this.matches[count - 1 - v] : count - 1 - v;
    return this.events[i];
  }

  // The view index of an event object, or -1 when it is not shown. Searches from the newest end,
  // where a selection usually is, then maps through the matches by binary search.
  viewIndexOf(event) {
    if (!event || this.seen === 0) return -1;
    const i = this.events.lastIndexOf(event, this.seen - 1);
    if (i < 0) return -1;
    if (!this.matches) return this.count - 1 - i;
    let lo = 0;
    let hi = this.matches.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const m = this.matches[mid];
      if (m === i) return this.matches.length - 1 - mid;
      if (m < i) lo = mid + 1; else hi = mid - 1;
    }
    return -1;
  }
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// text with each occurrence of the needle wrapped in <mark>, as nodes.
function appendHighlighted(parent, text, needleLower) {
  const ranges = highlightRanges(text, needleLower);
  let at = 0;
  for (const [start, end] of ranges) {
    if (start > at) parent.append(text.slice(at, start));
    parent.append(el("mark", "", text.slice(start, end)));
    at = end;
  }
  if (at < text.length) parent.append(text.slice(at));
}

function cssLength(value, fontSizePx) {
  const v = String(value ?? "").trim();
  const n = parseFloat(v);
  if (!Number.isFinite(n) || n <= 0) return 0;
  if (v.endsWith("rem") || v.endsWith("em")) return n * fontSizePx;
  return n; // px, or a bare number
}

const COLUMNS = [
  ["time", "Time"],
  ["exchange", "Exchange"],
  ["key", "Routing key"],
  ["size", "Size"],
];

let tableCount = 0;

export class EventTable {
  constructor(root, { onOpen, onSelect, colourFor, label = "Events, newest first", now = () => Date.now() } = {}) {
    this.root = root;
    this.onOpen = onOpen ?? (() => {});
    this.onSelect = onSelect ?? (() => {});
    this.colourFor = colourFor ?? (() => "transparent");
    this.now = now;
    this.index = new EventIndex();
    this.selectedEvent = null;
    this.rows = new Map();       // event -> row element, the rows in the DOM
    this.rowHeight = 0;          // read from CSS at layout time
    this.bodyTop = 0;
    this.layoutDirty = true;
    this.frame = 0;
    this.lastCount = 0;

    const id = `event-table-${++tableCount}`;
    root.classList.add("event-table");
    root.replaceChildren();

    // The scroll container is the focusable element; inside it the table, its header row
    // (sticky) and the spacer, as tall as every row, that the visible rows sit in.
    this.scroller = el("div", "event-table-scroll");
    this.scroller.tabIndex = 0;
    this.scroller.setAttribute("role", "region");
    this.scroller.setAttribute("aria-label", `${label}. Arrow keys move, Enter opens the payload.`);
    this.table = el("div", "event-table-grid");
    this.table.setAttribute("role", "table");
    this.table.setAttribute("aria-label", label);
    this.table.setAttribute("aria-rowcount", "1");
    const head = el("div", "event-table-head phone-visually-hidden");
    head.setAttribute("role", "rowgroup");
    this.headerRow = el("div", "event-row-header");
    this.headerRow.setAttribute("role", "row");
    this.headerRow.setAttribute("aria-rowindex", "1");
    for (const [key, name] of COLUMNS) {
      const th = el("div", `event-cell event-${key}`, name);
      th.setAttribute("role", "columnheader");
      this.headerRow.append(th);
    }
    head.append(this.headerRow);
    this.body = el("div", "event-table-body");
    this.body.setAttribute("role", "rowgroup");
    this.table.append(head, this.body);
    this.scroller.append(this.table);
    this.empty = el("p", "event-table-empty", "No events yet.");
    // Where keyboard moves are announced: rows come and go as they scroll, so a screen reader
    // can't follow focus into them; the selected row is read out here instead.
    this.live = el("div", "event-table-live visually-hidden");
    this.live.id = `${id}-live`;
    this.live.setAttribute("role", "status");
    this.live.setAttribute("aria-live", "polite");
    root.append(this.scroller, this.empty, this.live);

    this.scroller.addEventListener("scroll", () => this.schedule());
    this.scroller.addEventListener("keydown", (e) => this.onKey(e));
    this.body.addEventListener("click", (e) => {
      const row = e.target.closest?.(".event-row");
      if (!row || e.target.closest("a")) return;
      const v = Number(row.dataset.index);
      this.select(v, { announce: false });
      this.openSelected();
    });
    const relayout = () => { this.layoutDirty = true; this.schedule(); };
    if (typeof ResizeObserver === "function") {
      this.resizeObserver = new ResizeObserver(relayout);
      this.resizeObserver.observe(this.scroller);
    }
    window.addEventListener("resize", relayout);
    this.relayout = relayout;
  }

  destroy() {
    this.resizeObserver?.disconnect();
    window.removeEventListener("resize", this.relayout);
    if (this.frame) cancelAnimationFrame(this.frame);
    this.root.replaceChildren();
  }

  // The array, newest last, that the caller appends to; call refresh() after appending.
  // Giving the same array again after trimming it from the front (splice(0, n)) is cheap: the
  // index follows the trim; a different array is indexed afresh.
  setEvents(events) {
    if (events === this.index.events) {
      this.refresh();
      return;
    }
    this.index.setEvents(events);
    this.clearRows();
    this.lastCount = this.index.count;
    this.refresh();
  }

  setFilter(text) {
    if (this.index.setFilter(text)) {
      this.clearRows();
      this.scroller.scrollTop = 0;
      this.lastCount = this.index.count;
    }
    this.refresh();
  }

  get rowCount() { return this.index.count; }
  get renderedRowCount() { return this.rows.size; }
  get selected() { return this.selectedEvent; }
  get selectedIndex() { return this.index.viewIndexOf(this.selectedEvent); }

  // Takes in newly appended events and redraws what is in view. At most once per frame.
  refresh() {
    const delta = this.index.sync();
    this.layout();
    const count = this.index.count;
    // Keep the rows the reader is looking at in place when newer ones arrive above them; at the
    // very top, stay at the top and watch the new ones come in.
    if (delta && delta.added > 0 && this.scroller.scrollTop > 0) {
      this.scroller.scrollTop += delta.added * this.rowHeight;
    }
    this.lastCount = count;
    this.render();
  }

  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => { this.frame = 0; this.layout(); this.render(); });
  }

  layout() {
    if (!this.layoutDirty && this.rowHeight) return;
    const style = getComputedStyle(this.root);
    const fontSize = parseFloat(style.fontSize) || 16;
    this.rowHeight = cssLength(style.getPropertyValue("--event-row-height"), fontSize) || DEFAULT_ROW_HEIGHT;
    this.bodyTop = this.body.offsetTop;
    this.layoutDirty = false;
    this.clearRows(); // rows carry their old top
  }

  clearRows() {
    for (const row of this.rows.values()) row.remove();
    this.rows.clear();
  }

  render() {
    const count = this.index.count;
    const h = this.rowHeight || DEFAULT_ROW_HEIGHT;
    this.body.style.height = `${count * h}px`;
    this.table.setAttribute("aria-rowcount", String(count + 1));
    this.empty.hidden = count > 0;
    this.empty.textContent = this.index.needle ? "No events match the filter." : "No events yet.";

    const top = Math.max(0, this.scroller.scrollTop - this.bodyTop);
    const height = this.scroller.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / h) - OVERSCAN);
    const last = Math.min(count - 1, Math.ceil((top + height) / h) + OVERSCAN);

    const keep = new Map();
    const nowMs = this.now();
    for (let v = first; v <= last; ++v) {
      const event = this.index.eventAt(v);
      if (!event) continue;
      let row = this.rows.get(event);
      if (row) this.rows.delete(event);
      else row = this.createRow(event);
      this.placeRow(row, event, v, h, nowMs);
      keep.set(event, row);
    }
    for (const row of this.rows.values()) row.remove();
    this.rows = keep;
  }

  createRow(event) {
    const row = el("div", "event-row");
    row.setAttribute("role", "row");
    row.dataset.source = event.source === "history" ? "history" : "live";
    const needle = this.index.needle;

    const time = el("div", "event-cell event-time");
    time.setAttribute("role", "cell");
    const rel = el("span", "event-rel");
    const abs = el("time", "event-abs", clockTime(event.timeMs));
    abs.setAttribute("datetime", String(event.time ?? ""));
    time.append(rel, " ", abs);

    const exchange = el("div", "event-cell event-exchange");
    exchange.setAttribute("role", "cell");
    const swatch = el("span", "event-swatch");
    swatch.setAttribute("aria-hidden", "true");
    swatch.style.backgroundColor = this.colourFor(event.exchange) || "transparent";
    const exText = el("span", "event-text");
    appendHighlighted(exText, String(event.exchange ?? ""), needle);
    exchange.append(swatch, exText);
    exchange.title = String(event.exchange ?? "");

    const key = el("div", "event-cell event-key");
    key.setAttribute("role", "cell");
    const keyText = el("span", "event-text");
    appendHighlighted(keyText, String(event.routingKey ?? ""), needle);
    key.append(keyText);
    key.title = String(event.routingKey ?? "");

    const size = el("div", "event-cell event-size", String(event.size ?? ""));
    size.setAttribute("role", "cell");
    size.title = `${event.size ?? 0} bytes`;

    row.append(time, exchange, key, size);
    row.relText = rel;
    row.timeCell = time;
    this.body.append(row);
    return row;
  }

  placeRow(row, event, v, h, nowMs) {
    if (row.viewIndex !== v) {
      row.viewIndex = v;
      row.style.transform = `translateY(${v * h}px)`;
      row.dataset.index = String(v);
      row.setAttribute("aria-rowindex", String(v + 2));
    }
    const selected = event === this.selectedEvent ? "true" : "false";
    if (row.getAttribute("aria-selected") !== selected) row.setAttribute("aria-selected", selected);
    const rel = relativeTime(event.timeMs, nowMs);
    if (row.relText.textContent !== rel) {
      row.relText.textContent = rel;
      const from = event.source === "history" ? " (from history)" : "";
      row.timeCell.title = `${event.time ?? ""} · ${rel}${from}`;
    }
  }

  // Selects the event at view index v (0 = newest shown) and scrolls it into view.
  select(v, { announce = true } = {}) {
    const count = this.index.count;
    if (count === 0) return;
    v = Math.max(0, Math.min(count - 1, Math.trunc(Number(v) || 0)));
    const event = this.index.eventAt(v);
    this.selectedEvent = event;
    this.scrollToIndex(v);
    this.render();
    if (announce) {
      this.live.textContent = `Event ${v + 1} of ${count}: ${event.exchange} ${event.routingKey}, `
        + `${relativeTime(event.timeMs, this.now())}${event.source === "history" ? ", from history" : ""}`;
    }
    this.onSelect(event);
  }

  // Selects an event object (one the caller opened some other way, say from the URL) and
  // scrolls it into view, without calling onSelect. Returns its view index, -1 when not shown.
  selectEvent(event) {
    this.refresh(); // it may have arrived since the last frame
    this.selectedEvent = event ?? null;
    const v = this.index.viewIndexOf(event);
    if (v >= 0) this.scrollToIndex(v);
    this.render();
    return v;
  }

  moveSelection(step) {
    const v = this.selectedIndex;
    this.select(v < 0 ? 0 : v + (step < 0 ? -1 : 1) * Math.max(1, Math.abs(Math.trunc(step) || 1)));
  }

  openSelected() {
    if (this.selectedEvent) this.onOpen(this.selectedEvent);
  }

  scrollToIndex(v) {
    this.layout();
    const h = this.rowHeight || DEFAULT_ROW_HEIGHT;
    const headerHeight = this.bodyTop; // the sticky header above the body (none at phone width)
    const rowTop = this.bodyTop + v * h;
    const viewTop = this.scroller.scrollTop + headerHeight; // the sticky header covers the top
    const viewBottom = this.scroller.scrollTop + this.scroller.clientHeight;
    if (rowTop < viewTop) this.scroller.scrollTop = rowTop - headerHeight;
    else if (rowTop + h > viewBottom) this.scroller.scrollTop = rowTop + h - this.scroller.clientHeight;
  }

  pageSize() {
    const h = this.rowHeight || DEFAULT_ROW_HEIGHT;
    return Math.max(1, Math.floor((this.scroller.clientHeight - this.bodyTop) / h) - 1);
  }

  onKey(e) {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const v = this.selectedIndex;
    let target = null;
    switch (e.key) {
      case "ArrowDown": target = v < 0 ? 0 : v + 1; break;
      case "ArrowUp": target = v < 0 ? 0 : v - 1; break;
      case "PageDown": target = Math.max(0, v) + this.pageSize(); break;
      case "PageUp": target = Math.max(0, v) - this.pageSize(); break;
      case "Home": target = 0; break;
      case "End": target = this.index.count - 1; break;
      case "Enter":
        e.preventDefault();
        e.stopPropagation(); // handled: a page-wide Enter binding must not open it twice
        this.openSelected();
        return;
      default: return;
    }
    e.preventDefault();
    e.stopPropagation();
    this.select(target);
  }
}
