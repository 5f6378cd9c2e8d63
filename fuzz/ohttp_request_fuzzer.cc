// OHTTP gateway and key configuration parsing on untrusted bytes. Properties: never crashes;
// a gateway never opens bytes it did not receive from a client holding its configuration
// (the fuzzer cannot produce a valid AEAD tag), and key configurations that decode re-encode
// to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "base/encoding.h"
#include "ohttp/chunked.h"
#include "ohttp/ohttp.h"

namespace {

using namespace confide;  // NOLINT: fuzz target

const ohttp::Gateway& GetGateway() {
  // The RFC 9458 Appendix A key, so the seed (the RFC's request) reaches decryption.
  static const ohttp::Gateway* g = [] {
    auto sk = base::HexDecode("3c168975674b2fa8e465970b79c8dcf09f1c741626480bd4c6162fc5b6a98e1a");
    auto key = ohttp::GatewayKey::FromPrivateKey(1, 0x0020, SecretBytes::CopyFrom(*sk),
                                                 {{0x0001, 0x0001}, {0x0001, 0x0003}});
    if (!key.ok()) std::abort();
    std::vector<ohttp::GatewayKey> keys;
    keys.push_back(*std::move(key));
    auto gw = ohttp::Gateway::Create(std::move(keys));
    if (!gw.ok()) std::abort();
    return new ohttp::Gateway(*std::move(gw));
  }();
  return *g;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteSpan in(data, size);
  auto opened = GetGateway().DecapsulateRequest(in);
  if (opened.ok()) {
    // Only the RFC's own request can open (its seed); anything else would be a forgery.
    static const Bytes rfc = *base::HexDecode(
        "010020000100014b28f881333e7c164ffc499ad9796f877f4e1051ee6d31bad19dec96c208b4726374e469"
        "135906992e1268c594d2a10c695d858c40a026e7965e7d86b83dd440b2c0185204b4d63525");
    if (Bytes(in.begin(), in.end()) != rfc) std::abort();
  }
  if (auto config = ohttp::DecodeKeyConfig(in); config.ok()) {
    auto enc = ohttp::EncodeKeyConfig(*config);
    if (!enc.ok() || *enc != Bytes(in.begin(), in.end())) std::abort();
  }
  (void)ohttp::DecodeKeyConfigList(in);
  // The chunked receiver, fed in two pieces split by the first byte's value: it must never
  // accept a forged stream (every chunk needs a valid AEAD tag).
  if (size > 1) {
    ohttp::ChunkedRequestReceiver receiver(GetGateway());
    const size_t split = 1 + data[0] % (size - 1);
    auto first = receiver.Feed(in.subspan(1, split - 1));
    auto second = first.ok() ? receiver.Feed(in.subspan(split)) : first;
    if (second.ok() && !first->empty()) std::abort();
    if (second.ok() && !second->empty()) std::abort();
    if (second.ok() && receiver.Finish().ok()) std::abort();
  }
  return 0;
}
