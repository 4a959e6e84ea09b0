"""SPEC §16 stored events, §26.1 salted commitments and §27 erasure records, as a log
verifier needs them."""
import hashlib
import hmac

from . import jcs
from .errors import EvError
from .util import b64url_encode, check_digest, digest_text

ERASURE_MEMBER = "evidentia_erasure"


def read_stored_event(b):
    """§16 "stored event": ("plain", json) | ("salted", salt, json) | ("erased",); None when
    empty. EVENT_MISMATCH for bytes in none of the forms."""
    if not b:
        return None
    if b[0] == 0:
        if any(b):
            raise EvError("EVENT_MISMATCH", "an erased event holds bytes other than zeros")
        return ("erased",)
    if b[0] == 1:
        if len(b) < 2 or not 16 <= b[1] <= 64 or len(b) < 2 + b[1]:
            raise EvError("EVENT_MISMATCH", "a salted event's salt")
        return ("salted", b[2:2 + b[1]], b[2 + b[1]:])
    if b[0] < 0x20:
        raise EvError("EVENT_MISMATCH", "a stored event's first byte")
    return ("plain", b)


def _depth(value):
    """How deeply arrays and objects nest in a value (1 for [], 0 for a string)."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        v, level = stack.pop()
        inner = v.values() if isinstance(v, dict) else v if isinstance(v, list) else None
        if inner is None:
            continue
        deepest = max(deepest, level + 1)
        stack.extend((item, level + 1) for item in inner)
    return deepest


def commitment_document(event_bytes, salt):
    """§26.1: the commitment document of an event (JSON text) under an event salt, with its limits:
    an event nested 128 levels deep or more, and a disclosure's JSON or a document over 16 MiB,
    are refused."""
    event = jcs.parse(event_bytes)
    if _depth(event) >= jcs.DEFAULT_MAX_DEPTH:
        raise EvError("JSON_TOO_DEEP", "an event committed to nests 128 levels deep or more")

    def disclosure(name, value):
        member_salt = b64url_encode(hmac.new(salt, (name or "").encode("utf-8"), hashlib.sha256).digest()[:16])
        array = [member_salt, name, value] if name is not None else [member_salt, value]
        json = jcs.canonical(array)
        if len(json) > jcs.DEFAULT_MAX_SIZE:
            raise EvError("JSON_TOO_LARGE", "a disclosure over 16 MiB")
        text = b64url_encode(json)
        return b64url_encode(hashlib.sha256(text.encode("ascii")).digest())

    if isinstance(event, dict):
        digests = [disclosure(name, value) for name, value in event.items()]
    else:
        digests = [disclosure(None, event)]
    document = jcs.canonical({"_sd": sorted(digests), "_sd_alg": "sha-256"})
    if len(document) > jcs.DEFAULT_MAX_SIZE:
        raise EvError("JSON_TOO_LARGE", "a commitment document over 16 MiB")
    return document


def event_state(rec, stored):
    """§13 step 3: ("matches", json) | ("erased",) | ("missing",) | ("mismatch",)."""
    try:
        form = read_stored_event(stored)
    except EvError:
        return ("mismatch",)
    if form is None:
        return ("missing",)
    if form[0] == "erased":
        return ("erased",)
    if rec.version == 1 and form[0] == "plain":
        return ("matches", form[1]) if digest_text(form[1]) == rec.event else ("mismatch",)
    if rec.version == 2 and form[0] == "salted":
        salt, event = form[1], form[2]
        try:
            if jcs.canonicalize(event) != event or digest_text(commitment_document(event, salt)) != rec.event:
                return ("mismatch",)
        except EvError:
            return ("mismatch",)
        return ("matches", event)
    return ("mismatch",)


def read_erasure(event_bytes):
    """§27.1: None when the event is not an erasure record; else (seq, record digest, reason);
    ERASURE_RECORD_MALFORMED for one not of its form."""
    try:
        event = jcs.parse(event_bytes)
    except EvError:
        return None
    if not isinstance(event, dict) or ERASURE_MEMBER not in event:
        return None
    bad = EvError("ERASURE_RECORD_MALFORMED", "an erasure record")
    e = event[ERASURE_MEMBER]
    if len(event) != 1 or not isinstance(e, dict) or set(e) != {"format", "reason", "record", "seq"}:
        raise bad
    if not jcs.is_int(e["format"]) or e["format"] != 1 or not jcs.is_int(e["seq"]) \
            or not 0 <= e["seq"] <= 2 ** 53 - 1 or not isinstance(e["record"], str) \
            or not isinstance(e["reason"], str):
        raise bad
    try:
        check_digest(e["record"])
    except EvError:
        raise bad
    reason = e["reason"]
    if not 1 <= len(reason.encode("utf-8")) <= 1024 or any(_is_control(c) for c in reason):
        raise bad
    return int(e["seq"]), e["record"], reason


def _is_control(c):
    o = ord(c)
    return o < 0x20 or 0x7F <= o <= 0x9F
