// A strict, single-pass reader for the JSON objects in a JWT (header and
// claims): it keeps each top-level member reduced to what the checks need and
// refuses duplicate keys at any depth, which a DOM parser would silently merge.
#ifndef USERADMIN_JWT_FLAT_JSON_HPP
#define USERADMIN_JWT_FLAT_JSON_HPP

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "useradmin/export.hpp"

namespace useradmin::detail {

/// One top-level member value.
struct JsonField {
  enum class Type : std::uint8_t { string, number, boolean, null, array, object };
  Type type = Type::null;
  /// `string`: the (unescaped) value.
  std::string text;
  /// `number`: the value; `integer` holds it exactly when `is_integer`
  /// (a JSON integer that fits in int64).
  double number = 0;
  std::int64_t integer = 0;
  bool is_integer = false;
  /// `boolean`: the value.
  bool boolean = false;
  /// `array`: its string elements in order, and whether every element was a
  /// string (nested values and other types clear it).
  std::vector<std::string> strings;
  bool only_strings = true;
};

/// The top-level members of a JSON object, in document order, keys unique.
struct FlatObject {
  std::vector<std::pair<std::string, JsonField>> members;

  /// The member named `key`, or null.
  const JsonField* find(std::string_view key) const noexcept;
};

enum class FlatJsonError {
  none,
  /// Not one valid JSON text (RFC 8259, UTF-8; no comments, trailing commas
  /// or trailing data).
  syntax,
  /// Valid JSON, but not an object.
  not_object,
  /// Some object (at any depth) repeats a key.
  duplicate_key,
  /// Nested deeper than allowed.
  too_deep,
};

/// A short description of an error, for log details.
USERADMIN_API const char* describe(FlatJsonError error) noexcept;

/// Parses `json` into `out` (replacing its contents). `max_depth` bounds the
/// nesting of arrays and objects (the top-level object counts as 1).
USERADMIN_API FlatJsonError parseFlatObject(std::string_view json, std::size_t max_depth, FlatObject& out);

}  // namespace useradmin::detail

#endif  // USERADMIN_JWT_FLAT_JSON_HPP
