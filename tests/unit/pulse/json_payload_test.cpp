// The exchange payload check: one UTF-8 JSON value, else a short reason. Real payloads inline
// (so CI without the shared samples still runs them), then every file and JSON-lines line of
// $HYDRANT_SAMPLES (default tests/integration/samples) when that directory exists.
#include <doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "samples.hpp"
#include "pulse/json_payload.hpp"

using hydrant::pulse::json_payload_error;

namespace {

constexpr std::string_view kNotJson = "payload is not JSON";
constexpr std::string_view kNotUtf8 = "payload is not UTF-8";
constexpr std::string_view kEmpty = "payload is empty";

// The reason as a string_view ("" for valid), so CHECK prints it.
std::string_view reason(std::string_view payload) {
  const char* r = json_payload_error(payload);
  return r == nullptr ? std::string_view{} : std::string_view{r};
}


// samples/gerrit-ref-updated.json, compact (qt/qtqa test data, a real 2019 event).
constexpr std::string_view kGerritRefUpdated =
    R"({"submitter":{"name":"Ulf Hermann","email":"ulf.hermann@qt.io","username":"ulherman"},)"
    R"("refUpdate":{"oldRev":"c060f6e765a2f155b38158f2ed73eac4aad37e02",)"
    R"("newRev":"17007265a1fcab2a7325c48d0c509393139d28b7","refName":"refs/staging/dev",)"
    R"("project":"qt/qtdeclarative"},"type":"ref-updated","eventCreatedOn":1561535490})";

// samples/bugzilla-simple.json as sent: indented, with the mozillapulse envelope.
constexpr std::string_view kBugzillaSimple = R"({
  "payload": {
    "id": 1629704,
    "delta_ts": "2020-10-16T06:26:21"
  },
  "_meta": {
    "exchange": "exchange/bugzilla/simple",
    "routing_key": "1629704",
    "serializer": "json",
    "sent": "2020-10-15T23:26:22-07:00"
  }
}
)";

// The start of samples/gerrit-change-merged.json: non-ASCII UTF-8 ("Jüri"), numbers as strings.
constexpr std::string_view kGerritChangeMerged =
    "{\"type\":\"change-merged\",\"change\":{\"project\":\"qt/qtbase\",\"branch\":\"dev\","
    "\"number\":\"235677\",\"subject\":\"QTextureFileData: Fix build with -no-opengl\","
    "\"owner\":{\"name\":\"J\xc3\xbcri Valdmann\",\"email\":\"juri.valdmann@qt.io\"}}}";

}  // namespace

TEST_CASE("json_payload_error: real payloads are valid") {
  CHECK(reason(kGerritRefUpdated) == "");
  CHECK(reason(kBugzillaSimple) == "");
  CHECK(reason(kGerritChangeMerged) == "");
}

TEST_CASE("json_payload_error: any JSON value is a document") {
  for (const char* json : {"1", "-0.5e3", "\"text\"", "true", "null", "[]", "{}", " [1, 2] \n",
                           "\"\\u00fc\\n\"", "\"\\u0000\"", "\"\\ud83d\\ude00\"",
                           "\"\xf0\x9f\x98\x80\""}) {
    CAPTURE(json);
    CHECK(reason(json) == "");
  }
}

TEST_CASE("json_payload_error: empty or only whitespace") {
  CHECK(reason("") == kEmpty);
  CHECK(reason(" ") == kEmpty);
  CHECK(reason(" \t\r\n  ") == kEmpty);
}

TEST_CASE("json_payload_error: not JSON") {
  for (const std::string_view bad :
       {kGerritRefUpdated.substr(0, kGerritRefUpdated.size() - 1),  // truncated
        kGerritRefUpdated.substr(0, 40), std::string_view(R"({"a":1}x)"),  // trailing garbage
        std::string_view(R"({"a":1}{"b":2})"), std::string_view("1 2"),
        std::string_view("[1,]"), std::string_view("{'a':1}"), std::string_view("tru"),
        std::string_view("NaN"), std::string_view("01"), std::string_view("\"\\x\""),
        std::string_view("Change 235677 merged"), std::string_view("\"unclosed"),
        std::string_view("\f1"),         // form feed is not JSON whitespace
        std::string_view("\"a\x01" "b\""),  // control characters in strings must be escaped
        std::string_view("\"a\0b\"", 5), std::string_view("\xef\xbb\xbf{}")}) {  // BOM
    CAPTURE(bad);
    CHECK(reason(bad) == kNotJson);
  }
}

