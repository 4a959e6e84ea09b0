"""SPEC §1: strict JSON reading (§1.1 refusals) and RFC 8785 canonical form.

Parsed values: dict (insertion order kept), list, str, JNum (a float subclass:
every JSON number is an IEEE-754 double, §1), True/False, None.
"""
import math
import re

from .errors import EvError

DEFAULT_MAX_DEPTH = 128
DEFAULT_MAX_SIZE = 16 * 1024 * 1024
TWO53 = 2 ** 53

_NUM_RE = re.compile(rb"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_WS = b" \t\n\r"


class JNum(float):
    """A JSON number (a double), remembering whether its literal was a plain integer."""

    int_literal = False


def _num(value, int_literal):
    n = JNum(value)
    n.int_literal = int_literal
    return n


def is_int(v):
    """A JSON number whose double is integral (booleans are not numbers)."""
    return isinstance(v, float) and math.isfinite(v) and v == int(v)


def _nonzero_digits(lit):
    mant = lit.split(b"e")[0].split(b"E")[0]
    return any(c in b"123456789" for c in mant)


def _read_number(lit):
    """Turn a number literal into a double, refusing what §1.1 refuses."""
    text = lit.decode("ascii")
    try:
        value = float(text)  # correctly rounded, whatever the length of the literal
    except (OverflowError, ValueError):  # pragma: no cover - float() returns inf instead
        raise EvError("JSON_NUMBER_OUT_OF_RANGE", "number out of range")
    if math.isinf(value):
        raise EvError("JSON_NUMBER_OUT_OF_RANGE", "number rounds to infinity")
    if value == 0.0 and _nonzero_digits(lit):
        raise EvError("JSON_NUMBER_OUT_OF_RANGE", "non-zero number rounds to zero")
    int_literal = not (b"." in lit or b"e" in lit or b"E" in lit)
    if int_literal:
        digits = text.lstrip("-")
        big = len(digits) > 16 or int(digits) >= TWO53
        if big and format_number(abs(value)) != digits:
            raise EvError("JSON_INTEGER_PRECISION", "integer literal is not exactly a double")
    if value == 0.0:
        value = 0.0  # -0 becomes 0
    return _num(value, int_literal)


class _Parser:
    def __init__(self, data, max_depth):
        self.s = data
        self.i = 0
        self.max_depth = max_depth

    def ws(self):
        s, i, n = self.s, self.i, len(self.s)
        while i < n and s[i] in _WS:
            i += 1
        self.i = i

    def fail(self, what="syntax error"):
        raise EvError("JSON_SYNTAX", f"{what} at byte {self.i}")

    def value(self, depth):
        self.ws()
        if self.i >= len(self.s):
            self.fail("unexpected end")
        c = self.s[self.i]
        if c == 0x7B:  # {
            if depth + 1 > self.max_depth:
                raise EvError("JSON_TOO_DEEP", "nested too deep")
            return self.obj(depth + 1)
        if c == 0x5B:  # [
            if depth + 1 > self.max_depth:
                raise EvError("JSON_TOO_DEEP", "nested too deep")
            return self.arr(depth + 1)
        if c == 0x22:
            return self.string()
        if c == 0x2D or 0x30 <= c <= 0x39:
            m = _NUM_RE.match(self.s, self.i)
            if not m or m.end() == self.i:
                self.fail("bad number")
            lit = m.group(0)
            if lit == b"-":
                self.fail("bad number")
            self.i = m.end()
            return _read_number(lit)
        for word, val in ((b"true", True), (b"false", False), (b"null", None)):
            if self.s.startswith(word, self.i):
                self.i += len(word)
                return val
        self.fail("unexpected character")

    def obj(self, depth):
        self.i += 1
        out = {}
        self.ws()
        if self.i < len(self.s) and self.s[self.i] == 0x7D:
            self.i += 1
            return out
        while True:
            self.ws()
            if self.i >= len(self.s) or self.s[self.i] != 0x22:
                self.fail("expected a member name")
            key = self.string()
            self.ws()
            if self.i >= len(self.s) or self.s[self.i] != 0x3A:
                self.fail("expected ':'")
            self.i += 1
            val = self.value(depth)
            if key in out:
                raise EvError("JSON_DUPLICATE_KEY", "duplicate member name")
            out[key] = val
            self.ws()
            if self.i >= len(self.s):
                self.fail("unexpected end")
            c = self.s[self.i]
            self.i += 1
            if c == 0x7D:
                return out
            if c != 0x2C:
                self.i -= 1
                self.fail("expected ',' or '}'")

    def arr(self, depth):
        self.i += 1
        out = []
        self.ws()
        if self.i < len(self.s) and self.s[self.i] == 0x5D:
            self.i += 1
            return out
        while True:
            out.append(self.value(depth))
            self.ws()
            if self.i >= len(self.s):
                self.fail("unexpected end")
            c = self.s[self.i]
            self.i += 1
            if c == 0x5D:
                return out
            if c != 0x2C:
                self.i -= 1
                self.fail("expected ',' or ']'")

    def string(self):
        s = self.s
        self.i += 1
        parts = []
        start = self.i
        n = len(s)
        while True:
            if self.i >= n:
                self.fail("unterminated string")
            c = s[self.i]
            if c == 0x22:
                parts.append(s[start:self.i].decode("utf-8"))
                self.i += 1
                break
            if c < 0x20:
                self.fail("unescaped control character")
            if c == 0x5C:
                parts.append(s[start:self.i].decode("utf-8"))
                self.i += 1
                if self.i >= n:
                    self.fail("unterminated escape")
                e = s[self.i]
                simple = {0x22: '"', 0x5C: "\\", 0x2F: "/", 0x62: "\b", 0x66: "\f",
                          0x6E: "\n", 0x72: "\r", 0x74: "\t"}
                if e in simple:
                    parts.append(simple[e])
                    self.i += 1
                elif e == 0x75:
                    cu = self.hex4(self.i + 1)
                    self.i += 5
                    if 0xD800 <= cu <= 0xDBFF:
                        if s[self.i:self.i + 2] == b"\\u":
                            lo = self.hex4(self.i + 2)
                            if 0xDC00 <= lo <= 0xDFFF:
                                self.i += 6
                                parts.append(chr(0x10000 + ((cu - 0xD800) << 10) + (lo - 0xDC00)))
                            else:
                                raise EvError("JSON_LONE_SURROGATE", "lone high surrogate")
                        else:
                            raise EvError("JSON_LONE_SURROGATE", "lone high surrogate")
                    elif 0xDC00 <= cu <= 0xDFFF:
                        raise EvError("JSON_LONE_SURROGATE", "lone low surrogate")
                    else:
                        parts.append(chr(cu))
                else:
                    self.fail("invalid escape")
                start = self.i
            else:
                self.i += 1
        return "".join(parts)

    def hex4(self, at):
        h = self.s[at:at + 4]
        if len(h) != 4 or not all(c in b"0123456789abcdefABCDEF" for c in h):
            self.i = at
            self.fail("bad \\u escape")
        return int(h, 16)


def parse(data, max_depth=DEFAULT_MAX_DEPTH, max_size=DEFAULT_MAX_SIZE):
    """Parse JSON text (bytes or str) strictly, as SPEC §1.1 requires."""
    if isinstance(data, str):
        try:
            data = data.encode("utf-8")
        except UnicodeEncodeError:
            raise EvError("JSON_INVALID_UTF8", "text holds a lone surrogate")
    data = bytes(data)
    if len(data) > max_size:
        raise EvError("JSON_TOO_LARGE", "input larger than the limit")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise EvError("JSON_INVALID_UTF8", "input is not UTF-8")
    p = _Parser(data, max_depth)
    v = p.value(0)
    p.ws()
    if p.i != len(data):
        p.fail("trailing data")
    return v


# --- canonical form (RFC 8785) ---

def format_number(x):
    """ECMAScript Number.prototype.toString of a finite double."""
    if x != x or x in (float("inf"), float("-inf")):
        raise EvError("JSON_NON_FINITE", "NaN or infinity")
    if x == 0:
        return "0"
    if x < 0:
        return "-" + format_number(-x)
    r = repr(float(x))
    if "e" in r:
        mant, exp = r.split("e")
        exp = int(exp)
    else:
        mant, exp = r, 0
    if "." in mant:
        ip, fp = mant.split(".")
    else:
        ip, fp = mant, ""
    digits = ip + fp
    point = len(ip) + exp  # value = 0.digits * 10^point
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    k, n = len(digits), point
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * (-n) + digits
    e = n - 1
    sign = "+" if e >= 0 else "-"
    if k == 1:
        return f"{digits}e{sign}{abs(e)}"
    return f"{digits[0]}.{digits[1:]}e{sign}{abs(e)}"


def _esc(s):
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\b":
            out.append("\\b")
        elif ch == "\f":
            out.append("\\f")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif o < 0x20:
            out.append("\\u%04x" % o)
        else:
            if 0xD800 <= o <= 0xDFFF:
                raise EvError("JSON_LONE_SURROGATE", "lone surrogate in a string")
            out.append(ch)
    out.append('"')
    return "".join(out)


def _ser(v, out):
    if v is None:
        out.append("null")
    elif v is True:
        out.append("true")
    elif v is False:
        out.append("false")
    elif isinstance(v, str):
        out.append(_esc(v))
    elif isinstance(v, float):
        out.append(format_number(v))
    elif isinstance(v, int):
        if abs(v) > TWO53 - 1:
            raise EvError("JSON_INTEGER_PRECISION", "integer outside +-(2^53-1)")
        out.append(format_number(float(v)))
    elif isinstance(v, list):
        out.append("[")
        for i, x in enumerate(v):
            if i:
                out.append(",")
            _ser(x, out)
        out.append("]")
    elif isinstance(v, dict):
        out.append("{")
        for i, k in enumerate(sorted(v, key=lambda s: s.encode("utf-16-be", "surrogatepass"))):
            if not isinstance(k, str):
                raise EvError("JSON_UNSUPPORTED_TYPE", "member name is not a string")
            if i:
                out.append(",")
            out.append(_esc(k))
            out.append(":")
            _ser(v[k], out)
        out.append("}")
    else:
        raise EvError("JSON_UNSUPPORTED_TYPE", f"no JSON type for {type(v).__name__}")


def canonical(value):
    """The canonical bytes of a parsed value."""
    out = []
    _ser(value, out)
    return "".join(out).encode("utf-8")


def canonicalize(data, **kw):
    """Canonical bytes of JSON text."""
    return canonical(parse(data, **kw))
