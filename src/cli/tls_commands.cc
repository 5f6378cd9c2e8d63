#include "cli/tls_commands.h"

#include <sys/stat.h>

#include <cerrno>
#include <iostream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "base/file.h"
#include "crypto/ecdsa.h"
#include "crypto/x509.h"

namespace confide::cli {

absl::Status WriteSelfSignedTls(const SelfSignedTlsOptions& options, absl::Time now) {
  if (options.hosts.empty() && options.ips.empty()) {
    return absl::InvalidArgumentError("give at least one --host or --ip");
  }
  // 825 days: the longest validity clients commonly accept for a TLS server certificate.
  if (options.days < 1 || options.days > 825) {
    return absl::InvalidArgumentError("--days must be 1..825");
  }
  crypto::CertificateSpec ca_spec;
  ca_spec.subject.organization = "confide";
  ca_spec.subject.common_name = "confide development CA";
  ca_spec.not_before = now - absl::Minutes(5);  // tolerate small clock skew
  ca_spec.not_after = now + absl::Hours(24) * options.days;
  ca_spec.is_ca = true;
  ca_spec.path_len = 0;
  ASSIGN_OR_RETURN(auto ca_key, crypto::EcdsaPrivateKey::Generate(crypto::Curve::kP384));
  ASSIGN_OR_RETURN(auto ca, crypto::CreateSelfSignedCertificate(ca_spec, ca_key));

  crypto::CertificateSpec spec;
  spec.subject.organization = "confide";
  spec.subject.common_name = options.hosts.empty() ? options.ips.front() : options.hosts.front();
  spec.not_before = ca_spec.not_before;
  spec.not_after = ca_spec.not_after;
  spec.dns_names = options.hosts;
  spec.ip_addresses = options.ips;
  spec.server_auth = true;
  ASSIGN_OR_RETURN(auto key, crypto::EcdsaPrivateKey::Generate(
                                 options.p384 ? crypto::Curve::kP384 : crypto::Curve::kP256));
  ASSIGN_OR_RETURN(auto cert, crypto::IssueCertificate(spec, key.PublicKey(), ca, ca_key));

  if (::mkdir(options.out_dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return absl::InvalidArgumentError(absl::StrCat("cannot create --out-dir ", options.out_dir));
  }
  const std::string dir = options.out_dir + "/";
  RETURN_IF_ERROR(base::WriteFileAtomic(dir + "key.pem", key.Pem().ExposeSecret(), 0600));
  RETURN_IF_ERROR(base::WriteFileAtomic(dir + "cert.pem", AsBytes(cert.Pem() + ca.Pem())));
  RETURN_IF_ERROR(base::WriteFileAtomic(dir + "ca.pem", AsBytes(ca.Pem())));
  return absl::OkStatus();
}

void AddTlsCommands(CLI::App& app, std::function<int()>* run) {
  CLI::App* tls = app.add_subcommand("tls", "TLS certificates for the gateway and servers");
  tls->require_subcommand(1);
  auto options = std::make_shared<SelfSignedTlsOptions>();
  CLI::App* self_signed = tls->add_subcommand(
      "self-signed",
      "Write a development server certificate: cert.pem (chain), key.pem (0600) and ca.pem "
      "(trust anchor for clients). Not for production.");
  self_signed->add_option("--out-dir", options->out_dir, "Directory to write into")->required();
  self_signed->add_option("--host", options->hosts, "DNS name to certify (repeatable)");
  self_signed->add_option("--ip", options->ips, "IP address to certify (repeatable)");
  self_signed->add_option("--days", options->days, "Validity in days (1..825)")->default_val(30);
  self_signed->add_flag("--p384", options->p384, "P-384 server key instead of P-256");
  self_signed->callback([run, options] {
    *run = [options] {
      absl::Status s = WriteSelfSignedTls(*options, absl::Now());
      if (!s.ok()) {
        std::cerr << "error: tls self-signed: " << s.message() << "\n";
        return 1;
      }
      std::cout << "wrote " << options->out_dir << "/cert.pem, key.pem (0600), ca.pem\n";
      return 0;
    };
  });
}

}  // namespace confide::cli
