"""SPEC §6 records and §7 receipts (reading; verification is in receipt.py)."""
import re

from . import jcs, jws
from .errors import EvError
from .util import check_digest, digest_text, parse_time

MAX_SEQ = 2 ** 53 - 1
REQUIRED = ("event", "kid", "log_id", "prev", "seq", "time", "v")
_LOG_ID = re.compile(r"[!-~]{1,256}")
RECEIPT_TYP = "evidentia-receipt+jws"


def check_log_id(s):
    if not isinstance(s, str) or not _LOG_ID.fullmatch(s):
        raise EvError("LOG_ID_INVALID", "log id is not 1-256 printable ASCII characters")
    return s


class Record:
    def __init__(self, raw, fields):
        self.bytes = raw
        self.f = fields
        self.log_id = fields["log_id"]
        self.seq = int(fields["seq"])
        self.prev = fields["prev"]
        self.event = fields["event"]
        self.time = fields["time"]
        self.time_ns = parse_time(fields["time"], allow_trailing_zeros=True)
        self.nonce = fields.get("nonce")
        self.kid = fields["kid"]
        self.version = fields["v"]
        self.digest = digest_text(raw)


def parse_record(raw):
    """Read a record's bytes (§6); RECORD_MALFORMED or the invalid field's code."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    try:
        f = jcs.parse(raw)
    except EvError as e:
        raise EvError("RECORD_MALFORMED", "record is not JSON: " + e.message)
    if not isinstance(f, dict):
        raise EvError("RECORD_MALFORMED", "record is not an object")
    names = set(f)
    if not set(REQUIRED) <= names or not names <= set(REQUIRED) | {"nonce"}:
        raise EvError("RECORD_MALFORMED", "record members are not exactly those of §6")
    if not jcs.is_int(f["v"]) or f["v"] not in (1, 2):
        raise EvError("RECORD_MALFORMED", "v is neither 1 nor 2")
    for m in ("log_id", "event", "time", "kid"):
        if not isinstance(f[m], str):
            raise EvError("RECORD_MALFORMED", f"{m} is not a string")
    if "nonce" in f and not isinstance(f["nonce"], str):
        raise EvError("RECORD_MALFORMED", "nonce is not a string")
    if f["prev"] is not None and not isinstance(f["prev"], str):
        raise EvError("RECORD_MALFORMED", "prev is not a string or null")
    if not jcs.is_int(f["seq"]) or not 0 <= f["seq"] <= MAX_SEQ:
        raise EvError("RECORD_MALFORMED", "seq is not an integer in 0..2^53-1")
    check_log_id(f["log_id"])
    if f["prev"] is not None:
        check_digest(f["prev"])
    check_digest(f["event"])
    parse_time(f["time"], allow_trailing_zeros=True)
    if "nonce" in f and not 1 <= len(f["nonce"].encode("utf-8")) <= 256:
        raise EvError("RECORD_MALFORMED", "nonce is not 1-256 bytes")
    if not 1 <= len(f["kid"].encode("utf-8")) <= 256:
        raise EvError("RECORD_MALFORMED", "kid is not 1-256 bytes")
    if (f["prev"] is None) != (f["seq"] == 0):
        raise EvError("RECORD_MALFORMED", "prev is null exactly when seq is 0")
    if jcs.canonical(f) != raw:
        raise EvError("RECORD_MALFORMED", "record bytes are not its canonical JSON")
    if "." in f["time"] and f["time"][:-1].endswith("0"):
        raise EvError("RECORD_MALFORMED", "time is not in its shortest form")
    return Record(raw, f)


class Receipt:
    def __init__(self, text, parsed, record):
        self.text = text
        self.jws = parsed
        self.record = record

    @property
    def header_kid(self):
        return self.jws.header.get("kid")


def parse_receipt(text):
    """§5 steps 1-6, then §7's receipt form, then the record (§6)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise EvError("JWS_MALFORMED", "receipt is not text")
    parsed = jws.parse(text)
    h = parsed.header
    kid = h.get("kid")
    if not isinstance(kid, str) or h.get("typ") != RECEIPT_TYP:
        raise EvError("RECEIPT_MALFORMED", "not a receipt: typ or kid")
    expected = jcs.canonical({"alg": "ES256", "kid": kid, "typ": RECEIPT_TYP})
    if parsed.header_raw != expected:
        raise EvError("RECEIPT_MALFORMED", "protected header is not exactly the receipt header")
    if parsed.parts[1] == "" or not parsed.payload:
        raise EvError("RECEIPT_MALFORMED", "detached or empty payload")
    record = parse_record(parsed.payload)
    return Receipt(text, parsed, record)
