// Certificate reload (SIGHUP): after ContextHolder::reload() new connections get the new
// certificate, while a connection that started before keeps working on the old context even
// once nothing but that connection refers to it.
#include <doctest.h>

#include "test_pki.hpp"
#include "tls/context_holder.hpp"
#include "tls/stream.hpp"
#include "tls_peer.hpp"

using namespace hydrant::tls;
using namespace hydrant::tls::test;

TEST_CASE("reload: new connections get the new certificate, old ones keep working") {
  const auto& pki = test_pki();
  ContextHolder holder(ServerContext::load(pki.server_cert, pki.server_key).context);
  REQUIRE(holder.current() != nullptr);

  TcpPair old_sockets;
  Stream old_server(holder.current(), old_sockets.server);
  Client old_client(old_sockets.client);
  REQUIRE(handshake(old_server, old_client) == Io::Ok);
  CHECK(old_client.peer_common_name() == "localhost");

  // Accepted before the reload, first byte after it: the context it was given is the one used.
  TcpPair accepted_sockets;
  Stream accepted_server(holder.current(), accepted_sockets.server);

  const auto reloaded = holder.reload(pki.second_cert, pki.second_key);
  REQUIRE_MESSAGE(reloaded.ok(), reloaded.error);

  TcpPair new_sockets;
  Stream new_server(holder.current(), new_sockets.server);
  Client new_client(new_sockets.client);
  REQUIRE(handshake(new_server, new_client) == Io::Ok);
  CHECK(new_client.peer_common_name() == "hydrant-second");

  Client accepted_client(accepted_sockets.client);
  REQUIRE(handshake(accepted_server, accepted_client) == Io::Ok);
  CHECK(accepted_client.peer_common_name() == "localhost");

  // Only the SSL objects of the old connections hold the first context now.
  int want_writes = 0;
  const auto data = pattern(300000, 11);
  CHECK(echo(old_server, old_sockets.server, old_client, data, want_writes) == data);
  CHECK(echo(new_server, new_sockets.server, new_client, data, want_writes) == data);
}
