// The live viewer in headless Chromium against a real hydrant: bindings, live rows, the payload
// panel, links that reproduce the view, filter, pause, download, a burst past the row cap,
// reconnect after a broker restart, and phone width. Prints PASS/FAIL per case and, last,
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
  constructor(mqttPort, httpPort) {
    this.mqttPort = mqttPort;
    this.httpPort = httpPort;
    this.data = mkdtempSync(path.join(os.tmpdir(), "hydrant-browser-"));
  }
  async start() {
    this.proc = spawn(HYDRANT, ["--mqtt", `${HOST}:${this.mqttPort}`, "--http", `${HOST}:${this.httpPort}`,
      "--open", "--data", this.data, "--web-root", WEB_ROOT, "--sys-interval", "0",
      "--log-level", "warning"], { stdio: ["ignore", "inherit", "inherit"] });
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
  publish(topic, message) {
    execFileSync("mosquitto_pub", ["-h", HOST, "-p", String(this.mqttPort), "-t", topic, "-m", message, "-q", "1"]);
  }
  publishLines(topic, lines) {
    execFileSync("mosquitto_pub", ["-h", HOST, "-p", String(this.mqttPort), "-t", topic, "-l", "-q", "0"],
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
const context = await browser.newContext({ acceptDownloads: true });
const base = `http://${HOST}:${broker.httpPort}/`;

async function openWithBinding(page, exchange, pattern) {
  await page.goto(base);
  await page.getByLabel("Exchange", { exact: true }).fill(exchange);
  await page.getByLabel("Routing-key pattern").fill(pattern);
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
    const row = page.locator("#messages tbody tr").first();
    await row.waitFor({ timeout: 5000 });
    check((await row.locator("td").nth(1).textContent()) === "exchange/gerrit/v1", "exchange column");
    check((await row.locator("td").nth(2).textContent()) === "change-merged.openstack/nova", "routing key, decoded");
    await row.click();
    const detail = await page.locator("#detail").textContent();
    check(detail.includes('\n  "type": "change-merged"'), `pretty-printed payload: ${detail.slice(0, 80)}`);
    const url = page.url();
    check(url.includes("b=x%3Aexchange%2Fgerrit%2Fv1"), `binding in the URL: ${url}`);
    await page.reload();
    await page.locator('#status[data-state="connected"]').waitFor({ timeout: 10000 });
    const bindings = await page.locator("#binding-list li span").allTextContents();
    check(bindings.length === 1 && bindings[0] === "exchange/gerrit/v1 change-merged.#", `bindings after reload: ${bindings}`);
    await sleep(300);
    broker.publish("exchange/gerrit/v1/change-merged/x", '{"after":"reload"}');
    await page.locator("#messages tbody tr").first().waitFor({ timeout: 5000 });
    // A message outside the binding does not show.
    broker.publish("exchange/gerrit/v1/comment-added/x", '{"other":1}');
    await sleep(500);
    check((await page.locator("#messages tbody tr").count()) === 1, "only bound messages");
    await page.close();
  });

  await testCase("raw MQTT filter, text filter, pause and resume", async () => {
    const page = await context.newPage();
    await page.goto(base);
    await page.getByLabel("MQTT filter", { exact: false }).first().check();
    await page.locator("#filter").fill("exchange/bmo/#");
    await page.getByRole("button", { name: "Add binding" }).click();
    await page.getByRole("button", { name: "Start" }).click();
    await page.locator('#status[data-state="connected"]').waitFor({ timeout: 10000 });
    await sleep(300);
    broker.publish("exchange/bmo/v1/bug.changed", '{"bug":1,"product":"Firefox"}');
    broker.publish("exchange/bmo/v1/bug.created", '{"bug":2,"product":"Thunderbird"}');
    await page.waitForFunction(() => document.querySelectorAll("#messages tbody tr").length === 2);
    await page.locator("#text-filter").fill("Thunderbird");
    await page.waitForFunction(() => document.querySelectorAll("#messages tbody tr").length === 1);
    await page.locator("#text-filter").fill("");
    await page.getByRole("button", { name: "Pause" }).click();
    broker.publish("exchange/bmo/v1/bug.changed", '{"bug":3}');
    await page.waitForFunction(() => document.querySelector("#held").textContent.includes("1 held"));
    check((await page.locator("#messages tbody tr").count()) === 2, "no new row while paused");
    await page.getByRole("button", { name: "Resume" }).click();
    await page.waitForFunction(() => document.querySelectorAll("#messages tbody tr").length === 3);
    await page.close();
  });

  await testCase("download captures the messages as JSON", async () => {
    const page = await context.newPage();
    await openWithBinding(page, "exchange/dl/v1", "#");
    await sleep(300);
    broker.publish("exchange/dl/v1/a.b", '{"n":1}');
    broker.publish("exchange/dl/v1/a.c", '{"n":2}');
    await page.waitForFunction(() => document.querySelectorAll("#messages tbody tr").length === 2);
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("button", { name: "Download JSON" }).click(),
    ]);
    const saved = JSON.parse(readFileSync(await download.path(), "utf8"));
    check(saved.length === 2 && saved[1].payload.n === 2 && saved[0].routingKey === "a.b", JSON.stringify(saved));
    await page.close();
  });

  await testCase("a burst past the row cap: the page stays responsive, drops are counted", async () => {
    const page = await context.newPage();
    await openWithBinding(page, "exchange/burst/v1", "#");
    await sleep(300);
    const lines = Array.from({ length: 2500 }, (_, i) => JSON.stringify({ i, pad: "x".repeat(200) }));
    const t0 = Date.now();
    broker.publishLines("exchange/burst/v1/tick", lines);
    await page.waitForFunction(() => document.querySelector("#received").textContent === "2500", null, { timeout: 20000 });
    const rows = await page.locator("#messages tbody tr").count();
    const dropped = await page.locator("#dropped").textContent();
    check(rows === 2000 && dropped === "500", `rows ${rows}, dropped ${dropped}`);
    const t1 = Date.now();
    await page.evaluate(() => 1 + 1);
    check(Date.now() - t1 < 1000, "the page answers at once");
    console.log(`    2500 messages shown in ${Date.now() - t0} ms`);
    await page.close();
  });

  await testCase("reconnects after the broker restarts", async () => {
    const page = await context.newPage();
    await openWithBinding(page, "exchange/re/v1", "#");
    await broker.stop();
    await page.locator('#status[data-state="reconnecting"]').waitFor({ timeout: 10000 });
    await broker.start();
    await page.locator('#status[data-state="connected"]').waitFor({ timeout: 20000 });
    await sleep(300);
    broker.publish("exchange/re/v1/back", '{"back":true}');
    await page.locator("#messages tbody tr").first().waitFor({ timeout: 5000 });
    await page.close();
  });

  await testCase("phone width: no horizontal scrolling, controls reachable by keyboard", async () => {
    const page = await context.newPage();
    await page.setViewportSize({ width: 360, height: 740 });
    await page.goto(base);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    check(width <= 360, `page width ${width}`);
    await page.keyboard.press("Tab");
    const focused = await page.evaluate(() => document.activeElement.id || document.activeElement.name);
    check(focused === "kind", `first focus: ${focused}`);
    await page.close();
  });
} finally {
  await browser.close();
  await broker.stop();
}

const passed = results.filter(Boolean).length;
console.log(`${passed} passed, ${results.length - passed} failed`);
process.exit(results.length - passed === 0 ? 0 : 1);
