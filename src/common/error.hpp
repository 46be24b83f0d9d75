// The one exception type that pure C++ code throws. src/pg/ turns it into an
// ereport(ERROR) carrying the same SQLSTATE, detail and hint.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace shardroute {

// SQLSTATE codes used by the pure C++ modules (five characters each).
namespace sqlstate {
inline constexpr const char *invalid_parameter_value = "22023";
inline constexpr const char *invalid_text_representation = "22P02";
inline constexpr const char *program_limit_exceeded = "54000";
inline constexpr const char *undefined_object = "42704";
inline constexpr const char *duplicate_object = "42710";
inline constexpr const char *object_in_use = "55006";
inline constexpr const char *integrity_constraint_violation = "23000";
inline constexpr const char *check_violation = "23514";
inline constexpr const char *invalid_object_definition = "42P17";
inline constexpr const char *feature_not_supported = "0A000";
inline constexpr const char *insufficient_privilege = "42501";
inline constexpr const char *name_too_long = "42622";
inline constexpr const char *internal_error = "XX000";
inline constexpr const char *connection_failure = "08006";
inline constexpr const char *undefined_column = "42703";
inline constexpr const char *object_not_in_prerequisite_state = "55000";
} // namespace sqlstate

// An error with the parts PostgreSQL users expect: SQLSTATE, message, detail, hint.
// It records where it was constructed (the compiler fills the last three
// arguments at the call site), so that the ereport's LOCATION names the code
// that raised it rather than the guard that reports it.
class Error : public std::runtime_error {
  public:
    Error(std::string code, std::string message, std::string detail = {}, std::string hint = {},
          const char *file = __builtin_FILE(), int line = __builtin_LINE(), const char *function = __builtin_FUNCTION())
        : std::runtime_error(message), code_(std::move(code)), detail_(std::move(detail)), hint_(std::move(hint)),
          file_(file), line_(line), function_(function) {}

    const std::string &code() const noexcept { return code_; }
    const std::string &detail() const noexcept { return detail_; }
    const std::string &hint() const noexcept { return hint_; }
    const char *file() const noexcept { return file_; }
    int line() const noexcept { return line_; }
    const char *function() const noexcept { return function_; }

  private:
    std::string code_;
    std::string detail_;
    std::string hint_;
    const char *file_; // string literals: valid for the program's life
    int line_;
    const char *function_;
};

// Where a value may be cut to at most `limit` bytes without splitting a
// character. UTF-8 by default; src/pg installs the server encoding's rule
// (pg_mbcliplen), so that a clipped message is valid text in any encoding.
using ClipBoundary = size_t (*)(std::string_view value, size_t limit);
inline size_t utf8_clip_boundary(std::string_view value, size_t limit) {
    size_t cut = limit;
    while (cut > 0 && (static_cast<unsigned char>(value[cut]) & 0xC0) == 0x80)
        --cut; // never split a UTF-8 sequence
    return cut;
}
inline ClipBoundary clip_boundary = utf8_clip_boundary;

// A user-supplied value as messages show it: whole when short, else its first
// shown_bytes bytes (cut at a character boundary) and its size, so an absurd
// argument never floods an error or the server log.
inline constexpr size_t shown_bytes = 200;
inline std::string clip(std::string_view value) {
    if (value.size() <= shown_bytes)
        return std::string(value);
    size_t cut = clip_boundary(value, shown_bytes);
    return std::string(value.substr(0, cut)) + "... (" + std::to_string(value.size()) + " bytes)";
}

// A user-supplied name in double quotes, clipped.
inline std::string quoted_name(std::string_view name) {
    return "\"" + clip(name) + "\"";
}

} // namespace shardroute
