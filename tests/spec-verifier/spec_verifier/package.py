"""SPEC §19 evidence packages: reading, checks 1-7, 11 (the key history), 12 (the witnesses), 13
(the disclosures) and 14 (the erasure, §27.5),
and of check 8 (RFC 3161) only the token's outer shape (a guess at what can be judged without
§20: see README). Checks 9 and 10 (signed messages, §21.6) are not implemented."""
import base64
import hashlib
import os
import re
import zlib

from . import checkpoints, ecdsa, jcs, merkle, policy
from .errors import EvError
from .keys import read_key_set, read_point, thumbprint
from .records import parse_receipt, parse_record
from .receipt import parse_batch_receipt
from .stored_event import read_erasure
from .util import b64std_decode, b64url_decode, b64url_encode

_NAME = re.compile(r"[A-Za-z0-9._-]+")
MAX_FILE = 64 * 1024 * 1024


MAX_FILES = 768
MAX_TOTAL = 96 * 1024 * 1024
# §19: the most gzip members an archive may have.
MAX_GZIP_MEMBERS = 64


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
        _refuse(f"more than {MAX_FILES} files")
    if sum(len(v) for v in files.values()) > MAX_TOTAL:
        _refuse("more than 96 MiB in all")


def read_package(path):
    """§19 "Reading a package": {name: bytes} of a package folder or .tar.gz, or
    INVALID_ARGUMENT (exit class 2) before any check."""
    if os.path.isdir(path) and not os.path.islink(path):
        files = {}
        names = sorted(os.listdir(path))
        if len(names) > MAX_FILES:
            _refuse(f"more than {MAX_FILES} files")
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
    members = 0
    while raw:
        if out and raw[0] == 0:
            if raw.count(0) != len(raw):
                _refuse("not gzip: bytes after the zero padding")
            break  # zero padding after the last member, which gzip -d ignores
        members += 1
        if members > MAX_GZIP_MEMBERS:
            _refuse(f"more than {MAX_GZIP_MEMBERS} gzip members")
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


def _check_folder(name):
    """The archive's one folder: any UTF-8 name but empty, `.`, `..`, or one with a backslash
    or a control character (§19)."""
    if name in ("", ".", "..") or "\\" in name or any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in name):
        _refuse(f"{name!r} is not the name of a package's folder")


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
        if not block:
            break  # the stream ends after a member without end-of-archive blocks, as tar accepts
        if len(block) < 512:
            _refuse("the archive is cut short inside a header")
        if block.count(0) == 512:
            if data[pos:].count(0) != len(data) - pos:
                _refuse("bytes other than zeros after the end-of-archive blocks")
            break
        if block[257:265] not in (b"ustar\x0000", b"ustar  \0"):
            _refuse("not a ustar or GNU tar header (magic and version)")
        chk = _octal(block[148:156])
        if chk is None or chk != sum(block[:148]) + 8 * 32 + sum(block[156:]):
            _refuse("a tar header checksum fails")
        typ = block[156:157]
        if block[124] & 0x80:
            _refuse("a member size in base-256")  # larger than any file of a package (a guess)
        size = _octal(block[124:136])
        if size is None:
            _refuse("a member size is not octal")
        mode = _octal(block[100:108])
        if mode is None or any(_octal(block[a:b]) is None for a, b in ((108, 116), (116, 124), (136, 148))):
            _refuse("a member's mode, owner, group or time is not octal")
        name = block[0:100].split(b"\0", 1)[0]
        if block[257:263] == b"ustar\0":
            prefix = block[345:500].split(b"\0", 1)[0]
            if prefix:
                name = prefix + b"/" + name
        try:
            name = name.decode("utf-8")
        except UnicodeDecodeError:
            _refuse("a member name is not UTF-8")
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
            _check_folder(parts[0])
            if mode & 0o500 != 0o500:
                _refuse(f"the folder {name} could not be entered once extracted")
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
        _check_folder(folder)
        if top is not None and top != folder:
            _refuse("a second top folder")
        top = folder
        _check_name(base)
        if mode & 0o400 == 0:
            _refuse(f"{base} could not be read once extracted")
        if base.lower() in folded:
            _refuse(f"{base} twice (ignoring ASCII case)")
        folded.add(base.lower())
        if size > MAX_FILE:
            _refuse(f"{base} is larger than 64 MiB")
        files[base] = data[start:end]
        if len(files) > MAX_FILES:
            _refuse(f"more than {MAX_FILES} files")
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


