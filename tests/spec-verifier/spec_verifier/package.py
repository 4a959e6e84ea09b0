"""SPEC §19 evidence packages: checks 1-7 (check 8, RFC 3161, is not implemented: see README)."""
import base64
import hashlib
import io
import os
import re
import tarfile

from . import checkpoints, ecdsa, jcs, merkle
from .errors import EvError
from .keys import read_key_set, read_point, thumbprint
from .records import parse_receipt, parse_record
from .receipt import parse_batch_receipt
from .util import sha256

_NAME = re.compile(r"[A-Za-z0-9._-]+")
MAX_FILE = 64 * 1024 * 1024


def read_package(path):
    """{name: bytes} of a package folder or .tar.gz; only plain files with plain names."""
    files = {}
    if os.path.isdir(path):
        for name in sorted(os.listdir(path)):
            p = os.path.join(path, name)
            if os.path.islink(p) or not os.path.isfile(p) or not _NAME.fullmatch(name) or name.endswith("."):
                raise EvError("IO", f"{name} is not a plain file")
            if os.path.getsize(p) > MAX_FILE:
                raise EvError("IO", f"{name} is too large")
            with open(p, "rb") as f:
                files[name] = f.read()
        return files
    if not os.path.isfile(path):
        raise EvError("IO", "no package there")
    try:
        with tarfile.open(path, "r:gz") as tf:
            members = tf.getmembers()
            prefixes = set()
            for m in members:
                parts = [x for x in m.name.split("/") if x not in ("", ".")]
                if m.isdir():
                    if len(parts) > 1:
                        raise EvError("IO", "nested folder in the archive")
                    continue
                if not m.isfile():
                    raise EvError("IO", f"{m.name} is not a plain file")
                if len(parts) == 2:
                    prefixes.add(parts[0])
                    name = parts[1]
                elif len(parts) == 1:
                    prefixes.add("")
                    name = parts[0]
                else:
                    raise EvError("IO", f"{m.name} is not in one folder")
                if not _NAME.fullmatch(name) or name.endswith(".") or name in files or m.size > MAX_FILE:
                    raise EvError("IO", f"{m.name} is not a plain file name")
                files[name] = tf.extractfile(m).read()
            if len(prefixes) > 1:
                raise EvError("IO", "the archive holds more than one folder")
    except (tarfile.TarError, OSError, EOFError) as e:
        raise EvError("IO", f"not a .tar.gz package: {e}")
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
            if br.record.bytes != files["record.json"] or cp is None or br.checkpoint.note != files["checkpoint.txt"]:
                checks[4].fail("record.json or checkpoint.txt is not the batch receipt's")
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
            ok = False
            for line in cp.sigs:
                if line.name == record.log_id and line.keyhash == kh:
                    rs = ecdsa.parse_der_sig(line.sig)
                    if rs and ecdsa.verify(signer, body, *rs):
                        ok = True
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
    else:
        checks[8].passed = None
        checks[8].failure = "not verified: this verifier does not implement RFC 3161 (see README)"
    return checks


def package_valid(checks):
    return all(c.passed is not False for c in checks.values() if c.applies)
