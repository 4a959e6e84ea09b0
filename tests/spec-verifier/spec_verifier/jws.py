"""SPEC §5: the JWS profile (compact serialization, ES256 only), verification in order."""
from . import ecdsa, jcs
from .errors import EvError
from .util import b64url_decode

MAX_HEADER = 16 * 1024


class ParsedJws:
    """A JWS that passed steps 1-6: header (dict), header bytes, payload, signing input, signature."""

    def __init__(self, header, header_raw, payload, signing_input, signature, parts):
        self.header = header
        self.header_raw = header_raw
        self.payload = payload
        self.signing_input = signing_input
        self.signature = signature
        self.parts = parts

    @property
    def kid(self):
        return self.header.get("kid")


def parse(token, detached_payload=None):
    """Steps 1-6 of §5 verification."""
    if isinstance(token, bytes):
        try:
            token = token.decode("utf-8")
        except UnicodeDecodeError:
            raise EvError("JWS_MALFORMED", "not text")
    parts = token.split(".")
    # 1.
    if len(parts) != 3 or parts[0] == "":
        raise EvError("JWS_MALFORMED", "not three parts with a header")
    h64, p64, s64 = parts
    # 2.
    header_raw = b64url_decode(h64)
    if header_raw is None:
        raise EvError("JWS_MALFORMED", "header is not base64url")
    if len(header_raw) > MAX_HEADER:
        raise EvError("JWS_HEADER_INVALID", "header larger than 16 KiB")
    try:
        header = jcs.parse(header_raw, max_depth=16)
    except EvError as e:
        raise EvError("JWS_HEADER_INVALID", "header is not JSON: " + e.message)
    if not isinstance(header, dict):
        raise EvError("JWS_HEADER_INVALID", "header is not an object")
    # 3.
    alg = header.get("alg")
    if "alg" in header and not isinstance(alg, str):
        raise EvError("JWS_HEADER_INVALID", "alg is not a string")
    if alg != "ES256":
        raise EvError("JWS_UNSUPPORTED_ALGORITHM", "alg is not ES256")
    for m in ("kid", "typ", "cty"):
        if m in header and not isinstance(header[m], str):
            raise EvError("JWS_HEADER_INVALID", f"{m} is not a string")
    # 4.
    if "b64" in header and not isinstance(header["b64"], bool):
        raise EvError("JWS_HEADER_INVALID", "b64 is not a boolean")
    if "crit" in header:
        crit = header["crit"]
        if not isinstance(crit, list) or not crit:
            raise EvError("JWS_HEADER_INVALID", "crit is not a non-empty array")
        seen = set()
        for name in crit:
            if not isinstance(name, str) or name in seen:
                raise EvError("JWS_HEADER_INVALID", "crit names must be distinct strings")
            seen.add(name)
            if name not in header:
                raise EvError("JWS_HEADER_INVALID", "crit names an absent parameter")
            if name != "b64":
                raise EvError("JWS_UNSUPPORTED_CRITICAL", f"unsupported critical parameter {name}")
    if "b64" in header and "b64" not in (header.get("crit") or []):
        raise EvError("JWS_HEADER_INVALID", "b64 is not listed in crit")
    # 5.
    sig = b64url_decode(s64)
    if sig is None:
        raise EvError("JWS_MALFORMED", "signature is not base64url")
    if len(sig) != 64:
        raise EvError("JWS_SIGNATURE_FORMAT", "signature is not 64 bytes")
    # 6.
    unencoded = header.get("b64") is False
    if detached_payload is not None:
        if p64 != "":
            raise EvError("JWS_PAYLOAD_MISMATCH", "a payload was supplied for an attached JWS")
        payload = detached_payload
    elif unencoded:
        payload = p64.encode("utf-8")
    else:
        payload = b64url_decode(p64)
        if payload is None:
            raise EvError("JWS_MALFORMED", "payload is not base64url")
    if unencoded:
        from .util import b64url_encode  # noqa: F401  (signing input uses the raw payload)
        signing_input = h64.encode("ascii") + b"." + payload
    else:
        if detached_payload is not None:
            from .util import b64url_encode
            signing_input = (h64 + "." + b64url_encode(payload)).encode("ascii")
        else:
            signing_input = (h64 + "." + p64).encode("ascii")
    return ParsedJws(header, header_raw, payload, signing_input, sig, parts)


def verify_signature(parsed, key):
    """Step 8."""
    return ecdsa.verify_p1363(key.point, parsed.signing_input, parsed.signature)


def verify(token, key_set, detached_payload=None):
    """Steps 1-8: return the ParsedJws or raise the first failure."""
    parsed = parse(token, detached_payload)
    key, failure = key_set.select(parsed.kid)  # 7.
    if failure:
        raise EvError(failure, "no key selected")
    if not verify_signature(parsed, key):
        raise EvError("SIGNATURE_INVALID", "signature does not verify")
    return parsed