MAX_KEY_RECORDS = 99
# §19's table: the files of key record N besides those of its mode.
KEY_RECORD_ROLES = ("record.json", "event.json", "key.pem")
RECEIPT_ROLES = ("receipt.jws", "signing-input.txt", "signature.der")
BATCH_ROLES = ("batch-receipt.json", "checkpoint.txt", "checkpoint-body.txt", "inclusion-proof.json")


def file_name(role, n=None):
    """The file of `role` (named as the package's own record's file: "record.json",
    "receipt.jws", ...) for the package's record (n None) or for key record n (§19's table:
    `key-record-N.json`, `key-record-N-receipt.jws`, ...)."""
    if n is None:
        return role
    return f"key-record-{n}.json" if role == "record.json" else f"key-record-{n}-{role}"


def key_record_files(n, receipts):
    """Exactly the files key record n has in a package of the mode (§19 check 11)."""
    return {file_name(r, n) for r in KEY_RECORD_ROLES + (RECEIPT_ROLES if receipts else BATCH_ROLES)}


# §19: "a file of a key record M (a name of the table above: `key-record-M.json` or
# `key-record-M-` and one of the nine file endings, M 1 to 99 without a leading zero)".
_KEY_RECORD_FILE = re.compile(r"key-record-([1-9][0-9]?)(?:\.json|-(?:%s))" % "|".join(
    re.escape(r) for r in ("event.json", "key.pem") + RECEIPT_ROLES + BATCH_ROLES))


def key_record_file_number(name):
    """M when `name` is a file of key record M (a name of §19's table), else None."""
    m = _KEY_RECORD_FILE.fullmatch(name)
    return int(m.group(1)) if m else None


# §19's table of files, and the message files it lists (which §21.6 also takes under the
# prefix `request-`, with the request's own record files).
_TABLE = (
    "receipt.jws batch-receipt.json signing-input.txt signature.der record.json event.json public-key.pem "
    "public-key.jwk keys.jwks inclusion-proof.json checkpoint.txt checkpoint-body.txt checkpoint-key.pem "
    "timestamp.tst tsa-root.pem tsa-chain.pem cosigned-checkpoint.txt witness-policy.txt subject.txt "
    "VERIFICATION.md verify.sh manifest.json disclosures.txt erasure-record.json erasure-event.json "
    "erasure-inclusion-proof.json"
).split()
_MESSAGE_FILES = (
    "message.jws message-keys.jwks message-provenance.json message-verification.json message-export.json "
    "message-signing-input.txt message-payload.bin message-signature.bin message-key.jwk message-key.pem"
).split()
_REQUEST_FILES = ["request-" + n for n in
                  ("receipt.jws signing-input.txt signature.der record.json event.json inclusion-proof.json".split()
                   + _MESSAGE_FILES)]
PACKAGE_FILES = frozenset(_TABLE + _MESSAGE_FILES + _REQUEST_FILES)


def not_a_package_file(name):
    """§19 check 1: SHA256SUMS names only files a package may have — the table's, the
    `request-` files of §21.6 and the files of key records 1 to 99 (so `key-record-01.json`,
    `key-record-100.json`, `key-record-1-foo.txt` and `notes.txt` are none)."""
    return name != "SHA256SUMS" and name not in PACKAGE_FILES and key_record_file_number(name) is None


def batch_receipt_of(files, n=None):
    """The bytes §19 check 4 says `batch-receipt.json` must be exactly (for key record n, check
    11 step 3: `key-record-N-batch-receipt.json`, made of that key record's files)."""
    return (b'{"checkpoint":' + _as_json_string(files.get(file_name("checkpoint.txt", n), b"")) + b',"proof":'
            + files.get(file_name("inclusion-proof.json", n), b"") + b',"record":'
            + _as_json_string(files.get(file_name("record.json", n), b""))
            + b',"type":"evidentia-batch-receipt","v":1}')


def point_kid(point):
    """The RFC 7638 thumbprint of a P-256 point."""
    x, y = point
    return thumbprint({"kty": "EC", "crv": "P-256", "x": b64url_encode(x.to_bytes(32, "big")),
                       "y": b64url_encode(y.to_bytes(32, "big"))})


def three_parts(raw):
    """§19 check 4 (and check 11 step 3): "three parts joined by two `.`, without a line feed"."""
    return raw is not None and raw.count(b".") == 2 and b"\n" not in raw


