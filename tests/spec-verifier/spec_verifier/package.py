"""SPEC §19 evidence packages: reading, checks 1-7, and of check 8 (RFC 3161) only the token's
outer shape (a guess at what can be judged without §20: see README)."""
import base64
import hashlib
import os
import re
import zlib

from . import checkpoints, ecdsa, jcs, merkle
from .errors import EvError
from .keys import read_key_set, read_point, thumbprint
from .records import parse_receipt, parse_record
from .receipt import parse_batch_receipt
from .util import sha256

_NAME = re.compile(r"[A-Za-z0-9._-]+")
MAX_FILE = 64 * 1024 * 1024


MAX_FILES = 64
MAX_TOTAL = 96 * 1024 * 1024


def _refuse(msg):
    raise EvError("INVALID_ARGUMENT", msg)


def _check_name(name):
    """§19: "a file name is letters, digits, `.`, `_` and `-`, is not `.` or `..` and does not
    end in `.`"."""
    if not _NAME.fullmatch(name) or name in (".", "..") or name.endswith("."):
        _refuse(f"{name!r} is not a plain file name")


def _check_totals(files):
    if not files:
        _refuse("a package holds at least one file")
    if len(files) > MAX_FILES:
        _refuse("more than 64 files")
    if sum(len(v) for v in files.values()) > MAX_TOTAL:
        _refuse("more than 96 MiB in all")


def read_package(path):
    """§19 "Reading a package": {name: bytes} of a package folder or .tar.gz, or
    INVALID_ARGUMENT (exit class 2) before any check."""
    if os.path.isdir(path) and not os.path.islink(path):
        files = {}
        names = sorted(os.listdir(path))
        if len(names) > MAX_FILES:
            _refuse("more than 64 files")
        for name in names:
            p = os.path.join(path, name)
            if os.path.islink(p) or not os.path.isfile(p):
                _refuse(f"{name} is not a regular file")
            _check_name(name)
            if os.path.getsize(p) > MAX_FILE:
                _refuse(f"{name} is larger than 64 MiB")
            with open(p, "rb") as f:
                files[name] = f.read(MAX_FILE + 1)
            if len(files[name]) > MAX_FILE:
                _refuse(f"{name} is larger than 64 MiB")
        _check_totals(files)
        return files
    if os.path.islink(path) or not os.path.isfile(path):
        _refuse("no package there")
    with open(path, "rb") as f:
        raw = f.read(MAX_TOTAL + 1)
    return _read_tar(_gunzip(raw))


def _gunzip(raw, cap=MAX_TOTAL + 1024 * 1024):
    """Every gzip member, as `gzip -d` reads them, at most `cap` bytes out (no gzip bomb)."""
    out = bytearray()
    if not raw:
        _refuse("not gzip: empty")
    while raw:
        d = zlib.decompressobj(wbits=31)
        try:
            out += d.decompress(raw, cap + 1 - len(out))
        except zlib.error as e:
            _refuse(f"not gzip: {e}")
        if len(out) > cap:
            _refuse("the archive holds more than a package can")
        if not d.eof:
            _refuse("the gzip stream is cut short")
        raw = d.unused_data
    return bytes(out)


def _octal(field):
    t = field.rstrip(b"\0 ").lstrip(b" ")
    if not t or any(c not in b"01234567" for c in t):
        return None
    return int(t, 8)


