// The libwebsockets side of the bridge: the protocol table ("http" for files and the API,
// "mqtt" and "mqttv3.1" for MQTT over WebSocket), the mounts, and the callbacks that turn lws
// events into WebSocketBridge calls.
#pragma once

#include <libwebsockets.h>

#include <string>

namespace hydrant::bridge {

const lws_protocols* protocols();

// The mounts of every vhost: every path goes to the "http" callback (the API paths and the
// viewer's files at "/").
struct MountTable {
  std::string web_root;
  lws_http_mount files{};
  lws_http_mount api{};
  lws_http_mount metrics{};
  lws_http_mount healthz{};
};
void fill_mounts(MountTable& table);

}  // namespace hydrant::bridge
