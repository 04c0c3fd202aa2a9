// Result<T>: a value or a ReasonCode with a short context string, in the spirit of simdjson_result.
// Used on the data path instead of exceptions (errors are values on the hot path). The context is a static
// string literal so that building an error never allocates.
#pragma once

#include <cassert>
#include <utility>
#include <variant>

#include "base/reason_code.hpp"

namespace hydrant {

struct Error {
  ReasonCode code;
  const char* context = "";  // static string: why, in a few words
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Error e) : v_(e) {}                 // NOLINT
  Result(ReasonCode code, const char* context) : v_(Error{code, context}) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const Error& error() const { assert(!ok()); return std::get<1>(v_); }
  ReasonCode code() const { return ok() ? ReasonCode::Success : error().code; }

 private:
  std::variant<T, Error> v_;
};

// Result<void>: success or an Error. Functions that only succeed or fail return Status and
// `return {};` on success.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error e) : err_(e), ok_(false) {}  // NOLINT
  Result(ReasonCode code, const char* context) : err_{code, context}, ok_(false) {}
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { assert(!ok_); return err_; }
  ReasonCode code() const { return ok_ ? ReasonCode::Success : err_.code; }

 private:
  Error err_{ReasonCode::Success, ""};
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace hydrant
