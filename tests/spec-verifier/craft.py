"""Helpers for this verifier's own tests: make evidence with a private JWK (not part of the verifier)."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from spec_verifier import ecdsa, jcs  # noqa: E402
from spec_verifier.util import b64url_decode, b64url_encode, b64std_encode, digest_text  # noqa: E402


def load_private(path_or_jwk):
    if isinstance(path_or_jwk, str):
        with open(path_or_jwk) as f:
            jwk = json.load(f)
    else:
        jwk = path_or_jwk
    return int.from_bytes(b64url_decode(jwk["d"]), "big"), jwk


def jws_sign(d, header_bytes, payload_bytes, raw_payload=False):
    h64 = b64url_encode(header_bytes)
    p64 = payload_bytes.decode() if raw_payload else b64url_encode(payload_bytes)
    r, s = ecdsa.sign(d, (h64 + "." + p64).encode())
    return h64 + "." + p64 + "." + b64url_encode(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def receipt(d, kid, record_bytes, header=None):
    if header is None:
        header = jcs.canonical({"alg": "ES256", "kid": kid, "typ": "evidentia-receipt+jws"})
    return jws_sign(d, header, record_bytes)


def record(log_id, seq, prev, event, time, kid, nonce=None):
    f = {"v": 1, "log_id": log_id, "seq": seq, "prev": prev, "event": digest_text(jcs.canonicalize(event) if isinstance(event, (bytes, str)) else jcs.canonical(event)),
         "time": time, "kid": kid}
    if nonce is not None:
        f["nonce"] = nonce
    return jcs.canonical(f)


def note_sign(d, name, text):
    from spec_verifier.util import sha256
    x, y = ecdsa.public_of(d)
    keyhash = sha256(ecdsa.spki_der(x, y))[:4]
    r, s = ecdsa.sign(d, text.encode())
    return text + "\n" + "\u2014 " + name + " " + b64std_encode(keyhash + ecdsa.encode_der_sig(r, s)) + "\n"


def ed25519_public(seed):
    """The 32-byte Ed25519 public key of a 32-byte seed (RFC 8032 §5.1.5)."""
    return _ed25519_expand(seed)[2]


def ed25519_sign(seed, msg):
    """An Ed25519 signature (RFC 8032 §5.1.6) with the 32-byte private key `seed`."""
    import hashlib
    from spec_verifier import ed25519
    a, prefix, public = _ed25519_expand(seed)
    r = int.from_bytes(hashlib.sha512(prefix + msg).digest(), "little") % ed25519._L
    big_r = _ed25519_encode(ed25519._mul(r, ed25519._G))
    h = int.from_bytes(hashlib.sha512(big_r + public + msg).digest(), "little") % ed25519._L
    return big_r + ((r + h * a) % ed25519._L).to_bytes(32, "little")


def _ed25519_encode(point):
    from spec_verifier import ed25519
    zi = pow(point[2], ed25519._P - 2, ed25519._P)
    x, y = point[0] * zi % ed25519._P, point[1] * zi % ed25519._P
    return (y | (x & 1) << 255).to_bytes(32, "little")


def _ed25519_expand(seed):
    import hashlib
    from spec_verifier import ed25519
    h = hashlib.sha512(seed).digest()
    a = int.from_bytes(h[:32], "little")
    a = (a & ((1 << 254) - 8)) | (1 << 254)
    return a, h[32:], _ed25519_encode(ed25519._mul(a, ed25519._G))