def receipt_failure(files, n, point):
    """§19 check 4 for a receipt (and check 11 step 3 for key record n, receipts mode): the
    receipt is first three parts joined by two `.`, without a line feed, and has exactly the
    parts signing-input.txt, signature.der (in DER) and the record's file, and its signature
    verifies with `point`. Why not, or None."""
    name, si, sd, rn = (file_name(r, n) for r in ("receipt.jws", "signing-input.txt", "signature.der", "record.json"))
    if not three_parts(files.get(name)):
        return f"{name} is not three parts joined by two '.', without a line feed"
    try:
        rc = parse_receipt(files.get(name, b""))
    except EvError:
        return f"{name} is not a receipt"
    h64, p64, _ = rc.jws.parts
    rs = (int.from_bytes(rc.jws.signature[:32], "big"), int.from_bytes(rc.jws.signature[32:], "big"))
    if files.get(si) != (h64 + "." + p64).encode() or files.get(sd) != ecdsa.encode_der_sig(*rs) \
            or rc.record.bytes != files.get(rn):
        return f"{si}, {sd} or {rn} is not the receipt's"
    if point is None or not ecdsa.verify(point, rc.jws.signing_input, *rs):
        return f"the signature of {name} does not verify with the key"
    return None


def batch_receipt_failure(files, n=None):
    """§19 check 4 for a batch receipt (and check 11 step 3, batch mode): the file is a batch
    receipt and exactly the one made of the record's, proof's and checkpoint's files."""
    name = file_name("batch-receipt.json", n)
    try:
        parse_batch_receipt(files.get(name, b""))
    except EvError:
        return f"{name} is not a batch receipt"
    if files[name] != batch_receipt_of(files, n):
        return f"{name} is not the batch receipt of {file_name('record.json', n)}, " \
            f"{file_name('inclusion-proof.json', n)} and {file_name('checkpoint.txt', n)}"
    return None


def read_checkpoint(files, n=None):
    """The signed note in checkpoint.txt (key record n's), or None when it is not one."""
    try:
        return checkpoints.read(files.get(file_name("checkpoint.txt", n), b""))
    except EvError:
        return None


def note_failure(files, n, cp, log_id, point):
    """§19 check 6 (and check 11 step 3, batch mode): checkpoint.txt is checkpoint-body.txt, an
    empty line and well-formed signature lines, at least one of which is under the log id (the
    record's `log_id`, compared as text) with the key hash of `point`, every such line verifies
    with it (as §10 requires), and the first line of checkpoint-body.txt (its origin) is the log
    id. Check 11 step 3 says only "as in check 6"; the origin is judged there too (as this
    verifier did before check 6 said so: §10 verifies the lines named by the origin).
    With no key (`point` None: its file failed check 2, or check 6 already) only the form and
    the origin are judged here; check 11 always has one (step 2)."""
    note, body = file_name("checkpoint.txt", n), file_name("checkpoint-body.txt", n)
    if cp is None or files.get(body) is None or cp.text.encode("utf-8") != files[body]:
        return f"{note} is not {body} with signature lines"
    if cp.origin != log_id:
        return f"the first line of {body} (its origin) is not the log id"
    if point is None:
        return None
    kh = checkpoints.key_hash(point)
    matching = [line for line in cp.sigs if line.name == log_id and line.keyhash == kh]
    ok = bool(matching)
    for line in matching:
        rs = ecdsa.parse_der_sig(line.sig)
        if not rs or not ecdsa.verify(point, files[body], *rs):
            ok = False
    if not ok:
        return f"no signature line of the key under the log id verifies in {note}"
    return None


def proof_failure(files, n, record, cp):
    """§19 check 5 (and check 11 step 3, batch mode): the inclusion proof, written canonically,
    leads from the leaf hash of the record's file to the checkpoint's root, at index `seq` in a
    tree of the checkpoint's size."""
    name = file_name("inclusion-proof.json", n)
    raw = files.get(name, b"")
    try:
        proof = merkle.read_inclusion(raw)
        if jcs.canonicalize(raw) != raw:
            return f"{name} is not canonical"
    except EvError:
        return f"{name} is not an inclusion proof"
    if cp is None or proof.leaf_index != record.seq or proof.tree_size != cp.size \
            or not merkle.verify_inclusion(proof, merkle.leaf_hash(record.bytes), cp.root):
        return f"{name} does not lead to the checkpoint's root"
    return None


class KeyRecordText:
    def __init__(self, change, keys, kid, next_kid):
        self.change = change      # "rotate" or "revoke"
        self.keys = keys          # K: bytes, compared byte for byte with keys.jwks
        self.kid = kid            # D: bytes
        self.next_kid = next_kid  # X: bytes (a rotation), None (a revocation)


