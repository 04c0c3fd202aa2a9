// The cluster's own encodings: a session's record in the sessions bucket (every field back, a
// record of another format refused) and the content hash of a publish's de-duplication id.
#include <doctest.h>

#include "cluster/session_record.hpp"
#include "cluster/stream_message.hpp"

using namespace hydrant;
using namespace hydrant::cluster;

TEST_CASE("a session record comes back field by field") {
  SessionRecord r;
  r.node = "node2";
  r.session.incarnation = 0x1234567890abcdefull;
  r.session.version = codec::ProtocolVersion::V5;
  r.session.expiry_interval = 300;
  r.session.cursor = 42;
  r.session.will = std::string("will\0bytes", 10);
  r.session.will_delay = 7;
  r.session.subscriptions["exchange/a/#"] = {{1, true, false, 2}, 9, 40};
  r.session.subscriptions["exchange/b/+"] = {{0, false, true, 0}, 0, 41};
  r.offline_since_ms = 1700000000000;
  const auto back = decode_session_record(encode_session_record(r));
  REQUIRE(back);
  CHECK(back->node == "node2");
  CHECK(back->session.incarnation == r.session.incarnation);
  CHECK(back->session.version == codec::ProtocolVersion::V5);
  CHECK(back->session.expiry_interval == 300);
  CHECK(back->session.cursor == 42);
  CHECK(back->session.will == r.session.will);
  CHECK(back->session.will_delay == 7);
  CHECK(back->offline_since_ms == r.offline_since_ms);
  CHECK_FALSE(back->ended);
  REQUIRE(back->session.subscriptions.size() == 2);
  const auto& a = back->session.subscriptions.at("exchange/a/#");
  CHECK(a.options == codec::SubscriptionOptions{1, true, false, 2});
  CHECK(a.subscription_id == 9);
  CHECK(a.start == 40);
}

TEST_CASE("a record of another format, or cut short, is refused") {
  SessionRecord r;
  r.node = "n";
  std::string bytes = encode_session_record(r);
  CHECK(decode_session_record(bytes));
  CHECK_FALSE(decode_session_record(bytes.substr(0, bytes.size() - 1)));
  CHECK_FALSE(decode_session_record(bytes + "x"));
  bytes[0] = 2;  // a later format
  CHECK_FALSE(decode_session_record(bytes));
  CHECK_FALSE(decode_session_record(""));
}

TEST_CASE("session keys are valid bucket keys and come back") {
  for (std::string id : {std::string("queue/alice/q1"), std::string(), std::string("ü é"), std::string("a\0b", 3)}) {
    const std::string key = session_key(id);
    CHECK(key.find_first_not_of("0123456789abcdef_") == std::string::npos);
    CHECK(client_id_of_key(key) == id);
  }
}

TEST_CASE("the content hash tells topics and payloads apart, and is the same for the same message") {
  const auto now = fanout::Clock::now();
  auto m = [&](std::string_view topic, std::string_view payload) {
    return fanout::Message::create(topic, payload, 1, false, {}, 0, now);
  };
  CHECK(content_hash(*m("exchange/a/k", R"({"n":1})")) == content_hash(*m("exchange/a/k", R"({"n":1})")));
  CHECK(content_hash(*m("exchange/a/k", R"({"n":1})")) != content_hash(*m("exchange/a/k", R"({"n":2})")));
  CHECK(content_hash(*m("exchange/a/k", "x")) != content_hash(*m("exchange/a/kx", "")));
  // Long payloads differ in their last byte and in the middle of a word.
  const std::string base(1000, 'a');
  std::string last = base, middle = base;
  last.back() = 'b';
  middle[501] = 'b';
  CHECK(content_hash(*m("t", base)) != content_hash(*m("t", last)));
  CHECK(content_hash(*m("t", base)) != content_hash(*m("t", middle)));
}
