// Pulse names on MQTT: clientIds, exchange names, and exchange + routing key <-> topic, with the
// messy keys real sources send (web/test/mapping.test.js holds the same cases for the viewer).
// The last cases replay the exchange and routing key of every message in the shared samples
// ($HYDRANT_SAMPLES, default tests/integration/samples) when that directory exists.
#include <doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <simdjson.h>

#include "samples.hpp"
#include "pulse/mapping.hpp"

using namespace hydrant::pulse;

namespace {

// Levels in an exchange's name: "exchange/taskcluster-queue/v1/task-pending" -> 2.
size_t name_levels_of(std::string_view exchange) {
  const auto ref = parse_exchange(exchange);
  REQUIRE(ref.has_value());
  return static_cast<size_t>(std::count(ref->name.begin(), ref->name.end(), '/')) + 1;
}

// topic_for then describe_topic gives the exchange and key back.
void check_round_trip(std::string_view exchange, std::string_view key) {
  CAPTURE(exchange);
  CAPTURE(key);
  const std::string topic = topic_for(exchange, key);
  const Described d = describe_topic(topic, name_levels_of(exchange));
  CHECK(d.exchange == exchange);
  CHECK(d.routing_key == key);
  CHECK(topic_owner(topic) == parse_exchange(exchange)->owner);
  // A routing key never makes a wildcard topic, whatever its words hold.
  CHECK(topic.find_first_of("+#") == std::string::npos);
}


}  // namespace

TEST_CASE("valid_client_id: a letter, then letters, digits, '.', '_' or '-'; at most 64") {
  for (const char* id : {"gerrit", "hgpushes", "taskcluster-queue", "bugzilla", "a",
                         "Bugzilla.Mozilla_org-1"}) {
    CHECK(valid_client_id(id));
  }
  CHECK(valid_client_id(std::string(64, 'x')));
  CHECK_FALSE(valid_client_id(std::string(65, 'x')));
  for (const char* id : {"", "1gerrit", "_x", "-x", ".x", "a b", "a/b", "a+b", "a#", "a:b",
                         "$SYS", "j\xc3\xbcri"}) {
    CAPTURE(id);
    CHECK_FALSE(valid_client_id(id));
  }
  CHECK_FALSE(valid_client_id(std::string("ab\0c", 4)));
}

TEST_CASE("valid_exchange_name: non-empty levels, no wildcards, no leading '$', 128 bytes") {
  for (const char* name : {"v1", "v2", "simple", "v1/task-completed", "v1/change-merged",
                           "a/b/c", "v1/$odd", "with space", "bug:1,2"}) {
    CAPTURE(name);
    CHECK(valid_exchange_name(name));
  }
  CHECK(valid_exchange_name(std::string(128, 'n')));
  CHECK_FALSE(valid_exchange_name(std::string(129, 'n')));
  CHECK(valid_exchange_name(std::string(63, 'a') + "/" + std::string(64, 'b')));
  for (const char* name : {"", "/", "/v1", "v1/", "v1//x", "$SYS", "$share/g", "a+b", "+", "#",
                           "v1/#", "v1/+/x"}) {
    CAPTURE(name);
    CHECK_FALSE(valid_exchange_name(name));
  }
  CHECK_FALSE(valid_exchange_name(std::string("v1\0x", 4)));
}

TEST_CASE("encode_word escapes exactly '%', '/', '+' and '#'; decode_word undoes it") {
  CHECK(encode_word("integration/autoland") == "integration%2Fautoland");
  CHECK(encode_word("100%") == "100%25");
  CHECK(encode_word("a+b") == "a%2Bb");
  CHECK(encode_word("c#") == "c%23");
  CHECK(encode_word("bug.modify:priority,status") == "bug.modify:priority,status");
  CHECK(encode_word("") == "");
  for (const char* word : {"100%", "a+b", "c#", "bug:1234,5678", "%2F", "%252F", "%", "%%2f",
                           "refs/changes/33/3033/1", "qt/qtbase", "_", "", "j\xc3\xbcri"}) {
    CAPTURE(word);
    CHECK(decode_word(encode_word(word)) == word);
    CHECK(encode_word(word).find_first_of("/+#") == std::string::npos);
  }
}

TEST_CASE("decode_word takes either hex case and leaves other '%' sequences alone") {
  CHECK(decode_word("integration%2fautoland") == "integration/autoland");
  CHECK(decode_word("a%2bb%2Bc") == "a+b+c");
  CHECK(decode_word("%23%25") == "#%");
  CHECK(decode_word("%41%20%2") == "%41%20%2");  // not one of the four: kept as is
  CHECK(decode_word("%2x%") == "%2x%");
  CHECK(decode_word("%252F") == "%2F");  // left to right, one pass, as JS replace does
  CHECK(decode_word("") == "");
}

