// TLS for confide::http over Boost.Asio SSL. This file (with internal/tls.h) is the one place
// outside src/crypto that includes OpenSSL headers: Asio's SSL stream is a header-only wrapper
// around an SSL_CTX/SSL and cannot be hidden behind src/crypto without re-implementing it
// (docs/design/http.md, "TLS").
#include "http/internal/tls.h"

// clang-format off
#include "http/internal/beast.h"
#include <boost/asio/ssl.hpp>
// clang-format on
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace confide::http::internal {

using TlsStream = asio::ssl::stream<PlainStream>;

namespace {

// TLS 1.2 suites: ECDHE key exchange and AEAD ciphers only (no RSA key transport, no CBC).
// TLS 1.3 suites are all AEAD with (EC)DHE; OpenSSL's default list is kept.
constexpr char kTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr char kGroups[] = "X25519:P-256:P-384";

// Configure applies the protocol policy shared by server and client contexts.
absl::Status Configure(asio::ssl::context& context) {
  SSL_CTX* ctx = context.native_handle();
  //= https://www.rfc-editor.org/rfc/rfc8996#section-5
  //# TLS 1.1 MUST NOT be used.
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1 ||
      SSL_CTX_set1_groups_list(ctx, kGroups) != 1) {
    return absl::InternalError("TLS context configuration failed");
  }
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);
  return absl::OkStatus();
}

bool IsIpLiteral(const std::string& name) {
  beast::error_code ec;
  asio::ip::make_address(name, ec);
  return !ec;
}

// ClientContextHolder owns the SSL context of a client connection; it is a base class so that
// it is configured before the stream that uses it exists (SSL_new copies the protocol settings
// of the context) and destroyed after it.
struct ClientContextHolder {
  explicit ClientContextHolder(const TlsClientOptions& options)
      : context(asio::ssl::context::tls_client) {
    init = Configure(context);
    if (!init.ok()) return;
    beast::error_code ec;
    if (options.ca_file.empty()) {
      context.set_default_verify_paths(ec);
    } else {
      context.load_verify_file(options.ca_file, ec);
    }
    if (ec) {
      init = absl::InvalidArgumentError(
          absl::StrCat("cannot load TLS CA file ", options.ca_file, ": ", ec.message()));
    }
    context.set_verify_mode(asio::ssl::verify_peer);
  }
  asio::ssl::context context;
  absl::Status init;
};

class TlsClientConn : private ClientContextHolder, public ClientConn<TlsStream> {
 public:
  TlsClientConn(asio::io_context& ioc, const TlsClientOptions& options, std::string host_header,
                absl::Duration timeout, Socket socket)
      : ClientContextHolder(options),
        ClientConn<TlsStream>(ioc, std::move(host_header), timeout, std::move(socket), context) {}

  const absl::Status& init_status() const { return init; }
};

}  // namespace

class TlsServerContext {
 public:
  TlsServerContext() : context(asio::ssl::context::tls_server) {}
  asio::ssl::context context;
};

void TlsServerContextDeleter::operator()(TlsServerContext* context) const { delete context; }

absl::StatusOr<TlsServerContextPtr> NewTlsServerContext(const TlsServerOptions& options) {
  TlsServerContextPtr out(new TlsServerContext);
  asio::ssl::context& context = out->context;
  RETURN_IF_ERROR(Configure(context));
  beast::error_code ec;
  context.use_certificate_chain_file(options.certificate_chain_file, ec);
  if (ec) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot load TLS certificate chain ", options.certificate_chain_file, ": ", ec.message()));
  }
  context.use_private_key_file(options.private_key_file, asio::ssl::context::pem, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot load TLS private key ", options.private_key_file, ": ", ec.message()));
  }
  if (SSL_CTX_check_private_key(context.native_handle()) != 1) {
    return absl::InvalidArgumentError("TLS private key does not match the certificate");
  }
  return out;
}

std::shared_ptr<SessionBase> NewTlsSession(ServerCore* core, TlsServerContext& context,
                                           std::string remote, Socket socket) {
  return std::make_shared<Session<TlsStream>>(core, std::move(remote), std::move(socket),
                                              context.context);
}

absl::StatusOr<std::unique_ptr<ClientConnBase>> NewTlsClientConn(
    asio::io_context& ioc, const TlsClientOptions& options, const std::string& host,
    const std::string& host_header, absl::Duration timeout, Socket socket) {
  const std::string name = options.server_name.empty() ? host : options.server_name;
  if (name.empty()) return absl::InvalidArgumentError("TLS server name is empty");
  auto conn =
      std::make_unique<TlsClientConn>(ioc, options, host_header, timeout, std::move(socket));
  RETURN_IF_ERROR(conn->init_status());
  TlsStream& stream = conn->stream();
  stream.set_verify_mode(asio::ssl::verify_peer);
  SSL* ssl = stream.native_handle();
  // The peer's certificate must name `name` (RFC 6125 via OpenSSL's X509_check_host / _ip).
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  const bool ip = IsIpLiteral(name);
  const int set = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str())
                     : X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size());
  if (set != 1) return absl::InvalidArgumentError("TLS server name is invalid");
  //= https://www.rfc-editor.org/rfc/rfc6066#section-3
  //# Literal IPv4 and IPv6 addresses are not permitted in "HostName".
  if (!ip && SSL_set_tlsext_host_name(ssl, name.c_str()) != 1) {
    return absl::InvalidArgumentError("TLS server name is invalid");
  }
  beast::error_code ec;
  beast::get_lowest_layer(stream).expires_after(ToChrono(timeout));
  stream.async_handshake(asio::ssl::stream_base::client, [&ec](beast::error_code e) { ec = e; });
  conn->Run();
  if (ec == beast::error::timeout) {
    return absl::DeadlineExceededError(absl::StrCat("TLS handshake with ", name, " timed out"));
  }
  if (ec) {
    std::string reason = ec.message();
    const long verify = SSL_get_verify_result(ssl);  // NOLINT(runtime/int): OpenSSL's type
    if (verify != X509_V_OK) reason = X509_verify_cert_error_string(verify);
    return absl::UnavailableError(absl::StrCat("TLS handshake with ", name, " failed: ", reason));
  }
  return std::unique_ptr<ClientConnBase>(std::move(conn));
}

}  // namespace confide::http::internal
