// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// A value or the reason there is none, in the shape of cpp-httplib's Result:
// test it with operator bool, then read value() or error().
// Used where bad input is expected (a POST body that is not JSON, an event
// name with a line break); exceptions are kept for misuse and bad configuration.

#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

namespace es {

/// The message of a failed Result. Say what is wrong and, where it helps, how to fix it.
struct Failure {
  std::string message;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Failure failure) : state_(std::move(failure)) {}  // NOLINT: implicit by design

  explicit operator bool() const noexcept { return state_.index() == 0; }

  /// Throws std::logic_error when called on a failure (a bug in the caller).
  const T& value() const& { check(); return std::get<0>(state_); }
  T& value() & { check(); return std::get<0>(state_); }
  T&& value() && { check(); return std::get<0>(std::move(state_)); }
  const T& operator*() const& { return value(); }
  const T* operator->() const { return &value(); }

  /// Empty on success.
  const std::string& error() const noexcept {
    static const std::string none;
    return state_.index() == 1 ? std::get<1>(state_).message : none;
  }

 private:
  void check() const {
    if (state_.index() != 0) throw std::logic_error("es::Result: value() of a failure: " + error());
  }
  std::variant<T, Failure> state_;
};

}  // namespace es
