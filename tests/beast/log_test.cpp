// The log line formats: text as the server always wrote it, JSON with ts,
// level, msg and fields, escaped so that no input forges a line or a key.
#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>

#include "useradmin/beast/access_log.hpp"
#include "useradmin/beast/log.hpp"

using namespace useradmin;
using namespace useradmin::beast;

namespace {

Timestamp at(std::int64_t millis) { return timestampFromMillis(millis); }

boost::json::object parseLine(const std::string& line) {
  REQUIRE(!line.empty());
  REQUIRE(line.back() == '\n');
  REQUIRE(line.find('\n') == line.size() - 1);  // one line
  boost::system::error_code ec;
  auto value = boost::json::parse(line.substr(0, line.size() - 1), ec);
  REQUIRE_FALSE(ec);
  REQUIRE(value.is_object());
  return value.as_object();
}

}  // namespace

TEST_CASE("log: text lines are PROGRAM: MESSAGE, warnings as before", "[beast][log]") {
  std::string out;
  formatLogLine(LogFormat::text, "useradmin-server", at(0), LogLevel::info, "stopped", {}, out);
  CHECK(out == "useradmin-server: stopped\n");
  out.clear();
  formatLogLine(LogFormat::text, "useradmin-server", at(0), LogLevel::warn,
                "cannot raise the open-file limit to the hard limit", {}, out);
  CHECK(out == "useradmin-server: warning: cannot raise the open-file limit to the hard limit\n");
  out.clear();
  formatLogLine(LogFormat::text, "useradmin", at(0), LogLevel::error, "accept failed", {{"errno", "24", true}}, out);
  CHECK(out == "useradmin: accept failed errno=24\n");
}

TEST_CASE("log: JSON lines carry ts, level, msg and the fields, escaped", "[beast][log]") {
  std::string out;
  formatLogLine(LogFormat::json, "ignored", at(1'764'650'000'123), LogLevel::error, "bad \"thing\"\nnext line",
                {{"path", "/a\"b\\c\x01\xff"}, {"count", "3", true}, {"msg", "a field named msg"}}, out);
  const auto line = parseLine(out);
  CHECK(out.rfind("{\"ts\":\"2025-12-02T04:33:20.123Z\",\"level\":\"error\",\"msg\":", 0) == 0);
  CHECK(line.at("msg") == "bad \"thing\"\nnext line");
  CHECK(line.at("level") == "error");
  CHECK(line.at("count") == 3);
  CHECK(line.at("_msg") == "a field named msg");  // cannot replace the line's own msg
  // Bytes >= 0x80 are escaped one by one (\u00ff), control bytes too.
  CHECK(line.at("path") == "/a\"b\\c\x01\xc3\xbf");
  for (const auto level : {LogLevel::debug, LogLevel::info, LogLevel::warn, LogLevel::error}) {
    out.clear();
    formatLogLine(LogFormat::json, "", at(0), level, "x", {}, out);
    CHECK(parseLine(out).at("level") == toString(level));
  }
}

TEST_CASE("log: the access record in JSON has the log line shape; text is unchanged", "[beast][log]") {
  AccessRecord r;
  r.time = at(1'764'650'000'123);
  r.request_id = "rid-1";
  r.method = "PATCH";
  r.path = "/api/users/usr_1/reactivate";
  r.status = 500;
  r.latency_us = 42;
  r.client = "127.0.0.1";
  r.actor = "usr_root";
  r.reason = "internal";
  r.detail = "disk \"full\"";
  std::string json;
  formatAccessRecord(r, LogFormat::json, json);
  const auto line = parseLine(json);
  CHECK(json.rfind("{\"ts\":\"2025-12-02T04:33:20.123Z\",\"level\":\"error\",\"msg\":\"request\",\"request_id\":\"rid-1\"",
                   0) == 0);
  CHECK(line.at("status") == 500);
  CHECK(line.at("detail") == "disk \"full\"");
  r.status = 404;
  json.clear();
  formatAccessRecord(r, LogFormat::json, json);
  CHECK(parseLine(json).at("level") == "info");

  std::string text, plain;
  formatAccessRecord(r, LogFormat::text, text);
  formatAccessRecord(r, plain);
  CHECK(text == plain);
  CHECK(text.rfind("{\"time\":\"2025-12-02T04:33:20.123Z\",\"request_id\":\"rid-1\"", 0) == 0);
}

TEST_CASE("log: a Logger with a sink hands it whole lines", "[beast][log]") {
  std::vector<std::string> lines;
  Logger logger(LogFormat::json, "p", [&](std::string_view line) { lines.emplace_back(line); });
  logger.info("listening", {{"url", "http://127.0.0.1:1"}});
  logger.error("boom");
  REQUIRE(lines.size() == 2);
  CHECK(parseLine(lines[0]).at("url") == "http://127.0.0.1:1");
  CHECK(parseLine(lines[1]).at("level") == "error");
  CHECK(logger.format() == LogFormat::json);
}
