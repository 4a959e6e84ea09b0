"""SPEC §22.1 verifier keys and witness cosignatures, §22.2 tlog-policies (c2sp.org/tlog-policy):
reading a policy and evaluating a signed checkpoint note against it."""
import re

from . import checkpoints, ecdsa, ed25519
from .errors import EvError
from .util import b64std_decode, sha256

MAX_POLICY = 64 * 1024
MAX_LOGS = MAX_WITNESSES = MAX_GROUPS = 256
MAX_DEPTH = 32
MAX_TIMESTAMP = 2 ** 63 - 1
# §22.1: the types of a vkey's key.
LOG_ED25519, LOG_ECDSA, WITNESS = 0x01, 0x02, 0x04
LOG_TYPES = (LOG_ED25519, LOG_ECDSA)
WITNESS_TYPES = (WITNESS,)
COSIGNATURE_LEN = 72  # 8-byte timestamp and 64-byte Ed25519 signature, after the key ID

_KEY_ID = re.compile(r"[0-9a-f]{8}")
_DECIMAL = re.compile(r"[1-9][0-9]*")
_FIELD_SEP = re.compile(r"[ \t]+")


class VKey:
    def __init__(self, text, name, key_id, typ, key, point=None):
        self.text = text        # the vkey as written
        self.name = name        # key name (str; bytes that are not UTF-8 kept as surrogates)
        self.key_id = key_id    # 4 bytes
        self.type = typ         # 0x01, 0x02 or 0x04
        self.key = key          # the public key after the type byte (32 bytes, or SPKI DER)
        self.point = point      # ECDSA: (x, y)


def _name_bytes(name):
    return name.encode("utf-8", "surrogateescape")


def key_id_of(name, typ, key):
    """§22.1's key ID: SHA-256(name ‖ LF ‖ type ‖ key)[:4] for Ed25519 (0x01, 0x04), the first
    4 bytes of SHA-256 of the SPKI DER for an ECDSA log key (0x02, as §10's key hash)."""
    if typ == LOG_ECDSA:
        return sha256(key)[:4]
    return sha256(_name_bytes(name) + b"\n" + bytes([typ]) + key)[:4]


def read_vkey(text, types):
    """§22.1: `<name>+<key ID, 8 lowercase hex digits>+<base64(type ‖ public key)>` (only the
    first two `+` separate fields) of a role whose key `types` allows. KEY_MALFORMED for a
    malformed vkey or a key ID that is not the key's, KEY_UNSUPPORTED for another type,
    KEY_INVALID for an Ed25519 key (or, a guess, an ECDSA key) that is not a curve point.

    The name is a key name (§19 check 12 step 3: as §10's, U+0080 to U+009F included). Guesses:
    the base64 is standard with padding
    and canonical (§10's signature lines are); an ECDSA key is the 91-byte P-256 SPKI DER "as
    OpenSSL writes it" (§19 check 12 step 3; §22.1 says only "SPKI DER"). Order: form, type,
    key, key ID."""
    parts = text.split("+", 2)
    if len(parts) != 3:
        raise EvError("KEY_MALFORMED", "a vkey is name+keyID+key")
    name, kid_hex, b64 = parts
    if not name or any(c in " \t\n+" or ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in name):
        raise EvError("KEY_MALFORMED", "a vkey's name is empty or has a space or control character")
    if not _KEY_ID.fullmatch(kid_hex):
        raise EvError("KEY_MALFORMED", "a vkey's key ID is not 8 lowercase hex digits")
    raw = b64std_decode(b64)
    if not raw:
        raise EvError("KEY_MALFORMED", "a vkey's key is not standard base64 of a type and a key")
    typ, key = raw[0], raw[1:]
    if typ not in types:
        raise EvError("KEY_UNSUPPORTED", f"a vkey of type 0x{typ:02x} where {sorted(types)} is allowed")
    point = None
    if typ == LOG_ECDSA:
        if len(key) != 91 or not key.startswith(ecdsa.SPKI_PREFIX + b"\x04"):
            raise EvError("KEY_MALFORMED", "an ECDSA log key is not a P-256 SPKI DER as OpenSSL writes it")
        point = (int.from_bytes(key[27:59], "big"), int.from_bytes(key[59:91], "big"))
        if not ecdsa.on_curve(*point):
            raise EvError("KEY_INVALID", "an ECDSA log key is not a curve point")
    else:
        if len(key) != 32:
            raise EvError("KEY_MALFORMED", "an Ed25519 key is not 32 bytes")
    if key_id_of(name, typ, key).hex() != kid_hex:
        raise EvError("KEY_MALFORMED", "a vkey's key ID is not the key's")
    if typ != LOG_ECDSA and ed25519.decode_point(key) is None:
        raise EvError("KEY_INVALID", "an Ed25519 key is not a curve point")
    return VKey(text, name, bytes.fromhex(kid_hex), typ, key, point)


