// A strict parser of the Prometheus text exposition format 0.0.4, for the
// metrics tests: every line must be a HELP, a TYPE or a sample line; names,
// label names, label escapes and values are checked; each family is
// declared (TYPE) before its samples, once, and its samples are contiguous;
// series are unique; histograms have le-sorted cumulative buckets ending in
// +Inf equal to _count, plus _sum. Problems are collected, not thrown.
#ifndef USERADMIN_TESTS_BEAST_PROMETHEUS_TEXT_HPP
#define USERADMIN_TESTS_BEAST_PROMETHEUS_TEXT_HPP

#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace useradmin::test {

struct PromSample {
  std::string name;
  std::map<std::string, std::string> labels;  // unescaped values
  double value = 0;
};

struct PromFamily {
  std::string name;
  std::string type;
  std::string help;
  std::vector<PromSample> samples;
};

struct PromText {
  std::vector<PromFamily> families;
  std::vector<std::string> problems;  // empty = the text is valid

  const PromFamily* family(const std::string& name) const {
    for (const auto& f : families)
      if (f.name == name) return &f;
    return nullptr;
  }
  // The value of the sample `name` whose labels include `labels`; nullopt
  // when there is none (or several).
  std::optional<double> value(const std::string& name, const std::map<std::string, std::string>& labels = {}) const {
    std::optional<double> found;
    int matches = 0;
    for (const auto& f : families)
      for (const auto& s : f.samples) {
        if (s.name != name) continue;
        bool all = true;
        for (const auto& [k, v] : labels) {
          auto it = s.labels.find(k);
          if (it == s.labels.end() || it->second != v) all = false;
        }
        if (all) {
          found = s.value;
          ++matches;
        }
      }
    return matches == 1 ? found : std::nullopt;
  }
};

namespace prom_detail {

inline bool isNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':'; }
inline bool isNameChar(char c) { return isNameStart(c) || (c >= '0' && c <= '9'); }
inline bool validMetricName(const std::string& n) {
  if (n.empty() || !isNameStart(n[0])) return false;
  for (char c : n)
    if (!isNameChar(c)) return false;
  return true;
}
inline bool validLabelName(const std::string& n) {
  if (n.empty() || !isNameStart(n[0]) || n[0] == ':') return false;
  for (char c : n)
    if (!isNameChar(c) || c == ':') return false;
  return n.rfind("__", 0) != 0;
}

// Go's ParseFloat syntax as Prometheus accepts it, plus +Inf/-Inf/NaN.
inline std::optional<double> parseValue(const std::string& text) {
  if (text == "+Inf" || text == "Inf") return HUGE_VAL;
  if (text == "-Inf") return -HUGE_VAL;
  if (text == "NaN") return std::nan("");
  if (text.empty()) return std::nullopt;
  for (char c : text)
    if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-')) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size()) return std::nullopt;
  return v;
}

}  // namespace prom_detail