def _read_tar(data):
    """A ustar or GNU tar stream of one folder of regular files (§19). Refusing a header whose
    checksum fails, a non-ASCII name, or no end-of-archive block is a guess (not a tar stream)."""
    files, folded, top, pos = {}, set(), None, 0
    while True:
        block = data[pos:pos + 512]
        if len(block) < 512:
            _refuse("the archive is cut short (no end-of-archive block)")
        if block.count(0) == 512:
            if data[pos:].count(0) != len(data) - pos:
                _refuse("bytes other than zeros after the end-of-archive blocks")
            break
        if block[257:263] not in (b"ustar\0", b"ustar "):
            _refuse("not a ustar or GNU tar header")
        chk = _octal(block[148:156])
        if chk is None or chk != sum(block[:148]) + 8 * 32 + sum(block[156:]):
            _refuse("a tar header checksum fails")
        typ = block[156:157]
        if block[124] & 0x80:
            _refuse("a member size in base-256")  # larger than any file of a package (a guess)
        size = _octal(block[124:136])
        if size is None:
            _refuse("a member size is not octal")
        name = block[0:100].split(b"\0", 1)[0]
        if block[257:263] == b"ustar\0":
            prefix = block[345:500].split(b"\0", 1)[0]
            if prefix:
                name = prefix + b"/" + name
        try:
            name = name.decode("ascii")
        except UnicodeDecodeError:
            _refuse("a member name is not ASCII")
        start = pos + 512
        end = start + size
        if end > len(data):
            _refuse(f"member {name} is cut short")
        pos = start + (size + 511) // 512 * 512
        if typ in (b"L", b"K", b"x", b"g"):
            _refuse("a long-name or PAX header")
        if name.startswith("/"):
            _refuse(f"member {name} has an absolute path")
        parts = name.split("/")
        if typ == b"5":
            if parts[-1] == "":
                parts = parts[:-1]
            if len(parts) != 1 or size != 0:
                _refuse(f"member {name} is not the one top folder")
            _check_name(parts[0])
            if top is not None and top != parts[0]:
                _refuse("a second top folder")
            top = parts[0]
            continue
        if typ not in (b"0", b"\0"):
            _refuse(f"member {name} is not a regular file (a link, device or FIFO)")
        if len(parts) != 2:
            _refuse(f"member {name} is not directly in the one top folder")
        folder, base = parts
        if ".." in parts:
            _refuse(f"member {name} leaves the folder")
        _check_name(folder)
        if top is not None and top != folder:
            _refuse("a second top folder")
        top = folder
        _check_name(base)
        if base.lower() in folded:
            _refuse(f"{base} twice (ignoring ASCII case)")
        folded.add(base.lower())
        if size > MAX_FILE:
            _refuse(f"{base} is larger than 64 MiB")
        files[base] = data[start:end]
        if len(files) > MAX_FILES:
            _refuse("more than 64 files")
    _check_totals(files)
    return files


def canonical_pem(spki):
    b = base64.b64encode(spki).decode()
    return "-----BEGIN PUBLIC KEY-----\n" + "".join(b[i:i + 64] + "\n" for i in range(0, len(b), 64)) \
        + "-----END PUBLIC KEY-----\n"


def pem_point(text):
    """The P-256 point of a SubjectPublicKeyInfo PEM written as OpenSSL writes it; None otherwise."""
    try:
        s = text.decode("ascii")
    except (UnicodeDecodeError, AttributeError):
        return None
    lines = s.split("\n")
    if len(lines) < 3 or lines[0] != "-----BEGIN PUBLIC KEY-----":
        return None
    try:
        der = base64.b64decode("".join(lines[1:-2]), validate=True)
    except Exception:
        return None
    if len(der) != 91 or not der.startswith(ecdsa.SPKI_PREFIX + b"\x04"):
        return None
    x = int.from_bytes(der[27:59], "big")
    y = int.from_bytes(der[59:91], "big")
    if not ecdsa.on_curve(x, y) or canonical_pem(der) != s:
        return None
    return x, y


def _as_json_string(b):
    """§19 check 4: a file as a JSON string: a quote, its bytes with each backslash, quote and
    line feed escaped (backslash-backslash, backslash-quote, backslash-n), and a quote."""
    return b'"' + b.replace(b"\\", b"\\\\").replace(b'"', b'\\"').replace(b"\n", b"\\n") + b'"'


def batch_receipt_of(files):
    """The bytes §19 check 4 says `batch-receipt.json` must be exactly."""
    return (b'{"checkpoint":' + _as_json_string(files.get("checkpoint.txt", b"")) + b',"proof":'
            + files.get("inclusion-proof.json", b"") + b',"record":' + _as_json_string(files.get("record.json", b""))
            + b',"type":"evidentia-batch-receipt","v":1}')


class Check:
    def __init__(self, number):
        self.number = number
        self.passed = True
        self.applies = True
        self.failure = None

    def fail(self, why):
        if self.passed:
            self.passed = False
            self.failure = why