class Policy:
    def __init__(self):
        self.logs = []        # VKey, in file order
        self.witnesses = []   # (policy name, VKey), in file order
        self.groups = {}      # name: (k, [member names])
        self.quorum = None    # a witness's or group's name, or "none"


def _bad(msg):
    raise EvError("POLICY_MALFORMED", msg)


def read_policy(raw):
    """§22.2 "Reading": a Policy, or POLICY_MALFORMED (805) for any failure — also for a vkey that
    §22.1 alone would call KEY_MALFORMED, KEY_UNSUPPORTED or KEY_INVALID (a guess: §22.2 says
    "every failure is POLICY_MALFORMED", and docs/ERRORS.md counts "a bad key" among them).

    Guesses where SPEC is silent: a line of only spaces and tabs is empty; fields may be
    preceded and followed by spaces and tabs (the separators); keywords are lower case; a log's
    name is its vkey's key name, and the checks that a witness is not a log look at every log
    of the file, before or after it; a log's key and a witness's key are the same key when their
    key bytes (after the type) are equal. Bytes that are not UTF-8 are read too ("other bytes
    are opaque"; the CLI refuses such a policy)."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    if len(raw) > MAX_POLICY:
        _bad("a policy larger than 64 KiB")
    if any(b < 0x20 and b != 0x09 or b == 0x7F for b in raw.replace(b"\n", b"")):
        _bad("a control character other than tab")
    text = raw.decode("utf-8", "surrogateescape")  # other bytes are opaque
    p = Policy()
    defined = {}        # witness or group name: depth (a witness 0)
    members_used = set()
    log_keys = set()
    witness_keys = set()
    for line in text.split("\n"):
        stripped = line.strip(" \t")
        if not stripped:
            continue
        f = _FIELD_SEP.split(stripped)
        if f[0].startswith("#"):
            continue
        kw = f[0]
        if kw == "log":
            if len(f) not in (2, 3):
                _bad("a log line is `log <vkey> [<url>]`")
            try:
                vk = read_vkey(f[1], LOG_TYPES)
            except EvError as e:
                _bad(f"a log's vkey: {e.message} ({e.name})")
            if (vk.type, vk.key) in log_keys:
                _bad("the same log key twice")
            log_keys.add((vk.type, vk.key))
            p.logs.append(vk)
            if len(p.logs) > MAX_LOGS:
                _bad(f"more than {MAX_LOGS} logs")
        elif kw == "witness":
            if len(f) not in (3, 4):
                _bad("a witness line is `witness <name> <vkey> [<url>]`")
            name = f[1]
            if name == "none" or name in defined:
                _bad(f"the name {name!r} is defined twice (or is `none`)")
            try:
                vk = read_vkey(f[2], WITNESS_TYPES)
            except EvError as e:
                _bad(f"a witness's vkey: {e.message} ({e.name})")
            if vk.key in witness_keys:
                _bad("the same witness key twice")
            witness_keys.add(vk.key)
            defined[name] = 0
            p.witnesses.append((name, vk))
            if len(p.witnesses) > MAX_WITNESSES:
                _bad(f"more than {MAX_WITNESSES} witnesses")
        elif kw == "group":
            if len(f) < 4:
                _bad("a group line is `group <name> <k> <member>...` with at least one member")
            name, k_text, members = f[1], f[2], f[3:]
            if name == "none" or name in defined:
                _bad(f"the name {name!r} is defined twice (or is `none`)")
            depth = 0
            for m in members:
                if m == "none" or m not in defined:
                    _bad(f"a group member {m!r} not defined on an earlier line")
                if m in members_used:
                    _bad(f"{m!r} is a group member twice")
                members_used.add(m)
                depth = max(depth, defined[m])
            n = len(members)
            if k_text == "any":
                k = 1
            elif k_text == "all":
                k = n
            elif _DECIMAL.fullmatch(k_text):
                k = int(k_text)
            else:
                _bad("a group's k is not `any`, `all` or a decimal without leading zeros")
            if not 1 <= k <= n:
                _bad("a group's k is not 1 to its number of members")
            if depth + 1 > MAX_DEPTH:
                _bad(f"groups nested more than {MAX_DEPTH} deep")
            defined[name] = depth + 1
            p.groups[name] = (k, members)
            if len(p.groups) > MAX_GROUPS:
                _bad(f"more than {MAX_GROUPS} groups")
        elif kw == "quorum":
            if len(f) != 2:
                _bad("a quorum line is `quorum <name>`")
            if p.quorum is not None:
                _bad("more than one quorum line")
            if f[1] != "none" and f[1] not in defined:
                _bad(f"the quorum {f[1]!r} is not defined on an earlier line")
            p.quorum = f[1]
        else:
            _bad(f"an unknown line {kw!r}")
    if p.quorum is None:
        _bad("no quorum line")
    log_names = {vk.name for vk in p.logs}
    for name, vk in p.witnesses:
        if vk.key in {lk.key for lk in p.logs}:
            _bad("a witness's key is a log's key")
        if name in log_names or vk.name in log_names:
            _bad("a witness's name or key name is a log's name")
    return p


def cosigned_message(timestamp, text):
    """§22.1: what a cosignature signs."""
    return b"cosignature/v1\ntime " + str(timestamp).encode() + b"\n" + text


class Evaluation:
    def __init__(self, cp, signed_by, cosigned, quorum_met):
        self.checkpoint = cp
        self.signed_by = signed_by    # the log keys (VKey) that signed, in policy order
        self.cosigned = cosigned      # (policy name, VKey, timestamp) of each witness that cosigned, in policy order
        self.quorum_met = quorum_met


def _log_line_verifies(vk, text, sig):
    if vk.type == LOG_ED25519:
        return ed25519.verify(vk.key, text, sig)
    rs = ecdsa.parse_der_sig(sig)
    return rs is not None and ecdsa.verify(vk.point, text, *rs)


def _met(p, name, cosigned_names):
    if name == "none":
        return True
    if name in p.groups:
        k, members = p.groups[name]
        return sum(1 for m in members if _met(p, m, cosigned_names)) >= k
    return name in cosigned_names


def evaluate(note, p):
    """§22.2 "Evaluating" a signed checkpoint note against policy `p`, in order, stopping at the
    first error: CHECKPOINT_MALFORMED, CHECKPOINT_SIGNATURE_INVALID, COSIGNATURE_INVALID,
    POLICY_NOT_SATISFIED. An Evaluation when the quorum is met."""
    cp = checkpoints.read(note)  # 1. (§10; CHECKPOINT_MALFORMED)
    text = cp.text.encode("utf-8")
    # 2. the policy's logs named by the origin are the trusted keys
    signed_by = []
    for vk in p.logs:
        if vk.name != cp.origin:
            continue
        for line in cp.sigs:
            if line.name == vk.name and line.keyhash == vk.key_id:
                if not _log_line_verifies(vk, text, line.sig):
                    raise EvError("CHECKPOINT_SIGNATURE_INVALID", f"a line of the policy's log key {vk.text} does not verify")
                if vk not in signed_by:
                    signed_by.append(vk)
    if not signed_by:
        raise EvError("CHECKPOINT_SIGNATURE_INVALID", "no log key of the policy for the origin signed the checkpoint")
    # 3. every line of a policy witness's key must be a valid cosignature
    cosigned = []
    for name, vk in p.witnesses:
        first = None
        for line in cp.sigs:
            if line.name != vk.name or line.keyhash != vk.key_id:
                continue
            sig = line.sig
            ts = int.from_bytes(sig[:8], "big") if len(sig) == COSIGNATURE_LEN else None
            if ts is None or ts > MAX_TIMESTAMP or not ed25519.verify(vk.key, cosigned_message(ts, text), sig[8:]):
                raise EvError("COSIGNATURE_INVALID", f"a cosignature of witness {name} does not verify")
            if first is None:
                first = ts
        if first is not None:
            cosigned.append((name, vk, first))
    # 4. the quorum
    if not _met(p, p.quorum, {c[0] for c in cosigned}):
        raise EvError("POLICY_NOT_SATISFIED", f"the quorum {p.quorum} is not met")
    return Evaluation(cp, signed_by, cosigned, True)
