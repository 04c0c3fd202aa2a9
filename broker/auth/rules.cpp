// The access rules; see rules.hpp for the table they implement.
#include "auth/rules.hpp"

#include "pulse/mapping.hpp"

namespace hydrant::auth {


namespace {

// The first level of a topic or filter, and the rest after its '/'.
std::string_view first_level(std::string_view s, std::string_view* rest = nullptr) {
  const auto slash = s.find('/');
  if (rest) *rest = slash == std::string_view::npos ? std::string_view{} : s.substr(slash + 1);
  return s.substr(0, slash);
}

}  // namespace

std::string_view queue_owner(std::string_view client_id) {
  if (!client_id.starts_with(kQueuePrefix)) return {};
  std::string_view rest = client_id.substr(kQueuePrefix.size());
  std::string_view name;
  const std::string_view owner = first_level(rest, &name);
  if (owner.size() == rest.size() || name.empty() || !pulse::valid_client_id(owner)) return {};
  return owner;
}

Decision check_client_id(const Principal* who, std::string_view client_id, bool persistent,
                         bool& keep_session, IdClaim claim) {
  keep_session = false;
  if (client_id.starts_with(kQueuePrefix)) {
    const std::string_view owner = queue_owner(client_id);
    if (owner.empty()) {
      return {ReasonCode::ClientIdentifierNotValid, "a queue is named queue/<clientId>/<name>"};
    }
    if (!who || who->user != owner) {
      return {ReasonCode::NotAuthorized, "this queue belongs to another user"};
    }
    keep_session = persistent;
    return {};
  }
  if (claim == IdClaim::Other) {
    // Refused before any session is touched: the owner's connection stays.
    return {ReasonCode::NotAuthorized, "this client identifier belongs to another user"};
  }
  // Persistent sessions are queues: named after their owner, so nobody else can take them.
  return {};
}

bool may_resume_session(const Principal* who, std::string_view client_id, IdClaim claim) {
  if (!who) return false;
  if (client_id.starts_with(kQueuePrefix)) return queue_owner(client_id) == who->user;
  return claim == IdClaim::Mine;
}

Decision check_publish_topic(const Principal* who, std::string_view topic) {
  if (!who) return {ReasonCode::NotAuthorized, "anonymous clients may not publish"};
  if (!who->may_publish) return {ReasonCode::NotAuthorized, "this token may only subscribe"};
  std::string_view rest;
  if (first_level(topic, &rest) != "exchange") {
    return {ReasonCode::NotAuthorized, "publish only under exchange/<clientId>/"};
  }
  std::string_view name;
  const std::string_view owner = first_level(rest, &name);
  if (owner != who->user) {
    return {ReasonCode::NotAuthorized, "publish only under your own exchange/<clientId>/"};
  }
  if (name.empty() || first_level(name).empty()) {
    return {ReasonCode::TopicNameInvalid, "topic must name an exchange: exchange/<clientId>/<name>"};
  }
  return {};
}

Decision check_subscribe(const Principal* who, std::string_view filter) {
  std::string_view rest;
  const std::string_view top = first_level(filter, &rest);
  // '#' and '+' at the first level never match $ topics [MQTT-4.7.2-1], and nothing but
  // exchanges is published outside $SYS: such filters reach exchanges only.
  if (top == "exchange" || top == "#" || top == "+") return {};
  if (top == "$SYS") {
    if (first_level(rest) == "broker") return {};
    if (filter.starts_with(kNoticesPrefix)) {
      const std::string_view owner = first_level(filter.substr(kNoticesPrefix.size()));
      if (who && owner == who->user) return {};
      return {ReasonCode::NotAuthorized, "notices are for their owner only"};
    }
    return {ReasonCode::NotAuthorized, "public statistics are under $SYS/broker/"};
  }
  return {ReasonCode::NotAuthorized, "subscribe to exchange/... (or #)"};
}

}  // namespace hydrant::auth