_KR_HEAD = re.compile(rb'\{"evidentia_key_record":\{"at":"[^"]*","change":"(rotate|revoke)","format":1,"keys":'
                      rb'(?=\{"keys":\[)')
_KR_KID = b']},"kid":"'
_KR_NEXT = re.compile(rb',"next":"([^"]+)"\}\}')
_KR_REASON = b',"reason":"'


def read_key_record_text(event):
    """§19 check 11 step 4, text rules (not JSON): a KeyRecordText, or None when the event is not
    one line of that form.

    The line starts `{"evidentia_key_record":{"at":"`, text without `"`,
    `","change":"C","format":1,"keys":{"keys":[` (C `rotate` or `revoke`); K is the text from that
    `{"keys":[` up to and including the `]}` with which the line's last `]},"kid":"` begins; D the
    text after its `,"kid":"` up to the next `"`; after D's closing `"`, a rotation has exactly
    `,"next":"X"}}` (X one or more characters other than `"`), a revocation `}}` or
    `,"reason":"` and then anything ending in `"}}`. "One line without a line feed or NUL byte":
    neither anywhere in it."""
    if b"\n" in event or b"\0" in event:
        return None
    m = _KR_HEAD.match(event)
    if m is None:
        return None
    start = m.end()
    q = event.rfind(_KR_KID)
    if q < start + len(b'{"keys":['):
        return None
    keys = event[start:q + 2]
    d_start = q + len(_KR_KID)
    d_end = event.find(b'"', d_start)
    if d_end < 0:
        return None
    kid, rest = event[d_start:d_end], event[d_end + 1:]
    change = m.group(1).decode()
    if change == "rotate":
        nm = _KR_NEXT.fullmatch(rest)
        if nm is None:
            return None
        return KeyRecordText(change, keys, kid, nm.group(1))
    if rest == b"}}" or (rest.startswith(_KR_REASON) and rest[len(_KR_REASON):].endswith(b'"}}')):
        return KeyRecordText(change, keys, kid, None)
    return None


def key_record_numbers(files):
    """N = 1, 2, ... while key-record-N.json exists (N at most 99, §19's table)."""
    n = 0
    while n < MAX_KEY_RECORDS and file_name("record.json", n + 1) in files:
        n += 1
    return range(1, n + 1)


def own_rotation_next(files, record):
    """X when event.json, read by the text rules of check 11 step 4, is a rotation whose D is
    record.json's kid (a rotation's own package: §19 check 6 and the start of check 11), else
    None."""
    kr = read_key_record_text(files.get("event.json", b""))
    if kr is not None and kr.change == "rotate" and kr.kid == record.kid.encode("utf-8"):
        return kr.next_kid
    return None


def handed_over_to(files, record):
    """§19 check 6: the keys "a rotation the package carries hands over to": the `next` of the
    record's own event when that is a rotation of the record's key, and the `next` of every
    rotation among the key records (key-record-N, N = 1, 2, ... up to 99 while
    key-record-N.json exists), read as check 11 step 4 reads their events."""
    out = rotation_nexts(files)
    own = own_rotation_next(files, record)
    if own is not None:
        out.add(own)
    return out


def revoked_in_key_set(files, kid):
    """§19 check 6: checkpoint-key.pem must "not be revoked in `keys.jwks`": True when an entry
    whose `kid` is that thumbprint has a `revoked` member, whatever its time; a keys.jwks that
    cannot be read revokes nothing here (check 3 fails it)."""
    try:
        ks = read_key_set(files.get("keys.jwks", b""))
    except EvError:
        return False
    return any("revoked" in k.jwk for k in ks.keys if k.kid == kid)


def rotation_nexts(files):
    """The `next` (X) of every rotation among the package's key records, read as check 11 step 4
    reads their events (§19 check 6: the keys checkpoint-key.pem may be)."""
    out = set()
    for n in key_record_numbers(files):
        kr = read_key_record_text(files.get(file_name("event.json", n), b""))
        if kr is not None and kr.change == "rotate":
            out.add(kr.next_kid)
    return out


