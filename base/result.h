#pragma once

#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

namespace mtasts {

/// The error half of a Result: what went wrong, in words a person can act on.
struct Error {
  std::string message;
};

/// Either a value or an error, shaped like std::expected (C++23), for failures that are
/// expected out there (a timeout, a malformed record). Accessing the wrong side is a bug and
/// throws std::logic_error.
template <class T, class E = Error>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(E error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit by design

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  const T& value() const& {
    if (!has_value()) throw std::logic_error("Result::value() on an error");
    return std::get<0>(v_);
  }
  T& value() & {
    if (!has_value()) throw std::logic_error("Result::value() on an error");
    return std::get<0>(v_);
  }
  T&& value() && {
    if (!has_value()) throw std::logic_error("Result::value() on an error");
    return std::get<0>(std::move(v_));
  }
  const E& error() const {
    if (has_value()) throw std::logic_error("Result::error() on a value");
    return std::get<1>(v_);
  }

  const T* operator->() const { return &value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, E> v_;
};

}  // namespace mtasts
