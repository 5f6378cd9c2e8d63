// libFuzzer target: CMS EnvelopedData parsing and opening (crypto/cms.h).
//
// Properties: parsing never reads out of bounds or crashes; whatever parses re-encodes (DER)
// to bytes that parse to the same parts; opening fails whenever parsing fails, and otherwise
// returns only OK or InvalidArgument. The seeds in fuzz/corpus/crypto_cms/ include the AWS KMS
// vector (BER, indefinite lengths) and OpenSSL-made messages for the test key below, so the
// whole decrypt path is reached.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "base/encoding.h"
#include "crypto/cms.h"
#include "crypto/rsa.h"

namespace {

// A throwaway 2048-bit RSA key (PKCS#8 DER) generated for this fuzzer; it protects nothing.
constexpr char kFuzzKeyPkcs8Hex[] =
    "308204bd020100300d06092a864886f70d0101010500048204a7308204a30201000282010100b36741a7037d14"
    "24dfa8b92b100b199a3bfa96fc3c07aa5eeff234c1a2475bbb27939efcf8ff0ca1a964ec2f4ed770c94f65bc37"
    "c8e4608789da44c6c131c17975cb435305dce98e04b8e621664ae405a3064e3bf4f5d67884bbc49eef57ecd712"
    "30094e76e93ec732c3306b1bbd8f50a82d5a02ce90c92bfa6dd6e2777b06e8b3035a2da474a8bba28ec76f0f79"
    "701637e9be6282bf336255fb98677a4d294ff5bd533d335ffac4f4822e08917e933702910338d02e706beaf086"
    "e4fda41669559a210bd8a16d32b5e38fe5f90e3a5c7a8944ed629b9d4f6c4f54537fb43d9ae63fc654d941c12c"
    "205fd8f0e46e608c7a1b8bda09894b414264fdcb6c3f7af30203010001028201004b3e16d073cb9d4bbbcc5961"
    "00b90f135b6d85aea384b98558d07624f22948854d9b81d66a9e19cfa1aa94ce609c460f00705448f746256023"
    "467a8afb9321288e696242ab5654543e91c7df21366ebd187b380bb878f4eb160c64721e42fbafd64e7450c6d9"
    "9b7d53427f07a51a5345ca4b3f11a74e1d39872e532e275b5f713c70ad427edd6ac1eaa0145a1d5b7e3574ab95"
    "66c3e13d953956a6bd44bd619392a4d2a7ecbc0e751b50d801d2587857e345ef3b6c78d28bcce6ea3b4bf67921"
    "19aa4607806d896a0e27f46ee413a7c5acf0af6f34d89e5d0c436024ddce75655a129cb415fdbf780974be156d"
    "f5bf8fa40add7038927b5aafb3c507ac0bc4bd02818100dc83e697ef80198fa2cabdaa1939eeadc08029426721"
    "aaf38e712cb09efe8b19c9092fdc281033c18cd09b7a5b2abf02bf5b0fd863ad59156db5042d0c91eebbdb0412"
    "fdb1402087a0002022aa1a2830a35e80b434b474e4af7f9bc0312ad7a94103cc7fff73e6915e437f8d40f6444d"
    "e663547f9492c55e2348e50d05dccf4502818100d045c19367bc8e1902764d4845f67402c6beefd9e9af4c91ca"
    "4da98ffa1b224079363361de953b74b2d5033b0d48b9abbcb458ab3128f37e39f6681a4e5e36d35d3516aaf918"
    "70aef20318f867cfa6bc2d50a909ac1f93fe2bf1581c8edbc6932fc2ea1225987918ddae6577a99af046926470"
    "a4113c2bd7547444563e9a48d702818100b6d10f92b4f771b99850170ff75c0519bdb742fd8f3ce55a88a42155"
    "c86ae56d9a32e89fd00326b57705d7708836972732f7ceda2a4123d2d522367516afc1c9b258dd59bfe2975579"
    "7bc1289bf7958c4554eac4fbd103fc37d7468bfef732d65a5548ec711f686eea447171ed027e3c4b1ddc86ece9"
    "0581f724cee88e0cb33502818000ed8ea33d7f1592fef3cffc567376a8dc81d547bf46ccac899e36f7314215b0"
    "fbd945f955a88c8f448cb66af8f02e0399dfa3d57f6e934728b2f45bc9a599d0ef45614879bba624e1672a2151"
    "3517a516fe990236061dfeafeb6f5d1135e1789e69dbe920c9c1205f3c7baf40ce33ebdc931dfd5d264b7bb620"
    "9e7d53e214190281801153ceaec56f34e9b7fc56ee7202bd5b3c45d653caeda334827b045175d58036fe9ee30b"
    "e6a6c62dd8ee076441d43d86f04ecd3fd1d6f492cd3d0ea3e396ea9f228190573012c5009c642964306cc8555f"
    "aa71d888f1b11a1908acfe3a6272ac4b96dc851a1f6019df3bcd546bf0f7e211c680b10a663b5de3f2f3724f10"
    "f145";

const confide::crypto::RsaPrivateKey& FuzzKey() {
  static const confide::crypto::RsaPrivateKey* key = [] {
    auto der = confide::base::HexDecode(kFuzzKeyPkcs8Hex);
    if (!der.ok()) std::abort();
    auto k = confide::crypto::RsaPrivateKey::FromPkcs8Der(*der);
    if (!k.ok()) std::abort();
    return new confide::crypto::RsaPrivateKey(*std::move(k));
  }();
  return *key;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace confide::crypto;
  const confide::ByteSpan in(data, size);
  auto parts = ParseEnvelopedData(in);
  auto opened = OpenEnvelopedData(in, FuzzKey());
  if (!parts.ok()) {
    if (opened.ok()) std::abort();  // open must not accept what the parser refuses
    return 0;
  }
  if (!opened.ok() && opened.status().code() != absl::StatusCode::kInvalidArgument) std::abort();

  auto der = EncodeEnvelopedData(*parts);
  if (!der.ok() || der->size() > kMaxEnvelopedDataBytes) std::abort();
  auto again = ParseEnvelopedData(*der);
  if (!again.ok() || !(*again == *parts)) std::abort();
  // DER is a fixed point: encoding the re-parsed parts gives the same bytes.
  auto der2 = EncodeEnvelopedData(*again);
  if (!der2.ok() || *der2 != *der) std::abort();
  // The DER form opens exactly as the original did.
  auto opened_der = OpenEnvelopedData(*der, FuzzKey());
  if (opened.ok() != opened_der.ok()) std::abort();
  if (opened.ok() && opened->ExposeSecret().size() != opened_der->ExposeSecret().size()) {
    std::abort();
  }
  return 0;
}
