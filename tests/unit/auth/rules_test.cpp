// The access rules (auth/rules.hpp) as a table: anonymous, a user, a subscribe-only token.
#include <doctest.h>

#include <set>
#include <string>

#include "auth/rules.hpp"

using namespace hydrant;
using namespace hydrant::auth;

namespace {
const Principal kGerrit{"gerrit", true, 0, 1};
const Principal kReader{"gerrit", false, 2000000000, 0};
}  // namespace

TEST_CASE("queue_owner parses queue/<clientId>/<name> only") {
  CHECK(queue_owner("queue/gerrit/reviews") == "gerrit");
  CHECK(queue_owner("queue/gerrit/a/b") == "gerrit");
  CHECK(queue_owner("queue/gerrit/").empty());
  CHECK(queue_owner("queue/gerrit").empty());
  CHECK(queue_owner("queue//x").empty());
  CHECK(queue_owner("queue/9bad/x").empty());
  CHECK(queue_owner("gerrit").empty());
}

TEST_CASE("client identifiers: queues belong to their owner; only queues persist") {
  bool keep = true;
  CHECK(check_client_id(&kGerrit, "queue/gerrit/reviews", true, keep).ok());
  CHECK(keep);
  CHECK(check_client_id(&kGerrit, "queue/bugzilla/x", true, keep).code == ReasonCode::NotAuthorized);
  CHECK(check_client_id(nullptr, "queue/gerrit/reviews", false, keep).code ==
        ReasonCode::NotAuthorized);
  CHECK(check_client_id(&kGerrit, "queue/gerrit", true, keep).code ==
        ReasonCode::ClientIdentifierNotValid);
  // Anything else may connect, but its session does not outlive the connection.
  CHECK(check_client_id(nullptr, "viewer-1", true, keep).ok());
  CHECK_FALSE(keep);
  CHECK(check_client_id(&kGerrit, "gerrit-publisher", true, keep).ok());
  CHECK_FALSE(keep);
  CHECK(check_client_id(&kGerrit, "queue/gerrit/reviews", false, keep).ok());
  CHECK_FALSE(keep);
}

TEST_CASE("publish: only a user, only under its own exchange") {
  CHECK(check_publish_topic(&kGerrit, "exchange/gerrit/v1/change-merged").ok());
  CHECK(check_publish_topic(&kGerrit, "exchange/gerrit/v1").ok());
  CHECK(check_publish_topic(nullptr, "exchange/gerrit/v1").code == ReasonCode::NotAuthorized);
  CHECK(check_publish_topic(&kReader, "exchange/gerrit/v1").code == ReasonCode::NotAuthorized);
  CHECK(check_publish_topic(&kGerrit, "exchange/bugzilla/v1").code == ReasonCode::NotAuthorized);
  CHECK(check_publish_topic(&kGerrit, "exchange/gerrit2/v1").code == ReasonCode::NotAuthorized);
  CHECK(check_publish_topic(&kGerrit, "gerrit/v1").code == ReasonCode::NotAuthorized);
  CHECK(check_publish_topic(&kGerrit, "$SYS/broker/x").code == ReasonCode::NotAuthorized);
  CHECK(check_publish_topic(&kGerrit, "exchange/gerrit").code == ReasonCode::TopicNameInvalid);
  CHECK(check_publish_topic(&kGerrit, "exchange/gerrit/").code == ReasonCode::TopicNameInvalid);
  CHECK(check_publish_topic(&kGerrit, "exchange/gerrit//x").code == ReasonCode::TopicNameInvalid);
}

TEST_CASE("subscribe: exchanges, '#', public $SYS; notices for their owner") {
  for (const char* f : {"exchange/#", "exchange/gerrit/v1/+/x", "#", "+/gerrit/#", "+",
                        "$SYS/broker/#", "$SYS/broker/clients/connected"}) {
    CAPTURE(f);
    CHECK(check_subscribe(nullptr, f).ok());
    CHECK(check_subscribe(&kGerrit, f).ok());
  }
  for (const char* f : {"$SYS/#", "$SYS/+/x", "$SYS", "other", "other/#", "queue/gerrit/x",
                        "$SYS/hydrant/notices/gerrit", "$SYS/hydrant/#"}) {
    CAPTURE(f);
    CHECK(check_subscribe(nullptr, f).code == ReasonCode::NotAuthorized);
  }
  CHECK(check_subscribe(&kGerrit, "$SYS/hydrant/notices/gerrit").ok());
  CHECK(check_subscribe(&kGerrit, "$SYS/hydrant/notices/gerrit/#").ok());
  CHECK(check_subscribe(&kGerrit, "$SYS/hydrant/notices/bugzilla").code == ReasonCode::NotAuthorized);
  CHECK(check_subscribe(&kGerrit, "$SYS/hydrant/notices/+").code == ReasonCode::NotAuthorized);
  CHECK(check_subscribe(&kGerrit, "$SYS/hydrant/notices/#").code == ReasonCode::NotAuthorized);
}