def key_history_failure(files, record, receipts):
    """§19 check 11 for a package holding a file of a key record: why it fails, or None.

    "`key-record-1.json` must exist" (a package with only key record 2's files fails).
    The current key starts as record.json's kid — or, when event.json read by the text rules of
    step 4 is a rotation whose D is that kid, as its X (a rotation's own package starts after
    the hand-over it records) — and the previous seq as the record's seq; each key record
    N, in order, is a record of the log with a greater seq, the current key as its kid, and
    key-record-N-event.json as its event (step 1); key-record-N-key.pem is the canonical PEM of a
    P-256 key whose thumbprint is the current key (2); that key signed it: its receipt's parts, or
    its batch receipt, own note and inclusion proof (3); its event is a key record by the text
    rules (4); a rotation is signed by its outgoing key, which hands the current key to `next`, a
    revocation by a key other than the one it revokes (5); its seq is the previous seq (6). Then
    the last one's key set is byte for byte keys.jwks, and every file of a key record M (a name of
    §19's table, key_record_file_number) belongs to a key record read (M at most the last N) and
    is one of the files of the package's mode. Other `key-record-` names are check 1's, not
    check 11's."""
    if file_name("record.json", 1) not in files:
        return f"{file_name('record.json', 1)} is missing"
    current = own_rotation_next(files, record) or record.kid.encode("utf-8")
    prev_seq = record.seq
    last = None
    numbers = key_record_numbers(files)
    for n in numbers:
        rn, en, kn = (file_name(r, n) for r in KEY_RECORD_ROLES)
        # 1. a record of the log, later, signed (it says) by the current key; its event
        try:
            kr = parse_record(files[rn])
        except EvError:
            return f"{rn} is not a record"
        if kr.log_id != record.log_id:
            return f"{rn} is a record of another log"
        if kr.seq <= prev_seq:
            return f"{rn}'s seq is not greater than the previous record's"
        if kr.kid.encode("utf-8") != current:
            return f"{rn} is not signed by the key the chain has reached (its kid is not the current key)"
        event = files.get(en)
        if event is None or "sha256:" + hashlib.sha256(event).hexdigest() != kr.event:
            return f"{en}'s SHA-256 is not {rn}'s event"
        # 2. its key: a canonical P-256 PEM whose thumbprint is the current key
        point = pem_point(files.get(kn, b""))
        if point is None or point_kid(point).encode("utf-8") != current:
            return f"{kn} is not the canonical PEM of the current key"
        # 3. that key signed it
        if receipts:
            why = receipt_failure(files, n, point)
        else:
            cp = read_checkpoint(files, n)
            why = batch_receipt_failure(files, n) or note_failure(files, n, cp, record.log_id, point) \
                or proof_failure(files, n, kr, cp)
        if why is not None:
            return why
        # 4. the event, by the text rules
        text = read_key_record_text(event)
        if text is None:
            return f"{en} is not a key record's canonical line"
        # 5. the signer may make the change
        if text.change == "rotate":
            if text.kid != current:
                return f"{rn}: a rotation not of the current key"
            current = text.next_kid
        elif text.kid == current:
            return f"{rn}: a revocation of the key that signed it"
        # 6.
        prev_seq = kr.seq
        last = text
    if last is None or files.get("keys.jwks") != last.keys:
        return "keys.jwks is not the key set the last key record signed"
    allowed = set()
    for n in numbers:
        allowed |= key_record_files(n, receipts)
    for name in sorted(files):
        if key_record_file_number(name) is not None and name not in allowed:
            return f"{name} is not a file of a key record read (in the package's mode)"
    missing = sorted(allowed - set(files))
    if missing:
        return f"{missing[0]} is missing"
    return None


WITNESS_FILES = ("cosigned-checkpoint.txt", "witness-policy.txt")
_SIG_LINE = re.compile(rb"\xe2\x80\x94 ([^ +]+) ([^ ]*)")


