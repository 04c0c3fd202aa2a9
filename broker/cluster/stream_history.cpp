// History read from the stream. See stream_history.hpp.
#include "cluster/stream_history.hpp"

#include <nats/nats.h>

#include <algorithm>

#include "cluster/stream_message.hpp"
#include "cluster/subject.hpp"

namespace hydrant::cluster {

namespace {

constexpr int64_t kNanosPerMilli = 1'000'000;
constexpr size_t kMaxFetch = 10000;  // messages one read takes from the engine at most

struct Start {
  jsDeliverPolicy policy = js_DeliverAll;
  uint64_t sequence = 0;  // ByStartSequence
  int64_t time_ns = 0;    // ByStartTime
};

// Up to `max` messages matching `filter` from `start` on, as the stream holds them now.
std::vector<StreamMessage> fetch(jsCtx* js, const Engine& engine, uint64_t epoch,
                                 const std::string& filter, Start start, size_t max) {
  std::vector<StreamMessage> out;
  jsSubOptions options;
  jsSubOptions_Init(&options);
  options.Stream = engine.layout().stream.c_str();
  options.Config.DeliverPolicy = start.policy;
  options.Config.OptStartSeq = start.sequence;
  options.Config.OptStartTime = start.time_ns;
  options.Config.AckPolicy = js_AckNone;
  options.Config.InactiveThreshold = 30'000 * kNanosPerMilli;  // gone even if never deleted
  natsSubscription* sub = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  if (js_PullSubscribe(&sub, js, filter.c_str(), nullptr, nullptr, &options, &jerr) != NATS_OK) return out;
  while (out.size() < max) {
    jsFetchRequest request;
    jsFetchRequest_Init(&request);
    request.Batch = static_cast<int>(std::min<size_t>(max - out.size(), 1000));
    request.NoWait = true;  // what is there now; none: an empty answer at once
    request.Expires = 2000 * kNanosPerMilli;
    natsMsgList list{};
    if (natsSubscription_FetchRequest(&list, sub, &request) != NATS_OK) break;
    const int got = list.Count;
    for (int i = 0; i < got; ++i) {
      auto m = decode_stream_message(list.Msgs[i], engine.options().prefix, engine.options().node_name, epoch);
      if (m) out.push_back(std::move(*m));
    }
    natsMsgList_Destroy(&list);
    if (got < request.Batch) break;  // the stream has no more now
  }
  natsSubscription_Unsubscribe(sub);
  natsSubscription_Destroy(sub);
  return out;
}

std::optional<jsStreamState> stream_state(jsCtx* js, const Engine& engine) {
  jsStreamInfo* info = nullptr;
  if (js_GetStreamInfo(&info, js, engine.layout().stream.c_str(), nullptr, nullptr) != NATS_OK) {
    return std::nullopt;
  }
  const jsStreamState state = info->State;
  jsStreamInfo_Destroy(info);
  return state;
}

// The newest `n` messages matching `filter`: read from windows of growing size before the
// stream's end, so that a narrow filter on a long stream still costs a bounded read.
std::vector<StreamMessage> newest(jsCtx* js, const Engine& engine, uint64_t epoch,
                                  const std::string& filter, size_t n) {
  const auto state = stream_state(js, engine);
  if (!state || state->LastSeq == 0) return {};
  std::vector<StreamMessage> got;
  for (uint64_t window = std::max<uint64_t>(n, 256);; window *= 8) {
    const uint64_t from = state->LastSeq > window ? state->LastSeq - window + 1 : 1;
    got = fetch(js, engine, epoch, filter, {js_DeliverByStartSequence, from, 0}, kMaxFetch);
    if (got.size() >= n || from <= state->FirstSeq || window * 8 > kMaxFetch * 64) break;
  }
  if (got.size() > n) got.erase(got.begin(), got.end() - static_cast<std::ptrdiff_t>(n));
  return got;
}

}  // namespace

store::HistoryPage read_stream_history(jsCtx* js, const Engine& engine, uint64_t epoch,
                                       const store::HistoryQuery& q) {
  store::HistoryPage page;
  // "a/#" also matches "a" in MQTT; a subject filter ending in '>' needs one more level.
  const std::string filter = subject_filter_of(engine.options().prefix, q.filter);
  bool has_after = q.after.has_value();
  if (q.epoch && *q.epoch != epoch) {
    page.complete = false;
    page.gap = "the position is from another epoch: the stream it came from is gone";
    has_after = false;
  }
  std::vector<StreamMessage> found;
  if (q.last) {
    found = newest(js, engine, epoch, filter, std::min(*q.last, q.limit));
  } else {
    Start start;
    if (has_after) start = {js_DeliverByStartSequence, *q.after + 1, 0};
    else if (q.since_ms) start = {js_DeliverByStartTime, 0, *q.since_ms * kNanosPerMilli};
    found = fetch(js, engine, epoch, filter, start, q.limit + 1);
    if (found.size() > q.limit) {
      page.more = true;
      found.resize(q.limit);
    }
    // Retention: what was asked for starts before the oldest message the stream still holds.
    if (page.complete && has_after && (found.empty() || found.front().sequence > *q.after + 1)) {
      if (const auto state = stream_state(js, engine); state && state->FirstSeq > *q.after + 1) {
        page.complete = false;
        page.gap = "messages from that point on are no longer kept (history retention)";
      }
    }
  }
  for (auto& m : found) page.messages.push_back({m.sequence, m.time_ms, std::move(m.msg)});
  page.scanned_to = page.messages.empty() ? q.after.value_or(0) : page.messages.back().sequence;
  return page;
}

void scan_stream(jsCtx* js, const Engine& engine, uint64_t epoch, uint64_t after,
                 const std::function<void(const store::StoredMessage&)>& visit) {
  while (true) {
    auto got = fetch(js, engine, epoch, engine.layout().subjects, {js_DeliverByStartSequence, after + 1, 0},
                     kMaxFetch);
    for (auto& m : got) {
      visit({m.sequence, m.time_ms, std::move(m.msg)});
      after = m.sequence;
    }
    if (got.size() < kMaxFetch) return;
  }
}

}  // namespace hydrant::cluster
