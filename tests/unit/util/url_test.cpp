// redact_url_credentials: what logs show of an engine URL.
#include <doctest.h>

#include "util/url.hpp"

using hydrant::util::redact_url_credentials;

TEST_CASE("redact_url_credentials hides the user information, nothing else") {
  CHECK(redact_url_credentials("nats://alice:s3cret@10.0.0.1:4222") == "nats://***@10.0.0.1:4222");
  CHECK(redact_url_credentials("tls://token@[::1]:4222") == "tls://***@[::1]:4222");
  CHECK(redact_url_credentials("nats://10.0.0.1:4222") == "nats://10.0.0.1:4222");
  CHECK(redact_url_credentials("nats://h:1/path@x") == "nats://h:1/path@x");  // '@' after the host
  CHECK(redact_url_credentials("not a url") == "not a url");
  CHECK(redact_url_credentials("") == "");
}