def verify_package(path):
    files = read_package(path)
    checks = {n: Check(n) for n in range(1, 9)}

    def fail_all(why, numbers):
        for n in numbers:
            checks[n].fail(why)

    # 1. every file matches SHA256SUMS, and no file is unlisted
    sums = files.get("SHA256SUMS")
    listed = {}
    if sums is None:
        checks[1].fail("SHA256SUMS is missing")
    else:
        try:
            lines = sums.decode("utf-8").split("\n")
        except UnicodeDecodeError:
            lines = None
        if lines is None or lines[-1] != "":
            checks[1].fail("SHA256SUMS is not lines of text")
        else:
            for line in lines[:-1]:
                m = re.fullmatch(r"([0-9a-f]{64})  ([A-Za-z0-9._-]+)", line)
                if not m or m.group(2) in listed or m.group(2) == "SHA256SUMS":
                    checks[1].fail("SHA256SUMS has a malformed line")
                    continue
                listed[m.group(2)] = m.group(1)
            for name, h in listed.items():
                if name not in files:
                    checks[1].fail(f"{name} is missing")
                elif hashlib.sha256(files[name]).hexdigest() != h:
                    checks[1].fail(f"{name} differs from its SHA-256")
            for name in files:
                if name != "SHA256SUMS" and name not in listed:
                    checks[1].fail(f"{name} is not listed")

    is_receipt = "receipt.jws" in files
    is_batch = "batch-receipt.json" in files
    required = ["record.json", "event.json", "public-key.pem", "public-key.jwk", "keys.jwks",
                "inclusion-proof.json", "checkpoint.txt", "checkpoint-body.txt", "signature.der"]
    if is_receipt:
        required.append("signing-input.txt")
    for n in required:
        if n not in files:
            checks[1].fail(f"{n} is missing")
    if is_receipt == is_batch:
        fail_all("the package holds neither or both of receipt.jws and batch-receipt.json", range(2, 8))
        return checks
    if "record.json" not in files:
        fail_all("record.json is missing", range(2, 8))
        return checks
    try:
        record = parse_record(files["record.json"])
    except EvError:
        fail_all("record.json is not a record", range(2, 8))
        return checks

    # 2. the PEM and the JWK are one key, written canonically, thumbprint = kid
    key_point = None
    pem = pem_point(files.get("public-key.pem", b""))
    try:
        jwk = jcs.parse(files.get("public-key.jwk", b""))
        if not isinstance(jwk, dict) or jcs.canonical(jwk) != files["public-key.jwk"] \
                or jwk.get("kty") != "EC" or jwk.get("crv") != "P-256" or "d" in jwk:
            raise EvError("KEY_MALFORMED", "")
        jpoint = read_point(jwk)
        tp = thumbprint(jwk)
    except (EvError, KeyError):
        jpoint = tp = None
    if pem is None or jpoint is None or pem != jpoint:
        checks[2].fail("the key files are not one key written canonically")
    elif tp != record.kid or ("kid" in jwk and jwk["kid"] != tp):
        checks[2].fail("the key's thumbprint is not the record's kid")
    else:
        key_point = jpoint

    # 3. keys.jwks has that key in force at the record's time
    ks = None
    try:
        ks = read_key_set(files.get("keys.jwks", b""))
        entry = [k for k in ks.keys if k.thumbprint == record.kid and k.usable]
        if len(entry) != 1 or entry[0].validity_failure(record.time_ns) is not None:
            checks[3].fail("keys.jwks does not have the key in force at the record's time")
    except EvError:
        checks[3].fail("keys.jwks is not a key set")

    # the checkpoint (6 reads it; 4 and 5 need it)
    cp = None
    try:
        cp = checkpoints.read(files.get("checkpoint.txt", b""))
    except EvError:
        pass
    body = files.get("checkpoint-body.txt")

    # 4. the signature
    sig_rs = ecdsa.parse_der_sig(files.get("signature.der", b""))
    if is_receipt:
        try:
            rc = parse_receipt(files["receipt.jws"])
            h64, p64, s64 = rc.jws.parts
            rs = (int.from_bytes(rc.jws.signature[:32], "big"), int.from_bytes(rc.jws.signature[32:], "big"))
            if files.get("signing-input.txt") != (h64 + "." + p64).encode() \
                    or files.get("signature.der") != ecdsa.encode_der_sig(*rs) \
                    or rc.record.bytes != files["record.json"]:
                checks[4].fail("signing-input.txt, signature.der or record.json is not the receipt's")
            elif key_point is None or not ecdsa.verify(key_point, rc.jws.signing_input, *rs):
                checks[4].fail("the signature does not verify with the key")
        except EvError:
            checks[4].fail("receipt.jws is not a receipt")
    else:
        try:
            br = parse_batch_receipt(files["batch-receipt.json"])
            if files["batch-receipt.json"] != batch_receipt_of(files) or cp is None:
                checks[4].fail("batch-receipt.json is not the batch receipt of record.json, "
                               "inclusion-proof.json and checkpoint.txt")
            elif sig_rs is None or key_point is None or body is None \
                    or not ecdsa.verify(key_point, body, *sig_rs):
                checks[4].fail("the signature does not verify over checkpoint-body.txt")
        except EvError:
            checks[4].fail("batch-receipt.json is not a batch receipt")

    # 5. the inclusion proof, written canonically
    try:
        raw = files.get("inclusion-proof.json", b"")
        proof = merkle.read_inclusion(raw)
        if jcs.canonicalize(raw) != raw:
            checks[5].fail("inclusion-proof.json is not canonical")
        elif cp is None or proof.leaf_index != record.seq or proof.tree_size != cp.size \
                or not merkle.verify_inclusion(proof, merkle.leaf_hash(record.bytes), cp.root):
            checks[5].fail("the inclusion proof does not lead to the checkpoint's root")
    except EvError:
        checks[5].fail("inclusion-proof.json is not an inclusion proof")

    # 6. checkpoint.txt = body, empty line, signature lines; one verifies under the log id
    if cp is None or body is None or cp.text.encode("utf-8") != body:
        checks[6].fail("checkpoint.txt is not checkpoint-body.txt with signature lines")
    else:
        signer = key_point
        if "checkpoint-key.pem" in files:
            signer = pem_point(files["checkpoint-key.pem"])
            if signer is None or ks is None:
                checks[6].fail("checkpoint-key.pem is not a canonical key of keys.jwks")
                signer = None
            else:
                x, y = signer
                from .util import b64url_encode
                tpk = thumbprint({"kty": "EC", "crv": "P-256", "x": b64url_encode(x.to_bytes(32, "big")),
                                  "y": b64url_encode(y.to_bytes(32, "big"))})
                if not any(k.kid == tpk or k.thumbprint == tpk for k in ks.keys):
                    checks[6].fail("checkpoint-key.pem is not a key of keys.jwks")
                    signer = None
        if signer is not None:
            kh = sha256(ecdsa.spki_der(*signer))[:4]
            # "at least one of which is under the log id ... with the key's key hash, and every
            # such line verifies with the key (as §10 requires)"
            matching = [line for line in cp.sigs if line.name == record.log_id and line.keyhash == kh]
            ok = bool(matching)
            for line in matching:
                rs = ecdsa.parse_der_sig(line.sig)
                if not rs or not ecdsa.verify(signer, body, *rs):
                    ok = False
            if not ok or cp.origin != record.log_id:
                checks[6].fail("no signature line of the key under the log id verifies")

    # 7. event.json is the event
    ev = files.get("event.json")
    if ev is None or "sha256:" + hashlib.sha256(ev).hexdigest() != record.event:
        checks[7].fail("event.json's SHA-256 is not the record's event")

    # 8. RFC 3161: not implemented by this verifier
    if "timestamp.tst" not in files:
        checks[8].applies = False
        checks[8].passed = None
    elif not _looks_like_signed_data(files["timestamp.tst"]):
        checks[8].fail("timestamp.tst is not a CMS SignedData in DER (a TimeStampToken)")
    else:
        checks[8].passed = None
        checks[8].failure = "not verified: this verifier does not implement RFC 3161 (see README)"
    return checks


_SIGNED_DATA_OID = bytes.fromhex("06092a864886f70d010702")


def _der_tlv(b, pos):
    """(tag, content start, end) of a DER TLV with a definite minimal length; None otherwise."""
    if pos + 2 > len(b):
        return None
    tag, ln = b[pos], b[pos + 1]
    pos += 2
    if ln & 0x80:
        k = ln & 0x7F
        if k == 0 or k > 4 or pos + k > len(b) or b[pos] == 0:
            return None
        ln = int.from_bytes(b[pos:pos + k], "big")
        if ln < 0x80:
            return None
        pos += k
    if pos + ln > len(b):
        return None
    return tag, pos, pos + ln


def _looks_like_signed_data(b):
    """Only the outer shape of a TimeStampToken (RFC 3161 §2.4.2: a ContentInfo of SignedData):
    a DER SEQUENCE filling the file whose first member is the id-signedData OID."""
    t = _der_tlv(b, 0)
    if t is None or t[0] != 0x30 or t[2] != len(b):
        return False
    return b[t[1]:t[1] + len(_SIGNED_DATA_OID)] == _SIGNED_DATA_OID


def package_valid(checks):
    return all(c.passed is not False for c in checks.values() if c.applies)
