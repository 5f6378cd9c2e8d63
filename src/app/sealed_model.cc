// SealedModelSink (runtime.h): the sealed model (kms/envelope.h, context confide:purpose=model)
// streamed from the parent: header, data key through KMS Decrypt with the enclave's Recipient,
// segments decrypted into locked memory as they arrive (parallel), then the pinned digest check
// and the model load (EnclaveApp::InstallModel).
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "app/flows.h"
#include "app/runtime.h"
#include "base/log.h"
#include "kms/envelope.h"
#include "kms/errors.h"

namespace confide::app {
namespace {

class EnvelopeSink : public SealedModelSink {
 public:
  EnvelopeSink(EnclaveApp& app, const kms::KmsClient& kms, int threads)
      : app_(app), kms_(kms), threads_(std::max(threads, 1)) {}

  absl::Status Update(ByteSpan data) override {
    RETURN_IF_ERROR(error_);
    if (decryptor_ != nullptr) return Check(decryptor_->Update(data), "did not authenticate");
    Append(head_, data);
    if (head_.size() < kms::kEnvelopePrefixLen) return absl::OkStatus();
    auto header_len = kms::EnvelopeHeaderLength(head_);
    if (!header_len.ok())
      return Fail("the sealed model is not an envelope file", header_len.status());
    if (head_.size() < *header_len) return absl::OkStatus();
    RETURN_IF_ERROR(Start(*header_len));
    Bytes rest(head_.begin() + static_cast<ptrdiff_t>(*header_len), head_.end());
    head_.clear();
    if (rest.empty()) return absl::OkStatus();
    return Check(decryptor_->Update(rest), "did not authenticate");
  }

  absl::Status Finish() override {
    RETURN_IF_ERROR(error_);
    if (decryptor_ == nullptr) {
      return Fail("the sealed model ended inside its header",
                  absl::InvalidArgumentError("sealed model: truncated header"));
    }
    RETURN_IF_ERROR(Check(decryptor_->Finish(), "is truncated or did not authenticate"));
    decryptor_.reset();
    key_.Wipe();
    return app_.InstallModel(*std::move(buffer_));  // digest pin, load, ready
  }

 private:
  // Start parses the header, unwraps the data key and starts decrypting.
  absl::Status Start(size_t header_len) {
    auto header = kms::ParseEnvelopeHeader(ByteSpan(head_).first(header_len));
    if (!header.ok()) return Fail("the sealed model's header is malformed", header.status());
    if (auto s = kms::CheckEnvelopeContext(*header, {{"confide:purpose", "model"}}); !s.ok()) {
      return Fail("the sealed file is not sealed as a model (encryption context)", s);
    }
    if (header->plaintext_len == 0 || header->plaintext_len > kMaxSealedModelBytes) {
      return Fail("the sealed model's size is out of range",
                  absl::InvalidArgumentError("sealed model: size"));
    }
    auto recipient = MakeRecipient(app_);
    if (!recipient.ok()) return Fail("the secure module did not attest", recipient.status());
    auto key = kms::UnwrapDataKey(kms_, *header, &*recipient);
    if (!key.ok()) {
      return Fail(absl::StrCat("KMS did not release the model's data key: ",
                               kms::AwsErrorType(key.status())),
                  key.status());
    }
    key_ = *std::move(key);
    auto buffer = LockedBuffer::Create(static_cast<size_t>(header->plaintext_len));
    if (!buffer.ok()) return Fail("no memory for the model", buffer.status());
    buffer_ = *std::move(buffer);
    auto decryptor =
        kms::EnvelopeDecryptor::Create(*header, key_, buffer_->mutable_bytes(), threads_);
    if (!decryptor.ok()) return Fail("the model cannot be decrypted", decryptor.status());
    decryptor_ = *std::move(decryptor);
    log::Info("app.model_key_unwrapped",
              {{"plaintext_bytes", header->plaintext_len}, {"locked", buffer_->locked()}});
    return absl::OkStatus();
  }

  absl::Status Check(absl::Status s, std::string_view what) {
    if (s.ok()) return s;
    return Fail(absl::StrCat("the sealed model ", std::string(what)), s);
  }

  absl::Status Fail(std::string reason, absl::Status s) {
    app_.SetFailed(std::move(reason));
    decryptor_.reset();  // zeroises what was decrypted
    key_.Wipe();
    buffer_.reset();
    error_ = s;
    return s;
  }

  EnclaveApp& app_;
  const kms::KmsClient& kms_;
  int threads_;
  Bytes head_;
  SecretBytes key_;
  std::optional<LockedBuffer> buffer_;
  std::unique_ptr<kms::EnvelopeDecryptor> decryptor_;
  absl::Status error_;
};

}  // namespace

std::unique_ptr<SealedModelSink> NewSealedModelSink(EnclaveApp& app, const kms::KmsClient& kms,
                                                    int threads) {
  return std::make_unique<EnvelopeSink>(app, kms, threads);
}

}  // namespace confide::app
