// node --test web/test/: the payload view's pure parts — the JSON tokenizer and tree (order,
// nesting, escapes, numbers as written), which strings become links, and the mosquitto_sub
// command with its shell quoting.
import test from "node:test";
import assert from "node:assert/strict";
import { tokenizeJson, parseJson, safeLink, shellQuote, mosquittoSubCommand } from "../src/payload.js";
import { execFileSync } from "node:child_process";

test("tokenizeJson: every token, whitespace kept, strings decoded", () => {
  const tokens = tokenizeJson('{"a\\"b": [1, -2.5e3, true, false, null, "\\u00e9\\n\\/"]}');
  assert.deepEqual(tokens.filter((t) => t.type !== "ws").map((t) => [t.type, t.text]), [
    ["punct", "{"], ["string", '"a\\"b"'], ["punct", ":"], ["punct", "["], ["number", "1"],
    ["punct", ","], ["number", "-2.5e3"], ["punct", ","], ["bool", "true"], ["punct", ","],
    ["bool", "false"], ["punct", ","], ["null", "null"], ["punct", ","], ["string", '"\\u00e9\\n\\/"'],
    ["punct", "]"], ["punct", "}"],
  ]);
  assert.equal(tokens[1].value, 'a"b');
  assert.equal(tokens.find((t) => t.text === '"\\u00e9\\n\\/"').value, "é\n/");
  assert.equal(tokens.map((t) => t.text).join(""), '{"a\\"b": [1, -2.5e3, true, false, null, "\\u00e9\\n\\/"]}');
  for (const bad of ['"open', '"bad \\x escape"', '"raw\ncontrol"', "-", "tru", "undefined", "'single'"]) {
    assert.throws(() => tokenizeJson(bad), SyntaxError, bad);
  }
});

test("parseJson: nesting, key order, duplicates and numbers as sent", () => {
  const tree = parseJson('{"b": 1, "2": {"deep": [[], {}, [null]]}, "b": "again", "big": 12345678901234567890}');
  assert.equal(tree.type, "object");
  assert.deepEqual(tree.entries.map((e) => e.key), ["b", "2", "b", "big"]); // not "2" first
  assert.deepEqual(tree.entries[1].value, {
    type: "object",
    entries: [{ key: "deep", value: { type: "array", items: [
      { type: "array", items: [] }, { type: "object", entries: [] }, { type: "array", items: [{ type: "null" }] },
    ] } }],
  });
  assert.deepEqual(tree.entries[2].value, { type: "string", value: "again" });
  assert.deepEqual(tree.entries[3].value, { type: "number", text: "12345678901234567890" });
  assert.deepEqual(parseJson(' "just a string" '), { type: "string", value: "just a string" });
  assert.deepEqual(parseJson("true"), { type: "bool", value: true });
  assert.deepEqual(parseJson('{"k\\u0000\\t":"\\ud83d\\ude00"}').entries[0], {
    key: "k\u0000\t", value: { type: "string", value: "😀" },
  });
});

test("parseJson refuses what is not exactly one JSON value", () => {
  for (const bad of ["", "   ", "[1,]", '{"a":1,}', '{"a" 1}', "[1 2]", '"x" "y"', "{,}", "[", "]", "{}}",
    '{"a":}', "01", "1.", "plain text", '{"a":1} trailing', "[1]]", '{1:2}', "NaN"]) {
    assert.throws(() => parseJson(bad), SyntaxError, JSON.stringify(bad));
  }
});

test("parseJson agrees with JSON.parse on what is valid, and is not recursive", () => {
  for (const good of ["[]", "{}", "0", "-0.5E-3", '[{"a":[{"b":[1,{"c":"d"}]}]}]', '{"x":[true,false,null]}']) {
    assert.doesNotThrow(() => parseJson(good), good);
    JSON.parse(good);
  }
  const deep = "[".repeat(50_000) + "]".repeat(50_000);
  let node = parseJson(deep);
  let depth = 1;
  while (node.items.length) { node = node.items[0]; depth += 1; }
  assert.equal(depth, 50_000);
});

test("safeLink: only absolute http and https URLs", () => {
  assert.equal(safeLink("https://hg.mozilla.org/integration/autoland/rev/abc"), "https://hg.mozilla.org/integration/autoland/rev/abc");
  assert.equal(safeLink("http://example.org"), "http://example.org/");
  assert.equal(safeLink("HTTPS://Example.ORG/A?b=c#d"), "https://example.org/A?b=c#d");
  for (const bad of ["javascript:alert(1)", "JavaScript:alert(1)", " javascript:alert(1)", "java\nscript:alert(1)",
    "data:text/html,<script>alert(1)</script>", "vbscript:x", "file:///etc/passwd", "ftp://example.org/",
    "/relative/path", "//example.org/x", "example.org", "https://", "http://exa mple.org", "https://a.org/ b",
    "https://a.org/\njavascript:x", "", null, undefined, 42, {}]) {
    assert.equal(safeLink(bad), null, String(bad));
  }
});

test("shellQuote", () => {
  assert.equal(shellQuote("broker.example.org"), "broker.example.org");
  assert.equal(shellQuote("a b"), "'a b'");
  assert.equal(shellQuote("it's"), "'it'\\''s'");
  assert.equal(shellQuote("$(rm -rf /)"), "'$(rm -rf /)'");
});

test("mosquittoSubCommand: plain and TLS, the filter always quoted", () => {
  assert.equal(mosquittoSubCommand({ host: "broker.example.org", port: 1883, tls: false, filter: "exchange/gerrit/v1/#" }),
    "mosquitto_sub -h broker.example.org -p 1883 -t 'exchange/gerrit/v1/#' -v");
  assert.equal(mosquittoSubCommand({ host: "broker.example.org", port: 8883, tls: true, filter: "exchange/+/v1/#" }),
    "mosquitto_sub -h broker.example.org -p 8883 --capath /etc/ssl/certs -t 'exchange/+/v1/#' -v");
  assert.equal(mosquittoSubCommand({ host: "h", tls: true, filter: "#" }), "mosquitto_sub -h h -p 8883 --capath /etc/ssl/certs -t '#' -v");
  assert.equal(mosquittoSubCommand({ host: "h", filter: "#" }), "mosquitto_sub -h h -p 1883 -t '#' -v");
  assert.equal(mosquittoSubCommand({ host: "[::1]", port: "1883", filter: "a" }), "mosquitto_sub -h ::1 -p 1883 -t 'a' -v");
  assert.equal(mosquittoSubCommand({ host: "h", port: 1883, filter: "exchange/o/it's/#" }),
    "mosquitto_sub -h h -p 1883 -t 'exchange/o/it'\\''s/#' -v");
});

test("mosquittoSubCommand: a shell reads back exactly the filter and host", () => {
  for (const filter of ["exchange/o/it's/#", "a'b'c/+/#", "$(touch /tmp/pwned) `x` \"q\" \\ ; | & #", "''"]) {
    const command = mosquittoSubCommand({ host: "we ird'host", port: 1883, filter });
    // run it with a stand-in mosquitto_sub that prints its arguments, one per line
    const script = `mosquitto_sub() { printf '%s\\n' "$@"; }; ${command}`;
    const out = execFileSync("sh", ["-c", script], { encoding: "utf8" }).split("\n");
    assert.deepEqual(out.slice(0, 7), ["-h", "we ird'host", "-p", "1883", "-t", filter, "-v"]);
  }
});
