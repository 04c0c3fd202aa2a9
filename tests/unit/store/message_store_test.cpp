// MessageStore and its records on real files: records round-trip; the durable state adds up
// (a SessionEnd of a replaced session does not end its successor); positions and `since`
// parse; history by position, time and "last N", paged; wildcard filters across exchanges;
// reopen keeps the epoch, the history and the state (from a snapshot); retention by age says
// a read is incomplete; old segments go once a snapshot is durable.
#include <doctest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "store/message_store.hpp"
#include "temp_dir.hpp"

using namespace hydrant;
using namespace hydrant::store;
using hydrant::test::TempDir;
namespace fs = std::filesystem;

namespace {

StoreOptions options(const TempDir& d) {
  StoreOptions o;
  o.dir = d.path + "/log";
  return o;
}

fanout::MessageRef message(std::string_view topic, std::string_view payload, uint8_t qos = 1,
                           bool retain = false, uint64_t sequence = 0, std::string_view position = {}) {
  return fanout::Message::create(topic, payload, qos, retain, {}, 0, fanout::Clock::now(), sequence,
                                 position);
}

uint64_t put(MessageStore& st, std::string_view topic, std::string_view payload, int64_t ms,
             bool retain = false) {
  auto m = st.append_message(
      [&](uint64_t seq, std::string_view pos) { return message(topic, payload, 1, retain, seq, pos); }, ms);
  return m->sequence();
}

std::vector<std::string> payloads(const HistoryPage& p) {
  std::vector<std::string> out;
  for (const auto& m : p.messages) out.emplace_back(m.msg->payload());
  return out;
}

}  // namespace

TEST_CASE("a message record round-trips, position property included") {
  auto m = message("exchange/a/b/c", "{\"n\":1}", 2, true, 42, "00000000000000aa-42");
  auto back = decode_message(encode_message(*m), 42);
  REQUIRE(back);
  CHECK(back->topic() == m->topic());
  CHECK(back->payload() == m->payload());
  CHECK(back->forwarded_properties() == m->forwarded_properties());
  CHECK(back->qos() == 2);
  CHECK(back->retain());
  CHECK(back->sequence() == 42);
  CHECK_FALSE(decode_message("\x07", 1));  // too short
  std::string bad = encode_message(*m);
  bad[0] = 3;  // QoS 3
  CHECK_FALSE(decode_message(bad, 1));
}

TEST_CASE("the durable state adds up, and a replaced session's end spares its successor") {
  DurableState st;
  StoredSession s;
  s.version = codec::ProtocolVersion::V5;
  s.expiry_interval = 60;
  REQUIRE(st.apply(Kind::SessionOpen, 10, encode_session_open("q", s)));
  REQUIRE(st.sessions.at("q").incarnation == 10);
  StoredSubscription sub{{1, false, false, 0}, 7, 11};
  REQUIRE(st.apply(Kind::Subscribe, 11, encode_subscribe("q", "a/#", sub)));
  REQUIRE(st.apply(Kind::Cursor, 12, encode_cursor("q", 30)));
  REQUIRE(st.apply(Kind::Cursor, 13, encode_cursor("q", 20)));  // never backwards
  CHECK(st.sessions.at("q").cursor == 30);
  CHECK(st.sessions.at("q").subscriptions.at("a/#").subscription_id == 7);
  CHECK(st.sessions.at("q").subscriptions.at("a/#").start == 11);
  // A clean start replaced it (a new incarnation); the old one's end arrives late.
  REQUIRE(st.apply(Kind::SessionOpen, 14, encode_session_open("q", s)));
  CHECK(st.sessions.at("q").subscriptions.empty());
  REQUIRE(st.apply(Kind::SessionEnd, 15, encode_session_end("q", 10)));
  CHECK(st.sessions.contains("q"));
  REQUIRE(st.apply(Kind::SessionEnd, 16, encode_session_end("q", 14)));
  CHECK_FALSE(st.sessions.contains("q"));
  CHECK_FALSE(st.apply(Kind::Subscribe, 17, "\x01"));  // malformed
  REQUIRE(st.apply(Kind::Retain, 18, encode_message(*message("r/t", "x", 0, true))));
  CHECK(st.retained.size() == 1);
  REQUIRE(st.apply(Kind::Retain, 19, encode_message(*message("r/t", "", 0, true))));
  CHECK(st.retained.empty());
}

TEST_CASE("positions and since values parse; anything else is refused") {
  auto p = MessageStore::parse_position("00000000000000ff-123");
  REQUIRE(p);
  CHECK(p->first == 255);
  CHECK(p->second == 123);
  for (const char* bad : {"ff-1", "00000000000000ff-", "00000000000000ff-1x", "zz00000000000000-1", ""}) {
    CHECK_FALSE(MessageStore::parse_position(bad));
  }
  HistoryQuery q;
  CHECK(parse_since("1796400000000", q));
  CHECK(q.since_ms == 1796400000000);
  q = {};
  CHECK(parse_since("2026-12-04T16:00:00.250Z", q));
  CHECK(q.since_ms == 1796400000250);
  q = {};
  CHECK(parse_since("2026-12-04T16:00:00Z", q));
  CHECK(q.since_ms == 1796400000000);
  q = {};
  CHECK_FALSE(parse_since("last:5", q));
  CHECK(parse_since("last:5", q, /*allow_last=*/true));
  CHECK(q.last == 5);
  for (const char* bad : {"yesterday", "2026-13-01T00:00:00Z", "2026-12-04 16:00:00", "last:0", "-5"}) {
    HistoryQuery b;
    CHECK_FALSE(parse_since(bad, b, true));
  }
}

