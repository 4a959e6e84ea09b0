"""SPEC §18 evidence files: one receipt or batch receipt, its key set, optionally its event."""
from . import jcs
from .errors import EvError
from .keys import read_key_set, read_key_set_value
from .receipt import verify_batch_receipt, verify_receipt

_ABSENT = object()


def read_evidence(data):
    """(kind, text, key set, event or _ABSENT). SPEC names no code for a malformed
    evidence file; the guesses are in README.md."""
    doc = jcs.parse(data)
    if not isinstance(doc, dict):
        raise EvError("INVALID_ARGUMENT", "an evidence file is a JSON object")
    has_r, has_b = "receipt" in doc, "batch_receipt" in doc
    if has_r == has_b:
        raise EvError("INVALID_ARGUMENT", "exactly one of receipt and batch_receipt")
    if has_r:
        if not isinstance(doc["receipt"], str):
            raise EvError("RECEIPT_MALFORMED", "receipt is not a string")
        kind, text = "receipt", doc["receipt"]
    else:
        b = doc["batch_receipt"]
        if isinstance(b, str):
            text = b
        elif isinstance(b, dict):
            text = jcs.canonical(b).decode("utf-8")
        else:
            raise EvError("BATCH_RECEIPT_MALFORMED", "batch_receipt is neither text nor an object")
        kind = "batch_receipt"
    if "jwks" not in doc:
        raise EvError("KEY_SET_MALFORMED", "no jwks")
    j = doc["jwks"]
    if isinstance(j, str):
        keys = read_key_set(j)
    elif isinstance(j, dict):
        keys = read_key_set_value(j)
    else:
        raise EvError("KEY_SET_MALFORMED", "jwks is neither an object nor text")
    event = doc["event"] if "event" in doc else _ABSENT
    return kind, text, keys, event


def verify_evidence(data):
    kind, text, keys, event = read_evidence(data)
    ev = None if event is _ABSENT else event
    # A parsed event is canonicalized as a value; None (JSON null) is a value too.
    if kind == "receipt":
        return verify_receipt(text, keys, _Value(ev) if event is not _ABSENT else None)
    return verify_batch_receipt(text, keys, _Value(ev) if event is not _ABSENT else None)


class _Value:
    """Wraps an already parsed event so that JSON null is not mistaken for "no event"."""

    def __init__(self, v):
        self.v = v