def witnesses_failure(files):
    """§19 check 12 for a package holding cosigned-checkpoint.txt or witness-policy.txt: why it
    fails, or None.

    1. both files are present; 2. cosigned-checkpoint.txt is UTF-8 text of at most 64 KiB: exactly the bytes of
    checkpoint-body.txt, a line feed, then 1 to 100 lines `— <name> <standard base64>` and a line
    feed, the name without spaces or `+`, the base64 canonical, of at least 5 bytes; 3.
    witness-policy.txt is UTF-8 text and a policy read by §22.2 (policy.read_policy, which reads its keys as
    step 3 says: an Ed25519 key of 32 bytes and its key ID, an ECDSA log key a P-256 SPKI DER as
    OpenSSL writes it whose key ID is the first 4 bytes of its SHA-256); 4. the note is
    evaluated against the policy by §22.2 (policy.evaluate: reading the note by §10, a log of
    the origin signed it, every line of a policy witness is a valid cosignature over
    checkpoint-body.txt, the quorum is met).

    A guess: a policy's Ed25519 key that is not a curve point fails step 3 (§22.1 KEY_INVALID),
    though step 3 lists only its length and key ID."""
    note, raw = (files.get(n) for n in WITNESS_FILES)
    if note is None or raw is None:
        missing = WITNESS_FILES[0] if note is None else WITNESS_FILES[1]
        return f"{missing} is missing: the package holds one of {WITNESS_FILES[0]} and {WITNESS_FILES[1]} without the other"
    # 2. and 3.: both are UTF-8 text
    for name, data in zip(WITNESS_FILES, (note, raw)):
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return f"{name} is not UTF-8 text"
    # 2. the cosigned note: checkpoint-body.txt, a line feed, signature lines
    body = files.get("checkpoint-body.txt")
    if len(note) > checkpoints.MAX_NOTE:
        return f"{WITNESS_FILES[0]} is larger than 64 KiB"
    if body is None or not note.startswith(body + b"\n"):
        return f"{WITNESS_FILES[0]} does not start with checkpoint-body.txt and a line feed"
    block = note[len(body) + 1:]
    lines = block[:-1].split(b"\n")
    if not block.endswith(b"\n") or not 1 <= len(lines) <= checkpoints.MAX_SIGS:
        return f"{WITNESS_FILES[0]} does not end in 1 to 100 signature lines"
    for line in lines:
        m = _SIG_LINE.fullmatch(line)
        sig = m and b64std_decode(m.group(2))
        if not sig or len(sig) < 5:
            return f"{WITNESS_FILES[0]} has a malformed signature line"
    # 3. the policy
    try:
        pol = policy.read_policy(raw)
    except EvError as e:
        return f"{WITNESS_FILES[1]} is not a policy: {e.message} ({e.name})"
    # 4. evaluated against it
    try:
        policy.evaluate(note, pol)
    except EvError as e:
        return f"{WITNESS_FILES[0]} does not meet {WITNESS_FILES[1]}: {e.message} ({e.name})"
    return None


class Check:
    def __init__(self, number):
        self.number = number
        self.passed = True
        self.applies = True
        self.failure = None
        self.detail = None

    def fail(self, why):
        if self.passed:
            self.passed = False
            self.failure = why


def disclosures_failure(record, event, listed):
    """§19 check 13: disclosures.txt is lines of base64url, each ending in a line feed;
    event.json is a commitment document (§26.2: exactly `_sd`, a list of base64url SHA-256
    digests, and `_sd_alg` "sha-256"); each disclosure's digest is listed, no disclosure
    twice, and each decodes to a JSON array of a salt (string), a member name (string) and a
    value, or a salt and a value alone only when it is the one disclosure of a document of one
    digest; no member name twice. Why it fails, or None."""
    if event is None:
        return "event.json is missing"
    try:
        if parse_record(record).f["v"] != 2:
            return "record.json is not of version 2"
    except (EvError, TypeError):
        return "record.json is not of version 2"
    try:
        text = listed.decode("ascii")
    except UnicodeDecodeError:
        return "disclosures.txt is not text"
    if not text.endswith("\n") or text == "\n":
        return "disclosures.txt is not lines, each ending in a line feed"
    lines = text[:-1].split("\n")
    if any(not re.fullmatch(r"[A-Za-z0-9_-]+", line) for line in lines):
        return "disclosures.txt has a line that is not base64url"
    try:
        doc = jcs.parse(event)
    except EvError:
        return "event.json is not a commitment document"
    if not isinstance(doc, dict) or set(doc) != {"_sd", "_sd_alg"} or doc["_sd_alg"] != "sha-256" \
            or not isinstance(doc["_sd"], list) \
            or any(not (isinstance(d, str) and re.fullmatch(r"[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]", d))
                   for d in doc["_sd"]) \
            or any(a >= b for a, b in zip(doc["_sd"], doc["_sd"][1:])):
        # §26.2: each digest 32 bytes in base64url (so its last character carries no spare bits),
        # sorted and listed once.
        return "event.json is not a commitment document"
    digests = set(doc["_sd"])
    if len(set(lines)) != len(lines):
        return "a disclosure is listed twice"
    names = set()
    for line in lines:
        digest = base64.urlsafe_b64encode(hashlib.sha256(line.encode("ascii")).digest()).rstrip(b"=").decode()
        if digest not in digests:
            return "a disclosure is not one event.json lists"
        raw = b64url_decode(line)
        if raw is None:
            return "a disclosure is not base64url"
        try:
            array = jcs.parse(raw)
        except (ValueError, EvError):
            return "a disclosure is not a JSON array"
        if not isinstance(array, list) or not isinstance(array[0] if array else None, str):
            return "a disclosure is not a salt and a member"
        if len(array) == 3 and isinstance(array[1], str):
            if array[1] in names:
                return "a member is disclosed twice"
            names.add(array[1])
        elif not (len(array) == 2 and len(lines) == 1 and len(digests) == 1):
            return "a disclosure is not a salt, a name and a value"
    return None


