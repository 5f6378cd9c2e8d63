// Interop test: confide's HPKE and OHTTP gateway against an independent implementation
// (@hpke/core with @hpke/dhkem-x25519 and @hpke/chacha20poly1305). The Binary HTTP encoder,
// key-configuration parser and response decapsulation below are written from RFC 9292 /
// RFC 9458 here, independently of confide's C++ code, using Node's own crypto.
// Usage: node ohttp_interop.mjs PATH/TO/ohttp_peer_gateway
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import {
  bhttpRequest, decapsulateResponse, encapsulateRequest, hex, parseBhttpResponse, parseKeyConfigs,
  suiteFor, te, unhex,
} from "./ohttp_lib.mjs";

let passed = 0;
let failed = 0;
function check(name, ok, detail = "") {
  if (ok) passed++;
  else {
    failed++;
    console.log(`FAIL: ${name} ${detail}`);
  }
}

// --- drive confide's gateway ---------------------------------------------------------------
const child = spawn(process.argv[2], [], { stdio: ["pipe", "pipe", "inherit"] });
const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
async function next(prefix) {
  const { value, done } = await lines.next();
  if (done) throw new Error(`gateway closed before ${prefix}`);
  const [verb, ...rest] = value.split(" ");
  if (verb !== prefix) throw new Error(`expected ${prefix}, got: ${value}`);
  return rest;
}
const send = (s) => child.stdin.write(s + "\n");

const [configHex] = await next("CONFIG");
const configs = parseKeyConfigs(unhex(configHex));
check("one X25519 key configuration", configs.length === 1);
const cfg = configs[0];
const pkR = await suiteFor(1).kem.deserializePublicKey(cfg.pk.buffer.slice(cfg.pk.byteOffset, cfg.pk.byteOffset + 32));

for (const [kdfId, aeadId] of cfg.algs) {
  const body = te.encode(JSON.stringify({ messages: [{ role: "user", content: `hi ${aeadId}` }] }));
  const request = bhttpRequest("POST", "enclave", "/v1/chat/completions",
                               [["content-type", "application/json"]], body);
  const { encapsulated, context } = await encapsulateRequest(cfg, kdfId, aeadId, request);
  send(`REQUEST ${hex(encapsulated)}`);
  const [plain] = await next("PLAINTEXT");
  check(`aead ${aeadId}: gateway opened the exact request`, plain === hex(request));
  const [path] = await next("PATH");
  check(`aead ${aeadId}: bhttp path`, path === "/v1/chat/completions");
  const [respHex] = await next("RESPONSE");
  const parsed = parseBhttpResponse(await decapsulateResponse(context, unhex(respHex)));
  check(`aead ${aeadId}: response status`, parsed.status === 200);
  check(`aead ${aeadId}: response content`, parsed.content === "echo:" + new TextDecoder().decode(body));
}

// Raw HPKE both ways, AES-256-GCM: @hpke/core seals, confide opens; confide seals, @hpke/core opens.
{
  const suite = suiteFor(2);
  const info = te.encode("confide hpke interop");
  const aad = te.encode("aad");
  const pt = te.encode("sealed by @hpke/core");
  const sender = await suite.createSenderContext({ recipientPublicKey: pkR, info });
  const ct = new Uint8Array(await sender.seal(pt, aad));
  send(`HPKE_OPEN 1 2 ${hex(sender.enc)} ${hex(ct)} ${hex(info)} ${hex(aad)}`);
  const [got] = await next("HPKE_PLAIN");
  check("HPKE: confide opens @hpke/core", got === hex(pt));

  const rkp = await suite.kem.generateKeyPair();
  const pk = new Uint8Array(await suite.kem.serializePublicKey(rkp.publicKey));
  const msg = te.encode("sealed by confide");
  send(`HPKE_SEAL_TO 1 2 ${hex(pk)} ${hex(info)} ${hex(aad)} ${hex(msg)}`);
  const [encHex, ctHex] = await next("HPKE_SEALED");
  const recipient = await suite.createRecipientContext({
    recipientKey: rkp, enc: unhex(encHex).buffer, info });
  const opened = new Uint8Array(await recipient.open(unhex(ctHex).buffer, aad));
  check("HPKE: @hpke/core opens confide", hex(opened) === hex(msg));
}

child.stdin.end();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
