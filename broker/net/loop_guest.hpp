// LoopGuest: another library's event loop run on a TCP worker's thread (the WebSocket bridge's
// libwebsockets, on libuv). The worker polls the guest's descriptor with its own sockets and
// runs the guest once at the end of every loop pass, before it waits. What the worker routes to
// the guest in a pass is therefore written in the same pass — as for the worker's own
// connections — instead of waking another thread once per publish.
#pragma once

namespace hydrant::net {

class LoopGuest {
 public:
  virtual ~LoopGuest() = default;
  // On the worker's thread, before its first pass.
  virtual void attach() = 0;
  // Readable when the guest has events to run (level-triggered).
  virtual int poll_fd() const = 0;
  // Milliseconds until the guest's next timer; -1: none, 0: work is pending.
  virtual int timeout_ms() = 0;
  // Runs what is ready without blocking; every pass, before the worker waits.
  virtual void run_once() = 0;
  // The worker's loop ended: close the guest's connections, on the worker's thread.
  virtual void detach() = 0;
};

}  // namespace hydrant::net
