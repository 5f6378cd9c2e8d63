// SealedModelSink (runtime.h): the sealed model's data key through KMS Decrypt with a Recipient,
// then the model decrypted into locked memory. Needs src/kms/envelope.h (branch kmsclient).
#include "app/runtime.h"

namespace confide::app {
namespace {

class UnavailableSink : public SealedModelSink {
 public:
  explicit UnavailableSink(EnclaveApp& app) : app_(app) {}
  absl::Status Update(ByteSpan) override { return absl::OkStatus(); }
  absl::Status Finish() override {
    app_.SetFailed("this build cannot open sealed models (no envelope support)");
    return absl::UnimplementedError("opening the sealed model needs kms/envelope.h");
  }

 private:
  EnclaveApp& app_;
};

}  // namespace

std::unique_ptr<SealedModelSink> NewSealedModelSink(EnclaveApp& app, const kms::KmsClient& kms,
                                                    int threads) {
  (void)kms;
  (void)threads;
  return std::make_unique<UnavailableSink>(app);
}

}  // namespace confide::app
