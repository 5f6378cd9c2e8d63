#!/usr/bin/env bash
# `confide tls self-signed`: the files exist with the right modes, the chain verifies for the
# requested names and addresses (and not for others), and the key matches the certificate.
# Usage: cli_tls_self_signed_test.sh CONFIDE_BINARY
set -euo pipefail
confide="$1"
if ! command -v openssl >/dev/null 2>&1; then
  echo "SKIP: openssl command line tool not installed"
  exit 0
fi
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT

"$confide" tls self-signed --out-dir "$dir/tls" --host gw.confide.local --host localhost \
  --ip 127.0.0.1 --ip ::1
for f in cert.pem key.pem ca.pem; do test -s "$dir/tls/$f"; done
test "$(stat -c %a "$dir/tls/key.pem")" = 600

openssl verify -CAfile "$dir/tls/ca.pem" -verify_hostname gw.confide.local "$dir/tls/cert.pem"
openssl verify -CAfile "$dir/tls/ca.pem" -verify_ip 127.0.0.1 "$dir/tls/cert.pem"
openssl verify -CAfile "$dir/tls/ca.pem" -verify_ip ::1 "$dir/tls/cert.pem"
openssl verify -CAfile "$dir/tls/ca.pem" -purpose sslserver "$dir/tls/cert.pem"
if openssl verify -CAfile "$dir/tls/ca.pem" -verify_hostname other.example "$dir/tls/cert.pem" \
    2>/dev/null; then
  echo "FAIL: certificate verified for a name it does not carry"; exit 1
fi
# The server key matches the certificate, and it is P-256 by default.
test "$(openssl x509 -in "$dir/tls/cert.pem" -noout -pubkey | openssl sha256)" = \
     "$(openssl pkey -in "$dir/tls/key.pem" -pubout | openssl sha256)"
openssl x509 -in "$dir/tls/cert.pem" -noout -text | grep -q "prime256v1"
openssl x509 -in "$dir/tls/cert.pem" -noout -text | grep -q "TLS Web Server Authentication"

"$confide" tls self-signed --out-dir "$dir/p384" --ip 10.0.0.1 --p384 --days 2
openssl x509 -in "$dir/p384/cert.pem" -noout -text | grep -q "secp384r1"

# Usage errors: no names (1), a bad name (1), a missing --out-dir (2).
set +e
"$confide" tls self-signed --out-dir "$dir/none" >/dev/null 2>&1; test $? -eq 1 || exit 1
"$confide" tls self-signed --out-dir "$dir/bad" --host 'a,DNS:evil' >/dev/null 2>&1
test $? -eq 1 || exit 1
"$confide" tls self-signed --host x >/dev/null 2>&1; test $? -eq 2 || exit 1
set -e
echo "PASS"
