"""Strict base64 forms, digests and times (SPEC §2, §5, §6.1)."""
import base64
import binascii
import hashlib
import re

from .errors import EvError

_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_B64STD = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


def b64url_decode(s):
    """RFC 4648 §5 without padding and with zero trailing bits; None when not that."""
    if isinstance(s, bytes):
        try:
            s = s.decode("ascii")
        except UnicodeDecodeError:
            return None
    if not isinstance(s, str) or not _B64URL.fullmatch(s) or len(s) % 4 == 1:
        return None
    try:
        raw = base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
    except (binascii.Error, ValueError):
        return None
    if b64url_encode(raw) != s:
        return None  # non-zero trailing bits
    return raw


def b64url_encode(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode("ascii")


def b64std_decode(s):
    """Standard base64 with padding, canonical (zero pad bits); None when not that."""
    if isinstance(s, bytes):
        try:
            s = s.decode("ascii")
        except UnicodeDecodeError:
            return None
    if not isinstance(s, str) or not _B64STD.fullmatch(s):
        return None
    try:
        raw = base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError):
        return None
    if base64.b64encode(raw).decode("ascii") != s:
        return None
    return raw


def b64std_encode(b):
    return base64.b64encode(b).decode("ascii")


def sha256(b):
    return hashlib.sha256(b).digest()


def digest_text(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


def check_digest(s):
    if not isinstance(s, str) or not _DIGEST.fullmatch(s):
        raise EvError("DIGEST_MALFORMED", "digest is not sha256:<64 lowercase hex>")
    return s


# --- §6.1 times, as nanoseconds since 1970-01-01T00:00:00Z (proleptic Gregorian) ---

_TIME = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?Z")
NS = 10 ** 9


def _leap(y):
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


def days_from_civil(y, m, d):
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


MIN_NS = days_from_civil(0, 1, 1) * 86400 * NS
MAX_NS = days_from_civil(10000, 1, 1) * 86400 * NS - 1


def parse_time(s, allow_trailing_zeros=False):
    """A §6.1 time to nanoseconds since the epoch; TIME_INVALID otherwise.

    allow_trailing_zeros: §6.1 "except in a record, where a time that only is not in its
    shortest form (a fraction with a trailing zero, or `.0`) fails the record's one byte form
    first (RECORD_MALFORMED, §6)": records read the fraction leniently and check the shortest
    form with the byte form."""
    m = _TIME.fullmatch(s) if isinstance(s, str) else None
    if not m:
        raise EvError("TIME_INVALID", "time is not YYYY-MM-DDTHH:MM:SS[.F]Z")
    y, mo, d, h, mi, se = (int(g) for g in m.groups()[:6])
    frac = m.group(7)
    if not 1 <= mo <= 12:
        raise EvError("TIME_INVALID", "month out of range")
    mdays = [31, 29 if _leap(y) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1]
    if not 1 <= d <= mdays or h > 23 or mi > 59 or se > 59:
        raise EvError("TIME_INVALID", "field out of range")
    if frac is not None and frac.endswith("0") and not allow_trailing_zeros:
        raise EvError("TIME_INVALID", "fraction with trailing zeros")
    ns = int((frac or "").ljust(9, "0")) if frac else 0
    return ((days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se) * NS) + ns
