// Files the store must refuse without writing to them: not a database, a
// damaged header, a truncated or garbled database.
#include <filesystem>

#include <catch2/catch.hpp>

#include "sqlite/sqlite_test_support.hpp"

using namespace useradmin;
using namespace useradmin::test;

namespace {

// A real store file with enough users to span many pages, checkpointed
// into the main file (the WAL is gone after the last connection closes).
std::string makeDatabase(const TempDir& dir, const std::string& name) {
  const auto path = dir.file(name);
  auto store = openOrThrow(sqliteOptions(path));
  if (!store->seed(datasetWithSuspended("usr_page_filler_", 3000))) throw std::runtime_error("seed failed");
  return path;
}

std::size_t pageSize(const std::string& bytes) {
  // Header bytes 16-17: big-endian page size (1 means 65536).
  const auto size = (static_cast<unsigned char>(bytes[16]) << 8) | static_cast<unsigned char>(bytes[17]);
  return size == 1 ? 65536u : static_cast<std::size_t>(size);
}

// Opens `path`, expects a refusal mentioning `words`, and that the file kept its bytes.
void expectRefusedUntouched(const std::string& path, const std::string& words) {
  const std::string before = readBytes(path);
  auto store = openSqliteStore(sqliteOptions(path));
  REQUIRE_FALSE(store);
  CHECK(store.error().code == ErrorCode::internal);
  INFO(store.error().detail);
  CHECK(store.error().detail.find(words) != std::string::npos);
  CHECK(store.error().detail.find("untouched") != std::string::npos);
  CHECK(readBytes(path) == before);
}

}  // namespace

TEST_CASE("sqlite corruption: a text file is refused and left as it was", "[sqlite][corrupt]") {
  TempDir dir;
  const auto path = dir.file("notes.txt");
  writeBytes(path, "These are my notes, not a database.\nSecond line.\n");
  expectRefusedUntouched(path, "not a SQLite database");
  CHECK_FALSE(std::filesystem::exists(path + "-wal"));
  // A short binary file too.
  writeBytes(path, std::string("\x00\x01\x02\x03", 4));
  expectRefusedUntouched(path, "not a SQLite database");
}

TEST_CASE("sqlite corruption: a database with a damaged header is refused", "[sqlite][corrupt]") {
  TempDir dir;
  const auto path = makeDatabase(dir, "header.db");
  std::string bytes = readBytes(path);
  bytes.replace(0, 16, "Not SQLite 3!!!!");
  writeBytes(path, bytes);
  expectRefusedUntouched(path, "not a SQLite database");
}

TEST_CASE("sqlite corruption: a truncated database is refused", "[sqlite][corrupt]") {
  TempDir dir;
  const auto path = makeDatabase(dir, "truncated.db");
  std::string bytes = readBytes(path);
  REQUIRE(bytes.size() > 20 * pageSize(bytes));
  std::filesystem::resize_file(path, bytes.size() / 2);
  expectRefusedUntouched(path, "corrupt");
}

TEST_CASE("sqlite corruption: a database with garbled pages is refused", "[sqlite][corrupt]") {
  TempDir dir;
  const auto path = makeDatabase(dir, "garbled.db");
  std::string bytes = readBytes(path);
  const std::size_t page = pageSize(bytes);
  REQUIRE(bytes.size() > 20 * page);
  // Pages 6-8 (1-based) hold table or index B-tree pages: make them noise.
  for (std::size_t i = 5 * page; i < 8 * page; ++i) bytes[i] = static_cast<char>((i * 131 + 7) % 251);
  writeBytes(path, bytes);
  expectRefusedUntouched(path, "corrupt");
}

TEST_CASE("sqlite corruption: an intact database passes the same checks", "[sqlite][corrupt]") {
  TempDir dir;
  const auto path = makeDatabase(dir, "fine.db");
  auto store = openSqliteStore(sqliteOptions(path));
  REQUIRE(store);
  CHECK((*store)->findUser("usr_page_filler_2999").value().has_value());
}
