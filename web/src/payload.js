// The viewer's payload view (issue 17 item 4): what an event was (topic, size, time, position,
// source), buttons to copy the payload, the topic and a mosquitto_sub command for the binding,
// and the payload itself — JSON syntax-highlighted with collapsible objects and arrays, http(s)
// URLs as links, anything else as plain text. Payloads are hostile: every piece of them goes into
// the page through textContent, and only http: and https: URLs become links.
//
// The pure parts (tokenizeJson, parseJson, safeLink, mosquittoSubCommand, shellQuote) have no
// DOM and are tested with node --test (web/test/payload.test.mjs).

// ---- JSON, read by hand rather than JSON.parse so that what is shown is what was sent: keys in
// their order (JSON.parse puts integer-like keys first), duplicate keys, and numbers as written
// (12345678901234567890 stays that, not 12345678901234567000).

const TOKEN = {
  ws: /[ \t\n\r]+/y,
  string: /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y,
  number: /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y,
  literal: /true|false|null/y,
};

// The tokens of a JSON text: { type, text, value? } with type one of "punct" ({ } [ ] : ,),
// "string" (value: the decoded string), "number", "bool" (value), "null", "ws". Throws a
// SyntaxError at the first character that can't start a token.
export function tokenizeJson(text) {
  const tokens = [];
  let at = 0;
  const match = (re) => {
    re.lastIndex = at;
    const m = re.exec(text);
    return m ? m[0] : null;
  };
  while (at < text.length) {
    const c = text[at];
    let t;
    if ("{}[]:,".includes(c)) {
      t = { type: "punct", text: c };
    } else if (c === '"') {
      const s = match(TOKEN.string);
      if (s === null) throw new SyntaxError(`bad string at ${at}`);
      t = { type: "string", text: s, value: JSON.parse(s) };
    } else if (c === "-" || (c >= "0" && c <= "9")) {
      const s = match(TOKEN.number);
      if (s === null) throw new SyntaxError(`bad number at ${at}`);
      t = { type: "number", text: s };
    } else if (c === "t" || c === "f" || c === "n") {
      const s = match(TOKEN.literal);
      if (s === null) throw new SyntaxError(`unexpected ${c} at ${at}`);
      t = s === "null" ? { type: "null", text: s } : { type: "bool", text: s, value: s === "true" };
    } else {
      const s = match(TOKEN.ws);
      if (s === null) throw new SyntaxError(`unexpected character at ${at}`);
      t = { type: "ws", text: s };
    }
    tokens.push(t);
    at += t.text.length;
  }
  return tokens;
}

// A JSON text as a tree: { type: "object", entries: [{ key, value }] }, { type: "array",
// items: [] }, { type: "string", value }, { type: "number", text }, { type: "bool", value },
// { type: "null" }. Throws a SyntaxError when the text is not exactly one JSON value.
// Iterative, so deeply nested input cannot overflow the stack.
export function parseJson(text) {
  const tokens = tokenizeJson(text).filter((t) => t.type !== "ws");
  let i = 0;
  const fail = (what) => { throw new SyntaxError(`JSON: ${what} at token ${i}`); };
  const isPunct = (t, c) => t !== undefined && t.type === "punct" && t.text === c;
  const readKey = (frame) => {
    const k = tokens[i++];
    if (!k || k.type !== "string") fail("expected a key");
    if (!isPunct(tokens[i++], ":")) fail("expected :");
    frame.key = k.value;
  };
  const stack = []; // the open containers: { node, key }
  let root;
  for (;;) {
    // one value
    const t = tokens[i++];
    if (!t) fail("unexpected end");
    let node;
    if (isPunct(t, "{")) node = { type: "object", entries: [] };
    else if (isPunct(t, "[")) node = { type: "array", items: [] };
    else if (t.type === "string") node = { type: "string", value: t.value };
    else if (t.type === "number") node = { type: "number", text: t.text };
    else if (t.type === "bool") node = { type: "bool", value: t.value };
    else if (t.type === "null") node = { type: "null" };
    else fail(`unexpected ${t.text}`);
    const parent = stack[stack.length - 1];
    if (!parent) root = node;
    else if (parent.node.type === "array") parent.node.items.push(node);
    else parent.node.entries.push({ key: parent.key, value: node });
    if (node.type === "object" || node.type === "array") {
      if (isPunct(tokens[i], node.type === "object" ? "}" : "]")) {
        i += 1; // empty
      } else {
        const frame = { node, key: null };
        stack.push(frame);
        if (node.type === "object") readKey(frame);
        continue;
      }
    }
    // after a complete value: a comma and the next value, or the containers it closes
    for (;;) {
      const top = stack[stack.length - 1];
      if (!top) {
        if (i !== tokens.length) fail("trailing data");
        return root;
      }
      const next = tokens[i++];
      if (isPunct(next, ",")) {
        if (top.node.type === "object") readKey(top);
        break;
      }
      if (!isPunct(next, top.node.type === "object" ? "}" : "]")) fail("expected , or the end of a container");
      stack.pop();
    }
  }
}

