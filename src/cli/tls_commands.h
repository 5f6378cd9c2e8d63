// confide::cli `confide tls ...` commands.
#ifndef CONFIDE_CLI_TLS_COMMANDS_H_
#define CONFIDE_CLI_TLS_COMMANDS_H_

#include <functional>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/time/time.h"
#include "base/status.h"

namespace confide::cli {

// SelfSignedTlsOptions describes a development TLS certificate.
struct SelfSignedTlsOptions {
  std::string out_dir;
  std::vector<std::string> hosts;  // DNS names (subjectAltName dNSName)
  std::vector<std::string> ips;    // IP addresses (subjectAltName iPAddress)
  int days = 30;
  bool p384 = false;  // server key curve; default P-256
};

// WriteSelfSignedTls creates a throw-away CA (P-384, its private key is never written) and a
// server certificate it issues for the names, and writes into out_dir: cert.pem (server
// certificate then CA certificate: a server's certificate_chain_file), key.pem (the server's
// PKCS#8 key, mode 0600) and ca.pem (the CA certificate: a client's ca_file). InvalidArgument
// when no name is given, a name is invalid or days is not 1..825; file errors as
// WriteFileAtomic.
absl::Status WriteSelfSignedTls(const SelfSignedTlsOptions& options, absl::Time now);

// AddTlsCommands registers `tls self-signed` on `app`. The chosen command's action is stored
// in `*run` and returns the exit code.
void AddTlsCommands(CLI::App& app, std::function<int()>* run);

}  // namespace confide::cli

#endif  // CONFIDE_CLI_TLS_COMMANDS_H_
