"""SPEC §19 evidence packages: reading, checks 1-7, and of check 8 (RFC 3161) only the token's
outer shape (a guess at what can be judged without §20: see README)."""
import base64
import hashlib
import os
import re
import zlib

from . import checkpoints, ecdsa, jcs, merkle
from .errors import EvError
from .keyrecord import MEMBER as KEY_RECORD_MEMBER, is_key_record, read_key_record
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


def batch_receipt_of(files, prefix=""):
    """The bytes §19 check 4 says `batch-receipt.json` must be exactly (with `prefix`
    "key-record-", check 11's `key-record-batch-receipt.json`)."""
    record = files.get("key-record.json" if prefix else "record.json", b"")
    return (b'{"checkpoint":' + _as_json_string(files.get(prefix + "checkpoint.txt", b"")) + b',"proof":'
            + files.get(prefix + "inclusion-proof.json", b"") + b',"record":' + _as_json_string(record)
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
    checks[11] = Check(11)

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
    if "key-record.json" not in files:
        # Check 11 applies only to a package that holds the log's key record (§23).
        checks[11].applies = False
        checks[11].passed = None
    # Checks 2-7 (and 11, when it applies) when the package has no record to check.
    unchecked = [*range(2, 8), *([11] if checks[11].applies else [])]
    if is_receipt == is_batch:
        fail_all("the package holds neither or both of receipt.jws and batch-receipt.json", unchecked)
        return checks
    if "record.json" not in files:
        fail_all("record.json is missing", unchecked)
        return checks
    try:
        record = parse_record(files["record.json"])
    except EvError:
        fail_all("record.json is not a record", unchecked)
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

    # 11. the key history: keys.jwks is the key set the log's key record signed
    if checks[11].applies:
        why = key_record_failure(files, record)
        if why is not None:
            checks[11].fail(why)
    return checks


def _body(files, name):
    """The checkpoint text in file `name`: (size, root) or None."""
    try:
        _, size, root, _ = checkpoints.read_text(files.get(name, b"").decode("utf-8"))
    except (EvError, UnicodeDecodeError):
        return None
    return size, root


def key_record_failure(files, record):
    """§19 check 11 (§23), for a package holding `key-record.json`: why it fails, or None.

    key-record.json is a record of the package's log; key-record-event.json is its event;
    key-record-key.pem is the canonical PEM of the key it names, a key of keys.jwks; the log
    holds it: through key-record-receipt.jws (its parts key-record-signing-input.txt,
    key-record-signature.der and key-record.json; the signature verifies) and
    key-record-inclusion-proof.json in the package's checkpoint, or through
    key-record-batch-receipt.json (exactly the batch receipt of key-record.json,
    key-record-inclusion-proof.json and key-record-checkpoint.txt, a note the key signed under
    the log id whose text is key-record-checkpoint-body.txt) and the proof in that checkpoint;
    the event is a canonical key record (§23.1) whose `keys` is byte for byte keys.jwks; and the
    key may make the change: a rotation's outgoing key, or for a revocation a key other than the
    revoked one with neither `exp` nor `revoked` in keys.jwks (§23.2 step 2)."""
    try:
        kr = parse_record(files["key-record.json"])
    except EvError:
        return "key-record.json is not a record"
    if kr.log_id != record.log_id:
        return "key-record.json is a record of another log"
    event = files.get("key-record-event.json")
    if event is None or "sha256:" + hashlib.sha256(event).hexdigest() != kr.event:
        return "key-record-event.json is not the event key-record.json commits to"
    point = pem_point(files.get("key-record-key.pem", b""))
    if point is None or _point_kid(point) != kr.kid:
        return "key-record-key.pem is not the canonical PEM of the key key-record.json names"
    keys_file = files.get("keys.jwks", b"")
    try:
        ks = read_key_set(keys_file)
    except EvError:
        return "keys.jwks is not a key set"
    signer, failure = ks.select(kr.kid)
    if failure is not None:
        return "the key record's signer is not in keys.jwks"

    if "key-record-receipt.jws" in files:
        try:
            rc = parse_receipt(files["key-record-receipt.jws"])
        except EvError:
            return "key-record-receipt.jws is not a receipt"
        h64, p64, _ = rc.jws.parts
        rs = (int.from_bytes(rc.jws.signature[:32], "big"), int.from_bytes(rc.jws.signature[32:], "big"))
        if files.get("key-record-signing-input.txt") != (h64 + "." + p64).encode() \
                or files.get("key-record-signature.der") != ecdsa.encode_der_sig(*rs) \
                or rc.record.bytes != files["key-record.json"]:
            return "key-record-signing-input.txt, key-record-signature.der or key-record.json is not the key record's receipt's"
        if not ecdsa.verify(point, rc.jws.signing_input, *rs):
            return "the signature over the key record's receipt does not verify"
        body_name = "checkpoint-body.txt"
    else:
        if "key-record-batch-receipt.json" not in files:
            return "key-record.json comes with no receipt"
        if files["key-record-batch-receipt.json"] != batch_receipt_of(files, "key-record-"):
            return "key-record-batch-receipt.json is not the batch receipt of its parts"
        body_name = "key-record-checkpoint-body.txt"
        try:
            cp = checkpoints.read(files.get("key-record-checkpoint.txt", b""))
        except EvError:
            return "key-record-checkpoint.txt is not a signed checkpoint"
        kh = checkpoints.key_hash(point)
        matching = [line for line in cp.sigs if line.name == kr.log_id and line.keyhash == kh]
        # §19 check 11: "signature lines of which at least one is under the log id with the key
        # hash of key-record-key.pem, every such line verifies with it" (the origin of its text
        # is not compared, a guess: see README).
        ok = bool(matching)
        for line in matching:
            rs = ecdsa.parse_der_sig(line.sig)
            if not rs or not ecdsa.verify(point, cp.text.encode("utf-8"), *rs):
                ok = False
        if not ok:
            return "key-record-checkpoint.txt is not signed by key-record-key.pem for this log"
        if cp.text.encode("utf-8") != files.get(body_name):
            return "key-record-checkpoint-body.txt is not the text key-record-checkpoint.txt signs"
    proof_name = "key-record-inclusion-proof.json"
    raw = files.get(proof_name, b"")
    body = _body(files, body_name)
    try:
        proof = merkle.read_inclusion(raw)
        canonical = jcs.canonicalize(raw) == raw
    except EvError:
        proof, canonical = None, False
    if not canonical or body is None or proof.leaf_index != kr.seq or proof.tree_size != body[0] \
            or not merkle.verify_inclusion(proof, merkle.leaf_hash(kr.bytes), body[1]):
        return f"{proof_name} does not lead from key-record.json to the root of {body_name}"

    # The event: canonical JSON (one line), a key record read as §23.1 says.
    try:
        obj = jcs.parse(event)
        canonical = jcs.canonical(obj) == event
    except EvError:
        canonical = False
    if not canonical:
        return "key-record-event.json is not canonical JSON"
    if is_key_record(event) is None:
        return "key-record-event.json is not a key record"
    try:
        rec = read_key_record(obj)
    except EvError as e:
        return f"key-record-event.json: {e}"
    if jcs.canonical(obj[KEY_RECORD_MEMBER]["keys"]) != keys_file:
        return "keys.jwks is not the key set the key record signed"
    # §23.2 step 2: a rotation is signed by its outgoing key; a revocation by the key in force
    # with no end (neither exp nor revoked), not the revoked one.
    if rec.change == "rotate":
        allowed = rec.kid == kr.kid
    else:
        allowed = rec.kid != kr.kid and signer.exp is None and "revoked" not in signer.jwk
    if not allowed:
        return f"the key {kr.kid} may not sign this {'rotation' if rec.change == 'rotate' else 'revocation'}"
    return None


def _point_kid(point):
    from .util import b64url_encode
    x, y = point
    return thumbprint({"kty": "EC", "crv": "P-256", "x": b64url_encode(x.to_bytes(32, "big")),
                       "y": b64url_encode(y.to_bytes(32, "big"))})


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
