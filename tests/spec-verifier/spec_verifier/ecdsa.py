"""ECDSA P-256 / SHA-256 verification with Python integers (FIPS 186-4, SEC 1)."""
import hashlib

P = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
A = P - 3
B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
GX = 0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296
GY = 0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5


def on_curve(x, y):
    return 0 <= x < P and 0 <= y < P and (y * y - (x * x * x + A * x + B)) % P == 0


def decompress(prefix, x):
    """SEC1 compressed point (prefix 2 or 3) to (x, y), or None when not on the curve."""
    if not 0 <= x < P:
        return None
    rhs = (x * x * x + A * x + B) % P
    y = pow(rhs, (P + 1) // 4, P)
    if y * y % P != rhs:
        return None
    if y & 1 != prefix & 1:
        y = P - y
    return x, y


# Jacobian coordinates; None is the point at infinity.
def _dbl(p):
    if p is None:
        return None
    x, y, z = p
    if y == 0:
        return None
    yy = y * y % P
    s = 4 * x * yy % P
    zz = z * z % P
    m = 3 * (x - zz) * (x + zz) % P
    x3 = (m * m - 2 * s) % P
    y3 = (m * (s - x3) - 8 * yy * yy) % P
    z3 = 2 * y * z % P
    return x3, y3, z3


def _add(p, q):
    if p is None:
        return q
    if q is None:
        return p
    x1, y1, z1 = p
    x2, y2, z2 = q
    z1z1 = z1 * z1 % P
    z2z2 = z2 * z2 % P
    u1 = x1 * z2z2 % P
    u2 = x2 * z1z1 % P
    s1 = y1 * z2 * z2z2 % P
    s2 = y2 * z1 * z1z1 % P
    if u1 == u2:
        if s1 != s2:
            return None
        return _dbl(p)
    h = (u2 - u1) % P
    r = (s2 - s1) % P
    hh = h * h % P
    hhh = h * hh % P
    v = u1 * hh % P
    x3 = (r * r - hhh - 2 * v) % P
    y3 = (r * (v - x3) - s1 * hhh) % P
    z3 = h * z1 * z2 % P
    return x3, y3, z3


def _mul2(k1, p1, k2, p2):
    """k1*p1 + k2*p2 (Shamir's trick)."""
    both = _add(p1, p2)
    acc = None
    for i in range(max(k1.bit_length(), k2.bit_length()) - 1, -1, -1):
        acc = _dbl(acc)
        b1, b2 = (k1 >> i) & 1, (k2 >> i) & 1
        if b1 and b2:
            acc = _add(acc, both)
        elif b1:
            acc = _add(acc, p1)
        elif b2:
            acc = _add(acc, p2)
    return acc


def _affine(p):
    if p is None:
        return None
    x, y, z = p
    zi = pow(z, -1, P)
    zi2 = zi * zi % P
    return x * zi2 % P, y * zi2 * zi % P


def scalar_mult(k, point):
    return _affine(_mul2(k % N, (point[0], point[1], 1), 0, None))


def verify(pub, msg, r, s):
    """Verify an ECDSA P-256/SHA-256 signature (r, s) over msg with pub = (x, y)."""
    x, y = pub
    if not on_curve(x, y):
        return False
    if not (1 <= r < N and 1 <= s < N):
        return False
    e = int.from_bytes(hashlib.sha256(msg).digest(), "big")
    w = pow(s, -1, N)
    u1 = e * w % N
    u2 = r * w % N
    pt = _affine(_mul2(u1, (GX, GY, 1), u2, (x, y, 1)))
    if pt is None:
        return False
    return pt[0] % N == r


def verify_p1363(pub, msg, sig):
    """The 64-byte R || S form (JWS ES256)."""
    if len(sig) != 64:
        return False
    return verify(pub, msg, int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))


def parse_der_sig(der):
    """Strict DER ECDSA-Sig-Value: SEQUENCE { INTEGER r, INTEGER s }; None when malformed."""
    def length(buf, i):
        if i >= len(buf):
            return None
        b = buf[i]
        if b < 0x80:
            return b, i + 1
        n = b & 0x7F
        if n == 0 or n > 2 or i + 1 + n > len(buf):
            return None
        v = int.from_bytes(buf[i + 1:i + 1 + n], "big")
        if v < 0x80 or buf[i + 1] == 0:
            return None  # not minimal
        return v, i + 1 + n

    def integer(buf, i):
        if i >= len(buf) or buf[i] != 0x02:
            return None
        ln = length(buf, i + 1)
        if ln is None:
            return None
        n, j = ln
        if n == 0 or j + n > len(buf):
            return None
        body = buf[j:j + n]
        if body[0] & 0x80:
            return None  # negative
        if n > 1 and body[0] == 0 and not body[1] & 0x80:
            return None  # not minimal
        return int.from_bytes(body, "big"), j + n

    if len(der) < 2 or der[0] != 0x30:
        return None
    ln = length(der, 1)
    if ln is None:
        return None
    n, i = ln
    if i + n != len(der):
        return None
    a = integer(der, i)
    if a is None:
        return None
    r, i = a
    b = integer(der, i)
    if b is None:
        return None
    s, i = b
    if i != len(der):
        return None
    return r, s


def encode_der_sig(r, s):
    def integer(v):
        body = v.to_bytes((v.bit_length() + 8) // 8 or 1, "big")
        return b"\x02" + bytes([len(body)]) + body
    body = integer(r) + integer(s)
    return b"\x30" + bytes([len(body)]) + body


SPKI_PREFIX = bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d030107034200")


def spki_der(x, y):
    return SPKI_PREFIX + b"\x04" + x.to_bytes(32, "big") + y.to_bytes(32, "big")


# Signing (used only by this verifier's own tests to craft evidence): RFC 6979 nonces.
def _rfc6979_k(d, h1):
    import hmac
    x = d.to_bytes(32, "big")
    h = int.from_bytes(h1, "big") % N
    hb = h.to_bytes(32, "big")
    v = b"\x01" * 32
    k = b"\x00" * 32
    k = hmac.new(k, v + b"\x00" + x + hb, hashlib.sha256).digest()
    v = hmac.new(k, v, hashlib.sha256).digest()
    k = hmac.new(k, v + b"\x01" + x + hb, hashlib.sha256).digest()
    v = hmac.new(k, v, hashlib.sha256).digest()
    while True:
        v = hmac.new(k, v, hashlib.sha256).digest()
        cand = int.from_bytes(v, "big")
        if 1 <= cand < N:
            return cand
        k = hmac.new(k, v + b"\x00", hashlib.sha256).digest()
        v = hmac.new(k, v, hashlib.sha256).digest()


def sign(d, msg):
    h1 = hashlib.sha256(msg).digest()
    e = int.from_bytes(h1, "big")
    k = _rfc6979_k(d, h1)
    r = scalar_mult(k, (GX, GY))[0] % N
    s = pow(k, -1, N) * (e + r * d) % N
    return r, s


def public_of(d):
    return scalar_mult(d, (GX, GY))
