// The official AWS SDK for JavaScript v3 (@aws-sdk/client-kms) as a real peer of
// `confide kms serve`: CreateKey, Encrypt/Decrypt bound to an EncryptionContext (and refused
// without it), GenerateDataKey, a key-policy denial and a SigV4 failure, each surfaced through
// the SDK's own error classes and names.
// Usage: node kms_js_sdk.mjs ENDPOINT_URL [CA_FILE]   (CA_FILE: trust roots for https://)
import { readFileSync } from "node:fs";
import { Agent } from "node:https";
import {
  CreateKeyCommand,
  DecryptCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  InvalidCiphertextException,
  KMSClient,
  KMSServiceException,
} from "@aws-sdk/client-kms";
import { NodeHttpHandler } from "@smithy/node-http-handler";

const [endpoint, caFile] = process.argv.slice(2);
if (!endpoint) {
  console.error("usage: node kms_js_sdk.mjs ENDPOINT_URL [CA_FILE]");
  process.exit(2);
}

const ADMIN = { accessKeyId: "AKIAADMIN00000000001", secretAccessKey: "admin-secret-key" };
const PARENT = { accessKeyId: "AKIAPARENT0000000001", secretAccessKey: "parent-secret-key" };

function client(credentials) {
  const options = { endpoint, region: "us-east-1", credentials, maxAttempts: 1 };
  if (caFile) {
    // The SDK's HTTPS handler with only the given roots trusted (verification stays on).
    options.requestHandler = new NodeHttpHandler({
      httpsAgent: new Agent({ ca: readFileSync(caFile), rejectUnauthorized: true }),
    });
  }
  return new KMSClient(options);
}

function check(cond, what) {
  if (!cond) {
    console.error(`FAIL: ${what}`);
    process.exit(1);
  }
}

// expectError runs `fn`, which must throw an SDK service error named `name`.
async function expectError(fn, name, what) {
  try {
    await fn();
  } catch (e) {
    check(e instanceof KMSServiceException, `${what}: not a KMSServiceException: ${e}`);
    check(e.name === name, `${what}: error name ${e.name}, want ${name}`);
    check(e.$metadata?.httpStatusCode === 400, `${what}: HTTP ${e.$metadata?.httpStatusCode}`);
    return e;
  }
  check(false, `${what}: succeeded`);
}

const admin = client(ADMIN);
const parent = client(PARENT);
const enc = new TextEncoder();
const dec = new TextDecoder();

// 1. CreateKey.
const created = await admin.send(new CreateKeyCommand({ Description: "js sdk peer" }));
const keyId = created.KeyMetadata?.KeyId;
check(/^[0-9a-f-]{36}$/.test(keyId ?? ""), `CreateKey returned ${keyId}`);
check(created.KeyMetadata.KeySpec === "SYMMETRIC_DEFAULT", "KeySpec");
check(created.KeyMetadata.Arn?.endsWith(`key/${keyId}`), "Arn");
console.log("ok: CreateKey");

// 2. Encrypt / Decrypt with an EncryptionContext; the wrong context is InvalidCiphertext.
const context = { purpose: "js-sdk-test", tenant: "t1" };
const ct = await admin.send(
  new EncryptCommand({ KeyId: keyId, Plaintext: enc.encode("attack at dawn"), EncryptionContext: context }),
);
check(ct.CiphertextBlob instanceof Uint8Array && ct.CiphertextBlob.length > 0, "CiphertextBlob");
check(ct.KeyId?.endsWith(keyId), `Encrypt KeyId ${ct.KeyId}`);
const pt = await admin.send(
  new DecryptCommand({ CiphertextBlob: ct.CiphertextBlob, EncryptionContext: context }),
);
check(dec.decode(pt.Plaintext) === "attack at dawn", "Decrypt did not round-trip");
check(pt.KeyId?.endsWith(keyId), `Decrypt KeyId ${pt.KeyId}`);
const wrong = await expectError(
  () =>
    admin.send(
      new DecryptCommand({
        CiphertextBlob: ct.CiphertextBlob,
        EncryptionContext: { ...context, tenant: "t2" },
      }),
    ),
  "InvalidCiphertextException",
  "Decrypt with the wrong context",
);
check(wrong instanceof InvalidCiphertextException, "wrong context: not InvalidCiphertextException");
console.log("ok: Encrypt/Decrypt with EncryptionContext (wrong context refused)");

// 3. GenerateDataKey: a 32-byte key whose blob decrypts to the same key under the context.
const dk = await admin.send(
  new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: "AES_256", EncryptionContext: context }),
);
check(dk.Plaintext?.length === 32, `data key length ${dk.Plaintext?.length}`);
const dk2 = await admin.send(
  new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob, EncryptionContext: context }),
);
check(Buffer.from(dk2.Plaintext).equals(Buffer.from(dk.Plaintext)), "data key round trip");
console.log("ok: GenerateDataKey");

// 4. A key policy that grants only the admin: the parent is denied (AccessDeniedException is
// not a modeled KMS error, so the SDK raises its service exception with that name).
const policy = JSON.stringify({
  Version: "2012-10-17",
  Statement: [
    {
      Sid: "Admin",
      Effect: "Allow",
      Principal: { AWS: "arn:aws:iam::111122223333:role/admin" },
      Action: "kms:*",
      Resource: "*",
    },
  ],
});
const gated = (await admin.send(new CreateKeyCommand({ Policy: policy }))).KeyMetadata.KeyId;
const denied = await expectError(
  () => parent.send(new EncryptCommand({ KeyId: gated, Plaintext: enc.encode("x") })),
  "AccessDeniedException",
  "Encrypt by a principal the policy does not allow",
);
check(typeof denied.message === "string" && denied.message.length > 0, "denial has no message");
console.log("ok: policy denial is AccessDeniedException");

// 5. SigV4 with the wrong secret.
const forged = client({ accessKeyId: ADMIN.accessKeyId, secretAccessKey: "not-the-secret" });
await expectError(
  () => forged.send(new EncryptCommand({ KeyId: keyId, Plaintext: enc.encode("x") })),
  "InvalidSignatureException",
  "a request signed with the wrong secret",
);
console.log("ok: wrong secret is InvalidSignatureException");

// 6. Over https: a client that trusts only node's default roots refuses the test certificate.
if (caFile) {
  const untrusting = new KMSClient({ endpoint, region: "us-east-1", credentials: ADMIN, maxAttempts: 1 });
  try {
    await untrusting.send(new CreateKeyCommand({}));
    check(false, "an untrusted certificate was accepted");
  } catch (e) {
    check(!(e instanceof KMSServiceException), `untrusted certificate: got a KMS answer ${e.name}`);
    check(/CERT|SIGNATURE|ISSUER/.test(String(e.code)), `untrusted certificate: ${e.code} ${e}`);
  }
  console.log("ok: the default trust store refuses the test certificate");
}
console.log("kms js sdk peer passed");