ERASURE_FILES = ("erasure-record.json", "erasure-event.json", "erasure-inclusion-proof.json")


def in_force(files, kid, time_ns):
    """Whether keys.jwks has the key `kid` in force at `time_ns` (checks 3 and 14). Raises EvError
    for a keys.jwks that is not a key set."""
    ks = read_key_set(files.get("keys.jwks", b""))
    entry = [k for k in ks.keys if k.thumbprint == kid and k.usable]
    return len(entry) == 1 and entry[0].validity_failure(time_ns) is None


def erasure_failure(files, record, stated):
    """§27.5 check 14, in its order: no event.json; record.json of version 2; erasure-record.json a
    later record of the same log, of version 1, whose event is erasure-event.json; that event an
    erasure record (§27.1), canonical, naming record.json's seq and SHA-256; its key in force at its
    time in keys.jwks; its inclusion proof, canonical, leading to the root checkpoint-body.txt
    states. Why it fails, or None."""
    if any(n not in files for n in ERASURE_FILES):
        return "the three erasure files come together"
    if "event.json" in files:
        return "the package holds event.json and an erasure"
    if record is None or record.f["v"] != 2:
        return "record.json is not a record of version 2"
    try:
        by = parse_record(files.get("erasure-record.json", b""))
    except (EvError, TypeError):
        return "erasure-record.json is not a record"
    if by.log_id != record.log_id or by.seq <= record.seq:
        return "erasure-record.json is not a later record of the same log"
    event = files.get("erasure-event.json")
    if event is None or by.f["v"] != 1 or "sha256:" + hashlib.sha256(event).hexdigest() != by.event:
        return "erasure-event.json is not the event erasure-record.json commits to"
    try:
        erasure = read_erasure(event)
        canonical = jcs.canonicalize(event) == event
    except EvError:
        erasure, canonical = None, False
    if erasure is None or not canonical:
        return "erasure-event.json is not an erasure record in canonical form"
    seq, digest, _ = erasure
    if seq != record.seq or digest != "sha256:" + hashlib.sha256(files["record.json"]).hexdigest():
        return "erasure-event.json does not name record.json"
    try:
        if not in_force(files, by.kid, by.time_ns):
            return "keys.jwks does not have the key of erasure-record.json in force at its time"
    except EvError:
        return "keys.jwks is not a key set"
    raw = files.get("erasure-inclusion-proof.json", b"")
    try:
        proof = merkle.read_inclusion(raw)
        if jcs.canonicalize(raw) != raw:
            return "erasure-inclusion-proof.json is not canonical"
    except EvError:
        return "erasure-inclusion-proof.json is not an inclusion proof"
    if stated is None or proof.leaf_index != by.seq or proof.tree_size != stated.size \
            or not merkle.verify_inclusion(proof, merkle.leaf_hash(by.bytes), stated.root):
        return "erasure-inclusion-proof.json does not lead to the checkpoint's root"
    return None


