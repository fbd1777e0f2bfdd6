// SqliteStoreFactory: the shared behavioural suite on a SQLite file on disk.
// Included by store_factories.hpp (after StoreHandle) when the sqlite
// component is built.
#ifndef USERADMIN_TESTS_STORE_SQLITE_STORE_FACTORY_HPP
#define USERADMIN_TESTS_STORE_SQLITE_STORE_FACTORY_HPP

#include <stdlib.h>  // mkdtemp

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>

#include "useradmin/policy.hpp"
#include "useradmin/sqlite/sqlite_store.hpp"

namespace useradmin::test {

// A fresh directory under the system temporary directory, removed with
// everything in it when the object dies.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "useradmin-sqlite-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + pattern);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // A path inside the directory, as a string for SqliteStoreOptions.
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Options for a store on `path` under `policy`, as the factory uses them.
inline SqliteStoreOptions sqliteOptions(const std::string& path, const Policy& policy = defaultPolicy()) {
  SqliteStoreOptions options;
  options.path = path;
  options.policy = &policy;
  return options;
}

// Opens a store or throws (test code only: a failure here fails the test).
inline std::unique_ptr<UserStore> openOrThrow(const SqliteStoreOptions& options) {
  auto store = openSqliteStore(options);
  if (!store) throw std::runtime_error("openSqliteStore(" + options.path + ") failed: " + store.error().detail);
  return std::move(store).value();
}

struct SqliteStoreFactory {
  static constexpr const char* kName = "sqlite";
  // A new database file (default options: WAL, synchronous=FULL, group
  // commit) in its own directory, deleted when the handle's resources die;
  // StoreHandle destroys the store before its resources.
  static StoreHandle make(const Policy& policy) {
    auto dir = std::make_shared<TempDir>();
    auto store = openOrThrow(sqliteOptions(dir->file("store.db"), policy));
    return {std::move(dir), std::move(store)};
  }
};

}  // namespace useradmin::test

#endif
