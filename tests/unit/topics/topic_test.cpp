// Topic name / filter validation, $share parsing and single-filter matching (MQTT 5.0 4.7, 4.8).
#include "topics/topic.hpp"

#include <doctest.h>

#include <string_view>

using hydrant::ReasonCode;
using namespace hydrant::topics;

TEST_CASE("validate_topic_name") {
  for (std::string_view ok : {"a", "a/b", "/", "//", "a//b", "/a", "a/", "$SYS/broker", " ",
                              "sport/tennis/player1", "$share/g/a", "a$b", "\xc3\xa9/x"}) {
    CAPTURE(ok);
    CHECK(validate_topic_name(ok).ok());
  }
  for (std::string_view bad : {"", "+", "#", "a/+", "a/#", "a+b", "a#", "+/a", "sport/tennis#"}) {
    CAPTURE(bad);
    const auto r = validate_topic_name(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.code() == ReasonCode::TopicNameInvalid);
    CHECK(std::string_view(r.error().context).size() > 0);
  }
}

TEST_CASE("validate_topic_filter: plain filters") {
  for (std::string_view ok :
       {"#", "+", "a", "a/#", "a/+/b", "+/+", "/+", "+/", "//", "/#", "+/#", "$SYS/#", "$SYS/+",
        "sport/tennis/player1/#", "sport/+", "sport/tennis/+", "+/tennis/#", "a//#",
        "$share",           // no '/' after it: an ordinary filter
        "$sharex/g/a",      // not the "$share/" prefix
        "a/$share/g/b"}) {  // the prefix only counts at the start
    CAPTURE(ok);
    CHECK(validate_topic_filter(ok).ok());
  }
  for (std::string_view bad : {"", "a#", "#a", "a/#/b", "#/a", "#/#", "a/b#", "+a", "a+",
                               "a/+b", "a/b+/c", "sport/tennis#", "sport/tennis/#/ranking", "++",
                               "##", "+#"}) {
    CAPTURE(bad);
    const auto r = validate_topic_filter(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.code() == ReasonCode::TopicFilterInvalid);
    CHECK(std::string_view(r.error().context).size() > 0);
  }
}

TEST_CASE("validate_topic_filter: shared subscriptions") {
  for (std::string_view ok : {"$share/g/a", "$share/g/#", "$share/g/+", "$share/g/a/b/+/#",
                              "$share/group-1/sport/tennis", "$share/g//", "$share/g/$SYS/#",
                              "$share/g$/x", "$share/$share/x"}) {
    CAPTURE(ok);
    CHECK(validate_topic_filter(ok).ok());
  }
  for (std::string_view bad : {"$share/", "$share/g", "$share//x", "$share//", "$share/g/",
                               "$share/g+/x", "$share/+/x", "$share/#/x", "$share/g#/x",
                               "$share/g/a#", "$share/g/#/a", "$share/g/a+"}) {
    CAPTURE(bad);
    const auto r = validate_topic_filter(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.code() == ReasonCode::TopicFilterInvalid);
  }
}

TEST_CASE("parse_shared") {
  SUBCASE("shared") {
    auto s = parse_shared("$share/g/a/b");
    REQUIRE(s.has_value());
    CHECK(s->group == "g");
    CHECK(s->filter == "a/b");
    s = parse_shared("$share/consumers/#");
    REQUIRE(s.has_value());
    CHECK(s->group == "consumers");
    CHECK(s->filter == "#");
    s = parse_shared("$share/g//");
    REQUIRE(s.has_value());
    CHECK(s->group == "g");
    CHECK(s->filter == "/");
  }
  SUBCASE("not shared") {
    CHECK_FALSE(parse_shared("a/b").has_value());
    CHECK_FALSE(parse_shared("$share").has_value());
    CHECK_FALSE(parse_shared("$sharex/g/a").has_value());
    CHECK_FALSE(parse_shared("#").has_value());
    CHECK_FALSE(parse_shared("$SYS/#").has_value());
  }
}

TEST_CASE("match_filter") {
  struct Case {
    std::string_view filter;
    std::string_view topic;
    bool match;
  };
  const Case cases[] = {
      // Exact levels.
      {"a", "a", true},
      {"a", "b", false},
      {"a/b", "a/b", true},
      {"a/b", "a", false},
      {"a", "a/b", false},
      {"a/b", "a/bc", false},
      {"ab", "a", false},
      // Spec 4.7.1.2 examples for '#'.
      {"sport/tennis/player1/#", "sport/tennis/player1", true},
      {"sport/tennis/player1/#", "sport/tennis/player1/ranking", true},
      {"sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true},
      {"sport/tennis/player1/#", "sport/tennis/player2", false},
      {"sport/tennis/player1/#", "sport/tennis", false},
      {"sport/#", "sport", true},
      {"#", "sport", true},
      {"#", "a/b/c", true},
      {"#", "/", true},
      // Spec 4.7.1.3 examples for '+'.
      {"sport/tennis/+", "sport/tennis/player1", true},
      {"sport/tennis/+", "sport/tennis/player2", true},
      {"sport/tennis/+", "sport/tennis/player1/ranking", false},
      {"sport/+", "sport", false},
      {"sport/+", "sport/", true},
      {"+", "sport", true},
      {"+/+", "/finance", true},
      {"/+", "/finance", true},
      {"+", "/finance", false},
      {"+/tennis/#", "sport/tennis/player1", true},
      {"+/tennis/#", "sport/tennis", true},
      {"+/tennis/#", "sport/golf", false},
      // Empty levels.
      {"a//b", "a//b", true},
      {"a/+/b", "a//b", true},
      {"a/b", "a//b", false},
      {"/", "/", true},
      {"+/+", "/", true},
      {"+", "/", false},
      {"//", "//", true},
      {"/#", "/", true},
      {"/#", "/a/b", true},
      {"/#", "a", false},
      {"a/#", "a/", true},
      {"a/+", "a/", true},
      {"a/", "a", false},
      {"a", "a/", false},
      {"+/#", "a", true},
      {"+/#", "/", true},
      {"a/+/#", "a", false},
      {"a/+/#", "a/b", true},
      // $-topics [MQTT-4.7.2-1].
      {"#", "$SYS", false},
      {"#", "$SYS/broker/clients", false},
      {"+/monitor/Clients", "$SYS/monitor/Clients", false},
      {"+", "$SYS", false},
      {"+/#", "$SYS/x", false},
      {"$SYS/#", "$SYS/monitor/Clients", true},
      {"$SYS/#", "$SYS", true},
      {"$SYS/monitor/+", "$SYS/monitor/Clients", true},
      {"$SYS/+", "$SYS/x", true},
      {"a/#", "a/$x", true},
      {"a/+", "a/$x", true},
      {"$", "$", true},
      {"x/#", "$SYS/x", false},
      // Wildcard characters inside a filter are only wildcards as whole levels; valid filters
      // never contain them otherwise, so no further cases here.
  };
  for (const Case& c : cases) {
    CAPTURE(c.filter);
    CAPTURE(c.topic);
    CHECK(match_filter(c.filter, c.topic) == c.match);
  }
}
