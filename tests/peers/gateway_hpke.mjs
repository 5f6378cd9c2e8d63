// Interop test against a running confide gateway + enclave: an OHTTP request encapsulated by
// @hpke/core (an independent HPKE) with Binary HTTP written from RFC 9292 here, for every
// algorithm the enclave's key configuration offers, must be accepted by the gateway, opened by
// the enclave, answered, and the sealed answer opened here. The key configuration is taken from
// GET /v1/attestation; checking the attestation itself is the confide client's job and is
// tested elsewhere.
// Usage: node gateway_hpke.mjs GATEWAY_URL CA_FILE
import { readFileSync } from "node:fs";
import { Agent, request as httpsRequest } from "node:https";
import { randomBytes } from "node:crypto";
import {
  bhttpRequest, decapsulateResponse, encapsulateRequest, parseBhttpResponse, parseKeyConfigs, te,
} from "./ohttp_lib.mjs";

const [gateway, caFile] = process.argv.slice(2);
const agent = new Agent({ ca: readFileSync(caFile) });
let passed = 0;
let failed = 0;
function check(name, ok, detail = "") {
  if (ok) passed++;
  else {
    failed++;
    console.log(`FAIL: ${name} ${detail}`);
  }
}

function call(method, path, headers = {}, body = null) {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(new URL(path, gateway), { method, headers, agent }, (res) => {
      const parts = [];
      res.on("data", (d) => parts.push(d));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(parts) }));
    });
    req.on("error", reject);
    if (body) req.write(body);
    req.end();
  });
}

const nonce = randomBytes(32).toString("hex");
const att = await call("GET", `/v1/attestation?nonce=${nonce}`);
check("attestation 200", att.status === 200, `${att.status}`);
const attJson = JSON.parse(att.body.toString());
const configs = parseKeyConfigs(new Uint8Array(Buffer.from(attJson.ohttp_keys, "base64")));
check("an X25519 key configuration", configs.length >= 1);
const cfg = configs[0];

for (const [kdfId, aeadId] of cfg.algs) {
  const request = bhttpRequest("GET", "enclave", "/v1/models", [["accept", "application/json"]], new Uint8Array());
  const { encapsulated, context } = await encapsulateRequest(cfg, kdfId, aeadId, request);
  const res = await call("POST", "/v1/ohttp", { "content-type": "message/ohttp-req" }, Buffer.from(encapsulated));
  check(`aead ${aeadId}: gateway 200`, res.status === 200, `${res.status} ${res.body}`);
  check(`aead ${aeadId}: message/ohttp-res`, res.headers["content-type"] === "message/ohttp-res");
  if (res.status !== 200) continue;
  const inner = parseBhttpResponse(await decapsulateResponse(context, new Uint8Array(res.body)));
  check(`aead ${aeadId}: inner status 200`, inner.status === 200, `${inner.status}`);
  let models = null;
  try { models = JSON.parse(inner.content); } catch (e) { /* reported below */ }
  check(`aead ${aeadId}: inner body is the model list`,
        models && models.object === "list" && models.data.length >= 1, inner.content.slice(0, 80));
}

// A request sealed to a key configuration the enclave does not hold (another key id) must be
// refused by the gateway with the RFC 9458 key problem, not forwarded blindly.
{
  const other = { ...cfg, keyId: (cfg.keyId + 1) & 0xff };
  const request = bhttpRequest("GET", "enclave", "/v1/models", [], new Uint8Array());
  const { encapsulated } = await encapsulateRequest(other, 1, 1, request);
  const res = await call("POST", "/v1/ohttp", { "content-type": "message/ohttp-req" }, Buffer.from(encapsulated));
  check("unknown key id refused with 400", res.status === 400, `${res.status}`);
}
// A flipped ciphertext byte must be refused (the enclave's AEAD fails) with no detail.
{
  const request = bhttpRequest("POST", "enclave", "/v1/chat/completions", [["content-type", "application/json"]],
                               te.encode('{"messages":[{"role":"user","content":"hi"}]}'));
  const { encapsulated } = await encapsulateRequest(cfg, 1, 1, request);
  encapsulated[encapsulated.length - 5] ^= 1;
  const res = await call("POST", "/v1/ohttp", { "content-type": "message/ohttp-req" }, Buffer.from(encapsulated));
  check("tampered request refused with 400", res.status === 400, `${res.status}`);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