TEST_CASE("parse_exchange splits exchange/<owner>/<name>") {
  auto tc = parse_exchange("exchange/taskcluster-queue/v1/task-completed");
  REQUIRE(tc.has_value());
  CHECK(tc->owner == "taskcluster-queue");
  CHECK(tc->name == "v1/task-completed");
  auto hg = parse_exchange("exchange/hgpushes/v2");
  REQUIRE(hg.has_value());
  CHECK(hg->owner == "hgpushes");
  CHECK(hg->name == "v2");
  for (const char* bad : {"", "hgpushes", "exchange", "exchange/", "exchange/hgpushes",
                          "exchange/hgpushes/", "exchange//v2", "exchange/1bad/v2",
                          "exchange/hgpushes/v2/", "exchange/hgpushes/v2//x",
                          "exchange/hgpushes/+", "exchange/hgpushes/#", "exchange/o/$name",
                          "Exchange/hgpushes/v2", "queue/hgpushes/v2", "/exchange/hgpushes/v2"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_exchange(bad).has_value());
  }
}

TEST_CASE("topic_for: words become levels, a word with '/' stays one level") {
  // Taskcluster's primary key: '_' marks empty fields, ids carry '-' and '_'.
  CHECK(topic_for("exchange/taskcluster-queue/v1/task-pending",
                  "primary.A35mWTRuQmyj88yMnIF0fA.0._._.aws-provisioner-v1.gecko-t-linux-large."
                  "gecko-level-3.XrWNyFwpT2in-wLY9frb-w._") ==
        "exchange/taskcluster-queue/v1/task-pending/primary/A35mWTRuQmyj88yMnIF0fA/0/_/_/"
        "aws-provisioner-v1/gecko-t-linux-large/gecko-level-3/XrWNyFwpT2in-wLY9frb-w/_");
  CHECK(topic_for("exchange/hgpushes/v2", "integration/autoland") ==
        "exchange/hgpushes/v2/integration%2Fautoland");
  CHECK(topic_for("exchange/hgpushes/v2", "try") == "exchange/hgpushes/v2/try");
  CHECK(topic_for("exchange/bugzilla/v1", "bug.modify:priority") ==
        "exchange/bugzilla/v1/bug/modify:priority");
  CHECK(topic_for("exchange/bugzilla/simple", "1629704") == "exchange/bugzilla/simple/1629704");
  CHECK(topic_for("exchange/hgpushes/v2", "") == "exchange/hgpushes/v2");
  // Empty words stay empty levels, as in mapping.js.
  CHECK(topic_for("exchange/o/n", "a..b") == "exchange/o/n/a//b");
  CHECK(topic_for("exchange/o/n", ".") == "exchange/o/n//");
}

TEST_CASE("topic_for: a Taskcluster CC route's '#' is a literal word, not a wildcard") {
  const std::string topic = topic_for("exchange/taskcluster-queue/v1/task-completed",
                                      "route.index.project.mozci.classification.#");
  CHECK(topic ==
        "exchange/taskcluster-queue/v1/task-completed/route/index/project/mozci/classification/%23");
}

TEST_CASE("topic_for -> describe_topic gives the exchange and routing key back") {
  check_round_trip("exchange/taskcluster-queue/v1/task-completed",
                   "primary.fu4duSjBRte-V6y_oQ_BrQ.0.us-west-2.i-062aa60828009efec."
                   "aws-provisioner-v1.gecko-1-decision.gecko-level-1.VQg1HZ5yS0ixZvsnHLWuFw._");
  check_round_trip("exchange/taskcluster-queue/v1/task-completed",
                   "route.index.project.mozci.classification.#");
  check_round_trip("exchange/taskcluster-queue/v1/task-pending",
                   "route.index.gecko.v2.mozilla-central.latest.firefox.linux64-opt");
  check_round_trip("exchange/hgpushes/v2", "integration/autoland");
  check_round_trip("exchange/hgpushes/v1", "try");
  check_round_trip("exchange/bugzilla/v1", "bug.modify:priority");
  check_round_trip("exchange/bugzilla/v1", "bug.changed:status,priority");
  check_round_trip("exchange/bugzilla/simple", "1629704");
  check_round_trip("exchange/gerrit/v1/change-merged", "qt/qtbase.dev");
  check_round_trip("exchange/gerrit/v1/ref-updated", "openstack/nova.refs/changes/33/3033/1");
  check_round_trip("exchange/o/n", "100%.a+b.c#.%2F.%252f");
  check_round_trip("exchange/o/n", "");
  check_round_trip("exchange/o/a/b/c", "x..y");
}

