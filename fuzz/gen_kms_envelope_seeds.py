#!/usr/bin/env python3
# Usage: python3 fuzz/gen_kms_envelope_seeds.py fuzz/corpus/kms_envelope
# (prints the "small" envelope as hex: src/kms/envelope_test.cc KnownAnswerFromPython)
# Independent (Python `cryptography`) implementation of the CFE1 envelope, for fuzz seeds and a
# known-answer vector.
import hashlib, struct, sys
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives import hashes

def context_bytes(ctx):
    out = struct.pack(">H", len(ctx))
    for k in sorted(ctx, key=lambda s: s.encode()):
        kb, vb = k.encode(), ctx[k].encode()
        out += struct.pack(">H", len(kb)) + kb + struct.pack(">H", len(vb)) + vb
    return out

def envelope(key, salt, prefix, blob, ctx, seg, pt):
    body = bytes([1]) + struct.pack(">IQ", seg, len(pt)) + salt + prefix
    body += struct.pack(">H", len(blob)) + blob
    c = context_bytes(ctx)
    body += struct.pack(">H", len(c)) + c
    header = b"CFE1" + bytes([1]) + struct.pack(">I", 9 + len(body)) + body
    aad = hashlib.sha256(header).digest()
    skey = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt,
                info=b"confide stream AES-256-GCM v1").derive(key)
    n = max(1, -(-len(pt) // seg))
    out = header
    g = AESGCM(skey)
    for i in range(n):
        nonce = prefix + struct.pack(">I", i) + bytes([1 if i == n - 1 else 0])
        out += g.encrypt(nonce, pt[i * seg:(i + 1) * seg], aad)
    return out

key = bytes((i * 7 + 1) & 0xff for i in range(32))
salt = bytes(range(16))
prefix = bytes(range(100, 107))
blob = b"\x01" + b"blob" * 10
outdir = sys.argv[1]
cases = {
    "empty": (b"", {}),
    "small": (b"hello envelope", {"confide:purpose": "model"}),
    "one_segment": (bytes(i & 0xff for i in range(4096)), {"a": "1", "b": ""}),
    "two_segments": (bytes((i * 3) & 0xff for i in range(4096 + 5)), {"confide:purpose": "model"}),
    "three_exact": (bytes((i * 5) & 0xff for i in range(3 * 4096)), {}),
}
for name, (pt, ctx) in cases.items():
    open(f"{outdir}/{name}", "wb").write(envelope(key, salt, prefix, blob, ctx, 4096, pt))
print(envelope(key, salt, prefix, blob, {"confide:purpose": "model"}, 4096, b"hello envelope").hex())
