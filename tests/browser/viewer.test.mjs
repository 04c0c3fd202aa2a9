// The live viewer in headless Chromium against a real hydrant: bindings, live rows, the payload
// panel, links that reproduce the view, filter, pause, download, a burst past the row cap,
// history on open, recovery of what was missed while the connection was cut, reconnect after a
// broker restart, a lost log, and phone width. Prints PASS/FAIL per case and, last,
// "N passed, M failed". The broker is started and stopped here, by PID, on free loopback ports.
import { chromium } from "playwright-core";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

const HYDRANT = process.env.HYDRANT_BIN;
const WEB_ROOT = process.env.WEB_ROOT;
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const SAMPLES = process.env.SAMPLES;
const HOST = "127.0.0.1";

const freePort = () => new Promise((resolve) => {
  const s = net.createServer().listen(0, HOST, () => {
    const { port } = s.address();
    s.close(() => resolve(port));
  });
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitForPort(port, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const ok = await new Promise((resolve) => {
      const c = net.connect(port, HOST, () => { c.end(); resolve(true); });
      c.on("error", () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`port ${port} not open after ${ms} ms`);
}

class Broker {
  // `extra`: more arguments (a cluster node's); `open`: no access rules (--open), as most
  // cases want, or the public defaults.
  constructor(mqttPort, httpPort, extra = [], open = true) {
    this.mqttPort = mqttPort;
    this.httpPort = httpPort;
    this.extra = extra;
    this.open = open;
    this.data = mkdtempSync(path.join(os.tmpdir(), "hydrant-browser-"));
  }
  async start() {
    this.proc = spawn(HYDRANT, ["--mqtt", `${HOST}:${this.mqttPort}`, "--http", `${HOST}:${this.httpPort}`,
      ...(this.open ? ["--open"] : []), "--data", this.data, "--web-root", WEB_ROOT, "--sys-interval", "0",
      "--log-level", "warning", "--outbound-budget", "64M", ...this.extra], { stdio: ["ignore", "inherit", "inherit"] });
    await waitForPort(this.mqttPort, 10000);
    await waitForPort(this.httpPort, 10000);
  }
  async stop() {
    if (!this.proc || this.proc.exitCode !== null) return;
    const exited = new Promise((r) => this.proc.once("exit", r));
    process.kill(this.proc.pid, "SIGTERM");
    await Promise.race([exited, sleep(5000)]);
    if (this.proc.exitCode === null) process.kill(this.proc.pid, "SIGKILL");
  }
  // QoS 1: the broker acknowledges an exchange/ message once it is in its log, so the history
  // API has it when this returns.
  publish(topic, message) {
    execFileSync("mosquitto_pub", ["-h", HOST, "-p", String(this.mqttPort), "-t", topic, "-m", message, "-q", "1"]);
  }
  publishLines(topic, lines, qos = 0) {
    execFileSync("mosquitto_pub", ["-h", HOST, "-p", String(this.mqttPort), "-t", topic, "-l", "-q", String(qos)],
      { input: lines.join("\n") + "\n" });
  }
}

const sample = JSON.stringify(JSON.parse(readFileSync(path.join(SAMPLES, "gerrit-change-merged.json"), "utf8")));
const results = [];

async function testCase(name, fn) {
  const started = Date.now();
  try {
    await fn();
    results.push(true);
    console.log(`PASS ${name} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
  } catch (e) {
    results.push(false);
    console.log(`FAIL ${name}\n    ${String(e.stack || e).split("\n").slice(0, 4).join("\n    ")}`);
  }
}

// With SCREENSHOTS=<dir>, the cases that show each view save it there (web/docs/ holds the
// committed ones); without, nothing is written.
async function screenshot(page, name) {
  if (!process.env.SCREENSHOTS) return;
  // The overview's rates need two samples (2 s apart): shown as figures, not dashes.
  await page.waitForFunction(() => !document.querySelector("#overview").textContent.includes("—"), null, { timeout: 6000 })
    .catch(() => {});
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  await page.screenshot({ path: path.join(process.env.SCREENSHOTS, `${name}.png`) });
}

// axe-core's WCAG 2 A/AA rules (labels, names, contrast ≥ 4.5:1, ARIA) on the page as it is:
// every violation, with its nodes, fails the check.
const AXE = readFileSync(new URL("./node_modules/axe-core/axe.min.js", import.meta.url), "utf8");
async function checkAccessible(page, what) {
  if (!(await page.evaluate(() => Boolean(window.axe)))) await page.addScriptTag({ content: AXE });
  const result = await page.evaluate(() => window.axe.run(document, {
    runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
  }));
  const found = result.violations.map((v) => `${v.id}: ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(" | ")}`);
  check(found.length === 0, `${what}: axe violations: ${found.join("; ")}`);
}

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}

const broker = new Broker(await freePort(), await freePort());
await broker.start();
// No background networking: this machine's network is closed, and Chromium's update and sync
// traffic would only add failures and noise.
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
// 1280x800: the window a new user would open it in (issue 17).
const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 800 } });
const base = `http://${HOST}:${broker.httpPort}/`;

// The rows in view (the table is virtualised: the first screenful), newest first:
// "<routing key> <live|history>".
const rowsOf = (page) => page.evaluate(() => [...document.querySelectorAll("#events .event-row")]
  .sort((a, b) => Number(a.dataset.index) - Number(b.dataset.index))
  .map((r) => `${r.querySelector(".event-key").textContent} ${r.dataset.source}`));

// Rows the table holds (filtered), as the page counts them.
const shownOf = (page) => page.evaluate(() => Number(document.querySelector("#shown").textContent));

// At least n rows: the checks after it say what is wrong when there are more.
const waitRows = (page, n, timeout = 10000) => page.waitForFunction(
  (n) => Number(document.querySelector("#shown").textContent) >= n, n, { timeout });

// What Download JSON saves: every message kept, oldest first.
async function downloaded(page) {
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("button", { name: "Download JSON" }).click(),
  ]);
  return JSON.parse(readFileSync(await download.path(), "utf8"));
}

// Positions "<epoch>-<sequence>" of one log, strictly increasing.
function checkPositions(saved) {
  const positions = saved.map((m) => m.position);
  check(positions.every((p) => /^[0-9a-f]{16}-[0-9]+$/.test(p)), `positions: ${positions}`);
  check(new Set(positions.map((p) => p.slice(0, 16))).size === 1, `one epoch: ${positions}`);
  const seqs = positions.map((p) => BigInt(p.slice(17)));
  check(seqs.every((s, i) => i === 0 || s > seqs[i - 1]), `increasing: ${positions}`);
}

const link = (binding, more = "") => `${base}?b=${encodeURIComponent(binding)}&run=1${more}`;

// Routes the page's MQTT WebSocket through Playwright to the real broker, so a test can cut it
// (and refuse reconnects until restore) while the broker stays up, and wait for a frame the
// broker sends the page.
async function proxySocket(page) {
  let refusing = false;
  const open = [];
  const watches = [];  // {text, resolve}
  await page.routeWebSocket(/\/mqtt$/, (ws) => {
    if (refusing) {
      ws.close();
      return;
    }
    const server = ws.connectToServer();
    server.onMessage((frame) => {
      ws.send(frame);
      for (const w of watches) if (Buffer.from(frame).includes(w.text)) w.resolve();
    });
    open.push(ws, server);
  });
  return {
    async cut() {
      refusing = true;
      for (const s of open.splice(0)) await s.close();
    },
    restore() {
      refusing = false;
    },
    frameWith: (text) => new Promise((resolve) => watches.push({ text, resolve })),
  };
}

async function openWithBinding(page, exchange, pattern) {
  await page.goto(`${base}?view=events`);
  await page.locator("#exchange").fill(exchange);
  await page.locator("#pattern").fill(pattern);
  await page.getByRole("button", { name: "Add binding" }).click();
  await page.getByRole("button", { name: "Start" }).click();
  await page.locator('#status[data-state="connected"]').waitFor({ timeout: 10000 });
}

try {
  await testCase("binding, live row, payload, link reproduces the view", async () => {
    const page = await context.newPage();
    await openWithBinding(page, "exchange/gerrit/v1", "change-merged.#");
    await sleep(300);  // the SUBSCRIBE travels after CONNACK
    broker.publish("exchange/gerrit/v1/change-merged/openstack%2Fnova", sample);
    const row = page.locator("#events .event-row").first();
    await row.waitFor({ timeout: 5000 });
    check((await row.locator(".event-exchange").textContent()) === "exchange/gerrit/v1", "exchange column");
    check((await row.locator(".event-key").textContent()) === "change-merged.openstack/nova", "routing key, decoded");
    await row.click();
    const detail = await page.locator("#detail .json-view").textContent();
    check(detail.includes('"type"') && detail.includes('"change-merged"'), `the payload as JSON: ${detail.slice(0, 80)}`);
    const url = page.url();
    check(url.includes("b=x%3Aexchange%2Fgerrit%2Fv1"), `binding in the URL: ${url}`);
    await page.reload();
    await page.locator('#status[data-state="connected"]').waitFor({ timeout: 10000 });
    const bindings = await page.locator("#binding-list .binding-name").allTextContents();
    check(bindings.length === 1 && bindings[0] === "exchange/gerrit/v1 change-merged.#", `bindings after reload: ${bindings}`);
    // The message seen before the reload is back, from history (issue 6).
    await waitRows(page, 1);
    let rows = await rowsOf(page);
    check(rows[0] === "change-merged.openstack/nova history", `after reload: ${rows}`);
    await sleep(300);
    broker.publish("exchange/gerrit/v1/change-merged/x", '{"after":"reload"}');
    await waitRows(page, 2);
    // A message outside the binding does not show.
    broker.publish("exchange/gerrit/v1/comment-added/x", '{"other":1}');
    await sleep(500);
    rows = await rowsOf(page);
    check(rows.join() === "change-merged.x live,change-merged.openstack/nova history", `only bound messages: ${rows}`);
    await page.close();
  });

  await testCase("raw MQTT filter, text filter, pause and resume", async () => {
    const page = await context.newPage();
    await page.goto(`${base}?view=events`);
    await page.getByLabel("MQTT filter", { exact: false }).first().check();
    await page.locator("#filter").fill("exchange/bmo/#");
    await page.getByRole("button", { name: "Add binding" }).click();
    await page.getByRole("button", { name: "Start" }).click();
    await page.locator('#status[data-state="connected"]').waitFor({ timeout: 10000 });
    await sleep(300);
    broker.publish("exchange/bmo/v1/bug.changed", '{"bug":1,"product":"Firefox"}');
    broker.publish("exchange/bmo/v1/bug.created", '{"bug":2,"product":"Thunderbird"}');
    await page.waitForFunction(() => document.querySelectorAll("#events .event-row").length === 2);
    await page.locator("#text-filter").fill("Thunderbird");
    await page.waitForFunction(() => document.querySelectorAll("#events .event-row").length === 1);
    await page.locator("#text-filter").fill("");
    await page.getByRole("button", { name: "Pause" }).click();
    broker.publish("exchange/bmo/v1/bug.changed", '{"bug":3}');
    await page.waitForFunction(() => document.querySelector("#held").textContent.includes("1 arrived while paused"));
    check((await page.locator("#events .event-row").count()) === 2, "no new row while paused");
    await page.getByRole("button", { name: "Resume" }).click();
    await page.waitForFunction(() => document.querySelectorAll("#events .event-row").length === 3);
    await page.close();
  });

  await testCase("download captures the messages as JSON", async () => {
    const page = await context.newPage();
    await openWithBinding(page, "exchange/dl/v1", "#");
    await sleep(300);
    broker.publish("exchange/dl/v1/a.b", '{"n":1}');
    broker.publish("exchange/dl/v1/a.c", '{"n":2}');
    await waitRows(page, 2);
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("button", { name: "Download JSON" }).click(),
    ]);
    const saved = JSON.parse(readFileSync(await download.path(), "utf8"));
    check(saved.length === 2 && saved[1].payload.n === 2 && saved[0].routingKey === "a.b", JSON.stringify(saved));
    await page.close();
  });

  await testCase("issue 6: history on open: the newest 50 by default, last=N from the link or the control, then live", async () => {
    broker.publishLines("exchange/hist/v1/tick", Array.from({ length: 60 }, (_, i) => JSON.stringify({ i })), 1);
    const page = await context.newPage();
    await page.goto(link("x:exchange/hist/v1 #"));
    await page.locator('#status[data-state="connected"]').waitFor({ timeout: 10000 });
    await waitRows(page, 50);
    let saved = await downloaded(page);
    check(saved.map((m) => m.payload.i).join() === Array.from({ length: 50 }, (_, i) => i + 10).join(),
      `the newest 50, oldest first: ${saved.map((m) => m.payload.i)}`);
    checkPositions(saved);
    check((await rowsOf(page)).every((r) => r === "tick history"), "all from history");
    check((await page.locator("#from-history").textContent()) === "50", "50 counted from history");
    // Then the live ones, each once.
    broker.publish("exchange/hist/v1/tick", '{"i":60}');
    await waitRows(page, 51);
    await sleep(300);
    saved = await downloaded(page);
    check(saved.length === 51 && saved[50].payload.i === 60, `live after history: ${saved.map((m) => m.payload.i)}`);
    checkPositions(saved);
    check((await rowsOf(page))[0] === "tick live", "the newest row is live");
    check((await page.locator("#received").textContent()) === "51", "51 received");
    await page.close();

    // last=N in the link.
    const five = await context.newPage();
    await five.goto(link("x:exchange/hist/v1 #", "&last=5"));
    check((await five.locator("#history-last").inputValue()) === "5", "the control shows the link's N");
    await waitRows(five, 5);
    await sleep(300);
    saved = await downloaded(five);
    check(saved.map((m) => m.payload.i).join() === "56,57,58,59,60", `last=5: ${saved.map((m) => m.payload.i)}`);
    await five.close();

    // The control, for bindings opened after it changes; the link keeps it.
    const two = await context.newPage();
    await two.goto(`${base}?view=events`);
    await two.locator("#history-last").fill("2");
    await two.locator("#history-last").press("Tab");
    await two.locator("#exchange").fill("exchange/hist/v1");
    await two.getByRole("button", { name: "Add binding" }).click();
    await two.getByRole("button", { name: "Start" }).click();
    await waitRows(two, 2);
    await sleep(300);
    saved = await downloaded(two);
    check(saved.map((m) => m.payload.i).join() === "59,60", `control at 2: ${saved.map((m) => m.payload.i)}`);
    check(two.url().includes("last=2"), `N in the link: ${two.url()}`);
    await two.close();
  });

  await testCase("issue 6: messages published while the connection is cut come back after reconnect, in order, once", async () => {
    const page = await context.newPage();
    const proxy = await proxySocket(page);
    await page.goto(link("x:exchange/cut/v1 #"));
    await page.locator('#status[data-state="connected"]').waitFor({ timeout: 10000 });
    await sleep(300);
    broker.publish("exchange/cut/v1/m0", '{"n":0}');
    broker.publish("exchange/cut/v1/m1", '{"n":1}');
    await waitRows(page, 2);
    const before = await downloaded(page);

    await proxy.cut();
    await page.locator('#status[data-state="reconnecting"]').waitFor({ timeout: 10000 });
    for (const n of [2, 3, 4]) broker.publish(`exchange/cut/v1/m${n}`, `{"n":${n}}`);

    // The seam: m5 is published once the page has subscribed again and reaches it live, and only
    // then does its history request reach the broker, so the answer holds m5 too.
    const asked = [];
    await page.route(/\/api\/v1\/history\?/, async (route) => {
      asked.push(new URL(route.request().url()).searchParams);
      if (asked.length === 1) {
        const live = proxy.frameWith("exchange/cut/v1/m5");
        broker.publish("exchange/cut/v1/m5", '{"n":5}');
        await Promise.race([live, sleep(5000)]);
      }
      await route.continue();
    });
    proxy.restore();
    await page.locator('#status[data-state="connected"]').waitFor({ timeout: 20000 });
    await waitRows(page, 6);
    await sleep(500);  // a duplicate, if any, would arrive by now
    let rows = await rowsOf(page);
    check(rows.join() === "m5 history,m4 history,m3 history,m2 history,m1 live,m0 live", `after reconnect: ${rows}`);
    check(asked.length === 1 && asked[0].get("since") === before[1].position && asked[0].get("filter") === "exchange/cut/v1/#",
      `asked since the last position shown (${before[1].position}): ${asked.map(String)}`);
    check((await page.locator("#notices li").count()) === 0, "no missed-messages notice");

    broker.publish("exchange/cut/v1/m6", '{"n":6}');
    await waitRows(page, 7);
    await sleep(300);
    rows = await rowsOf(page);
    check(rows.length === 7 && rows[0] === "m6 live", `live again: ${rows}`);
    const saved = await downloaded(page);
    check(saved.map((m) => m.payload.n).join() === "0,1,2,3,4,5,6", `order: ${saved.map((m) => m.payload.n)}`);
    checkPositions(saved);
    check((await page.locator("#received").textContent()) === "7", "7 received");
    await page.close();
  });

  await testCase("issue 6: 1,200 messages missed while cut come back over two pages (more/next), for a binding that had shown none", async () => {
    const page = await context.newPage();
    const proxy = await proxySocket(page);
    // Its history is empty: the position it resumes from is the `next` of that answer, not a
    // message's, and last=1 shows that the viewer does not fall back to the newest N.
    const first = page.waitForResponse(/\/api\/v1\/history\?/);
    await page.goto(link("x:exchange/pages/v1 #", "&last=1"));
    const empty = await (await first).json();
    check(empty.messages.length === 0 && /^[0-9a-f]{16}-[0-9]+$/.test(empty.next), `empty history: ${JSON.stringify(empty)}`);
    await sleep(300);  // the page takes the answer in
    await proxy.cut();
    await page.locator('#status[data-state="reconnecting"]').waitFor({ timeout: 10000 });
    broker.publishLines("exchange/pages/v1/n", Array.from({ length: 1200 }, (_, i) => JSON.stringify({ n: i })), 1);
    const asked = [];
    await page.route(/\/api\/v1\/history\?/, (route) => {
      asked.push(new URL(route.request().url()).searchParams);
      return route.continue();
    });
    proxy.restore();
    await page.locator('#status[data-state="connected"]').waitFor({ timeout: 20000 });
    await waitRows(page, 1200, 20000);
    await sleep(500);
    const saved = await downloaded(page);
    check(saved.length === 1200 && saved.every((m, i) => m.payload.n === i),
      `1200 messages in order: ${saved.length}, first wrong at ${saved.findIndex((m, i) => m.payload.n !== i)}`);
    checkPositions(saved);
    check(asked.length === 2, `two pages: ${asked.map(String)}`);
    check(asked[0].get("since") === empty.next && asked[1].get("since") === saved[999].position,
      `since the empty answer's next, then the first page's: ${asked.map(String)}`);
    check(asked.every((q) => q.get("limit") === "1000"), "limit=1000");
    check((await page.locator("#from-history").textContent()) === "1200", "1200 from history");
    await page.close();
  });

  await testCase("issue 17: the directory lists every exchange, a multi-level one included, and binds it in one click", async () => {
    const admin = (...args) => execFileSync(HYDRANT, [...args, "--data", broker.data], { stdio: ["ignore", "pipe", "ignore"] });
    admin("user", "add", "taskcluster-queue", "--owner", "tc@example.org");
    admin("exchange", "declare", "taskcluster-queue", "v1/task-completed");
    broker.publish("exchange/taskcluster-queue/v1/task-completed/primary/abc", '{"status":"completed"}');
    broker.publish("exchange/taskcluster-queue/v1/task-pending/primary/def", '{"status":"pending"}');
    const page = await context.newPage();
    await page.goto(base);
    const multi = "exchange/taskcluster-queue/v1/task-completed";
    await page.locator("#directory").getByText(multi, { exact: true }).waitFor({ timeout: 10000 });
    const names = await page.locator("#directory tbody th").allTextContents();
    check(names.some((n) => n.startsWith("exchange/taskcluster-queue/v1") && !n.includes("task-completed")), `the parent apart: ${names}`);
    await screenshot(page, "directory-1280");
    await page.getByLabel("Search exchanges").fill("task-completed");
    await page.waitForFunction(() => document.querySelectorAll("#directory tbody tr").length === 1);
    await page.getByLabel(`Routing-key pattern for ${multi}`).fill("primary.#");
    await page.getByRole("button", { name: `Bind ${multi}` }).click();
    await page.locator('#status[data-state="connected"]').waitFor({ timeout: 10000 });
    await waitRows(page, 1);
    const row = page.locator("#events .event-row").first();
    check((await row.locator(".event-exchange").textContent()) === multi, "the exchange as declared");
    check((await row.locator(".event-key").textContent()) === "primary.abc", "its routing key");
    const bindings = await page.locator("#binding-list .binding-name").allTextContents();
    check(bindings.join() === `${multi} primary.#`, `the binding: ${bindings}`);
    check(page.url().includes(encodeURIComponent(`x:${multi} primary.#`).replace(/%20/g, "+")) || page.url().includes("task-completed"), `in the URL: ${page.url()}`);
    await page.close();
  });

  await testCase("issue 17: the overview strip shows rates, connections by transport, subscriptions, uptime and version", async () => {
    const page = await context.newPage();
    await page.goto(link("x:exchange/ov/v1 #"));
    await page.locator('#status[data-state="connected"]').waitFor({ timeout: 10000 });
    const overview = page.locator("#overview");
    await page.waitForFunction(() => /ws 1/.test(document.querySelector("#overview").textContent), null, { timeout: 8000 });
    const text = await overview.textContent();
    check(/0\.1\.0/.test(text) && /Subscriptions/.test(text) && /Uptime/.test(text), `overview: ${text}`);
    broker.publishLines("exchange/ov/v1/x", Array.from({ length: 50 }, (_, i) => `{"i":${i}}`));
    await page.waitForFunction(() => /Messages in[^\d—]*[1-9]/.test(document.querySelector("#overview").textContent), null, { timeout: 8000 });
    await page.close();
  });

  await testCase("issue 17: payload view: highlighted, collapsible, links only for http(s), copy topic and a mosquitto_sub line", async () => {
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: base.slice(0, -1) });
    const page = await context.newPage();
    await page.goto(link("x:exchange/pv/v1 #", `&b=${encodeURIComponent("x:exchange/bmo/v1 #")}`));
    await page.locator('#status[data-state="connected"]').waitFor({ timeout: 10000 });
    await sleep(300);
    // A few events before it, so that the table (and its screenshot) shows several exchanges.
    const kinds = ["patchset-created", "comment-added", "ref-updated", "change-abandoned", "reviewer-added"];
    for (const [i, kind] of kinds.entries()) {
      broker.publish(`exchange/pv/v1/${kind}/openstack%2Fnova/master/${3033 + i}`, sample);
      broker.publish(`exchange/bmo/v1/bug/changed/${1800000 + i}`, JSON.stringify({ bug: 1800000 + i, product: "Firefox" }));
    }
    broker.publish("exchange/pv/v1/change.merged", JSON.stringify({
      url: "https://review.example.org/c/1", evil: "javascript:alert(1)", html: "<img src=x onerror=alert(1)>",
      nested: { list: [1, true, null, { deep: "x" }] },
    }));
    const main = page.locator("#events .event-row").filter({ has: page.locator(".event-key", { hasText: /^change\.merged$/ }) });
    await main.waitFor({ timeout: 10000 });
    await main.click();
    const view = page.locator("#detail.payload-view");
    await view.waitFor();
    const hrefs = await view.locator("a").evaluateAll((as) => as.map((a) => a.getAttribute("href")));
    check(hrefs.join() === "https://review.example.org/c/1", `links: ${hrefs}`);
    check((await view.locator("img").count()) === 0, "no markup from the payload");
    check((await view.locator(".json-key").count()) >= 5 && (await view.locator(".json-bool").count()) === 1, "highlighted");
    const toggle = view.locator(".json-toggle").nth(1);
    check((await toggle.getAttribute("aria-expanded")) === "true", "expanded at first");
    await toggle.click();
    check((await toggle.getAttribute("aria-expanded")) === "false", "collapsed");
    await view.locator(".copy-topic").click();
    await page.getByText("Copied").waitFor({ timeout: 3000 });
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    check(copied === "exchange/pv/v1/change.merged", `topic copied: ${copied}`);
    await view.locator(".copy-command").click();
    const command = await page.evaluate(() => navigator.clipboard.readText());
    check(command.startsWith("mosquitto_sub ") && command.includes(`-p ${broker.mqttPort}`) && command.includes("'exchange/pv/v1/#'"),
      `command: ${command}`);
    // One line per event and per button at 1280 px: nothing wraps mid-word (issue 17's report).
    const heights = await page.evaluate(() => ({
      rows: [...document.querySelectorAll("#events .event-row")].map((r) => r.getBoundingClientRect().height),
      remove: document.querySelector("#binding-list button").getBoundingClientRect().height,
    }));
    check(heights.rows.every((h) => h <= 30) && heights.remove <= 36, `heights: ${JSON.stringify(heights)}`);
    await screenshot(page, "events-1280");
    await page.close();
  });

  await testCase("issue 17: keyboard (/ j k Enter) and the selected event in the URL", async () => {
    const page = await context.newPage();
    await page.goto(link("x:exchange/kb/v1 #"));
    await page.locator('#status[data-state="connected"]').waitFor({ timeout: 10000 });
    await sleep(300);
    for (const n of [1, 2, 3]) broker.publish(`exchange/kb/v1/n${n}`, `{"n":${n}}`);
    await waitRows(page, 3);
    await page.locator("body").click({ position: { x: 5, y: 300 } });
    await page.keyboard.press("j");
    await page.keyboard.press("j");
    await page.keyboard.press("k");
    await page.keyboard.press("j");
    await page.keyboard.press("Enter");
    await page.locator("#detail.payload-view").waitFor();
    const meta = await page.locator("#detail .payload-meta").textContent();
    check(meta.includes("exchange/kb/v1/n2"), `the second newest opened: ${meta}`);
    const url = new URL(page.url());
    const sel = url.searchParams.get("sel");
    check(/^[0-9a-f]{16}-\d+$/.test(sel || ""), `selection in the URL: ${page.url()}`);
    await page.keyboard.press("/");
    check((await page.evaluate(() => document.activeElement.id)) === "text-filter", "/ focuses the filter");
    await page.keyboard.type("n3");
    await page.waitForFunction(() => document.querySelector("#shown").textContent === "1");
    check((await page.locator("#events mark").first().textContent()) === "n3", "the match highlighted");
    check(new URL(page.url()).searchParams.get("q") === "n3", "the filter in the URL");
    // The link opens the same event again, from history.
    const again = await context.newPage();
    url.searchParams.delete("q");
    await again.goto(url.toString());
    await again.locator("#detail.payload-view").waitFor({ timeout: 10000 });
    check((await again.locator("#detail .payload-meta").textContent()).includes("exchange/kb/v1/n2"), "the link reopens the event");
    await again.close();
    await page.close();
  });

  await testCase("issue 17: states: reconnecting with its attempt, refused with the broker's reason, an empty binding, incomplete history", async () => {
    const denying = new Broker(await freePort(), await freePort(), ["--deny-subscribe", "exchange/secret/#"]);
    await denying.start();
    try {
      denying.publish("exchange/quiet/v1/x", '{"old":true}');
      const page = await context.newPage();
      const at = `http://${HOST}:${denying.httpPort}/`;
      await page.goto(`${at}?b=${encodeURIComponent("x:exchange/secret/v1 #")}&b=${encodeURIComponent("x:exchange/quiet/v1 #")}&run=1&last=0`);
      await page.locator('#status[data-state="connected"]').waitFor({ timeout: 10000 });
      const states = page.locator("#binding-list .binding-state");
      await page.waitForFunction(() => document.querySelector("#binding-list .binding-state[data-state=refused]"), null, { timeout: 5000 });
      const refused = await states.nth(0).textContent();
      check(/refused by the broker: .*deny-subscribe/.test(refused), `refused: ${refused}`);
      await page.waitForFunction(() => /no messages yet; last message on this exchange \d+ s ago/.test(
        document.querySelectorAll("#binding-list .binding-state")[1].textContent), null, { timeout: 8000 });
      await checkAccessible(page, "events view with a refused and an empty binding");
      await denying.stop();
      // The first retry (after 1 s) fails too: the next one says it is the second.
      await page.waitForFunction(() => /attempt 2/.test(document.querySelector("#status").textContent), null, { timeout: 10000 });
      const status = await page.locator("#status").textContent();
      check(/reconnecting in \d+ s \(attempt 2\)/.test(status), `status: ${status}`);
      await page.close();
    } finally {
      await denying.stop();
    }
  });

  await testCase("issue 17: a refused connection is shown with the broker's reason", async () => {
    const strict = new Broker(await freePort(), await freePort(), ["--anon-max-connections-per-ip", "1"], false);
    await strict.start();
    const holder = spawn("mosquitto_sub", ["-h", HOST, "-p", String(strict.mqttPort), "-t", "exchange/#", "-V", "mqttv5"],
      { stdio: "ignore" });
    try {
      await sleep(500);  // the address's one anonymous connection is taken
      const page = await context.newPage();
      await page.goto(`http://${HOST}:${strict.httpPort}/?b=${encodeURIComponent("x:exchange/any/v1 #")}&run=1`);
      await page.locator('#status[data-state="refused"]').waitFor({ timeout: 10000 });
      const status = await page.locator("#status").textContent();
      check(/refused the connection: .*too many anonymous connections from this address.*retrying in 30 s/.test(status),
        `status: ${status}`);
      await page.close();
    } finally {
      process.kill(holder.pid, "SIGTERM");
      await strict.stop();
    }
  });

  await testCase("issue 17: an IPv6-literal page connects (ws://[::1]:port/mqtt)", async () => {
    const v6 = new Broker(await freePort(), await freePort());
    const v6Port = await freePort();
    v6.extra = ["--http", `[::1]:${v6Port}`];
    await v6.start();
    try {
      const page = await context.newPage();
      await page.goto(`http://[::1]:${v6Port}/?b=${encodeURIComponent("x:exchange/six/v1 #")}&run=1`);
      await page.locator('#status[data-state="connected"]').waitFor({ timeout: 10000 });
      check((await page.locator("#status").textContent()).includes("ws://[::1]:"), "the URL with brackets");
      await sleep(300);
      v6.publish("exchange/six/v1/hello", '{"over":"ipv6"}');
      await waitRows(page, 1);
      await page.close();
    } finally {
      await v6.stop();
    }
  });

  await testCase("issue 17: under https the page connects over wss", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "hydrant-browser-tls-"));
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
      "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
      "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem")], { stdio: "ignore" });
    const httpsPort = await freePort();
    const tls = new Broker(await freePort(), await freePort(), ["--https", `${HOST}:${httpsPort}`, "--mqtts", "off",
      "--tls-cert", path.join(dir, "cert.pem"), "--tls-key", path.join(dir, "key.pem")]);
    await tls.start();
    const secure = await browser.newContext({ ignoreHTTPSErrors: true });
    try {
      const page = await secure.newPage();
      await page.goto(`https://${HOST}:${httpsPort}/?b=${encodeURIComponent("x:exchange/tls/v1 #")}&run=1`);
      await page.locator('#status[data-state="connected"]').waitFor({ timeout: 10000 });
      const status = await page.locator("#status").textContent();
      check(status.includes(`wss://${HOST}:${httpsPort}/mqtt`), `status: ${status}`);
      await sleep(300);
      tls.publish("exchange/tls/v1/hello", '{"over":"wss"}');
      await waitRows(page, 1);
    } finally {
      await secure.close();
      await tls.stop();
    }
  });

  await testCase("issue 17: focus order on the front page follows the reading order", async () => {
    const page = await context.newPage();
    await page.goto(base);
    await page.locator("#directory tbody tr").first().waitFor({ timeout: 10000 });
    const order = [];
    for (let i = 0; i < 6; ++i) {
      await page.keyboard.press("Tab");
      order.push(await page.evaluate(() => {
        const e = document.activeElement;
        return e.getAttribute("aria-label") || e.labels?.[0]?.textContent.trim() || e.textContent.trim();
      }));
    }
    const first = await page.locator("#directory tbody th").first().textContent();
    const expected = ["Skip to content", "Exchanges", "Events", "Search exchanges",
      `Routing-key pattern for ${first.replace(/declared$/, "").trim()}`, `Bind ${first.replace(/declared$/, "").trim()}`];
    check(order.join("|") === expected.join("|"), `focus order: ${order.join(" | ")}`);
    await page.close();
  });

  await testCase("issue 17: light and dark themes follow the system; no axe violations in either", async () => {
    broker.publish("exchange/theme/v1/change-merged.openstack%2Fnova", sample);
    const page = await context.newPage();
    await page.goto(link("x:exchange/theme/v1 #"));
    await page.locator('#status[data-state="connected"]').waitFor({ timeout: 10000 });
    await waitRows(page, 1);
    await page.locator("#events .event-row").first().click();
    await page.locator("#detail.payload-view").waitFor();
    for (const scheme of ["light", "dark"]) {
      await page.emulateMedia({ colorScheme: scheme });
      const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      check(bg === (scheme === "dark" ? "rgb(13, 17, 23)" : "rgb(255, 255, 255)"), `${scheme}: background ${bg}`);
      await checkAccessible(page, `events view, ${scheme}`);
      await page.getByRole("link", { name: "Exchanges" }).click();
      await page.locator("#directory tbody tr").first().waitFor({ timeout: 10000 });
      await checkAccessible(page, `directory, ${scheme}`);
      await page.getByRole("link", { name: "Events" }).click();
    }
    await page.close();
  });

  await testCase("issue 17: 100,000 events: all kept, a few rows in the DOM, scrolled end to end", async () => {
    const page = await context.newPage();
    await openWithBinding(page, "exchange/burst/v1", "#");
    await sleep(300);
    const lines = Array.from({ length: 100000 }, (_, i) => JSON.stringify({ i }));
    const t0 = Date.now();
    broker.publishLines("exchange/burst/v1/tick", lines);
    await page.waitForFunction(() => document.querySelector("#received").textContent === "100000", null, { timeout: 90000 });
    const received = Date.now() - t0;
    await waitRows(page, 100000);
    check((await page.locator("#dropped").textContent()) === "0", "none dropped");
    const scroller = page.locator("#events .event-table-scroll");
    const jumps = [];
    for (const to of [0.25, 0.5, 0.75, 1, 0]) {
      const t = Date.now();
      await scroller.evaluate((el, f) => { el.scrollTop = f * (el.scrollHeight - el.clientHeight); }, to);
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
      jumps.push(Date.now() - t);
      const rendered = await page.locator("#events .event-row").count();
      check(rendered > 0 && rendered < 100, `rows in the DOM at ${to}: ${rendered}`);
    }
    await scroller.evaluate((el) => { el.scrollTop = el.scrollHeight; });
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    const last = await page.evaluate(() => {
      const rows = [...document.querySelectorAll("#events .event-row")];
      return Math.max(...rows.map((r) => Number(r.dataset.index)));
    });
    check(last === 99999, `the oldest event is reachable: index ${last}`);
    const t1 = Date.now();
    await page.evaluate(() => 1 + 1);
    check(Date.now() - t1 < 1000, "the page answers at once");
    console.log(`    100,000 events received in ${received} ms; scroll jumps took ${jumps.join(", ")} ms`);
    // Paused on a firehose, the page holds as many as it keeps, not more: the oldest are dropped
    // (counted), and so they are again once resumed.
    await page.getByRole("button", { name: "Pause" }).click();
    broker.publishLines("exchange/burst/v1/tick", Array.from({ length: 101500 }, (_, i) => JSON.stringify({ j: i })));
    await page.waitForFunction(() => document.querySelector("#received").textContent === "201500", null, { timeout: 90000 });
    const held = await page.evaluate(() => Number(/(\d+) arrived while paused/.exec(document.querySelector("#held").textContent)[1]));
    check(held <= 101000 && held >= 100000, `held while paused: ${held}`);
    check(Number(await page.locator("#dropped").textContent()) === 101500 - held, "the rest dropped, counted");
    await page.getByRole("button", { name: "Resume" }).click();
    await page.waitForFunction(() => Number(document.querySelector("#shown").textContent) <= 101000);
    check(await shownOf(page) >= 100000, "the table full again, with the newest");
    await page.close();
  });

  await testCase("reconnects after the broker restarts; the log survives, nothing is shown twice", async () => {
    const page = await context.newPage();
    await openWithBinding(page, "exchange/re/v1", "#");
    await sleep(300);
    broker.publish("exchange/re/v1/before", '{"before":true}');
    await waitRows(page, 1);
    await broker.stop();
    await page.locator('#status[data-state="reconnecting"]').waitFor({ timeout: 10000 });
    await broker.start();
    await page.locator('#status[data-state="connected"]').waitFor({ timeout: 20000 });
    await sleep(300);
    broker.publish("exchange/re/v1/back", '{"back":true}');
    await waitRows(page, 2);
    await sleep(300);
    const rows = await rowsOf(page);
    check(rows.join() === "back live,before live", `rows: ${rows}`);
    check((await page.locator("#notices li").count()) === 0, "no missed-messages notice");
    await page.close();
  });

  await testCase("issue 6: a lost log (restart on a new data directory) shows that messages were missed", async () => {
    const page = await context.newPage();
    await openWithBinding(page, "exchange/lost/v1", "#");
    await sleep(300);
    broker.publish("exchange/lost/v1/old", '{"old":true}');
    await waitRows(page, 1);
    await broker.stop();
    await page.locator('#status[data-state="reconnecting"]').waitFor({ timeout: 10000 });
    broker.data = mkdtempSync(path.join(os.tmpdir(), "hydrant-browser-"));
    await broker.start();
    await page.locator('#status[data-state="connected"]').waitFor({ timeout: 20000 });
    const notice = page.locator("#notices li");
    await notice.first().waitFor({ timeout: 5000 });
    const text = await notice.allTextContents();
    check(text.length === 1 && /^Messages on exchange\/lost\/v1\/# were missed: \S/.test(text[0]), `notice: ${text}`);
    const chip = await page.locator("#binding-list .binding-state").first().textContent();
    check(/^history incomplete: \S/.test(chip), `the binding says so too: ${chip}`);
    broker.publish("exchange/lost/v1/new", '{"new":true}');
    await waitRows(page, 2);
    await sleep(300);
    const rows = await rowsOf(page);
    check(rows.join() === "new live,old live", `rows: ${rows}`);
    await page.close();
  });

  await testCase("issue 15: node 2's viewer shows what node 1 published, and names its node", async () => {
    const natsPort = await freePort();
    const store = mkdtempSync(path.join(os.tmpdir(), "hydrant-browser-js-"));
    const nats = spawn("nats-server", ["-js", "-sd", store, "-a", HOST, "-p", String(natsPort)],
      { stdio: "ignore" });
    const cluster = (name) => ["--cluster", `nats://${HOST}:${natsPort}`, "--cluster-replicas", "1",
      "--node-name", name];
    const nodes = [new Broker(await freePort(), await freePort(), cluster("node1")),
      new Broker(await freePort(), await freePort(), cluster("node2"))];
    try {
      await waitForPort(natsPort, 10000);
      for (const n of nodes) await n.start();
      const page = await context.newPage();
      await page.goto(`http://${HOST}:${nodes[1].httpPort}/?b=${encodeURIComponent("x:exchange/cl/v1 #")}&run=1`);
      await page.locator('#status[data-state="connected"]').waitFor({ timeout: 10000 });
      await page.locator("#node:not([hidden])").waitFor({ timeout: 5000 });
      check((await page.locator("#node").textContent()) === "node node2", "the node named");
      await sleep(300);
      nodes[0].publish("exchange/cl/v1/built", '{"on":"node1"}');
      await waitRows(page, 1);
      const rows = await rowsOf(page);
      check(rows.join() === "built live", `rows: ${rows}`);
      await page.close();
    } finally {
      for (const n of nodes) await n.stop();
      process.kill(nats.pid, "SIGTERM");
    }
  });

  await testCase("issue 17: phone width: no horizontal scrolling, the table becomes a list, controls reachable by keyboard", async () => {
    const page = await context.newPage();
    await page.setViewportSize({ width: 390, height: 844 });
    broker.publish("exchange/phone/v1/change-merged.openstack%2Fnova", sample);
    broker.publishLines("exchange/phone/v1/ref-updated/openstack%2Fnova", Array.from({ length: 6 }, (_, i) => JSON.stringify({ i })), 1);
    await page.goto(link("x:exchange/phone/v1 #"));
    await page.locator('#status[data-state="connected"]').waitFor({ timeout: 10000 });
    await waitRows(page, 1);
    for (const view of ["events", "directory"]) {
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      check(width <= 390, `${view}: page width ${width}`);
      if (view === "events") {
        const height = await page.locator("#events .event-row").first().evaluate((r) => r.getBoundingClientRect().height);
        check(height >= 40, `a row is two lines on a phone: ${height} px`);
        await screenshot(page, "events-390");
        await page.locator("#events .event-row").last().click();
        await page.locator("#detail.payload-view").waitFor();
        await page.locator("#detail-panel").scrollIntoViewIfNeeded();
        const panel = await page.evaluate(() => document.querySelector("#detail-panel").getBoundingClientRect().width);
        check(panel <= 390, `the payload fits the phone: ${panel} px`);
        await screenshot(page, "payload-390");
        await page.evaluate(() => window.scrollTo(0, 0));
        await page.getByRole("link", { name: "Exchanges" }).click();
        await page.locator("#directory-view:not([hidden])").waitFor();
        await screenshot(page, "directory-390");
      }
    }
    await page.goto(base);
    await page.keyboard.press("Tab");
    const first = await page.evaluate(() => document.activeElement.textContent);
    check(first === "Skip to content", `first focus: ${first}`);
    await page.close();
  });
} finally {
  await browser.close();
  await broker.stop();
}

const passed = results.filter(Boolean).length;
console.log(`${passed} passed, ${results.length - passed} failed`);
process.exit(results.length - passed === 0 ? 0 : 1);
