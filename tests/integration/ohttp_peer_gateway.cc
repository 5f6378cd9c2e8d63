// ohttp_peer_gateway: confide's side of the interop test against an independent HPKE/OHTTP
// implementation (npm's @hpke/core, driven by tests/peers/ohttp_interop.mjs). Line protocol on
// stdin/stdout, hex everywhere:
//   -> CONFIG <application/ohttp-keys>            (printed at start)
//   <- REQUEST <encapsulated request>             -> PLAINTEXT <bhttp> / PATH <path>
//                                                 -> RESPONSE <encapsulated response>
//   <- HPKE_OPEN <kdf> <aead> <enc> <ct> <info> <aad>   -> HPKE_PLAIN <plaintext>
//   <- HPKE_SEAL_TO <kdf> <aead> <pkR> <info> <aad> <pt> -> HPKE_SEALED <enc> <ct>
// Any failure prints "ERROR <status>" and exits 1.
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "base/encoding.h"
#include "crypto/hpke.h"
#include "ohttp/bhttp.h"
#include "ohttp/ohttp.h"

namespace {

using namespace confide;  // NOLINT: test tool

[[noreturn]] void Die(const absl::Status& s) {
  std::cout << "ERROR " << s << std::endl;
  std::exit(1);
}

template <typename T>
T Must(absl::StatusOr<T> v) {
  if (!v.ok()) Die(v.status());
  return *std::move(v);
}

Bytes Hex(const std::string& h) { return Must(base::HexDecode(h == "-" ? "" : h)); }

}  // namespace

int main() {
  auto key = Must(ohttp::GatewayKey::Generate(0x2a, 0x0020, {{0x0001, 0x0001}, {0x0001, 0x0003}}));
  const SecretBytes private_key = key.private_key().Clone();
  std::vector<ohttp::GatewayKey> keys;
  keys.push_back(std::move(key));
  const ohttp::Gateway gateway = Must(ohttp::Gateway::Create(std::move(keys)));
  std::cout << "CONFIG " << base::HexEncode(gateway.EncodedKeyConfigs()) << std::endl;

  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream words(line);
    std::string verb;
    words >> verb;
    if (verb == "REQUEST") {
      std::string hex;
      words >> hex;
      auto opened = Must(gateway.DecapsulateRequest(Hex(hex)));
      std::cout << "PLAINTEXT " << base::HexEncode(opened.request) << std::endl;
      ohttp::BhttpRequest req = Must(ohttp::DecodeRequest(opened.request));
      std::cout << "PATH " << req.path << std::endl;
      ohttp::BhttpResponse resp;
      resp.status = 200;
      resp.headers = {{"content-type", "application/json"}};
      resp.content = ToBytes("echo:");
      Append(resp.content, req.content);
      Bytes sealed = Must(opened.context.EncapsulateResponse(Must(ohttp::EncodeResponse(resp))));
      std::cout << "RESPONSE " << base::HexEncode(sealed) << std::endl;
    } else if (verb == "HPKE_OPEN" || verb == "HPKE_SEAL_TO") {
      uint16_t kdf = 0, aead = 0;
      std::string a, b, c, d, e;
      words >> kdf >> aead >> a >> b >> c >> d;
      crypto::HpkeSuite suite = Must(crypto::HpkeSuite::FromIds(0x0020, kdf, aead));
      if (verb == "HPKE_OPEN") {  // a=enc b=ct c=info d=aad
        const Bytes info = Hex(c);
        crypto::HpkeSetupParams params;
        params.info = info;
        Bytes pt = Must(crypto::HpkeOpen(suite, Hex(a), private_key, params, Hex(d), Hex(b)));
        std::cout << "HPKE_PLAIN " << base::HexEncode(pt) << std::endl;
      } else {  // a=pkR b=info c=aad d=pt
        const Bytes info = Hex(b);
        crypto::HpkeSetupParams params;
        params.info = info;
        auto sealed = Must(crypto::HpkeSeal(suite, Hex(a), params, Hex(c), Hex(d)));
        std::cout << "HPKE_SEALED " << base::HexEncode(sealed.enc) << " "
                  << base::HexEncode(sealed.ciphertext) << std::endl;
      }
    } else if (!verb.empty()) {
      Die(absl::InvalidArgumentError("unknown verb"));
    }
  }
  return 0;
}
