// Result<T>: a value or an Error, the library's only way of reporting failure.
#ifndef USERADMIN_RESULT_HPP
#define USERADMIN_RESULT_HPP

#include <cstdlib>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

#include "useradmin/error.hpp"

namespace useradmin {

namespace detail {
// Accessing the wrong alternative is a programming error. There are no
// exceptions at the boundary, so it stops the program instead of throwing.
[[noreturn]] inline void badResultAccess() noexcept { std::abort(); }
}  // namespace detail

/// Holds either a `T` or an `Error`. Mirrors the part of C++23
/// `std::expected<T, Error>` that callers need (`has_value`, `operator bool`,
/// `value`, `error`, `*`, `->`), so moving to it later changes only an alias.
/// Calling `value()` on an error (or `error()` on a value) aborts.
template <class T>
class [[nodiscard]] Result {
 public:
  static_assert(!std::is_same_v<std::decay_t<T>, Error>, "Result<Error> is ambiguous");

  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool has_value() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & { return has_value() ? std::get<0>(state_) : (detail::badResultAccess(), std::get<0>(state_)); }
  const T& value() const& {
    return has_value() ? std::get<0>(state_) : (detail::badResultAccess(), std::get<0>(state_));
  }
  // By value, so `for (auto& x : f().value())` never dangles on a temporary.
  T value() && { return std::move(value()); }

  const Error& error() const& {
    return has_value() ? (detail::badResultAccess(), std::get<1>(state_)) : std::get<1>(state_);
  }
  Error error() && { return std::move(const_cast<Error&>(error())); }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Error> state_;
};

/// Success without a value, or an Error.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT: implicit by design

  bool has_value() const noexcept { return !error_.has_value(); }
  explicit operator bool() const noexcept { return has_value(); }

  const Error& error() const& { return error_ ? *error_ : (detail::badResultAccess(), *error_); }
  Error error() && { return std::move(const_cast<Error&>(error())); }

 private:
  std::optional<Error> error_;
};

using Status = Result<void>;

/// A successful Status, for readability at return sites.
inline Status okStatus() { return {}; }

}  // namespace useradmin

#endif  // USERADMIN_RESULT_HPP
