// Private to confide::http: Boost.Beast/Asio includes in the order Boost 1.74 needs under C++20.
#ifndef CONFIDE_HTTP_INTERNAL_BEAST_H_
#define CONFIDE_HTTP_INTERNAL_BEAST_H_

// Boost 1.74's basic_parser::parse_chunk_header asserts n >= 5 when the final chunk's CRLF
// arrives in a later read ("0\r\n", then "\r\n"), a valid input the code after the assert
// handles (it returns need_more); upstream fixed the assert (boostorg/beast#2861). Release
// builds compile asserts out already; this makes debug builds, which any peer could otherwise
// abort with a split chunked body, behave the same. The fuzz corpus keeps the input
// (fuzz/corpus/http_request/split-final-chunk). boost/assert.hpp honours this wherever it is
// included after this point.
#define BOOST_DISABLE_ASSERTS 1
// clang-format off
#include <boost/assert.hpp>
#include <utility>  // Boost 1.74 asio uses std::exchange without including it
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
// clang-format on

namespace confide::http::internal {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = boost::asio::ip::tcp;
}  // namespace confide::http::internal

#endif  // CONFIDE_HTTP_INTERNAL_BEAST_H_