TEST_CASE("client identifiers of registered users (issue 13)") {
  const std::set<std::string, std::less<>> users{"gerrit", "bob", "bob-ci"};
  size_t lookups = 0;
  auto is_user = [&](std::string_view n) {
    ++lookups;
    return users.find(n) != users.end();
  };
  const Principal bob{"bob", true, 0, 1};
  const Principal ci{"bob-ci", true, 0, 1};
  CHECK(claim_of_client_id("gerrit", &kGerrit, is_user) == IdClaim::Mine);
  CHECK(claim_of_client_id("gerrit-hg", &kGerrit, is_user) == IdClaim::Mine);
  CHECK(claim_of_client_id("gerrit/x-y", &kGerrit, is_user) == IdClaim::Mine);
  CHECK(claim_of_client_id("gerrit", nullptr, is_user) == IdClaim::Other);
  CHECK(claim_of_client_id("gerrit-hg", &bob, is_user) == IdClaim::Other);
  CHECK(claim_of_client_id("gerrit/x", nullptr, is_user) == IdClaim::Other);
  CHECK(claim_of_client_id("gerritx", nullptr, is_user) == IdClaim::Free);
  CHECK(claim_of_client_id("x-gerrit", nullptr, is_user) == IdClaim::Free);
  CHECK(claim_of_client_id("x/gerrit", nullptr, is_user) == IdClaim::Free);
  // Overlapping names: either owner may use what both own, nobody else.
  CHECK(claim_of_client_id("bob-ci-1", &bob, is_user) == IdClaim::Mine);
  CHECK(claim_of_client_id("bob-ci-1", &ci, is_user) == IdClaim::Mine);
  CHECK(claim_of_client_id("bob-ci-1", &kGerrit, is_user) == IdClaim::Other);
  CHECK(claim_of_client_id("bob-x", &ci, is_user) == IdClaim::Other);
  // A hostile identifier costs a bounded number of lookups.
  lookups = 0;
  CHECK(claim_of_client_id(std::string(65535, '-'), nullptr, is_user) == IdClaim::Free);
  CHECK(lookups <= 65);
  // Refused before any session is touched; only owners resume sessions.
  bool keep = false;
  CHECK(check_client_id(nullptr, "gerrit", false, keep, IdClaim::Other).code ==
        ReasonCode::NotAuthorized);
  CHECK_FALSE(may_resume_session(nullptr, "viewer", IdClaim::Free));
  CHECK_FALSE(may_resume_session(&kGerrit, "viewer", IdClaim::Free));
  CHECK(may_resume_session(&kGerrit, "gerrit-hg", IdClaim::Mine));
  CHECK(may_resume_session(&kGerrit, "queue/gerrit/q", IdClaim::Free));
  CHECK_FALSE(may_resume_session(&bob, "queue/gerrit/q", IdClaim::Free));
}

namespace {
// The registered users of the ownership tests: two names that overlap.
bool is_user(std::string_view name) { return name == "bob" || name == "bob-ci" || name == "gerrit"; }
}  // namespace

TEST_CASE("issue 13: a client identifier U, U-... or U/... belongs to user U") {
  const Principal bob{"bob", true, 0, 1};
  const Principal bob_ci{"bob-ci", true, 0, 1};
  CHECK(claim_of_client_id("bob", &bob, is_user) == IdClaim::Mine);
  CHECK(claim_of_client_id("bob-gerrit", &bob, is_user) == IdClaim::Mine);
  CHECK(claim_of_client_id("bob/x", &bob, is_user) == IdClaim::Mine);
  CHECK(claim_of_client_id("bob", nullptr, is_user) == IdClaim::Other);
  CHECK(claim_of_client_id("bob-gerrit", nullptr, is_user) == IdClaim::Other);
  CHECK(claim_of_client_id("bob/x", &kGerrit, is_user) == IdClaim::Other);
  // Not a boundary: "bobby" and "bob.x" are nobody's.
  CHECK(claim_of_client_id("bobby", nullptr, is_user) == IdClaim::Free);
  CHECK(claim_of_client_id("bob.x", nullptr, is_user) == IdClaim::Free);
  CHECK(claim_of_client_id("viewer-1", nullptr, is_user) == IdClaim::Free);
  CHECK(claim_of_client_id("-bob", nullptr, is_user) == IdClaim::Free);
  // Overlapping names: "bob-ci-x" is bob's and bob-ci's; either may use it, nobody else.
  CHECK(claim_of_client_id("bob-ci-x", &bob, is_user) == IdClaim::Mine);
  CHECK(claim_of_client_id("bob-ci-x", &bob_ci, is_user) == IdClaim::Mine);
  CHECK(claim_of_client_id("bob-ci", &bob_ci, is_user) == IdClaim::Mine);
  CHECK(claim_of_client_id("bob-ci-x", &kGerrit, is_user) == IdClaim::Other);
  // After the first '/' no user name can follow: "x/bob" is nobody's.
  CHECK(claim_of_client_id("x/bob-1", nullptr, is_user) == IdClaim::Free);
}

TEST_CASE("issue 13: the lookups stay bounded for a long identifier") {
  std::string id(65535, '-');
  int calls = 0;
  auto counting = [&](std::string_view) { ++calls; return false; };
  CHECK(claim_of_client_id(id, nullptr, counting) == IdClaim::Free);
  CHECK(calls <= 65);
}

TEST_CASE("issue 13: another user's identifier is refused; only owners resume sessions") {
  bool keep = true;
  CHECK(check_client_id(nullptr, "gerrit-x", false, keep, IdClaim::Other).code ==
        ReasonCode::NotAuthorized);
  CHECK(check_client_id(&kGerrit, "gerrit-x", false, keep, IdClaim::Mine).ok());
  CHECK_FALSE(may_resume_session(nullptr, "viewer-1", IdClaim::Free));
  CHECK_FALSE(may_resume_session(&kGerrit, "viewer-1", IdClaim::Free));
  CHECK(may_resume_session(&kGerrit, "gerrit-x", IdClaim::Mine));
  CHECK(may_resume_session(&kGerrit, "queue/gerrit/reviews", IdClaim::Free));
  CHECK_FALSE(may_resume_session(&kGerrit, "queue/bugzilla/x", IdClaim::Free));
}
