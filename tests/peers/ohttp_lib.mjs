// RFC 9292 Binary HTTP and RFC 9458 OHTTP helpers for the test peers, written from the RFCs
// independently of confide's C++ code; HPKE itself is @hpke/core's. Shared by ohttp_interop.mjs
// (against confide's OHTTP code in-process) and gateway_hpke.mjs (against a running gateway).
import { createDecipheriv, webcrypto } from "node:crypto";
import { Aes128Gcm, Aes256Gcm, CipherSuite, HkdfSha256 } from "@hpke/core";
import { DhkemX25519HkdfSha256 } from "@hpke/dhkem-x25519";
import { Chacha20Poly1305 } from "@hpke/chacha20poly1305";

export const subtle = webcrypto.subtle;
export const hex = (b) => Buffer.from(b).toString("hex");
export const unhex = (h) => new Uint8Array(Buffer.from(h, "hex"));
export const cat = (...parts) => new Uint8Array(Buffer.concat(parts.map((p) => Buffer.from(p))));
export const te = new TextEncoder();

// RFC 9000 §16 varint.
export function varint(n) {
  if (n < 64) return Uint8Array.of(n);
  if (n < 16384) return Uint8Array.of(0x40 | (n >> 8), n & 0xff);
  return Uint8Array.of(0x80 | (n >>> 24), (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
}
export function readVarint(buf, pos) {
  const len = 1 << (buf[pos] >> 6);
  let v = buf[pos] & 0x3f;
  for (let i = 1; i < len; i++) v = v * 256 + buf[pos + i];
  return [v, pos + len];
}
export const str = (s) => cat(varint(te.encode(s).length), te.encode(s));

// RFC 9292 known-length request.
export function bhttpRequest(method, authority, path, headers, content) {
  const fields = cat(...headers.map(([n, v]) => cat(str(n), str(v))));
  return cat(varint(0), str(method), str("https"), str(authority), str(path),
             varint(fields.length), fields, varint(content.length), content, varint(0));
}
// RFC 9292 known-length response (final status only).
export function parseBhttpResponse(b) {
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
export function parseKeyConfigs(b) {
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

export function suiteFor(aeadId) {
  const aead = aeadId === 1 ? new Aes128Gcm() : aeadId === 2 ? new Aes256Gcm() : new Chacha20Poly1305();
  return new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead });
}
export const aeadSizes = { 1: [16, 12], 2: [32, 12], 3: [32, 12] };

export async function hkdf(secret, salt, info, len) {
  const k = await subtle.importKey("raw", secret, "HKDF", false, ["deriveBits"]);
  return new Uint8Array(await subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt, info: te.encode(info) }, k, len * 8));
}
export async function aeadOpen(aeadId, key, nonce, ct) {
  if (aeadId === 3) {
    const d = createDecipheriv("chacha20-poly1305", key, nonce, { authTagLength: 16 });
    d.setAuthTag(ct.slice(ct.length - 16));
    return new Uint8Array(Buffer.concat([d.update(ct.slice(0, ct.length - 16)), d.final()]));
  }
  const k = await subtle.importKey("raw", key, "AES-GCM", false, ["decrypt"]);
  return new Uint8Array(await subtle.decrypt({ name: "AES-GCM", iv: nonce }, k, ct));
}


// RFC 9458 §4.3: encapsulates `request` to `cfg` with (kdfId, aeadId) using @hpke/core; returns
// the encapsulated request and what decapsulateResponse needs.
export async function encapsulateRequest(cfg, kdfId, aeadId, request) {
  const suite = suiteFor(aeadId);
  const pkR = await suite.kem.deserializePublicKey(
    cfg.pk.buffer.slice(cfg.pk.byteOffset, cfg.pk.byteOffset + 32));
  const hdr = Uint8Array.of(cfg.keyId, 0, 0x20, 0, kdfId, 0, aeadId);
  const info = cat(te.encode("message/bhttp request"), Uint8Array.of(0), hdr);
  const sender = await suite.createSenderContext({ recipientPublicKey: pkR, info });
  const ct = new Uint8Array(await sender.seal(request));
  const enc = new Uint8Array(sender.enc);
  const [nk, nn] = aeadSizes[aeadId];
  const secret = new Uint8Array(await sender.export(te.encode("message/bhttp response"), Math.max(nk, nn)));
  return { encapsulated: cat(hdr, enc, ct), context: { aeadId, enc, secret } };
}

// RFC 9458 §4.4: opens an encapsulated response with Node's crypto.
export async function decapsulateResponse(context, resp) {
  const { aeadId, enc, secret } = context;
  const [nk, nn] = aeadSizes[aeadId];
  const rnonce = resp.slice(0, Math.max(nk, nn));
  const salt = cat(enc, rnonce);
  const key = await hkdf(secret, salt, "key", nk);
  const nonce = await hkdf(secret, salt, "nonce", nn);
  return aeadOpen(aeadId, key, nonce, resp.slice(rnonce.length));
}
