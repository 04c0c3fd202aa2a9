// Self-check of the history reader's parsing (history.hpp): HTTP/1.1 answers cut off a byte
// stream (Content-Length and chunked), and the members of a page it follows.
#include <doctest.h>

#include <string>

#include "history.hpp"

using loadgen::cut_response;
using loadgen::Page;
using loadgen::parse_page;

TEST_CASE("history: an answer with Content-Length, whole or in pieces") {
  const std::string one = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nContent-Length: 5\r\n\r\nhello";
  std::string in = one + one.substr(0, 20);
  int status = 0;
  std::string body;
  CHECK(cut_response(in, status, body) == 1);
  CHECK(status == 200);
  CHECK(body == "hello");
  CHECK(in == one.substr(0, 20));
  CHECK(cut_response(in, status, body) == 0);  // the second one is not complete yet
  in += one.substr(20);
  CHECK(cut_response(in, status, body) == 1);
  CHECK(in.empty());
}

TEST_CASE("history: a chunked answer, and malformed ones") {
  std::string in = "HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
  int status = 0;
  std::string body;
  std::string part = in.substr(0, in.size() - 3);
  CHECK(cut_response(part, status, body) == 0);
  CHECK(cut_response(in, status, body) == 1);
  CHECK(status == 400);
  CHECK(body == "abcde");
  CHECK(in.empty());
  std::string no_length = "HTTP/1.1 200 OK\r\n\r\nxyz";
  CHECK(cut_response(no_length, status, body) == -1);
  std::string not_http = "SSH-2.0-OpenSSH\r\n\r\n";
  CHECK(cut_response(not_http, status, body) == -1);
}

TEST_CASE("history: a page's messages, next and more") {
  Page p;
  REQUIRE(parse_page(R"({"epoch":"00000000000000ab","messages":[)"
                     R"({"position":"00000000000000ab-1","sequence":1,"payload":{"seq":1}},)"
                     R"({"position":"00000000000000ab-2","sequence":2,"payload":"x"}],)"
                     R"("next":"00000000000000ab-2","more":true,"complete":true})", p));
  CHECK(p.messages == 2);
  CHECK(p.next == "00000000000000ab-2");
  CHECK(p.more);
  CHECK(p.complete);
  REQUIRE(parse_page(R"({"epoch":"e","messages":[],"next":null,"more":false,"complete":false,"gap":"g"})", p));
  CHECK(p.messages == 0);
  CHECK(p.next.empty());
  CHECK_FALSE(p.more);
  CHECK_FALSE(p.complete);
  CHECK_FALSE(parse_page(R"({"status":400,"error":"bad request"})", p));
}