def verify_package(path):
    files = read_package(path)
    # 12 applies only when the package holds cosigned-checkpoint.txt or witness-policy.txt;
    # like 9 and 10 it is otherwise neither printed nor reported (no entry here).
    witnessed = any(n in files for n in WITNESS_FILES)
    disclosing = "disclosures.txt" in files
    # 14 applies when any of the erasure's three files is there (they come together).
    erased = any(n in files for n in ERASURE_FILES)
    checks = {n: Check(n) for n in (*range(1, 9), 11, *([12] if witnessed else []), *([13] if disclosing else []),
                                    *([14] if erased else []))}

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
    for name in sorted(files):
        if not_a_package_file(name):
            checks[1].fail(f"{name} is not a file of a package")

    # 12. the witnesses: judged from checkpoint-body.txt and its own two files alone, so before
    # (and whatever) the record's checks find. The policy's SHA-256, for the reader to compare
    # with the policy they trust: the check shows the witnesses it names cosigned, not that they
    # are the reader's.
    if witnessed:
        if "witness-policy.txt" in files:
            checks[12].detail = "witness-policy.txt SHA-256 " + hashlib.sha256(files["witness-policy.txt"]).hexdigest()
        why = witnesses_failure(files)
        if why is not None:
            checks[12].fail(why)

    # 13. the disclosures: judged from event.json and disclosures.txt alone.
    if disclosing:
        why = disclosures_failure(files.get("record.json"), files.get("event.json"), files["disclosures.txt"])
        if why is not None:
            checks[13].fail(why)

    is_receipt = "receipt.jws" in files
    is_batch = "batch-receipt.json" in files
    required = ["record.json", "event.json", "public-key.pem", "public-key.jwk", "keys.jwks",
                "inclusion-proof.json", "checkpoint.txt", "checkpoint-body.txt", "signature.der"]
    if is_receipt:
        required.append("signing-input.txt")
    if "erasure-record.json" in files:
        required.remove("event.json")
    for n in required:
        if n not in files:
            checks[1].fail(f"{n} is missing")
    # 11 applies only when the package holds a file of a key record (a name of §19's table,
    # key-record-N..., N 1 to 99 without a leading zero); it then prints and counts like 1-7.
    if not any(key_record_file_number(name) is not None for name in files):
        checks[11].applies = False
        checks[11].passed = None
    # 7 does not apply to the package of an erased record (§27.5): 14 judges it.
    if "erasure-record.json" in files and "event.json" not in files:
        checks[7].applies = False
        checks[7].passed = None
    unchecked = [*range(2, 8), *([11] if checks[11].applies else []), *([14] if erased else [])]
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
    try:
        if not in_force(files, record.kid, record.time_ns):
            checks[3].fail("keys.jwks does not have the key in force at the record's time")
    except EvError:
        checks[3].fail("keys.jwks is not a key set")

    # the checkpoint (6 reads it; 4 and 5 need it)
    cp = read_checkpoint(files)
    body = files.get("checkpoint-body.txt")

    # 4. the signature
    sig_rs = ecdsa.parse_der_sig(files.get("signature.der", b""))
    if is_receipt:
        why = receipt_failure(files, None, key_point)
    else:
        why = batch_receipt_failure(files)
        if why is None and (sig_rs is None or key_point is None or body is None
                              or not ecdsa.verify(key_point, body, *sig_rs)):
            why = "the signature does not verify over checkpoint-body.txt"
    if why is not None:
        checks[4].fail(why)

    # 5. the inclusion proof, written canonically
    # (the root and size checkpoint-body.txt states: check 6 shows checkpoint.txt signs it)
    try:
        stated = checkpoints.read_text(body) if body is not None else None
    except EvError:
        stated = None
    why = proof_failure(files, None, record, stated)
    if why is not None:
        checks[5].fail(why)

    # 6. checkpoint.txt = body, empty line, signature lines; one verifies under the log id, by
    # the record's key or checkpoint-key.pem's: a key a rotation the package carries hands over
    # to (the record's own event's, or one among the key records), not revoked in keys.jwks.
    # The record's own key needs no such test (check 3 judges it).
    signer = key_point
    if "checkpoint-key.pem" in files:
        signer = pem_point(files["checkpoint-key.pem"])
        if signer is None:
            checks[6].fail("checkpoint-key.pem is not a P-256 key written as OpenSSL writes it")
        else:
            ckid = point_kid(signer)
            revoked = revoked_in_key_set(files, ckid)
            if ckid.encode("utf-8") not in handed_over_to(files, record):
                checks[6].fail("checkpoint-key.pem is not a key a rotation the package carries hands over to")
                signer = None
            elif revoked:
                checks[6].fail("checkpoint-key.pem is revoked in keys.jwks")
                signer = None
    why = note_failure(files, None, cp, record.log_id, signer)
    if why is not None:
        checks[6].fail(why)

    # 7. event.json is the event
    ev = files.get("event.json")
    if checks[7].applies and (ev is None or "sha256:" + hashlib.sha256(ev).hexdigest() != record.event):
        checks[7].fail("event.json's SHA-256 is not the record's event")

    # 14. the erasure (§27.5)
    if erased:
        why = erasure_failure(files, record, stated)
        if why is not None:
            checks[14].fail(why)

    # 8. RFC 3161: not implemented by this verifier
    if "timestamp.tst" not in files:
        checks[8].applies = False
        checks[8].passed = None
    elif not _looks_like_signed_data(files["timestamp.tst"]):
        checks[8].fail("timestamp.tst is not a CMS SignedData in DER (a TimeStampToken)")
    else:
        checks[8].passed = None
        checks[8].failure = "not verified: this verifier does not implement RFC 3161 (see README)"

    # 11. the key history: keys.jwks is the key set the log's key records signed, each signed by
    # a key reached from the record's key
    if checks[11].applies:
        why = key_history_failure(files, record, is_receipt)
        if why is not None:
            checks[11].fail(why)
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