TEST_CASE("filter_for_binding: '*' is one level, '#' the rest") {
  CHECK(filter_for_binding("exchange/hgpushes/v2", "#") == "exchange/hgpushes/v2/#");
  CHECK(filter_for_binding("exchange/hgpushes/v2", "integration/autoland") ==
        "exchange/hgpushes/v2/integration%2Fautoland");
  CHECK(filter_for_binding("exchange/tc/v1", "route.index.*.#") ==
        "exchange/tc/v1/route/index/+/#");
  CHECK(filter_for_binding("exchange/taskcluster-queue/v1/task-completed",
                           "route.index.project.mozci.classification.#") ==
        "exchange/taskcluster-queue/v1/task-completed/route/index/project/mozci/classification/#");
  CHECK(filter_for_binding("exchange/taskcluster-queue/v1/task-pending", "primary.*.*.#") ==
        "exchange/taskcluster-queue/v1/task-pending/primary/+/+/#");
  CHECK(filter_for_binding("exchange/bugzilla/v1", "bug.modify:priority") ==
        "exchange/bugzilla/v1/bug/modify:priority");
  CHECK(filter_for_binding("exchange/hgpushes/v2", "") == "exchange/hgpushes/v2");
  CHECK(filter_for_binding("exchange/o/n", "*") == "exchange/o/n/+");
  // Only whole words are wildcards; inside a word '*' is literal and '#' is encoded.
  CHECK(filter_for_binding("exchange/o/n", "a*.b#.c+") == "exchange/o/n/a*/b%23/c%2B");
}

TEST_CASE("filter_for_binding: a '#' before the last word ends the filter there") {
  CHECK(filter_for_binding("exchange/tc/v1", "a.#.b") == "exchange/tc/v1/a/#");
  CHECK(filter_for_binding("exchange/tc/v1", "#.b") == "exchange/tc/v1/#");
  CHECK(filter_for_binding("exchange/tc/v1", "a.#.#") == "exchange/tc/v1/a/#");
  CHECK(filter_for_binding("exchange/tc/v1", "*.#.*") == "exchange/tc/v1/+/#");
}

TEST_CASE("filter_for_binding: not an exchange -> nullopt") {
  CHECK_FALSE(filter_for_binding("hgpushes", "#").has_value());
  CHECK_FALSE(filter_for_binding("exchange/hgpushes", "#").has_value());
  CHECK_FALSE(filter_for_binding("exchange/1bad/v2", "#").has_value());
  CHECK_FALSE(filter_for_binding("exchange/hgpushes/v2/", "#").has_value());
  CHECK_FALSE(filter_for_binding("exchange/hgpushes/#", "").has_value());
  CHECK_FALSE(filter_for_binding("", "").has_value());
}

TEST_CASE("describe_topic: one name level, as mapping.js") {
  const Described d = describe_topic("exchange/hgpushes/v2/integration%2Fautoland");
  CHECK(d.exchange == "exchange/hgpushes/v2");
  CHECK(d.routing_key == "integration/autoland");
  const Described none = describe_topic("exchange/hgpushes/v2");
  CHECK(none.exchange == "exchange/hgpushes/v2");
  CHECK(none.routing_key == "");
  // A multi-level name read with one level: the rest is taken as routing key.
  const Described tc = describe_topic("exchange/taskcluster-queue/v1/task-completed/primary/x");
  CHECK(tc.exchange == "exchange/taskcluster-queue/v1");
  CHECK(tc.routing_key == "task-completed.primary.x");
  // Lower-case escapes decode as well (another client may have written them).
  CHECK(describe_topic("exchange/o/n/a%2fb").routing_key == "a/b");
  // A trailing '/' is one empty word.
  const Described trailing = describe_topic("exchange/o/n/");
  CHECK(trailing.exchange == "exchange/o/n");
  CHECK(trailing.routing_key == "");
}

TEST_CASE("describe_topic: name_levels 2 (exchange name v1/change-merged)") {
  const Described d = describe_topic("exchange/gerrit/v1/change-merged/qt%2Fqtbase/dev", 2);
  CHECK(d.exchange == "exchange/gerrit/v1/change-merged");
  CHECK(d.routing_key == "qt/qtbase.dev");
  const Described bare = describe_topic("exchange/gerrit/v1/change-merged", 2);
  CHECK(bare.exchange == "exchange/gerrit/v1/change-merged");
  CHECK(bare.routing_key == "");
  const Described tc = describe_topic(
      "exchange/taskcluster-queue/v1/task-completed/route/index/project/mozci/classification/%23",
      2);
  CHECK(tc.exchange == "exchange/taskcluster-queue/v1/task-completed");
  CHECK(tc.routing_key == "route.index.project.mozci.classification.#");
  const Described three = describe_topic("exchange/o/a/b/c/k1/k2", 3);
  CHECK(three.exchange == "exchange/o/a/b/c");
  CHECK(three.routing_key == "k1.k2");
}

