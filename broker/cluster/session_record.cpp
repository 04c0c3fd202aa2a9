// Session records in the engine's sessions bucket. See session_record.hpp.
#include "cluster/session_record.hpp"

#include "store/record_io.hpp"
#include "util/hex.hpp"

namespace hydrant::cluster {

namespace {
constexpr uint8_t kFormat = 1;  // the first byte: a record of a later format is not misread
}

std::string encode_session_record(const SessionRecord& r) {
  using store::put;
  using store::put_string;
  std::string out;
  put(out, kFormat);
  put_string(out, r.node);
  put(out, r.session.incarnation);
  put(out, static_cast<uint8_t>(r.session.version));
  put(out, r.session.expiry_interval);
  put(out, r.session.cursor);
  put(out, r.offline_since_ms);
  put(out, static_cast<uint8_t>(r.ended));
  put_string(out, r.session.will);
  put(out, r.session.will_delay);
  put(out, static_cast<uint32_t>(r.session.subscriptions.size()));
  for (const auto& [filter, sub] : r.session.subscriptions) {
    put_string(out, filter);
    put(out, store::pack(sub.options));
    put(out, sub.subscription_id);
    put(out, sub.start);
  }
  return out;
}

std::optional<SessionRecord> decode_session_record(std::string_view data) {
  store::Reader in{data};
  if (in.get<uint8_t>() != kFormat) return std::nullopt;
  SessionRecord r;
  r.node = std::string(in.get_string());
  r.session.incarnation = in.get<uint64_t>();
  const auto version = in.get<uint8_t>();
  if (version != 3 && version != 4 && version != 5) return std::nullopt;
  r.session.version = static_cast<codec::ProtocolVersion>(version);
  r.session.expiry_interval = in.get<uint32_t>();
  r.session.cursor = in.get<uint64_t>();
  r.offline_since_ms = in.get<int64_t>();
  r.ended = in.get<uint8_t>() != 0;
  r.session.will = std::string(in.get_string());
  r.session.will_delay = in.get<uint32_t>();
  const auto count = in.get<uint32_t>();
  for (uint32_t i = 0; i < count && in.ok; ++i) {
    std::string filter(in.get_string());
    store::StoredSubscription sub;
    sub.options = store::unpack(in.get<uint8_t>());
    sub.subscription_id = in.get<uint32_t>();
    sub.start = in.get<uint64_t>();
    r.session.subscriptions.emplace(std::move(filter), sub);
  }
  if (!in.ok || !in.data.empty()) return std::nullopt;
  return r;
}

std::string session_key(std::string_view client_id) {
  return client_id.empty() ? "_" : util::to_hex(client_id);
}

std::optional<std::string> client_id_of_key(std::string_view key) {
  if (key == "_") return std::string();
  return util::from_hex(key);
}

}  // namespace hydrant::cluster
