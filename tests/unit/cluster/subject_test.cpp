// Topic <-> subject encoding (cluster/subject.hpp): readable, reversible, one-to-one, and every
// subject valid for NATS.
#include <doctest.h>

#include <random>
#include <string>

#include "cluster/subject.hpp"

using namespace hydrant::cluster;

namespace {

// What NATS accepts as a published subject: non-empty tokens, no white space or wildcards.
bool valid_subject(const std::string& s) {
  if (s.empty() || s.front() == '.' || s.back() == '.' || s.find("..") != std::string::npos) return false;
  for (unsigned char c : s) {
    if (c == '*' || c == '>' || c <= ' ' || c == 0x7f) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("exchange topics stay readable") {
  CHECK(subject_of_topic("hydrant", "exchange/gerrit/v1/change-merged") ==
        "hydrant.x.exchange.gerrit.v1.change-merged");
  CHECK(subject_of_topic("p", "exchange/taskcluster-queue/v1/task_completed/a.b") ==
        "p.x.exchange.taskcluster-queue.v1.task_5Fcompleted.a_2Eb");
  CHECK(subject_of_topic("p", "a//b/") == "p.x.a._.b._");
  CHECK(subject_of_topic("p", "") == "p.x._");
  CHECK(subject_of_topic("p", "sp ace/*/>/ü") == "p.x.sp_20ace._2A._3E._C3_BC");
}

TEST_CASE("every byte a level may hold comes back, and the subject is a valid one") {
  std::string level;
  for (int b = 1; b < 256; ++b) {
    if (b != '/' && b != '+' && b != '#') level += static_cast<char>(b);
  }
  for (const std::string& topic : {level, "x/" + level + "/y", std::string("/"), std::string("a/")}) {
    const std::string subject = subject_of_topic("hydrant", topic);
    CHECK(valid_subject(subject));
    const auto back = topic_of_subject("hydrant", subject);
    REQUIRE(back);
    CHECK(*back == topic);
  }
  std::mt19937 rng(15);
  for (int i = 0; i < 2000; ++i) {
    std::string topic;
    const int length = static_cast<int>(rng() % 24);
    for (int j = 0; j < length; ++j) {
      const char alphabet[] = "ab/_.-Z9 *>%\xc3\xbc/";
      topic += alphabet[rng() % (sizeof alphabet - 1)];
    }
    const std::string subject = subject_of_topic("q", topic);
    CHECK(valid_subject(subject));
    const auto back = topic_of_subject("q", subject);
    REQUIRE(back);
    CHECK(*back == topic);
  }
}

TEST_CASE("subjects that are no encoding of ours are refused") {
  CHECK_FALSE(topic_of_subject("hydrant", "other.x.a"));          // another prefix
  CHECK_FALSE(topic_of_subject("hydrant", "hydrant.y.a"));
  CHECK_FALSE(topic_of_subject("hydrant", "hydrant.x"));          // no level
  CHECK_FALSE(topic_of_subject("hydrant", "hydrant.x.a_2e"));     // lower-case hex
  CHECK_FALSE(topic_of_subject("hydrant", "hydrant.x.a_41"));     // 'A' is never escaped
  CHECK_FALSE(topic_of_subject("hydrant", "hydrant.x.a_2F"));     // '/' inside a level
  CHECK_FALSE(topic_of_subject("hydrant", "hydrant.x.a_2"));      // cut short
  CHECK_FALSE(topic_of_subject("hydrant", "hydrant.x.a_"));
  CHECK_FALSE(topic_of_subject("hydrant", "hydrant.x.a..b"));     // empty token
  CHECK_FALSE(topic_of_subject("hydrant", "hydrant.x.a_00"));     // NUL
  CHECK(topic_of_subject("hydrant", "hydrant.x._") == std::string());
}

TEST_CASE("MQTT filters map onto subject filters level by level") {
  CHECK(subject_filter_of("hydrant", "exchange/gerrit/#") == "hydrant.x.exchange.gerrit.>");
  CHECK(subject_filter_of("hydrant", "exchange/+/v1/+") == "hydrant.x.exchange.*.v1.*");
  CHECK(subject_filter_of("hydrant", "#") == "hydrant.x.>");
  CHECK(subject_filter_of("hydrant", "a.b/c d") == "hydrant.x.a_2Eb.c_20d");
}
