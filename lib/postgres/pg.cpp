#include "pg.hpp"

#include <cstdlib>
#include <utility>

namespace useradmin::pg {

namespace {

// SQLSTATE classes after which the server or the connection is the
// problem, not the statement: 08 connection exception, 53 insufficient
// resources, 57 operator intervention (shutdown, cannot connect now).
bool isUnavailable(std::string_view sqlstate) noexcept {
  return sqlstate.size() == 5 &&
         (sqlstate.substr(0, 2) == "08" || sqlstate.substr(0, 2) == "53" || sqlstate.substr(0, 2) == "57");
}

std::string trimmed(const char* message) {
  std::string s = message == nullptr ? "" : message;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

bool isRetryable(std::string_view sqlstate) noexcept { return sqlstate == "40001" || sqlstate == "40P01"; }

Params& Params::text(std::string_view value) {
  values_.emplace_back(std::string(value));
  return *this;
}
Params& Params::integer(std::int64_t value) {
  values_.emplace_back(std::to_string(value));
  return *this;
}
Params& Params::boolean(bool value) {
  values_.emplace_back(value ? "t" : "f");
  return *this;
}
Params& Params::null() {
  values_.emplace_back(std::nullopt);
  return *this;
}
Params& Params::optText(const std::optional<std::string>& value) {
  values_.push_back(value);
  return *this;
}
Params& Params::optTime(const std::optional<Timestamp>& value) {
  if (value) return integer(toMillis(*value));
  return null();
}

std::vector<const char*> Params::pointers() const {
  std::vector<const char*> out;
  out.reserve(values_.size());
  for (const auto& v : values_) out.push_back(v ? v->c_str() : nullptr);
  return out;
}

std::string arrayLiteral(const std::vector<std::optional<std::string>>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i != 0) out += ',';
    if (!values[i]) {
      out += "NULL";
      continue;
    }
    out += '"';
    for (const char ch : *values[i]) {
      if (ch == '"' || ch == '\\') out += '\\';
      out += ch;
    }
    out += '"';
  }
  out += '}';
  return out;
}

ResultSet& ResultSet::operator=(ResultSet&& other) noexcept {
  if (this != &other) {
    PQclear(r_);
    r_ = other.r_;
    other.r_ = nullptr;
  }
  return *this;
}

std::string ResultSet::text(int row, int column) const {
  return std::string(PQgetvalue(r_, row, column), static_cast<std::size_t>(PQgetlength(r_, row, column)));
}

std::optional<std::string> ResultSet::optText(int row, int column) const {
  if (isNull(row, column)) return std::nullopt;
  return text(row, column);
}

std::int64_t ResultSet::integer(int row, int column) const {
  return std::strtoll(PQgetvalue(r_, row, column), nullptr, 10);
}

bool ResultSet::boolean(int row, int column) const { return PQgetvalue(r_, row, column)[0] == 't'; }

std::optional<Timestamp> ResultSet::optTime(int row, int column) const {
  if (isNull(row, column)) return std::nullopt;
  return timestampFromMillis(integer(row, column));
}

std::int64_t ResultSet::affected() const {
  const char* n = PQcmdTuples(r_);
  return n == nullptr || *n == '\0' ? 0 : std::strtoll(n, nullptr, 10);
}

Result<std::unique_ptr<Connection>> Connection::open(const std::string& conninfo) {
  PGconn* c = PQconnectdb(conninfo.c_str());
  if (c == nullptr) return Error::internal("libpq could not allocate a connection");
  if (PQstatus(c) != CONNECTION_OK) {
    std::string why = trimmed(PQerrorMessage(c));
    PQfinish(c);
    return Error::unavailable("cannot connect to PostgreSQL: " + why);
  }
  // Notices (e.g. "relation already exists, skipping") are not for stderr.
  PQsetNoticeProcessor(
      c, [](void*, const char*) {}, nullptr);
  return std::unique_ptr<Connection>(new Connection(c));
}

Connection::~Connection() { PQfinish(c_); }

Status Connection::prepare(const std::vector<const Sql*>& statements) {
  for (const Sql* sql : statements) {
    auto r = check(PQprepare(c_, sql->name, sql->text, 0, nullptr), std::string("preparing ") + sql->name);
    if (!r) return std::move(r).error();
  }
  return okStatus();
}

Result<ResultSet> Connection::run(const Sql& sql, const Params& params, std::string_view what) {
  const auto values = params.pointers();
  return check(PQexecPrepared(c_, sql.name, params.size(), values.data(), nullptr, nullptr, 0), what);
}

Result<ResultSet> Connection::exec(const char* sql, std::string_view what) { return check(PQexec(c_, sql), what); }

bool Connection::inTransaction() const { return PQtransactionStatus(c_) != PQTRANS_IDLE; }

bool Connection::reset() {
  PQreset(c_);
  return PQstatus(c_) == CONNECTION_OK;
}

std::string Connection::quoteIdentifier(std::string_view name) const {
  char* quoted = PQescapeIdentifier(c_, name.data(), name.size());
  if (quoted == nullptr) return "\"\"";
  std::string out = quoted;
  PQfreemem(quoted);
  return out;
}

Result<ResultSet> Connection::check(PGresult* r, std::string_view what) {
  ResultSet owned(r);
  const ExecStatusType status = r == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(r);
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return owned;
  const char* state = r == nullptr ? nullptr : PQresultErrorField(r, PG_DIAG_SQLSTATE);
  const std::string sqlstate = state == nullptr ? "" : state;
  std::string message = trimmed(r != nullptr ? PQresultErrorMessage(r) : PQerrorMessage(c_));
  if (message.empty()) message = trimmed(PQerrorMessage(c_));
  std::string detail = std::string(what) + ": " + message;
  if (!sqlstate.empty()) detail += " (SQLSTATE " + sqlstate + ")";
  if (isRetryable(sqlstate)) {
    retry_flag_ = true;
    return Error::unavailable(detail);
  }
  if (isUnavailable(sqlstate) || broken()) return Error::unavailable(detail);
  return Error::internal(detail);
}

}  // namespace useradmin::pg