TEST_CASE("history by position pages without gap or duplicate; last N; time; wildcards") {
  TempDir d;
  auto st = MessageStore::open(options(d));
  const uint64_t first = put(*st, "exchange/a/x/k", "0", 1000);
  for (int i = 1; i < 25; ++i) put(*st, "exchange/a/x/k", std::to_string(i), 1000 + i);
  put(*st, "exchange/b/y/k", "other", 2000);
  put(*st, "exchange/a/x/other", "other-key", 2001);

  HistoryQuery q;
  q.filter = "exchange/a/x/k";
  q.limit = 10;
  std::vector<std::string> seen;
  for (int page = 0; page < 5; ++page) {
    HistoryPage p = st->read(q);
    CHECK(p.complete);
    auto got = payloads(p);
    seen.insert(seen.end(), got.begin(), got.end());
    if (!p.more) break;
    q.after = p.scanned_to;
  }
  REQUIRE(seen.size() == 25);
  for (int i = 0; i < 25; ++i) CHECK(seen[i] == std::to_string(i));

  HistoryQuery last;
  last.filter = "exchange/a/x/#";
  last.last = 2;
  CHECK(payloads(st->read(last)) == std::vector<std::string>{"24", "other-key"});

  HistoryQuery since;
  since.filter = "exchange/a/x/k";
  since.since_ms = 1023;
  CHECK(payloads(st->read(since)) == std::vector<std::string>{"23", "24"});

  HistoryQuery wild;
  wild.filter = "exchange/+/+/k";
  wild.after = first + 23;
  CHECK(payloads(st->read(wild)) == std::vector<std::string>{"24", "other"});

  HistoryQuery none;
  none.filter = "plain/#";  // only exchanges are logged
  CHECK(st->read(none).messages.empty());
}

TEST_CASE("reopening keeps the epoch, the history and the durable state") {
  TempDir d;
  uint64_t epoch = 0, seq = 0;
  {
    auto st = MessageStore::open(options(d));
    epoch = st->epoch();
    seq = put(*st, "exchange/a/x/k", "{}", 5, /*retain=*/true);
    const uint64_t inc = st->session_open("queue/a/q", 0, codec::ProtocolVersion::V5, 3600);
    st->subscribe("queue/a/q", "exchange/a/#", {1, false, false, 0}, 3);
    st->cursor("queue/a/q", seq);
    const uint64_t gone = st->session_open("gone", 0, codec::ProtocolVersion::V311, 0xFFFFFFFF);
    st->session_end("gone", gone);
    CHECK(inc != 0);
  }
  auto st = MessageStore::open(options(d));
  CHECK(st->epoch() == epoch);
  const auto& state = st->recovered_state();
  REQUIRE(state.sessions.contains("queue/a/q"));
  CHECK_FALSE(state.sessions.contains("gone"));
  CHECK(state.sessions.at("queue/a/q").cursor == seq);
  CHECK(state.sessions.at("queue/a/q").subscriptions.at("exchange/a/#").subscription_id == 3);
  CHECK(state.retained.contains("exchange/a/x/k"));
  HistoryQuery q;
  q.filter = "#";
  auto page = st->read(q);
  REQUIRE(page.messages.size() == 1);
  CHECK(page.messages[0].sequence == seq);
  CHECK(st->position(seq) == fmt::format("{:016x}-{}", epoch, seq));
  CHECK(st->recovery_report().find("sessions=1 retained=1") != std::string::npos);
  // Again: now the state comes from the snapshot the first reopen wrote.
  st.reset();
  st = MessageStore::open(options(d));
  CHECK(st->recovered_state().sessions.at("queue/a/q").cursor == seq);
  CHECK(st->recovered_state().retained.size() == 1);
}

TEST_CASE("a lost EPOCH file means a new epoch: old positions are not trusted") {
  TempDir d;
  uint64_t old = 0, seq = 0;
  {
    auto st = MessageStore::open(options(d));
    old = st->epoch();
    seq = put(*st, "exchange/a/x/k", "1", 1);
  }
  fs::remove(d.path + "/log/EPOCH");
  auto st = MessageStore::open(options(d));
  CHECK(st->epoch() != old);
  HistoryQuery q;
  q.filter = "#";
  q.epoch = old;
  q.after = seq;
  auto page = st->read(q);
  CHECK_FALSE(page.complete);
  CHECK(page.messages.size() == 1);  // from the start, since the position means nothing here
}

TEST_CASE("retention by age trims history, says so, and drops segments once a snapshot is durable") {
  TempDir d;
  StoreOptions o = options(d);
  o.max_age_ms = 1000;
  o.segment_bytes = 4096;
  auto st = MessageStore::open(o);
  const std::string payload(500, 'x');
  uint64_t first = 0;
  for (int i = 0; i < 40; ++i) {
    const uint64_t s = put(*st, "exchange/a/x/k", payload, 100 + i);
    if (i == 0) first = s;
    st->flush();  // one batch each: a segment is only closed between batches
  }
  const uint64_t fresh = put(*st, "exchange/a/x/k", "fresh", 10000);
  st->flush();
  const auto before = st->bytes();
  st->maintain(10500);  // everything but `fresh` is older than a second
  st->flush();
  st->maintain(10500);  // the snapshot written by open is durable now: segments can go
  CHECK(st->bytes() < before);
  HistoryQuery q;
  q.filter = "exchange/a/x/k";
  q.after = first;
  auto page = st->read(q);
  CHECK_FALSE(page.complete);
  CHECK(page.gap.find("retention") != std::string::npos);
  REQUIRE(page.messages.size() == 1);
  CHECK(page.messages[0].sequence == fresh);
}