// The href for a string that is an absolute http: or https: URL, else null (javascript:, data:,
// relative paths, anything the URL parser refuses).
export function safeLink(text) {
  if (typeof text !== "string" || text.length > 4096) return null;
  if (!/^https?:\/\/\S+$/i.test(text)) return null;
  let url;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return null;
  return url.href;
}

// A word for a POSIX shell: as it is when it is only safe characters, else in single quotes with
// each ' written '\''.
export function shellQuote(word) {
  const s = String(word);
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, "'\\''")}'`;
}

// mosquitto_sub -h HOST -p PORT -t 'FILTER' -v, with --capath /etc/ssl/certs when tls. The
// filter is always single-quoted (# and + must not reach the shell); the port defaults to 1883,
// 8883 with TLS; an IPv6 host loses the brackets a URL gives it.
export function mosquittoSubCommand({ host, port, tls = false, filter }) {
  const h = String(host || "localhost").replace(/^\[(.*)\]$/, "$1");
  const p = Number.parseInt(port, 10) || (tls ? 8883 : 1883);
  const f = String(filter ?? "#");
  const parts = ["mosquitto_sub", "-h", shellQuote(h), "-p", String(p)];
  if (tls) parts.push("--capath", "/etc/ssl/certs");
  parts.push("-t", `'${f.replace(/'/g, "'\\''")}'`, "-v");
  return parts.join(" ");
}

// ---- The DOM.

const COLLAPSE_DEPTH = 3;   // containers deeper than this start collapsed when large
const LARGE = 5;            // "large": more entries than this
const DEEPEST_OPEN = 16;    // deeper than this, everything starts collapsed (and is built lazily)

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function countLabel(node) {
  const n = node.type === "object" ? node.entries.length : node.items.length;
  if (node.type === "object") return `${n} ${n === 1 ? "key" : "keys"}`;
  return `${n} ${n === 1 ? "item" : "items"}`;
}

function renderString(value, asKey) {
  const quoted = JSON.stringify(value);
  if (!asKey) {
    const href = safeLink(value);
    if (href) {
      const span = el("span", "json-string");
      const a = el("a", "json-link", value);
      a.href = href;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      span.append('"', a, '"');
      return span;
    }
  }
  return el("span", asKey ? "json-key" : "json-string", quoted);
}

function renderScalar(node) {
  switch (node.type) {
    case "string": return renderString(node.value, false);
    case "number": return el("span", "json-number", node.text);
    case "bool": return el("span", "json-bool", String(node.value));
    default: return el("span", "json-null", "null");
  }
}

// One value: a scalar span, or a container with its toggle, its children (built when first
// expanded) and its summary for when collapsed. Appended to `line`, after which `after` (a comma)
// goes on the closing line.
function renderValue(line, node, depth, comma) {
  if (node.type !== "object" && node.type !== "array") {
    line.append(renderScalar(node));
    if (comma) line.append(el("span", "json-punct", ","));
    return;
  }
  const isObject = node.type === "object";
  const children = isObject ? node.entries : node.items;
  const [open, close] = isObject ? ["{", "}"] : ["[", "]"];
  if (children.length === 0) {
    line.append(el("span", "json-punct", open + close));
    if (comma) line.append(el("span", "json-punct", ","));
    return;
  }
  const toggle = el("button", "json-toggle");
  toggle.type = "button";
  toggle.setAttribute("aria-label", `${isObject ? "Object" : "Array"}, ${countLabel(node)}`);
  const summary = el("span", "json-summary");
  summary.append(el("span", "json-punct", `${open}…${close}`), el("span", "json-count", ` ${countLabel(node)}`));
  if (comma) summary.append(el("span", "json-punct", ","));
  const openSpan = el("span", "json-punct json-open", open);
  const block = el("div", "json-children");
  const closeLine = el("div", "json-line json-close");
  closeLine.append(el("span", "json-punct", close));
  if (comma) closeLine.append(el("span", "json-punct", ","));
  line.append(toggle, openSpan, summary, block, closeLine);
  line.classList.add("json-container");

  let built = false;
  const set = (expanded) => {
    if (expanded && !built) {
      built = true;
      children.forEach((child, n) => {
        const childLine = el("div", "json-line");
        const last = n === children.length - 1;
        if (isObject) {
          childLine.append(renderString(child.key, true), el("span", "json-punct", ": "));
          renderValue(childLine, child.value, depth + 1, !last);
        } else {
          renderValue(childLine, child, depth + 1, !last);
        }
        block.append(childLine);
      });
    }
    toggle.setAttribute("aria-expanded", String(expanded));
    toggle.textContent = expanded ? "▾" : "▸";
    openSpan.hidden = !expanded;
    block.hidden = !expanded;
    closeLine.hidden = !expanded;
    summary.hidden = expanded;
  };
  toggle.addEventListener("click", () => set(toggle.getAttribute("aria-expanded") !== "true"));
  set(!((depth > COLLAPSE_DEPTH && children.length > LARGE) || depth > DEEPEST_OPEN));
}

