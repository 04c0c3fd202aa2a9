// Pulse on MQTT: exchange + AMQP routing key <-> MQTT topic. An exchange `exchange/<owner>/<name>`
// and routing key `w1.w2.w3` are published on `exchange/<owner>/<name>/w1/w2/w3`. Keys split on
// '.'; inside a word, '%', '/', '+' and '#' are percent-encoded so that a word (hgpushes'
// `integration/autoland`) stays one topic level. Binding wildcards map `*` -> `+`, `#` -> `#`.

const ENCODE = { "%": "%25", "/": "%2F", "+": "%2B", "#": "%23" };

export function encodeWord(word) {
  return word.replace(/[%/+#]/g, (c) => ENCODE[c]);
}

export function decodeWord(level) {
  return level.replace(/%(25|2F|2B|23)/gi, (_, hex) => String.fromCharCode(parseInt(hex, 16)));
}

// exchange/<owner>/<name>, where <name> may have several levels (a declared
// `v1/change-merged`, Taskcluster's `v1/task-completed`); no wildcards, no empty level.
const EXCHANGE = /^exchange\/[^/+#]+(\/[^/+#]+)+$/;

export function isExchange(name) {
  return EXCHANGE.test(name);
}

// The topic a message with this routing key is published on.
export function topicFor(exchange, routingKey) {
  const words = routingKey === "" ? [] : routingKey.split(".");
  return [exchange, ...words.map(encodeWord)].join("/");
}

// The MQTT filter for an AMQP binding: exchange + routing-key pattern with * and #.
export function filterForBinding(exchange, pattern) {
  if (!isExchange(exchange)) throw new Error(`not an exchange name: ${exchange}`);
  const words = pattern === "" ? [] : pattern.split(".");
  const levels = words.map((w) => (w === "*" ? "+" : w === "#" ? "#" : encodeWord(w)));
  if (levels.includes("#") && levels.indexOf("#") !== levels.length - 1) {
    // MQTT allows '#' only last; a binding with '#' inside matches at least as much as this.
    levels.length = levels.indexOf("#") + 1;
  }
  return [exchange, ...levels].join("/");
}

// What the viewer shows for a topic: the exchange and the routing key, or the raw topic. The
// exchange is the longest of `known` (exchange names of several levels, from the directory)
// that the topic lies under, else its first three levels.
export function describeTopic(topic, known = []) {
  const levels = topic.split("/");
  if (levels.length >= 3 && levels[0] === "exchange" && levels[1] && levels[2]) {
    let depth = 3;
    for (const name of known) {
      const n = name.split("/").length;
      if (n > depth && n <= levels.length && levels.slice(0, n).join("/") === name) depth = n;
    }
    return {
      exchange: levels.slice(0, depth).join("/"),
      routingKey: levels.slice(depth).map(decodeWord).join("."),
    };
  }
  return { exchange: "", routingKey: topic };
}

// Whether an MQTT topic matches a filter (`+` one level, `#` this level and below): the viewer
// needs it to tell which binding a live message belongs to. A filter that starts with a
// wildcard does not match a `$` topic [MQTT-4.7.2-1].
export function topicMatches(filter, topic) {
  const f = filter.split("/");
  const t = topic.split("/");
  if (topic.startsWith("$") && (f[0] === "+" || f[0] === "#")) return false;
  for (let i = 0; i < f.length; ++i) {
    if (f[i] === "#") return true;
    if (i >= t.length || (f[i] !== "+" && f[i] !== t[i])) return false;
  }
  return f.length === t.length;
}
