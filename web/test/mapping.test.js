// node --test web/test/: the exchange/routing-key mapping, with real keys from the samples.
import test from "node:test";
import assert from "node:assert/strict";
import { encodeWord, decodeWord, topicFor, filterForBinding, describeTopic, isExchange, topicMatches }
  from "../src/mapping.js";

test("plain keys become topic levels and back", () => {
  const t = topicFor("exchange/taskcluster-queue/v1", "primary.fQ3.0.aws.builder.linux");
  assert.equal(t, "exchange/taskcluster-queue/v1/primary/fQ3/0/aws/builder/linux");
  assert.deepEqual(describeTopic(t), {
    exchange: "exchange/taskcluster-queue/v1",
    routingKey: "primary.fQ3.0.aws.builder.linux",
  });
});

test("a word with a slash stays one level (hgpushes repository paths)", () => {
  const t = topicFor("exchange/hgpushes/v2", "integration/autoland");
  assert.equal(t, "exchange/hgpushes/v2/integration%2Fautoland");
  assert.equal(describeTopic(t).routingKey, "integration/autoland");
});

test("percent, plus and hash inside words are encoded; colons and commas are not", () => {
  for (const word of ["100%", "a+b", "c#", "bug:1234,5678", "%2F"]) {
    assert.equal(decodeWord(encodeWord(word)), word);
    assert.ok(!/[/+#]/.test(encodeWord(word)), encodeWord(word));
  }
  const t = topicFor("exchange/bmo/v1", "bug.changed:status,priority");
  assert.equal(describeTopic(t).routingKey, "bug.changed:status,priority");
});

test("Taskcluster CC routes with dotted entries and _ for empty fields", () => {
  const key = "route.index.project.mozci.classification._";
  assert.equal(describeTopic(topicFor("exchange/taskcluster-queue/v1", key)).routingKey, key);
});

test("binding wildcards: * is one level, # the rest", () => {
  assert.equal(filterForBinding("exchange/hgpushes/v2", "#"), "exchange/hgpushes/v2/#");
  assert.equal(filterForBinding("exchange/hgpushes/v2", "integration/autoland"),
    "exchange/hgpushes/v2/integration%2Fautoland");
  assert.equal(filterForBinding("exchange/tc/v1", "route.index.*.#"), "exchange/tc/v1/route/index/+/#");
  assert.equal(filterForBinding("exchange/tc/v1", "a.#.b"), "exchange/tc/v1/a/#");
  assert.throws(() => filterForBinding("hgpushes", "#"));
});

test("other topics are shown raw", () => {
  assert.deepEqual(describeTopic("bench/fan"), { exchange: "", routingKey: "bench/fan" });
  assert.ok(isExchange("exchange/o/n"));
  assert.ok(!isExchange("exchange/o"));
  assert.ok(!isExchange("exchange/o/n/#"));
  assert.ok(!isExchange("exchange/o//n"));
});

test("issue 17: exchanges of several levels are exchanges, and split topics as declared", () => {
  assert.ok(isExchange("exchange/gerrit/v1/change-merged"));
  assert.ok(isExchange("exchange/taskcluster-queue/v1/task-completed"));
  assert.equal(filterForBinding("exchange/gerrit/v1/change-merged", "openstack%2Fnova.#"),
    "exchange/gerrit/v1/change-merged/openstack%252Fnova/#");
  const known = ["exchange/taskcluster-queue/v1/task-completed", "exchange/gerrit/v1"];
  assert.deepEqual(describeTopic("exchange/taskcluster-queue/v1/task-completed/primary/abc", known), {
    exchange: "exchange/taskcluster-queue/v1/task-completed", routingKey: "primary.abc",
  });
  assert.deepEqual(describeTopic("exchange/taskcluster-queue/v1/task-pending/x", known), {
    exchange: "exchange/taskcluster-queue/v1", routingKey: "task-pending.x",
  });
});

test("issue 6: topics match filters as MQTT does (the viewer routes live messages to bindings)", () => {
  assert.ok(topicMatches("exchange/a/b/#", "exchange/a/b/x/y"));
  assert.ok(topicMatches("exchange/a/b/#", "exchange/a/b"));  // '#' includes the parent level
  assert.ok(topicMatches("exchange/a/b/+/y", "exchange/a/b/x/y"));
  assert.ok(topicMatches("exchange/a/b/x", "exchange/a/b/x"));
  assert.ok(!topicMatches("exchange/a/b/+", "exchange/a/b/x/y"));
  assert.ok(!topicMatches("exchange/a/b/x/y", "exchange/a/b/x"));
  assert.ok(!topicMatches("exchange/a/c/#", "exchange/a/b/x"));
  assert.ok(topicMatches("+/a/b", "exchange/a/b"));
  assert.ok(!topicMatches("#", "$SYS/broker/uptime"));
  assert.ok(!topicMatches("+/broker/uptime", "$SYS/broker/uptime"));
  assert.ok(topicMatches("$SYS/#", "$SYS/broker/uptime"));
  const filter = filterForBinding("exchange/hgpushes/v2", "integration/autoland.#");
  assert.ok(topicMatches(filter, topicFor("exchange/hgpushes/v2", "integration/autoland.push")));
  assert.ok(!topicMatches(filter, topicFor("exchange/hgpushes/v2", "integration.autoland")));
});
