// Step 3-4 of provisioning (runtime.h): the sealed model's data key through KMS Decrypt with a
// Recipient, then the model decrypted into locked memory. Needs src/kms/client.h and
// src/kms/envelope.h (branch kmsclient).
#include "app/runtime.h"

namespace confide::app {

absl::Status OpenSealedModel(EnclaveApp& app, enclave::VsockTransport& transport,
                             const AwsCredentials& credentials, Bytes sealed) {
  (void)transport;
  (void)credentials;
  (void)sealed;
  app.SetFailed("this build has no KMS client to open the sealed model");
  return absl::UnimplementedError("opening the sealed model needs the KMS client (kmsclient)");
}

}  // namespace confide::app
