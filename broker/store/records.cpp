// Encoding and applying store records. See records.hpp.
#include "store/records.hpp"

#include <cstring>

#include "store/record_io.hpp"

namespace hydrant::store {

std::string encode_message(const fanout::Message& m) {
  std::string out;
  const auto topic = m.topic();
  const auto props = m.forwarded_properties();
  const auto payload = m.payload();
  out.reserve(9 + topic.size() + props.size() + payload.size());
  out.push_back(static_cast<char>(m.qos() | (m.retain() ? 4 : 0)));
  put(out, static_cast<uint32_t>(topic.size()));
  put(out, static_cast<uint32_t>(topic.size() + props.size()));
  out.append(topic).append(props).append(payload);
  return out;
}

fanout::MessageRef decode_message(std::string_view data, uint64_t sequence) {
  Reader r{data};
  const auto flags = r.get<uint8_t>();
  const auto topic_len = r.get<uint32_t>();
  const auto payload_off = r.get<uint32_t>();
  if (!r.ok || (flags & 3) == 3 || topic_len > payload_off || payload_off > r.data.size()) {
    return nullptr;
  }
  return std::make_shared<const fanout::Message>(std::string(r.data), topic_len, payload_off,
                                                 static_cast<uint8_t>(flags & 3), (flags & 4) != 0,
                                                 0, std::nullopt, sequence);
}

std::string encode_session_open(std::string_view client_id, const StoredSession& s) {
  std::string out;
  put_string(out, client_id);
  put(out, s.incarnation);
  put(out, static_cast<uint8_t>(s.version));
  put(out, s.expiry_interval);
  return out;
}

std::string encode_session_end(std::string_view client_id, uint64_t incarnation) {
  std::string out;
  put_string(out, client_id);
  put(out, incarnation);
  return out;
}

std::string encode_subscribe(std::string_view client_id, std::string_view filter,
                             const StoredSubscription& sub) {
  std::string out;
  put_string(out, client_id);
  put_string(out, filter);
  put(out, pack(sub.options));
  put(out, sub.subscription_id);
  put(out, sub.start);
  return out;
}

std::string encode_unsubscribe(std::string_view client_id, std::string_view filter) {
  std::string out;
  put_string(out, client_id);
  put_string(out, filter);
  return out;
}

std::string encode_cursor(std::string_view client_id, uint64_t cursor) {
  std::string out;
  put_string(out, client_id);
  put(out, cursor);
  return out;
}

namespace {

bool apply_retain(DurableState& state, std::string_view data) {
  auto msg = decode_message(data, 0);
  if (!msg) return false;
  if (msg->payload().empty()) {
    state.retained.erase(std::string(msg->topic()));
  } else {
    state.retained.insert_or_assign(std::string(msg->topic()), std::move(msg));
  }
  return true;
}

bool apply_session_open(DurableState& state, const std::string& client_id, uint64_t sequence, Reader& r) {
  const auto incarnation = r.get<uint64_t>();
  const auto version = r.get<uint8_t>();
  const auto expiry = r.get<uint32_t>();
  if (!r.ok) return false;
  StoredSession& s = state.sessions[client_id];
  if (s.incarnation != (incarnation ? incarnation : sequence)) {
    s = StoredSession{};  // a new session under this client id
    s.incarnation = incarnation ? incarnation : sequence;
  }
  s.version = static_cast<codec::ProtocolVersion>(version);
  s.expiry_interval = expiry;
  return true;
}

bool apply_subscribe(DurableState& state, const std::string& client_id, Reader& r) {
  const std::string filter(r.get_string());
  StoredSubscription sub;
  sub.options = unpack(r.get<uint8_t>());
  sub.subscription_id = r.get<uint32_t>();
  sub.start = r.get<uint64_t>();
  if (!r.ok) return false;
  state.sessions[client_id].subscriptions.insert_or_assign(filter, sub);
  return true;
}

}  // namespace

bool DurableState::apply(Kind kind, uint64_t sequence, std::string_view data) {
  if (kind == Kind::Retain) return apply_retain(*this, data);
  Reader r{data};
  const std::string client_id(r.get_string());
  if (!r.ok) return false;
  const auto session = sessions.find(client_id);
  switch (kind) {
    case Kind::SessionOpen:
      return apply_session_open(*this, client_id, sequence, r);
    case Kind::Subscribe:
      return apply_subscribe(*this, client_id, r);
    case Kind::SessionEnd: {
      const auto incarnation = r.get<uint64_t>();
      if (!r.ok) return false;
      if (session != sessions.end() && session->second.incarnation == incarnation) sessions.erase(session);
      return true;
    }
    case Kind::Unsubscribe: {
      const auto filter = r.get_string();
      if (!r.ok) return false;
      if (session == sessions.end()) return true;
      auto& subscriptions = session->second.subscriptions;
      if (auto f = subscriptions.find(filter); f != subscriptions.end()) subscriptions.erase(f);
      return true;
    }
    case Kind::Cursor: {
      const auto cursor = r.get<uint64_t>();
      if (!r.ok) return false;
      if (session != sessions.end() && cursor > session->second.cursor) session->second.cursor = cursor;
      return true;
    }
    default:
      return false;
  }
}

}  // namespace hydrant::store
