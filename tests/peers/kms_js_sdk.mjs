// The official AWS SDK for JavaScript v3 (@aws-sdk/client-kms) as a real peer of
// `confide kms serve`: CreateKey, Encrypt/Decrypt bound to an EncryptionContext (and refused
// without it), GenerateDataKey, a key-policy denial and a SigV4 failure, each surfaced through
// the SDK's own error classes and names; and asymmetric keys: Sign/Verify (RAW and DIGEST)
// checked with node:crypto on GetPublicKey's output, GenerateDataKeyPair and ReEncrypt.
// Usage: node kms_js_sdk.mjs ENDPOINT_URL [CA_FILE]   (CA_FILE: trust roots for https://)
import {
  constants,
  createHash,
  createPrivateKey,
  createPublicKey,
  verify as cryptoVerify,
} from "node:crypto";
import { readFileSync } from "node:fs";
import { Agent } from "node:https";
import {
  CreateKeyCommand,
  DecryptCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyPairCommand,
  GetPublicKeyCommand,
  InvalidCiphertextException,
  KMSClient,
  KMSInvalidSignatureException,
  KMSServiceException,
  ReEncryptCommand,
  SignCommand,
  VerifyCommand,
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
// 7. Asymmetric keys. RSA: PSS over the message, PKCS#1 v1.5 over a digest, both checked by
// node:crypto with the SPKI from GetPublicKey; a tampered signature is KMSInvalidSignature.
const rsaMeta = (
  await admin.send(new CreateKeyCommand({ KeySpec: "RSA_2048", KeyUsage: "SIGN_VERIFY" }))
).KeyMetadata;
check(rsaMeta.SigningAlgorithms?.includes("RSASSA_PSS_SHA_256"), "RSA SigningAlgorithms");
const rsaPub = await admin.send(new GetPublicKeyCommand({ KeyId: rsaMeta.KeyId }));
check(rsaPub.KeyUsage === "SIGN_VERIFY" && rsaPub.KeySpec === "RSA_2048", "GetPublicKey fields");
const rsaKey = createPublicKey({ key: Buffer.from(rsaPub.PublicKey), format: "der", type: "spki" });
const msg = enc.encode("sign me, js sdk");
const pss = await admin.send(
  new SignCommand({ KeyId: rsaMeta.KeyId, Message: msg, MessageType: "RAW", SigningAlgorithm: "RSASSA_PSS_SHA_256" }),
);
check(
  cryptoVerify("sha256", msg, { key: rsaKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, pss.Signature),
  "node:crypto rejects the PSS signature",
);
const digest = createHash("sha384").update(msg).digest();
const pkcs1 = await admin.send(
  new SignCommand({
    KeyId: rsaMeta.KeyId,
    Message: digest,
    MessageType: "DIGEST",
    SigningAlgorithm: "RSASSA_PKCS1_V1_5_SHA_384",
  }),
);
check(cryptoVerify("sha384", msg, rsaKey, pkcs1.Signature), "node:crypto rejects the PKCS1 signature");
const verified = await admin.send(
  new VerifyCommand({
    KeyId: rsaMeta.KeyId,
    Message: msg,
    Signature: pss.Signature,
    SigningAlgorithm: "RSASSA_PSS_SHA_256",
  }),
);
check(verified.SignatureValid === true, "Verify");
const tampered = Uint8Array.from(pss.Signature);
tampered[10] ^= 1;
const bad = await expectError(
  () =>
    admin.send(
      new VerifyCommand({ KeyId: rsaMeta.KeyId, Message: msg, Signature: tampered, SigningAlgorithm: "RSASSA_PSS_SHA_256" }),
    ),
  "KMSInvalidSignatureException",
  "Verify of a tampered signature",
);
check(bad instanceof KMSInvalidSignatureException, "tampered: not KMSInvalidSignatureException");
// ECDSA P-256: DER signatures, as node:crypto expects by default.
const ecId = (await admin.send(new CreateKeyCommand({ KeySpec: "ECC_NIST_P256", KeyUsage: "SIGN_VERIFY" })))
  .KeyMetadata.KeyId;
const ecPub = await admin.send(new GetPublicKeyCommand({ KeyId: ecId }));
const ecSig = await admin.send(new SignCommand({ KeyId: ecId, Message: msg, SigningAlgorithm: "ECDSA_SHA_256" }));
check(
  cryptoVerify("sha256", msg, createPublicKey({ key: Buffer.from(ecPub.PublicKey), format: "der", type: "spki" }), ecSig.Signature),
  "node:crypto rejects the ECDSA signature",
);
console.log("ok: Sign/Verify (PSS RAW, PKCS1 DIGEST, ECDSA) checked by node:crypto");

// 8. GenerateDataKeyPair: PKCS#8 private key matching the SPKI public key; its blob decrypts.
const pair = await admin.send(
  new GenerateDataKeyPairCommand({ KeyId: keyId, KeyPairSpec: "ECC_NIST_P384", EncryptionContext: context }),
);
const derived = createPublicKey(
  createPrivateKey({ key: Buffer.from(pair.PrivateKeyPlaintext), format: "der", type: "pkcs8" }),
).export({ format: "der", type: "spki" });
check(derived.equals(Buffer.from(pair.PublicKey)), "data key pair halves do not match");
const pairPt = await admin.send(
  new DecryptCommand({ CiphertextBlob: pair.PrivateKeyCiphertextBlob, EncryptionContext: context }),
);
check(Buffer.from(pairPt.Plaintext).equals(Buffer.from(pair.PrivateKeyPlaintext)), "private key blob");
console.log("ok: GenerateDataKeyPair");

// 9. ReEncrypt section 2's ciphertext to a second key and a new context.
const key2 = (await admin.send(new CreateKeyCommand({}))).KeyMetadata.KeyId;
const re = await admin.send(
  new ReEncryptCommand({
    CiphertextBlob: ct.CiphertextBlob,
    SourceEncryptionContext: context,
    DestinationKeyId: key2,
    DestinationEncryptionContext: { stage: "two" },
  }),
);
check(re.SourceKeyId?.endsWith(keyId) && re.KeyId?.endsWith(key2), "ReEncrypt key ids");
const rePt = await admin.send(
  new DecryptCommand({ CiphertextBlob: re.CiphertextBlob, EncryptionContext: { stage: "two" } }),
);
check(dec.decode(rePt.Plaintext) === "attack at dawn", "ReEncrypt round trip");
await expectError(
  () =>
    admin.send(
      new ReEncryptCommand({ CiphertextBlob: ct.CiphertextBlob, SourceKeyId: key2, DestinationKeyId: key2, SourceEncryptionContext: context }),
    ),
  "IncorrectKeyException",
  "ReEncrypt with the wrong SourceKeyId",
);
console.log("ok: ReEncrypt");
console.log("kms js sdk peer passed");
