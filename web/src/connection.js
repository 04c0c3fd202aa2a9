// The page's one MQTT 5 connection over WebSocket to its own origin (/mqtt), anonymous, with our
// own backoff (1 s doubling to 30 s) so that every state can be told to the user: connecting,
// connected, reconnecting (with the attempt and the last error), refused (with the broker's
// reason) and stopped.
import mqtt from "mqtt";

const MAX_BACKOFF_MS = 30000;

// ws(s)://<host>/mqtt for the page's location. `host` keeps an IPv6 literal's brackets
// ("[::1]:8443"); MQTT.js would rebuild the URL from the bare hostname and lose them, so the
// connection is given this URL as it is (transformWsUrl).
export function brokerUrl(location) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/mqtt`;
}

export class Connection {
  // onState({kind, text, attempt}); onConnect(client) after every (re)connection; onMessage as
  // MQTT.js's "message" event.
  constructor({ url, onState, onConnect, onMessage }) {
    this.url = url;
    this.onState = onState;
    this.onConnect = onConnect;
    this.onMessage = onMessage;
    this.client = null;
    this.running = false;
    this.backoff = 1000;
    this.attempt = 0;
    this.lastError = "";
    this.retryTimer = null;
  }

  get connected() {
    return Boolean(this.client && this.client.connected);
  }

  start() {
    if (this.running) return;
    this.running = true;
    this.attempt = 0;
    this.backoff = 1000;
    this.open();
  }

  stop() {
    this.running = false;
    clearTimeout(this.retryTimer);
    if (this.client) this.client.end(true);
    this.client = null;
    this.onState({ kind: "disconnected", text: "Stopped" });
  }

  open() {
    clearTimeout(this.retryTimer);
    this.attempt += 1;
    this.onState({
      kind: this.attempt > 1 ? "reconnecting" : "connecting",
      text: this.attempt > 1 ? `Reconnecting (attempt ${this.attempt})…` : `Connecting to ${this.url}…`,
      attempt: this.attempt,
    });
    const url = this.url;
    const client = mqtt.connect(url, {
      protocolVersion: 5,
      clean: true,
      reconnectPeriod: 0,  // our own backoff below
      connectTimeout: 10000,
      keepalive: 30,
      transformWsUrl: () => url,
    });
    this.client = client;
    let refused = false;
    let refusal = "";  // the refusing CONNACK's reason string (MQTT.js's error lacks it)
    client.on("packetreceive", (packet) => {
      if (packet.cmd === "connack" && packet.reasonCode >= 0x80) refusal = packet.properties?.reasonString || "";
    });
    client.on("connect", () => {
      this.backoff = 1000;
      this.attempt = 0;
      this.lastError = "";
      this.onState({ kind: "connected", text: `Connected to ${url}` });
      this.onConnect(client);
    });
    client.on("message", this.onMessage);
    client.on("error", (error) => {
      // A CONNACK refusal: the broker said no; retrying the same CONNECT would say no again
      // soon, so the user is told why, and the retry waits the longest backoff.
      if (error && typeof error.code === "number" && error.code >= 0x80) {
        refused = true;
        // MQTT.js names the code ("Connection refused: Quota exceeded"); the broker says why.
        const code = error.message || `reason code 0x${error.code.toString(16)}`;
        this.lastError = refusal ? `${code} (${refusal})` : code;
      } else {
        this.lastError = error?.message || "connection error";
      }
    });
    client.on("close", () => {
      if (this.client !== client || !this.running) return;
      const wait = refused ? MAX_BACKOFF_MS : this.backoff;
      this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
      const why = this.lastError ? ` (${this.lastError})` : "";
      this.onState(refused
        ? { kind: "refused", text: `The broker refused the connection: ${this.lastError}; retrying in ${Math.round(wait / 1000)} s` }
        : { kind: "reconnecting", text: `Connection lost${why}; reconnecting in ${Math.round(wait / 1000)} s (attempt ${this.attempt + 1})`, attempt: this.attempt + 1 });
      this.retryTimer = setTimeout(() => {
        client.end(true);
        if (this.running) this.open();
      }, wait);
    });
  }
}