TEST_CASE("json_payload_error: not UTF-8") {
  for (const char* bad : {"\"\xff\"",                // never valid in UTF-8
                          "\"\xc0\xaf\"",            // overlong '/'
                          "\"\xe0\x80\xaf\"",        // overlong, three bytes
                          "\"\xed\xa0\x80\"",        // a surrogate encoded as UTF-8
                          "\"\xf4\x90\x80\x80\"",    // above U+10FFFF
                          "\"J\xfcri\"",             // Latin-1, not UTF-8
                          "\"\xc3\"",                // truncated sequence
                          "{\"name\":\"J\xc3\xbcri\",\"x\":\"\x80\"}"}) {
    CAPTURE(bad);
    CHECK(reason(bad) == kNotUtf8);
  }
}

// simdjson 3.0.1 decodes \u escapes while parsing and refuses a surrogate escape that is not a
// high surrogate followed by a low one: such a string has no UTF-8 form. JSON's grammar (RFC
// 8259) allows it, but the result is not valid Unicode, so refusing it fits "UTF-8 JSON".
TEST_CASE("json_payload_error: a lone surrogate escape is refused as not JSON") {
  CHECK(reason("\"\\ud800\"") == kNotJson);
  CHECK(reason("\"\\udc00\"") == kNotJson);
  CHECK(reason("\"\\ud800\\u0041\"") == kNotJson);
  CHECK(reason("\"\\ude00\\ud83d\"") == kNotJson);  // the pair reversed
}

// simdjson 3.0.1's DOM parser also refuses numbers it cannot hold: integers outside int64 and
// uint64, and numbers beyond double's range. RFC 8259 lets parsers set such limits (section 9);
// JSON.stringify never writes them, but a Python publisher with a huge int would be refused.
TEST_CASE("json_payload_error: numbers simdjson cannot represent are refused as not JSON") {
  CHECK(reason("18446744073709551615") == "");   // UINT64_MAX
  CHECK(reason("-9223372036854775808") == "");   // INT64_MIN
  CHECK(reason("1e-400") == "");                 // underflows to 0
  CHECK(reason("0.12345678901234567890123456789") == "");
  CHECK(reason("18446744073709551616") == kNotJson);
  CHECK(reason("-9223372036854775809") == kNotJson);
  CHECK(reason("[1e400]") == kNotJson);
}

TEST_CASE("json_payload_error: nesting up to simdjson's 1024 levels") {
  const std::string ok = std::string(1024, '[') + std::string(1024, ']');
  CHECK(reason(ok) == "");
  const std::string deep = std::string(1025, '[') + std::string(1025, ']');
  CHECK(reason(deep) == kNotJson);
}

TEST_CASE("json_payload_error: only the view is read, not the bytes after it") {
  const std::string buffer = R"([1,2,3]garbage)";
  CHECK(reason(std::string_view(buffer).substr(0, 7)) == "");
  CHECK(reason(std::string_view(buffer).substr(0, 5)) == kNotJson);  // "[1,2,"
}

TEST_CASE("json_payload_error: the reused buffer keeps no trace of a longer payload") {
  // After a long valid payload, its tail stays in the thread's padded copy; a shorter payload
  // that is a prefix of it must be judged on its own bytes.
  const std::string big = "[\"" + std::string(3000, 'x') + "\",2,3]";
  CHECK(reason(big) == "");
  CHECK(reason(std::string_view(big).substr(0, 10)) == kNotJson);
  CHECK(reason("[1") == kNotJson);
  CHECK(reason("[]") == "");
}

TEST_CASE("json_payload_error: a payload larger than the parser's first capacity") {
  std::string big = "[";
  for (int i = 0; i < 100000; ++i) {
    big += kGerritRefUpdated;
    big += ',';
  }
  big += "null]";
  REQUIRE(big.size() > 30'000'000);
  CHECK(reason(big) == "");
  big[big.size() / 2] = '\xff';
  CHECK(reason(big) == kNotUtf8);
  CHECK(reason(kGerritRefUpdated) == "");  // small again, after the growth
}

TEST_CASE("json_payload_error: every sample file and JSON-lines line is valid") {
  const std::filesystem::path dir = hydrant::test::samples_dir();
  if (!std::filesystem::is_directory(dir)) {
    MESSAGE("no samples at " << dir.string() << " (set HYDRANT_SAMPLES); skipped");
    return;
  }
  size_t files = 0;
  size_t lines = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::filesystem::path& path = entry.path();
    if (path.extension() == ".json") {
      CAPTURE(path.string());
      CHECK(reason(hydrant::test::read_sample(path)) == "");
      ++files;
    } else if (path.extension() == ".jsonl") {
      std::ifstream in(path, std::ios::binary);
      size_t n = 0;
      for (std::string line; std::getline(in, line);) {
        CAPTURE(path.string());
        CAPTURE(++n);
        CHECK(reason(line) == "");
        ++lines;
      }
    }
  }
  MESSAGE(files << " sample files and " << lines << " JSON-lines messages");
  CHECK(files >= 19);
  CHECK(lines >= 22 + 91);
}
