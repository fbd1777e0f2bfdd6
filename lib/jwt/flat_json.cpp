#include "flat_json.hpp"

#include <algorithm>
#include <limits>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/error.hpp>
#include <boost/json/parse_options.hpp>

namespace useradmin::detail {
namespace {

using boost::json::error_code;
using boost::json::string_view;

// SAX handler for boost::json::basic_parser. The parser guarantees well-formed
// event sequences; this handler only shapes them and enforces object-ness and
// unique keys.
class FlatHandler {
 public:
  static constexpr std::size_t max_object_size = std::numeric_limits<std::size_t>::max();
  static constexpr std::size_t max_array_size = std::numeric_limits<std::size_t>::max();
  static constexpr std::size_t max_key_size = std::numeric_limits<std::size_t>::max();
  static constexpr std::size_t max_string_size = std::numeric_limits<std::size_t>::max();

  explicit FlatHandler(FlatObject* out) : out_(out) {}

  FlatJsonError problem() const noexcept { return problem_; }

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }

  bool on_object_begin(error_code& ec) {
    if (!value(JsonField::Type::object, ec)) return false;
    frames_.push_back(Frame{true, {}});
    return true;
  }
  bool on_object_end(std::size_t, error_code& ec) {
    bool duplicate = false;
    if (frames_.size() == 1) {
      // The top level's keys are the members' keys: no copy needed.
      std::vector<std::string_view> keys;
      keys.reserve(out_->members.size());
      for (const auto& member : out_->members) keys.emplace_back(member.first);
      duplicate = hasDuplicate(keys);
    } else {
      duplicate = hasDuplicate(frames_.back().keys);
    }
    if (duplicate) return fail(FlatJsonError::duplicate_key, ec);
    frames_.pop_back();
    return true;
  }
  bool on_array_begin(error_code& ec) {
    if (!value(JsonField::Type::array, ec)) return false;
    frames_.push_back(Frame{false, {}});
    return true;
  }
  bool on_array_end(std::size_t, error_code&) {
    frames_.pop_back();
    return true;
  }

  bool on_key_part(string_view s, std::size_t, error_code&) {
    key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(string_view s, std::size_t, error_code&) {
    key_.append(s.data(), s.size());
    if (frames_.size() == 1) {
      pending_key_ = std::move(key_);
    } else {
      frames_.back().keys.push_back(key_);
    }
    key_.clear();
    return true;
  }

  bool on_string_part(string_view s, std::size_t, error_code&) {
    text_.append(s.data(), s.size());
    return true;
  }
  bool on_string(string_view s, std::size_t, error_code& ec) {
    text_.append(s.data(), s.size());
    if (!value(JsonField::Type::string, ec)) return false;
    if (frames_.size() == 1) {
      out_->members.back().second.text = std::move(text_);
    } else if (inTopLevelArray()) {
      out_->members.back().second.strings.push_back(std::move(text_));
    }
    text_.clear();
    return true;
  }

  bool on_number_part(string_view, error_code&) { return true; }
  bool on_int64(std::int64_t i, string_view, error_code& ec) {
    if (!value(JsonField::Type::number, ec)) return false;
    if (frames_.size() == 1) {
      auto& field = out_->members.back().second;
      field.number = static_cast<double>(i);
      field.integer = i;
      field.is_integer = true;
    }
    return true;
  }
  bool on_uint64(std::uint64_t u, string_view, error_code& ec) {
    if (!value(JsonField::Type::number, ec)) return false;
    if (frames_.size() == 1) {
      auto& field = out_->members.back().second;
      field.number = static_cast<double>(u);
      // Only values above INT64_MAX reach on_uint64; they stay inexact.
    }
    return true;
  }
  bool on_double(double d, string_view, error_code& ec) {
    if (!value(JsonField::Type::number, ec)) return false;
    if (frames_.size() == 1) out_->members.back().second.number = d;
    return true;
  }
  bool on_bool(bool b, error_code& ec) {
    if (!value(JsonField::Type::boolean, ec)) return false;
    if (frames_.size() == 1) out_->members.back().second.boolean = b;
    return true;
  }
  bool on_null(error_code& ec) { return value(JsonField::Type::null, ec); }

  bool on_comment_part(string_view, error_code&) { return true; }
  bool on_comment(string_view, error_code&) { return true; }

 private:
  struct Frame {
    bool is_object;
    std::vector<std::string> keys;
  };

  bool fail(FlatJsonError problem, error_code& ec) {
    problem_ = problem;
    ec = boost::json::error::syntax;  // any error stops the parser; problem_ says which
    return false;
  }

  // Small objects (every real JWT) are checked pairwise; big ones are sorted,
  // so a hostile object with thousands of keys still costs O(n log n).
  template <class Key>
  static bool hasDuplicate(std::vector<Key>& keys) {
    constexpr std::size_t kPairwiseLimit = 16;
    if (keys.size() <= kPairwiseLimit) {
      for (std::size_t i = 0; i < keys.size(); ++i) {
        for (std::size_t j = i + 1; j < keys.size(); ++j) {
          if (keys[i] == keys[j]) return true;
        }
      }
      return false;
    }
    std::sort(keys.begin(), keys.end());
    return std::adjacent_find(keys.begin(), keys.end()) != keys.end();
  }

  // True while inside an array that is itself a top-level member's value.
  bool inTopLevelArray() const noexcept { return frames_.size() == 2 && !frames_[1].is_object; }

  // Every value (scalar or container start) passes through here.
  bool value(JsonField::Type type, error_code& ec) {
    if (frames_.empty()) {
      return type == JsonField::Type::object ? true : fail(FlatJsonError::not_object, ec);
    }
    if (frames_.size() == 1) {
      JsonField field;
      field.type = type;
      out_->members.emplace_back(std::move(pending_key_), std::move(field));
      pending_key_.clear();
    } else if (inTopLevelArray() && type != JsonField::Type::string) {
      out_->members.back().second.only_strings = false;
    }
    return true;
  }

  FlatObject* out_;
  std::vector<Frame> frames_;
  std::string key_;
  std::string pending_key_;
  std::string text_;
  FlatJsonError problem_ = FlatJsonError::none;
};

}  // namespace

const JsonField* FlatObject::find(std::string_view key) const noexcept {
  for (const auto& member : members) {
    if (member.first == key) return &member.second;
  }
  return nullptr;
}

const char* describe(FlatJsonError error) noexcept {
  switch (error) {
    case FlatJsonError::none: return "ok";
    case FlatJsonError::syntax: return "not valid JSON";
    case FlatJsonError::not_object: return "not a JSON object";
    case FlatJsonError::duplicate_key: return "duplicate key in JSON object";
    case FlatJsonError::too_deep: return "JSON nested too deeply";
  }
  return "not valid JSON";
}

FlatJsonError parseFlatObject(std::string_view json, std::size_t max_depth, FlatObject& out) {
  out.members.clear();
  out.members.reserve(16);
  boost::json::parse_options options;
  options.max_depth = max_depth;
  options.allow_comments = false;
  options.allow_trailing_commas = false;
  options.allow_invalid_utf8 = false;
  boost::json::basic_parser<FlatHandler> parser(options, &out);
  error_code ec;
  const std::size_t used = parser.write_some(false, json.data(), json.size(), ec);
  if (ec) {
    if (parser.handler().problem() != FlatJsonError::none) return parser.handler().problem();
    if (ec == boost::json::error::too_deep) return FlatJsonError::too_deep;
    return FlatJsonError::syntax;
  }
  if (used != json.size()) return FlatJsonError::syntax;  // trailing data
  return FlatJsonError::none;
}

}  // namespace useradmin::detail
