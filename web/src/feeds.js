// Feeds: each binding's history, then its live messages, each logged message once.
//
// A feed opens whenever the connection comes up (at start, after each reconnect) and when a
// binding is added while connected. It subscribes first and asks for history only once the
// broker has acknowledged the subscription, so no message can fall between the two; live
// messages that arrive meanwhile wait in `pending` and follow the history. Both can hold the
// same message, so a logged message is shown once per position.
// The first time, the history is the newest `historyLast` messages; after that, everything
// after `last`, so a reconnect (or Stop then Start) shows what was missed. `last` is the position
// of the feed's newest message shown or, when the history had none, the log position the
// broker named in `next` (it names one even then), so a quiet binding misses nothing either.
//
// Each feed has a state for the user (`onFeedState`): subscribing, history, live, empty,
// refused (with the broker's reason string), incomplete (with the broker's gap).
import { topicMatches } from "./mapping.js";

export const MAX_HISTORY = 1000;  // the history API's largest page, and the largest N asked for

export class Feeds {
  // show(message): a message to display (history or live, once each); onFeedState(feed);
  // notice(text): something the user should know about a feed.
  constructor({ show, onFeedState, notice, fromHistory }) {
    this.show = show;
    this.onFeedState = onFeedState;
    this.notice = notice;
    this.fromHistory = fromHistory;
    this.feeds = new Map();  // filter -> feed
    this.historyLast = 50;
  }

  add(filter, binding) {
    const feed = {
      filter, binding, last: null, loading: false, pending: [], generation: 0,
      state: "idle", detail: "", count: 0,
    };
    this.feeds.set(filter, feed);
    return feed;
  }

  remove(filter, client) {
    this.feeds.delete(filter);
    if (client && client.connected) client.unsubscribe(filter);
  }

  openAll(client) {
    for (const feed of this.feeds.values()) this.open(client, feed);
  }

  setState(feed, state, detail = "") {
    feed.state = state;
    feed.detail = detail;
    this.onFeedState(feed);
  }

  async open(client, feed) {
    const generation = ++feed.generation;
    feed.loading = true;
    feed.pending = [];
    this.setState(feed, "subscribing");
    try {
      await client.subscribeAsync(feed.filter, { qos: 0 });
    } catch (e) {
      if (generation !== feed.generation) return;
      feed.loading = false;
      // A refused subscription carries the broker's SUBACK reason code and (MQTT 5) reason
      // string; a closed connection has neither and the reconnect opens the feed again.
      const reason = e?.packet?.properties?.reasonString;
      const code = e?.packet?.granted?.[0];
      if (reason || (typeof code === "number" && code >= 0x80)) {
        this.setState(feed, "refused", reason || e.message);
      }
      return;
    }
    this.setState(feed, "history");
    let answer;
    try {
      answer = await this.readHistory(feed);
    } catch (e) {
      answer = { messages: [], error: e.message };
    }
    // A reconnect, or the binding's removal, while the history was read makes this answer stale.
    if (generation !== feed.generation || this.feeds.get(feed.filter) !== feed) return;
    if (answer.error) this.notice(`History of ${feed.filter} is unavailable: ${answer.error}`);
    if (answer.gap) this.notice(`Messages on ${feed.filter} were missed: ${answer.gap}`);
    if (answer.next) feed.last = answer.next;
    for (const m of [...answer.messages, ...feed.pending]) {
      feed.last = m.position;
      feed.count += 1;
      this.show(m);
    }
    feed.pending = [];
    feed.loading = false;
    if (answer.gap) this.setState(feed, "incomplete", answer.gap);
    else this.setState(feed, feed.count > 0 ? "live" : "empty");
  }

  // Reads the feed's history from the API, following `next` while the broker says there is
  // `more`. Returns {messages, next, gap}. Throws on an error answer or a network failure.
  async readHistory(feed) {
    if (!feed.last && this.historyLast === 0) return { messages: [] };
    let query = feed.last ? { since: feed.last } : { last: String(this.historyLast) };
    const messages = [];
    let gap = null;
    for (;;) {
      const params = new URLSearchParams({ filter: feed.filter, ...query, limit: String(MAX_HISTORY) });
      const response = await fetch(`/api/v1/history?${params}`, { cache: "no-store" });
      const body = await response.json().catch(() => ({}));
      if (!response.ok || !Array.isArray(body.messages)) throw new Error(body.message || `HTTP ${response.status}`);
      if (body.complete === false && !gap) gap = body.gap || "no reason given";
      messages.push(...body.messages.map(this.fromHistory));
      if (!body.more || !body.next) return { messages, next: body.next, gap };
      query = { since: body.next };
    }
  }

  // A live message: a logged one is held back only while every feed it belongs to still shows
  // its history first; one outside exchange/ (no position) has no history to wait for.
  live(m) {
    const feeds = [...this.feeds.values()].filter((f) => topicMatches(f.filter, m.topic));
    let held = feeds.length > 0 && Boolean(m.position);
    for (const feed of feeds) {
      if (feed.loading && m.position) {
        feed.pending.push(m);
        continue;
      }
      held = false;
      if (m.position) feed.last = m.position;
      feed.count += 1;
      if (feed.state === "empty") this.setState(feed, "live");
    }
    if (!held) this.show(m);
  }

  // The binding filter a message came through (for the payload view's mosquitto_sub line).
  filterFor(topic) {
    for (const filter of this.feeds.keys()) if (topicMatches(filter, topic)) return filter;
    return topic;
  }
}