// The payload as a highlighted JSON tree, or null when it is not JSON.
export function renderJson(text) {
  let tree;
  try {
    tree = parseJson(text);
  } catch {
    return null;
  }
  const view = el("div", "json-view");
  const line = el("div", "json-line json-root");
  renderValue(line, tree, 1, false);
  view.append(line);
  return view;
}

function copyFallback(text) {
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.className = "copy-buffer";
  area.style.position = "fixed";
  area.style.top = "-1000px";
  area.style.opacity = "0";
  document.body.append(area);
  const active = document.activeElement;
  area.select();
  let ok = false;
  try {
    ok = document.execCommand("copy");
  } catch {
    ok = false;
  }
  area.remove();
  active?.focus?.();
  return ok;
}

export async function copyText(text) {
  try {
    if (navigator.clipboard?.writeText) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // refused (no permission, not a secure context): the old way below
  }
  return copyFallback(text);
}

function formatSize(size) {
  const n = Number(size) || 0;
  return `${n} ${n === 1 ? "byte" : "bytes"}`;
}

// Fills container with the event's payload view. options: { filter (the binding's MQTT filter,
// for the mosquitto_sub command; the topic when absent), host, port, tls }.
export function renderPayload(container, event, { filter, host, port, tls = false } = {}) {
  container.replaceChildren();
  container.classList.add("payload-view");
  if (!event) return;

  const meta = el("dl", "payload-meta");
  const item = (name, value, className) => {
    const div = el("div", `payload-meta-item ${className}`);
    div.append(el("dt", "", name), el("dd", "", value));
    meta.append(div);
    return div;
  };
  item("Topic", String(event.topic ?? ""), "payload-topic");
  item("Size", formatSize(event.size), "payload-size");
  const timeItem = item("Time", "", "payload-time");
  const time = el("time", "", String(event.time ?? ""));
  time.setAttribute("datetime", String(event.time ?? ""));
  timeItem.querySelector("dd").append(time);
  item("Position", event.position == null ? "none" : String(event.position), "payload-position");
  item("Source", event.source === "history" ? "history" : "live", "payload-source");

  const status = el("p", "payload-status visually-hidden");
  status.setAttribute("role", "status");
  status.setAttribute("aria-live", "polite");
  let clearTimer = 0;
  const announce = (text) => {
    status.textContent = text;
    clearTimeout(clearTimer);
    // cleared again, so that a second copy is announced too
    clearTimer = setTimeout(() => { status.textContent = ""; }, 3000);
  };

  const payload = String(event.payload ?? "");
  const command = mosquittoSubCommand({ host, port, tls, filter: filter ?? event.topic });
  const actions = el("div", "payload-actions");
  for (const [className, label, text] of [
    ["copy-payload", "Copy payload", payload],
    ["copy-topic", "Copy topic", String(event.topic ?? "")],
    ["copy-command", "Copy mosquitto_sub command", command],
  ]) {
    const button = el("button", className, label);
    button.type = "button";
    if (className === "copy-command") button.title = command;
    button.addEventListener("click", async () => {
      announce((await copyText(text)) ? "Copied" : "Copy failed: select the text and copy it by hand");
    });
    actions.append(button);
  }

  let body = payload.length ? renderJson(payload) : null;
  if (!body) {
    body = el("pre", "payload-text", payload.length ? payload : "(empty payload)");
    if (!payload.length) body.classList.add("payload-empty");
  }
  body.tabIndex = 0; // scrollable by keyboard
  body.setAttribute("aria-label", "Payload");

  container.append(meta, actions, status, body);
}
