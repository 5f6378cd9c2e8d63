// Private to confide::http: Boost.Beast/Asio includes in the order Boost 1.74 needs under C++20.
#ifndef CONFIDE_HTTP_INTERNAL_BEAST_H_
#define CONFIDE_HTTP_INTERNAL_BEAST_H_

// clang-format off
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
