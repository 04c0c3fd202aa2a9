// ContextHolder: the ServerContext that new TLS connections start with, swappable at run time
// (certificate reload on SIGHUP). Workers take a reference per accepted connection; a reload
// swaps in a new context only once it has loaded completely, so a bad file on reload never leaves
// the listener without a certificate (and never fails open): the old one keeps serving.
// Connections already running keep the context they started with (Stream holds its own reference).
//
// Thread-safe: current() from any worker, reload() from the thread that handles SIGHUP.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "tls/server_context.hpp"

namespace hydrant::tls {

class ContextHolder {
 public:
  explicit ContextHolder(std::shared_ptr<const ServerContext> initial) : current_(std::move(initial)) {}

  // The context for a connection accepted now. Takes a short lock and one reference count.
  std::shared_ptr<const ServerContext> current() const {
    std::lock_guard lock(mutex_);
    return current_;
  }

  // Loads the files (blocking file I/O; call it off the workers' loops). On success the new
  // context serves every later connection; on failure nothing changes. Returns load()'s result
  // either way, for the log line.
  LoadResult reload(const std::string& cert_chain_file, const std::string& key_file) {
    LoadResult loaded = ServerContext::load(cert_chain_file, key_file);
    if (loaded.ok()) {
      std::shared_ptr<const ServerContext> old;  // freed after the lock is released
      std::lock_guard lock(mutex_);
      old = std::exchange(current_, loaded.context);
    }
    return loaded;
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const ServerContext> current_;
};

}  // namespace hydrant::tls
