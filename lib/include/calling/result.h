// Value-or-error type returned by every fallible call of the library.
//
// No exception crosses the public API: a call that can fail returns Result<T>, which holds either a
// value or an Error. Error codes follow the ACS client error and end-reason tables: `code` and
// `subCode` are for programs, `message` is for people.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace calling {

struct Error {
    int code = 0;
    int subCode = 0;
    std::string message;
};

template <typename T, typename E = Error>
class [[nodiscard]] Result {
public:
    Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
    Result(E error) : state_(std::in_place_index<1>, std::move(error)) {}

    bool ok() const { return state_.index() == 0; }
    explicit operator bool() const { return ok(); }

    // Precondition: ok().
    const T& value() const& { return std::get<0>(state_); }
    T& value() & { return std::get<0>(state_); }
    T&& value() && { return std::get<0>(std::move(state_)); }
    const T* operator->() const { return &value(); }
    const T& operator*() const& { return value(); }

    // Precondition: !ok().
    const E& error() const { return std::get<1>(state_); }

private:
    std::variant<T, E> state_;
};

// For calls that return nothing on success.
struct Done {};

}  // namespace calling
