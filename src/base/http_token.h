// confide::base HTTP tokens (RFC 9110 §5.6.2), shared by every HTTP-shaped parser.
#ifndef CONFIDE_BASE_HTTP_TOKEN_H_
#define CONFIDE_BASE_HTTP_TOKEN_H_

#include <string_view>

namespace confide::base {

//= https://www.rfc-editor.org/rfc/rfc9110#section-5.6.2
//# tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" /
//#         "~" / DIGIT / ALPHA
// IsHttpTokenChar returns true for a tchar.
constexpr bool IsHttpTokenChar(unsigned char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

// IsHttpToken returns true for a non-empty string of tchars.
constexpr bool IsHttpToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsHttpTokenChar(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace confide::base

#endif  // CONFIDE_BASE_HTTP_TOKEN_H_