TEST_CASE("describe_topic: other topics, or too short ones, are shown raw") {
  struct Case {
    const char* topic;
    size_t name_levels;
  };
  for (const Case c : {Case{"bench/fan", 1}, Case{"$SYS/broker/uptime", 1}, Case{"", 1},
                       Case{"exchange", 1}, Case{"exchange/", 1}, Case{"exchange/o", 1},
                       Case{"exchange/o/", 1}, Case{"exchange//n/k", 1}, Case{"exchangeX/o/n", 1},
                       Case{"exchange/gerrit/v1", 2}, Case{"exchange/gerrit/v1/", 2},
                       Case{"exchange/gerrit//change-merged/k", 2}, Case{"exchange/o/n/k", 0},
                       Case{"queue/gerrit/ci", 1}}) {
    CAPTURE(c.topic);
    CAPTURE(c.name_levels);
    const Described d = describe_topic(c.topic, c.name_levels);
    CHECK(d.exchange == "");
    CHECK(d.routing_key == c.topic);
  }
}

TEST_CASE("topic_owner: the level after exchange/, else empty") {
  CHECK(topic_owner("exchange/hgpushes/v2/try") == "hgpushes");
  CHECK(topic_owner("exchange/taskcluster-queue/v1/task-completed") == "taskcluster-queue");
  CHECK(topic_owner("exchange/gerrit/") == "gerrit");
  CHECK(topic_owner("exchange/gerrit") == "");
  CHECK(topic_owner("exchange//v2") == "");
  CHECK(topic_owner("exchange/") == "");
  CHECK(topic_owner("bench/fan") == "");
  CHECK(topic_owner("queue/gerrit/ci") == "");
  CHECK(topic_owner("") == "");
}

TEST_CASE("samples: every message's exchange and routing key round-trip through a topic") {
  const std::filesystem::path dir = hydrant::test::samples_dir();
  if (!std::filesystem::is_directory(dir)) {
    MESSAGE("no samples at " << dir.string() << " (set HYDRANT_SAMPLES); skipped");
    return;
  }
  simdjson::dom::parser parser;
  size_t pairs = 0;
  // Pulse envelopes carry _meta.exchange and _meta.routing_key (hgpushes, mozillapulse).
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".json") continue;
    CAPTURE(entry.path().string());
    const simdjson::padded_string json(hydrant::test::read_sample(entry.path()));
    simdjson::dom::element doc;
    REQUIRE(parser.parse(json).get(doc) == simdjson::SUCCESS);
    std::string_view exchange;
    std::string_view key;
    if (doc.at_pointer("/_meta/exchange").get(exchange) != simdjson::SUCCESS ||
        doc.at_pointer("/_meta/routing_key").get(key) != simdjson::SUCCESS) {
      continue;
    }
    check_round_trip(exchange, key);
    ++pairs;
  }
  // Taskcluster messages: {exchange, routes} where routes is the primary routing key.
  std::ifstream lines(dir / "taskcluster-pulse-messages.jsonl");
  for (std::string line; std::getline(lines, line);) {
    const simdjson::padded_string json(line);
    simdjson::dom::element doc;
    REQUIRE(parser.parse(json).get(doc) == simdjson::SUCCESS);
    std::string_view exchange;
    std::string_view key;
    REQUIRE(doc["exchange"].get(exchange) == simdjson::SUCCESS);
    REQUIRE(doc["routes"].get(key) == simdjson::SUCCESS);
    CHECK(name_levels_of(exchange) == 2);
    check_round_trip(exchange, key);
    ++pairs;
  }
  // Gerrit events: a key <project>.<branch> ("qt/qtbase.dev") on exchange gerrit/v1/<type>.
  std::ifstream gerrit(dir / "gerrit-stream-events.jsonl");
  size_t gerrit_pairs = 0;
  for (std::string line; std::getline(gerrit, line);) {
    const simdjson::padded_string json(line);
    simdjson::dom::element doc;
    REQUIRE(parser.parse(json).get(doc) == simdjson::SUCCESS);
    std::string_view type;
    std::string_view project;
    std::string_view branch;
    REQUIRE(doc["type"].get(type) == simdjson::SUCCESS);
    if (doc.at_pointer("/change/project").get(project) != simdjson::SUCCESS ||
        doc.at_pointer("/change/branch").get(branch) != simdjson::SUCCESS) {
      continue;
    }
    const std::string exchange = "exchange/gerrit/v1/" + std::string(type);
    check_round_trip(exchange, std::string(project) + "." + std::string(branch));
    ++gerrit_pairs;
  }
  pairs += gerrit_pairs;
  MESSAGE(pairs << " sample exchange/routing-key pairs");
  CHECK(gerrit_pairs > 0);
  CHECK(pairs >= 91 + 3);
}
