// Interop test: confide's HPKE and OHTTP gateway against an independent implementation
// (@hpke/core with @hpke/dhkem-x25519 and @hpke/chacha20poly1305). The Binary HTTP encoder,
// key-configuration parser and response decapsulation below are written from RFC 9292 /
// RFC 9458 here, independently of confide's C++ code, using Node's own crypto.
// Usage: node ohttp_interop.mjs PATH/TO/ohttp_peer_gateway
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { createDecipheriv, webcrypto } from "node:crypto";
import { Aes128Gcm, Aes256Gcm, CipherSuite, HkdfSha256 } from "@hpke/core";
import { DhkemX25519HkdfSha256 } from "@hpke/dhkem-x25519";
import { Chacha20Poly1305 } from "@hpke/chacha20poly1305";

const subtle = webcrypto.subtle;
const hex = (b) => Buffer.from(b).toString("hex");
const unhex = (h) => new Uint8Array(Buffer.from(h, "hex"));
const cat = (...parts) => new Uint8Array(Buffer.concat(parts.map((p) => Buffer.from(p))));
const te = new TextEncoder();

let passed = 0;
let failed = 0;
function check(name, ok, detail = "") {
  if (ok) passed++;
  else {
    failed++;
    console.log(`FAIL: ${name} ${detail}`);
  }
}

// RFC 9000 §16 varint.
function varint(n) {
  if (n < 64) return Uint8Array.of(n);
  if (n < 16384) return Uint8Array.of(0x40 | (n >> 8), n & 0xff);
  return Uint8Array.of(0x80 | (n >>> 24), (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
}
function readVarint(buf, pos) {
  const len = 1 << (buf[pos] >> 6);
  let v = buf[pos] & 0x3f;
  for (let i = 1; i < len; i++) v = v * 256 + buf[pos + i];
  return [v, pos + len];
}
const str = (s) => cat(varint(te.encode(s).length), te.encode(s));

// RFC 9292 known-length request.
function bhttpRequest(method, authority, path, headers, content) {
  const fields = cat(...headers.map(([n, v]) => cat(str(n), str(v))));
  return cat(varint(0), str(method), str("https"), str(authority), str(path),
             varint(fields.length), fields, varint(content.length), content, varint(0));
}
// RFC 9292 known-length response (final status only).
function parseBhttpResponse(b) {
  let [framing, p] = readVarint(b, 0);
  if (framing !== 1) throw new Error("not a known-length response");
  let status;
  [status, p] = readVarint(b, p);
  let hlen;
  [hlen, p] = readVarint(b, p);
  const headers = [];
  const end = p + hlen;
  while (p < end) {
    let n, v;
    [n, p] = readVarint(b, p);
    const name = Buffer.from(b.slice(p, p + n)).toString();
    p += n;
    [v, p] = readVarint(b, p);
    headers.push([name, Buffer.from(b.slice(p, p + v)).toString()]);
    p += v;
  }
  let clen;
  [clen, p] = readVarint(b, p);
  return { status, headers, content: Buffer.from(b.slice(p, p + clen)).toString() };
}

// RFC 9458 §3.2 application/ohttp-keys with one X25519 configuration.
function parseKeyConfigs(b) {
  const out = [];
  let p = 0;
  while (p < b.length) {
    const len = (b[p] << 8) | b[p + 1];
    const c = b.slice(p + 2, p + 2 + len);
    p += 2 + len;
    const kem = (c[1] << 8) | c[2];
    if (kem !== 0x20) continue;
    const pk = c.slice(3, 35);
    const algLen = (c[35] << 8) | c[36];
    const algs = [];
    for (let i = 0; i < algLen; i += 4) {
      algs.push([(c[37 + i] << 8) | c[38 + i], (c[39 + i] << 8) | c[40 + i]]);
    }
    out.push({ keyId: c[0], kem, pk, algs });
  }
  return out;
}

function suiteFor(aeadId) {
  const aead = aeadId === 1 ? new Aes128Gcm() : aeadId === 2 ? new Aes256Gcm() : new Chacha20Poly1305();
  return new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead });
}
const aeadSizes = { 1: [16, 12], 2: [32, 12], 3: [32, 12] };

async function hkdf(secret, salt, info, len) {
  const k = await subtle.importKey("raw", secret, "HKDF", false, ["deriveBits"]);
  return new Uint8Array(await subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt, info: te.encode(info) }, k, len * 8));
}
async function aeadOpen(aeadId, key, nonce, ct) {
  if (aeadId === 3) {
    const d = createDecipheriv("chacha20-poly1305", key, nonce, { authTagLength: 16 });
    d.setAuthTag(ct.slice(ct.length - 16));
    return new Uint8Array(Buffer.concat([d.update(ct.slice(0, ct.length - 16)), d.final()]));
  }
  const k = await subtle.importKey("raw", key, "AES-GCM", false, ["decrypt"]);
  return new Uint8Array(await subtle.decrypt({ name: "AES-GCM", iv: nonce }, k, ct));
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
  const suite = suiteFor(aeadId);
  // RFC 9458 §4.3 request encapsulation, done by @hpke/core.
  const hdr = Uint8Array.of(cfg.keyId, 0, 0x20, 0, kdfId, 0, aeadId);
  const info = cat(te.encode("message/bhttp request"), Uint8Array.of(0), hdr);
  const body = te.encode(JSON.stringify({ messages: [{ role: "user", content: `hi ${aeadId}` }] }));
  const request = bhttpRequest("POST", "enclave", "/v1/chat/completions",
                               [["content-type", "application/json"]], body);
  const sender = await suite.createSenderContext({ recipientPublicKey: pkR, info });
  const ct = new Uint8Array(await sender.seal(request));
  const enc = new Uint8Array(sender.enc);
  const [nk, nn] = aeadSizes[aeadId];
  const secret = new Uint8Array(await sender.export(te.encode("message/bhttp response"), Math.max(nk, nn)));
  send(`REQUEST ${hex(cat(hdr, enc, ct))}`);
  const [plain] = await next("PLAINTEXT");
  check(`aead ${aeadId}: gateway opened the exact request`, plain === hex(request));
  const [path] = await next("PATH");
  check(`aead ${aeadId}: bhttp path`, path === "/v1/chat/completions");
  const [respHex] = await next("RESPONSE");
  // RFC 9458 §4.4 response decapsulation, with Node's crypto.
  const resp = unhex(respHex);
  const rnonce = resp.slice(0, Math.max(nk, nn));
  const salt = cat(enc, rnonce);
  const key = await hkdf(secret, salt, "key", nk);
  const nonce = await hkdf(secret, salt, "nonce", nn);
  const opened = await aeadOpen(aeadId, key, nonce, resp.slice(rnonce.length));
  const parsed = parseBhttpResponse(opened);
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