inline PromText parsePrometheusText(const std::string& text) {
  using namespace prom_detail;
  PromText out;
  auto problem = [&](std::size_t line_no, const std::string& what, const std::string& line) {
    out.problems.push_back("line " + std::to_string(line_no) + ": " + what + ": " + line);
  };
  if (text.empty() || text.back() != '\n') out.problems.push_back("the text does not end with a newline");

  std::set<std::string> declared;  // families with a TYPE line
  std::set<std::string> helped;
  std::set<std::string> closed;  // families whose samples ended
  std::set<std::string> series;
  PromFamily* current = nullptr;

  // The family a sample name belongs to: itself, or for histograms its base.
  auto familyOf = [&](const std::string& sample) -> PromFamily* {
    for (auto& f : out.families) {
      if (f.name == sample) return &f;
      if (f.type == "histogram" || f.type == "summary") {
        for (const char* suffix : {"_bucket", "_sum", "_count"})
          if (sample == f.name + suffix) return &f;
      }
    }
    return nullptr;
  };

  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t nl = text.find('\n', pos);
    const std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? text.size() : nl + 1;
    ++line_no;
    if (line.empty()) continue;
    if (line[0] == '#') {
      // "# HELP name text" / "# TYPE name type"; no other comments here.
      const bool help = line.rfind("# HELP ", 0) == 0;
      const bool type = line.rfind("# TYPE ", 0) == 0;
      if (!help && !type) {
        problem(line_no, "a comment that is neither HELP nor TYPE", line);
        continue;
      }
      const std::string rest = line.substr(7);
      const auto space = rest.find(' ');
      const std::string name = rest.substr(0, space);
      const std::string arg = space == std::string::npos ? std::string() : rest.substr(space + 1);
      if (!validMetricName(name)) problem(line_no, "invalid metric name", line);
      if (current != nullptr && current->name != name) closed.insert(current->name);
      if (closed.count(name) != 0) problem(line_no, "family declared again after its samples", line);
      PromFamily* f = nullptr;
      for (auto& existing : out.families)
        if (existing.name == name) f = &existing;
      if (f == nullptr) {
        out.families.push_back(PromFamily{name, "untyped", "", {}});
        f = &out.families.back();
      }
      if (help) {
        if (!helped.insert(name).second) problem(line_no, "second HELP", line);
        // Escapes in HELP: only \\ and \n.
        for (std::size_t i = 0; i < arg.size(); ++i)
          if (arg[i] == '\\' && (i + 1 >= arg.size() || (arg[i + 1] != '\\' && arg[i + 1] != 'n')))
            problem(line_no, "bad escape in HELP", line);
        f->help = arg;
      } else {
        if (!declared.insert(name).second) problem(line_no, "second TYPE", line);
        if (!f->samples.empty()) problem(line_no, "TYPE after samples", line);
        if (arg != "counter" && arg != "gauge" && arg != "histogram" && arg != "summary" && arg != "untyped")
          problem(line_no, "unknown type", line);
        f->type = arg;
      }
      current = f;
      continue;
    }

    // A sample: name[{labels}] value [timestamp]
    PromSample sample;
    std::size_t i = 0;
    while (i < line.size() && isNameChar(line[i])) ++i;
    sample.name = line.substr(0, i);
    if (!validMetricName(sample.name)) {
      problem(line_no, "invalid metric name", line);
      continue;
    }
    bool ok = true;
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (ok && i < line.size() && line[i] != '}') {
        std::size_t start = i;
        while (i < line.size() && isNameChar(line[i])) ++i;
        const std::string label = line.substr(start, i - start);
        if (!validLabelName(label)) ok = false;
        if (i >= line.size() || line[i] != '=') ok = false;
        ++i;
        if (!ok || i >= line.size() || line[i] != '"') {
          ok = false;
          break;
        }
        ++i;
        std::string value;
        bool closed_quote = false;
        while (i < line.size()) {
          const char c = line[i++];
          if (c == '"') {
            closed_quote = true;
            break;
          }
          if (c == '\\') {
            if (i >= line.size()) break;
            const char e = line[i++];
            if (e == '\\') value.push_back('\\');
            else if (e == '"') value.push_back('"');
            else if (e == 'n') value.push_back('\n');
            else {
              ok = false;
              break;
            }
          } else {
            value.push_back(c);
          }
        }
        if (!closed_quote) ok = false;
        if (!sample.labels.emplace(label, value).second) ok = false;  // label repeated
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i >= line.size() || line[i] != '}') ok = false;
      ++i;
    }
    if (!ok) {
      problem(line_no, "malformed labels", line);
      continue;
    }
    if (i >= line.size() || line[i] != ' ') {
      problem(line_no, "no space before the value", line);
      continue;
    }
    std::string rest = line.substr(i + 1);
    std::string value_text = rest.substr(0, rest.find(' '));
    if (rest.find(' ') != std::string::npos) {
      const std::string ts = rest.substr(rest.find(' ') + 1);
      if (ts.empty() || ts.find_first_not_of("-0123456789") != std::string::npos) problem(line_no, "bad timestamp", line);
    }
    const auto value = parseValue(value_text);
    if (!value) {
      problem(line_no, "bad value", line);
      continue;
    }
    sample.value = *value;

    PromFamily* f = familyOf(sample.name);
    if (f == nullptr || declared.count(f->name) == 0) {
      problem(line_no, "sample without a TYPE line before it", line);
      continue;
    }
    if (current != f) {
      if (current != nullptr) closed.insert(current->name);
      if (closed.count(f->name) != 0) problem(line_no, "samples of a family not contiguous", line);
      current = f;
    }
    if (f->type == "histogram") {
      const bool bucket = sample.name == f->name + "_bucket";
      if (sample.name == f->name) problem(line_no, "histogram sample without a suffix", line);
      if (bucket != (sample.labels.count("le") != 0)) problem(line_no, "le label on a non-bucket (or missing)", line);
      if (bucket && !parseValue(sample.labels["le"])) problem(line_no, "le not a number", line);
    }
    std::string key = sample.name + "{";
    for (const auto& [k, v] : sample.labels) key += k + "=" + v + ",";
    if (!series.insert(key).second) problem(line_no, "duplicate series", line);
    f->samples.push_back(std::move(sample));
  }

  // Histograms: per label set (le excluded), buckets sorted by le, cumulative
  // counts non-decreasing, a +Inf bucket equal to _count, and a _sum.
  for (const auto& f : out.families) {
    if (f.type != "histogram") continue;
    struct Series {
      std::vector<std::pair<double, double>> buckets;
      std::optional<double> count, sum;
    };
    std::map<std::map<std::string, std::string>, Series> by_labels;
    for (const auto& s : f.samples) {
      auto labels = s.labels;
      labels.erase("le");
      auto& series_of = by_labels[labels];
      if (s.name == f.name + "_bucket") series_of.buckets.emplace_back(*parseValue(s.labels.at("le")), s.value);
      else if (s.name == f.name + "_count") series_of.count = s.value;
      else if (s.name == f.name + "_sum") series_of.sum = s.value;
    }
    for (const auto& [labels, s] : by_labels) {
      const std::string where = f.name + " (" + std::to_string(labels.size()) + " labels)";
      if (s.buckets.empty() || !std::isinf(s.buckets.back().first)) out.problems.push_back(where + ": no +Inf bucket last");
      for (std::size_t i = 1; i < s.buckets.size(); ++i) {
        if (!(s.buckets[i].first > s.buckets[i - 1].first)) out.problems.push_back(where + ": le not increasing");
        if (s.buckets[i].second < s.buckets[i - 1].second) out.problems.push_back(where + ": buckets not cumulative");
      }
      if (!s.count || !s.sum) out.problems.push_back(where + ": _count or _sum missing");
      else if (!s.buckets.empty() && s.buckets.back().second != *s.count)
        out.problems.push_back(where + ": +Inf bucket != _count");
    }
  }
  return out;
}

}  // namespace useradmin::test

#endif  // USERADMIN_TESTS_BEAST_PROMETHEUS_TEXT_HPP
