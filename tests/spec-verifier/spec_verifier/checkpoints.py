"""SPEC §10: checkpoints as C2SP signed notes, ECDSA P-256 key hashes and signatures."""
import re
import unicodedata

from . import ecdsa
from .errors import EvError
from .util import b64std_decode, sha256

MAX_NOTE = 64 * 1024
MAX_SIGS = 100
_SIZE = re.compile(r"0|[1-9][0-9]*")


class SigLine:
    def __init__(self, name, keyhash, sig):
        self.name = name
        self.keyhash = keyhash
        self.sig = sig


class Checkpoint:
    def __init__(self, note, text, origin, size, root, extensions, sigs):
        self.note = note
        self.text = text
        self.origin = origin
        self.size = size
        self.root = root
        self.extensions = extensions
        self.sigs = sigs


def _has_cc(s, allow_lf=False):
    for ch in s:
        if allow_lf and ch == "\n":
            continue
        if unicodedata.category(ch) == "Cc":
            return True
    return False


def _bad(msg):
    raise EvError("CHECKPOINT_MALFORMED", msg)


def read(note):
    """Reading a signed note (§10 steps 1-4); CHECKPOINT_MALFORMED on any failure."""
    if isinstance(note, str):
        try:
            note = note.encode("utf-8")
        except UnicodeEncodeError:
            _bad("note is not UTF-8")
    if len(note) > MAX_NOTE:
        _bad("note larger than 64 KiB")
    try:
        s = note.decode("utf-8")
    except UnicodeDecodeError:
        _bad("note is not UTF-8")
    cut = s.rfind("\n\n")
    if cut < 0:
        _bad("no empty line before the signatures")
    text, block = s[:cut + 1], s[cut + 2:]
    if not text or not text.endswith("\n") or "\n\n" in text or text.startswith("\n"):
        _bad("text is empty or has an empty line")
    if _has_cc(text, allow_lf=True):
        _bad("text has a control character")
    if not block.endswith("\n"):
        _bad("signature block does not end with a line feed")
    lines = block[:-1].split("\n")
    if not 1 <= len(lines) <= MAX_SIGS:
        _bad("not 1 to 100 signature lines")
    sigs = []
    for line in lines:
        if not line.startswith("\u2014 "):
            _bad("signature line does not start with an em dash and a space")
        rest = line[2:]
        sp = rest.rfind(" ")
        if sp <= 0:
            _bad("signature line has no key name")
        name, b64 = rest[:sp], rest[sp + 1:]
        if "+" in name or " " in name or "\t" in name or "\n" in name or _has_cc(name):
            _bad("bad key name")
        raw = b64std_decode(b64)
        if raw is None or len(raw) < 5:
            _bad("signature is not base64 of at least 5 bytes")
        sigs.append(SigLine(name, raw[:4], raw[4:]))
    cp = read_text(text)
    return Checkpoint(note, text, cp.origin, cp.size, cp.root, cp.extensions, sigs)


def read_text(text):
    """A checkpoint's text alone (what its signatures cover, §10 step 4); CHECKPOINT_MALFORMED
    on any failure."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            _bad("text is not UTF-8")
    if not text or not text.endswith("\n") or "\n\n" in text or text.startswith("\n"):
        _bad("text is empty or has an empty line")
    if _has_cc(text, allow_lf=True):
        _bad("text has a control character")
    tl = text[:-1].split("\n")
    if len(tl) < 3:
        _bad("checkpoint text has fewer than three lines")
    origin, size_s, root_s = tl[0], tl[1], tl[2]
    if not origin:
        _bad("empty origin")
    if not _SIZE.fullmatch(size_s) or int(size_s) > 2 ** 64 - 1:
        _bad("size is not a decimal without leading zeros")
    root = b64std_decode(root_s)
    if root is None or len(root) != 32:
        _bad("root is not base64 of 32 bytes")
    return Checkpoint(None, text, origin, int(size_s), root, tl[3:], [])


def key_hash(point):
    return sha256(ecdsa.spki_der(*point))[:4]


def signed_by(cp, name, keys):
    """The keys of `keys` whose line under `name` verifies; raise when a matching line fails."""
    signers = []
    for key in keys:
        kh = key_hash(key.point)
        for line in cp.sigs:
            if line.name != name or line.keyhash != kh:
                continue
            rs = ecdsa.parse_der_sig(line.sig)
            if rs is None or not ecdsa.verify(key.point, cp.text.encode("utf-8"), *rs):
                raise EvError("CHECKPOINT_SIGNATURE_INVALID", "a trusted key's signature does not verify")
            if key not in signers:
                signers.append(key)
    return signers


def verify_alone(cp, key_set):
    """§10: trusted = the set's usable ES256 keys never revoked, named by the origin."""
    trusted = [k for k in key_set.usable_keys() if "revoked" not in k.jwk]
    if not signed_by(cp, cp.origin, trusted):
        raise EvError("CHECKPOINT_SIGNATURE_INVALID", "no trusted key signed the checkpoint")
    return cp
