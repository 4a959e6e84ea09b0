"""SPEC §3 keys, §4 key sets and key history, §4.1 NumericDates."""
from fractions import Fraction

from . import ecdsa, jcs
from .errors import EvError
from .util import MAX_NS, MIN_NS, b64url_decode, b64url_encode, sha256

THUMBPRINT_MEMBERS = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n"),
                      "OKP": ("crv", "kty", "x"), "oct": ("k", "kty")}


def thumbprint(jwk):
    members = THUMBPRINT_MEMBERS[jwk["kty"]]
    return b64url_encode(sha256(jcs.canonical({m: jwk[m] for m in members})))


def numeric_date_ns(v):
    """§4.1: the double's exact value rounded to the nearest nanosecond, ties to even."""
    if not isinstance(v, float) or isinstance(v, bool):
        raise EvError("KEY_SET_MALFORMED", "a NumericDate is not a number")
    ns = round(Fraction(v) * 10 ** 9)  # round() of a Fraction: half to even
    if not MIN_NS <= ns <= MAX_NS:
        raise EvError("KEY_SET_MALFORMED", "a NumericDate is outside the years 0000-9999")
    return ns


def read_point(jwk):
    """An EC P-256 JWK's public point (x, y); KEY_MALFORMED / KEY_INVALID otherwise."""
    xs, ys = jwk.get("x"), jwk.get("y")
    x = b64url_decode(xs) if isinstance(xs, str) else None
    y = b64url_decode(ys) if isinstance(ys, str) else None
    if x is None or y is None or len(x) != 32 or len(y) != 32:
        raise EvError("KEY_MALFORMED", "x and y must be 32 bytes of base64url")
    xi, yi = int.from_bytes(x, "big"), int.from_bytes(y, "big")
    if not ecdsa.on_curve(xi, yi):
        raise EvError("KEY_INVALID", "the point is not on P-256")
    return xi, yi


class Key:
    def __init__(self, jwk):
        self.jwk = jwk
        self.kid = jwk.get("kid")
        self.thumbprint = None
        self.point = None
        self.nbf = self.exp = self.revoked_at = None

    @property
    def usable(self):
        j = self.jwk
        if j.get("kty") != "EC" or j.get("crv") != "P-256":
            return False
        if "use" in j and j["use"] != "sig":
            return False
        if "key_ops" in j and "verify" not in j["key_ops"]:
            return False
        if "alg" in j and j["alg"] != "ES256":
            return False
        return self.point is not None

    def validity_failure(self, t_ns):
        """§4: the one validity failure at time t (ns), by precedence, or None."""
        if self.revoked_at is not None and t_ns >= self.revoked_at:
            return "KEY_REVOKED"
        if self.nbf is not None and t_ns < self.nbf:
            return "KEY_NOT_YET_VALID"
        if self.exp is not None and t_ns >= self.exp:
            return "KEY_EXPIRED"
        return None


def _read_entry(entry):
    if not isinstance(entry, dict):
        # §4: "each entry is an object (KEY_SET_MALFORMED otherwise)".
        raise EvError("KEY_SET_MALFORMED", "a key set entry is not an object")
    if not isinstance(entry.get("kty"), str):
        # A missing kty is KEY_MALFORMED (§4); a non-string one is treated alike (a guess).
        raise EvError("KEY_MALFORMED", "a JWK without a kty string")
    kty = entry["kty"]
    if kty not in THUMBPRINT_MEMBERS:
        raise EvError("KEY_UNSUPPORTED", "unsupported kty")
    for m in THUMBPRINT_MEMBERS[kty]:
        if not isinstance(entry.get(m), str):
            raise EvError("KEY_MALFORMED", f"member {m} missing or not a string")
    key = Key(entry)
    key.thumbprint = thumbprint(entry)
    for m in ("kid", "kty", "crv", "use", "alg"):
        if m in entry and not isinstance(entry[m], str):
            raise EvError("KEY_SET_MALFORMED", f"{m} is not a string")
    if "nbf" in entry:
        key.nbf = numeric_date_ns(entry["nbf"])
    if "exp" in entry:
        key.exp = numeric_date_ns(entry["exp"])
    if "revoked" in entry:
        rv = entry["revoked"]
        if not isinstance(rv, dict) or "revoked_at" not in rv:
            raise EvError("KEY_SET_MALFORMED", "revoked is not an object with revoked_at")
        key.revoked_at = numeric_date_ns(rv["revoked_at"])
        if "reason" in rv and not isinstance(rv["reason"], str):
            raise EvError("KEY_SET_MALFORMED", "revoked.reason is not a string")
    if kty == "EC" and entry["crv"] == "P-256":
        key.point = read_point(entry)
        if "key_ops" in entry and not isinstance(entry["key_ops"], list):
            raise EvError("KEY_SET_MALFORMED", "key_ops is not an array")
    return key


class KeySet:
    def __init__(self, keys):
        self.keys = keys

    def select(self, kid):
        """§4 key selection: (key, None) or (None, failure code)."""
        if kid is not None:
            found = [k for k in self.keys if k.kid == kid or k.thumbprint == kid]
            if not found:
                return None, "KEY_NOT_FOUND"
            if len(found) > 1:
                return None, "KEY_AMBIGUOUS"
            if not found[0].usable:
                return None, "KEY_NOT_FOUND"
            return found[0], None
        usable = [k for k in self.keys if k.usable]
        if not usable:
            return None, "KEY_NOT_FOUND"
        if len(usable) > 1:
            return None, "KEY_AMBIGUOUS"
        return usable[0], None

    def usable_keys(self):
        return [k for k in self.keys if k.usable]


def read_key_set_value(doc):
    """Read a parsed JSON value as a key set (§4 "Reading a key set")."""
    if isinstance(doc, dict) and "keys" in doc:
        entries = doc["keys"]
        if not isinstance(entries, list):
            raise EvError("KEY_SET_MALFORMED", "keys is not an array")
    elif isinstance(doc, dict) and "kty" in doc:
        entries = [doc]
    else:
        raise EvError("KEY_SET_MALFORMED", "neither a JWKS nor a JWK")
    keys, thumbs, kids = [], set(), set()
    # Duplicates are judged entry by entry, in order, with the other checks (a guess).
    for entry in entries:
        key = _read_entry(entry)
        if key.thumbprint in thumbs:
            raise EvError("KEY_SET_MALFORMED", "a key is listed twice")
        if key.kid is not None and key.kid in kids:
            raise EvError("KEY_SET_MALFORMED", "two keys with the same kid")
        thumbs.add(key.thumbprint)
        if key.kid is not None:
            kids.add(key.kid)
        keys.append(key)
    return KeySet(keys)


def read_key_set(data):
    """Read key set text (bytes or str); text that is not JSON is KEY_SET_MALFORMED (§4)."""
    try:
        doc = jcs.parse(data)
    except EvError as e:
        raise EvError("KEY_SET_MALFORMED", "key set is not JSON: " + e.message)
    return read_key_set_value(doc)
