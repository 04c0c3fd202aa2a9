// libnats's words for a failed call, with the detail of the last error on the calling thread:
// for the messages of the cluster's start and of its writes to the engine.
#pragma once

#include <nats/nats.h>

#include <string>

namespace hydrant::cluster {

std::string nats_error(natsStatus s);

}  // namespace hydrant::cluster
