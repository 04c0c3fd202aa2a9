// lws callbacks for the bridge. Each one only finds the WebSocketBridge (the context's user
// pointer) and the connection (the per-session data), and calls it.
#include "bridge/callbacks.hpp"

#include <cstring>

#include "bridge/ws_bridge.hpp"

namespace hydrant::bridge {

namespace {

WebSocketBridge& bridge_of(lws* wsi) {
  return *static_cast<WebSocketBridge*>(lws_context_user(lws_get_context(wsi)));
}

// Per-session data of an MQTT WebSocket: the bridge's connection, null once closed.
struct MqttSlot {
  WebSocketBridge::Connection* conn;
};

// Whether a callback may mean that lws changed what it polls (see WebSocketBridge::run_once):
// every reason but the bookkeeping ones lws asks about on each pass.
void note(lws* wsi, lws_callback_reasons reason) {
  if (!wsi || reason == LWS_CALLBACK_GET_THREAD_ID || reason == LWS_CALLBACK_LOCK_POLL ||
      reason == LWS_CALLBACK_UNLOCK_POLL) {
    return;
  }
  if (auto* bridge = static_cast<WebSocketBridge*>(lws_context_user(lws_get_context(wsi)))) {
    bridge->note_callback();
  }
}

int mqtt_callback(lws* wsi, lws_callback_reasons reason, void* user, void* in, size_t len) {
  auto* slot = static_cast<MqttSlot*>(user);
  note(wsi, reason);
  switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
      return bridge_of(wsi).accept_upgrade(wsi) ? 0 : 1;
    case LWS_CALLBACK_ESTABLISHED: {
      auto& bridge = bridge_of(wsi);
      bridge.touch_clock();
      slot->conn = bridge.open_connection(wsi);
      return slot->conn ? 0 : -1;
    }
    case LWS_CALLBACK_RECEIVE: {
      if (!slot->conn) return -1;
      auto& bridge = bridge_of(wsi);
      bridge.touch_clock();
      return bridge.on_message(*slot->conn, static_cast<const uint8_t*>(in), len,
                               lws_frame_is_binary(wsi), lws_is_first_fragment(wsi));
    }
    case LWS_CALLBACK_SERVER_WRITEABLE: {
      if (!slot->conn) return -1;
      auto& bridge = bridge_of(wsi);
      bridge.touch_clock();
      return bridge.on_writeable(*slot->conn);
    }
    case LWS_CALLBACK_CLOSED:
      if (slot->conn) {
        auto& bridge = bridge_of(wsi);
        bridge.touch_clock();
        bridge.on_closed(*slot->conn);
        slot->conn = nullptr;
      }
      return 0;
    default:
      return 0;
  }
}

int http_callback(lws* wsi, lws_callback_reasons reason, void* user, void* in, size_t len) {
  note(wsi, reason);
  switch (reason) {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
      // lws_cancel_service() from another thread: tasks wait in the inbox. Delivered once per
      // vhost; draining an empty inbox costs nothing.
      bridge_of(wsi).on_wake();
      return 0;
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
      return 1;  // a WebSocket without the mqtt subprotocol
    case LWS_CALLBACK_HTTP:
      return bridge_of(wsi).serve_api(wsi, user);
    case LWS_CALLBACK_HTTP_BODY:
      return bridge_of(wsi).api_body(user, in, len);
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
      return bridge_of(wsi).answer_api(wsi, user);
    case LWS_CALLBACK_HTTP_WRITEABLE:
      return bridge_of(wsi).write_api_body(wsi, user);
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
      WebSocketBridge::release_api_body(user);
      break;
    default:
      break;
  }
  return lws_callback_http_dummy(wsi, reason, user, in, len);
}

// lws keeps a receive buffer of this size for every WebSocket connection and hands longer
// messages over in pieces, which ClientLink reassembles anyway: small keeps idle readers cheap.
constexpr size_t kRxBuffer = 512;
// Without its own value lws also caps each write at the receive buffer's size: one 512-byte
// frame per writeable callback would cut WebSocket fan-out by four. One frame per wake-up, up
// to what on_writeable() hands over.
constexpr size_t kTxPacket = 64 * 1024;

const lws_protocols kProtocols[] = {
    {"http", http_callback, WebSocketBridge::kHttpSessionSize, 0, 0, nullptr, 0},
    {"mqtt", mqtt_callback, sizeof(MqttSlot), kRxBuffer, 1, nullptr, kTxPacket},
    {"mqttv3.1", mqtt_callback, sizeof(MqttSlot), kRxBuffer, 2, nullptr, kTxPacket},
    {nullptr, nullptr, 0, 0, 0, nullptr, 0},  // end of list
};

void callback_mount(lws_http_mount& m, const char* path, const lws_http_mount* next) {
  m.mount_next = next;
  m.mountpoint = path;
  m.origin = "http";  // the protocol whose callback answers
  m.origin_protocol = LWSMPRO_CALLBACK;
  m.mountpoint_len = static_cast<unsigned char>(std::strlen(path));
}

}  // namespace

const lws_protocols* protocols() { return kProtocols; }

void fill_mounts(MountTable& t) {
  callback_mount(t.healthz, "/healthz", nullptr);
  callback_mount(t.metrics, "/metrics", &t.healthz);
  callback_mount(t.api, "/api", &t.metrics);
  // The files too: the bridge checks method and real path before lws opens anything
  // (WebSocketBridge::serve_file), which an LWSMPRO_FILE mount does not.
  callback_mount(t.files, "/", &t.api);
}

}  // namespace hydrant::bridge
