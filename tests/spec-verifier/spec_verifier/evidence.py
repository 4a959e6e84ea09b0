"""SPEC §18 evidence files: one receipt or batch receipt, its key set, optionally its event."""
from . import jcs
from .errors import EvError
from .keys import read_key_set, read_key_set_value
from .receipt import verify_batch_receipt, verify_receipt

_ABSENT = object()
_HEX = set("0123456789abcdefABCDEF")


def read_evidence(data, trusted=None):
    """(kind, text, key set, event or _ABSENT, salt or None), §18 "Reading an evidence file" steps 1-3.
    With `trusted` keys, step 3 is skipped and those are used."""
    doc = jcs.parse(data)  # 1. its JSON code
    # 2.
    if not isinstance(doc, dict):
        raise EvError("INVALID_ARGUMENT", "an evidence file is a JSON object")
    has_r, has_b = "receipt" in doc, "batch_receipt" in doc
    if has_r == has_b:
        raise EvError("INVALID_ARGUMENT", "exactly one of receipt and batch_receipt")
    if has_r and not isinstance(doc["receipt"], str):
        raise EvError("INVALID_ARGUMENT", "receipt is not a string")
    if has_b and not isinstance(doc["batch_receipt"], (str, dict)):
        raise EvError("INVALID_ARGUMENT", "batch_receipt is neither a string nor an object")
    if not isinstance(doc.get("jwks"), (str, dict)):
        # Required even when the verifier holds trusted keys: step 2 comes before step 3 (a guess).
        raise EvError("INVALID_ARGUMENT", "jwks is missing or neither an object nor a string")
    salt = None
    if "salt_hex" in doc:
        hex_text = doc["salt_hex"]
        if not isinstance(hex_text, str) or len(hex_text) % 2 or any(c not in _HEX for c in hex_text):
            raise EvError("INVALID_ARGUMENT", "salt_hex is not a string of an even number of hex digits")
        salt = bytes.fromhex(hex_text)
    if has_r:
        kind, text = "receipt", doc["receipt"]
    else:
        b = doc["batch_receipt"]
        kind, text = "batch_receipt", (b if isinstance(b, str) else jcs.canonical(b).decode("utf-8"))
    # 3.
    if trusted is not None:
        keys = trusted
    else:
        j = doc["jwks"]
        keys = read_key_set(j) if isinstance(j, str) else read_key_set_value(j)
    event = doc["event"] if "event" in doc else _ABSENT
    return kind, text, keys, event, salt


def verify_evidence(data, trusted=None):
    """§18: with `trusted` keys, those instead of the file's own (step 3 skipped); step 4."""
    kind, text, keys, event, salt = read_evidence(data, trusted)
    ev = _Value(event) if event is not _ABSENT else None
    # A parsed event is canonicalized as a value; JSON null is a value too.
    if kind == "receipt":
        return verify_receipt(text, keys, ev, salt)
    return verify_batch_receipt(text, keys, ev, salt)


class _Value:
    """Wraps an already parsed event so that JSON null is not mistaken for "no event"."""

    def __init__(self, v):
        self.v = v
