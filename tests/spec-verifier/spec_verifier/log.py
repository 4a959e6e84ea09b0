"""SPEC §13 verifying a log, and §16 reading an on-disk log directory."""
import bisect
import hashlib
import os
import re
import struct
import zlib

from . import checkpoints, ed25519, jcs, merkle
from .keyrecord import KeyHistory
from .errors import EvError
from .keys import read_key_set
from .jws import verify_signature
from .records import check_log_id, parse_receipt, parse_record
from .stored_event import event_state, read_erasure
from .receipt import key_check
from .report import Report
from .util import b64std_decode, digest_text, sha256

MAGIC = b"EVD1"
MAX_PAYLOAD = 64 * 1024 * 1024
UNREADABLE = object()


class LogVerifier:
    """§13, entry by entry. Entries: (kind, first_part bytes, event bytes or None) or UNREADABLE."""

    def __init__(self, key_set, mode, expected_log_id=None, require_events=False,
                 checkpoints_list=(), stored_tree=None, stored_tree_leaves=None, note_key=None):
        self.keys = key_set
        self.note_key = note_key
        self.mode = mode
        self.log_id = expected_log_id
        self.require_events = require_events
        self.report = Report("log")
        self.i = 0
        self.max_seq = None
        self.gaps = []  # [index, set of missing seqs]
        self.prev_bytes = None  # previous entry's record bytes; None after an unreadable one
        self.prev_unreadable = False
        self.last_time = None
        self.nonces = set()
        self.tree = merkle.CompactTree()
        self.stored_tree = stored_tree
        self.stored_tree_leaves = stored_tree_leaves
        self.cps = {}
        self.pending_bad = []
        for cp in checkpoints_list:
            if isinstance(cp, EvError):
                self.pending_bad.append(cp)  # a finding, not an error (a guess)
            else:
                self.cps.setdefault(cp.size, []).append(cp)
        self.valid_cover = 0
        self.any_nonce = False
        self.any_readable = False
        self.readable = []  # indices of the readable records, ascending
        self.key_history = KeyHistory(self.report)
        # §27.2: records whose event is erased and no erasure record named yet (seq -> index),
        # the seqs erasure records named, the digest of each seq's record, and the erasures'
        # digests to check at the end, (index, seq, digest).
        self.erased_unnamed = {}
        self.erasures = set()
        self.record_digests = {}
        self.erasure_links = []
        for e in self.pending_bad:
            self.report.fail("checkpoint", e.name, None, e.message)
        self._check_checkpoints()

    # --- per entry ---
    def push(self, entry):
        i = self.i
        r = self.report
        rec = None
        receipt = None
        event = None
        if entry is UNREADABLE:
            r.fail("format", "RECORD_UNREADABLE", i)
        else:
            kind, first, event = entry
            try:
                if kind == 1 and self.mode == "receipts":
                    receipt = parse_receipt(first)
                    rec = receipt.record
                elif kind == 2 and self.mode == "batch":
                    rec = parse_record(first)
                else:
                    raise EvError("RECORD_UNREADABLE", "entry kind does not fit the log's mode")
            except EvError as e:
                r.fail("format", e.name, i, e.message)
        if rec is None:
            self._unreadable_entry()
            return
        self.any_readable = True
        self.readable.append(i)
        if self.log_id is None:
            self.log_id = rec.log_id
        # key and signature
        if receipt is not None:
            if receipt.header_kid != rec.kid:
                r.fail("key", "KID_MISMATCH", i)
            key = key_check(r, self.keys, receipt.header_kid, rec.time_ns, i)
            if key is not None and not verify_signature(receipt.jws, key):
                r.fail("signature", "SIGNATURE_INVALID", i)
        else:
            key_check(r, self.keys, rec.kid, rec.time_ns, i)
        # event
        event_matches = False
        state = event_state(rec, event)
        if state[0] == "matches":
            event_matches = True
            event = state[1]
        elif state[0] == "mismatch":
            r.fail("event", "EVENT_MISMATCH", i)
        elif state[0] == "missing" and self.require_events:
            r.fail("event", "EVENT_MISSING", i)
        elif state[0] == "erased":
            if rec.version == 1:
                r.fail("event", "ERASURE_MISMATCH", i)
            else:
                self.erased_unnamed.setdefault(rec.seq, i)
        self.record_digests.setdefault(rec.seq, rec.digest)
        if event_matches and rec.version == 1:
            self._erasure(i, rec, event)
        # log_id
        if rec.log_id != self.log_id:
            r.fail("log_id", "LOG_ID_MISMATCH", i)
        # sequence
        e = 0 if self.max_seq is None else self.max_seq + 1
        if rec.seq > e:
            self.gaps.append([i, (e, rec.seq)])
        elif rec.seq < e:
            for g in self.gaps:
                if self._gap_take(g, rec.seq):
                    r.fail("sequence", "SEQUENCE_REORDERED", i)
                    break
            else:
                r.fail("sequence", "SEQUENCE_DUPLICATE", i)
        self.max_seq = rec.seq if self.max_seq is None else max(self.max_seq, rec.seq)
        # chain
        if i == 0:
            if rec.prev is not None:
                r.fail("chain", "CHAIN_BROKEN", i)
        elif not self.prev_unreadable:
            if rec.prev != digest_text(self.prev_bytes):
                r.fail("chain", "CHAIN_BROKEN", i)
        # time
        if self.last_time is not None and rec.time_ns < self.last_time:
            r.fail("time", "TIME_BACKWARDS", i)
        self.last_time = rec.time_ns
        # nonce
        if rec.nonce is not None:
            self.any_nonce = True
            fp = hashlib.sha256(rec.nonce.encode("utf-8")).digest()[:16]
            if fp in self.nonces:
                r.fail("nonce", "NONCE_REPLAYED", i)
            self.nonces.add(fp)
        # tree
        self._tree_push(merkle.leaf_hash(rec.bytes), i)
        # message (§21.5) is not implemented here; key_history (§23.2): the key record checks when
        # the stored event matches, and, for every readable record, whether its key was handed over
        self.key_history.push(i, rec, event if event_matches else None)
        self.prev_bytes = rec.bytes
        self.prev_unreadable = False
        self.i += 1
        self._check_checkpoints()

    def _erasure(self, i, rec, event):
        """§27.2 for an erasure record at index i."""
        try:
            erasure = read_erasure(event)
        except EvError:
            return  # §27.1: not a well-formed erasure record, so an event like any other
        if erasure is None:
            return
        seq, digest, _reason = erasure
        if seq >= rec.seq or seq in self.erasures:
            self.report.fail("event", "ERASURE_MISMATCH", i)
            return
        self.erasures.add(seq)
        self.erasure_links.append((i, seq, digest))
        self.erased_unnamed.pop(seq, None)

    def _unreadable_entry(self):
        e = 0 if self.max_seq is None else self.max_seq + 1
        self.max_seq = e
        self.prev_unreadable = True
        self.prev_bytes = None
        self._tree_push(None, self.i)
        self.i += 1
        self._check_checkpoints()

    @staticmethod
    def _gap_take(g, seq):
        ranges = g[1] if isinstance(g[1], list) else [g[1]]
        for k, (a, b) in enumerate(ranges):
            if a <= seq < b:
                new = [x for x in ((a, seq), (seq + 1, b)) if x[0] < x[1]]
                g[1] = ranges[:k] + new + ranges[k + 1:]
                return True
        g[1] = ranges
        return False

    def _tree_push(self, leaf, i):
        nodes = self.tree.push(leaf)
        if self.stored_tree is None:
            return
        j = self.tree.size - 1
        if self.stored_tree_leaves is not None and j >= self.stored_tree_leaves:
            return
        base = 2 * j - bin(j).count("1")
        for level, h in nodes:
            pos = base + level
            stored = self.stored_tree[pos * 32:pos * 32 + 32]
            if len(stored) < 32:
                continue
            if h is None or stored != h:  # an unknown node never equals a stored one (a guess)
                self.report.fail("tree", "TREE_MISMATCH", i)

    # --- checkpoints ---
    def _check_checkpoints(self):
        n = self.tree.size
        for cp in self.cps.pop(n, []):
            self._check_cp(cp, n)

    def _check_cp(self, cp, n):
        r = self.report
        idx = n - 1 if n else None  # the last entry it covers (a guess)
        ok = True
        root = self.tree.root()
        if cp.origin != self.log_id or cp.size != n or root is None or root != cp.root:
            # §13: "a checkpoint that does not match gives that one finding, and its signature is
            # not judged: it is not a checkpoint of this log".
            r.fail("checkpoint", "CHECKPOINT_MISMATCH", idx)
            return
        if self.last_time is None:
            keys = [k for k in self.keys.usable_keys() if "revoked" not in k.jwk]
        else:
            keys = [k for k in self.keys.usable_keys() if k.validity_failure(self.last_time) is None]
        try:
            signed = checkpoints.signed_by(cp, cp.origin, keys)
        except EvError:
            signed = []
        # §10.1: a line of the log's Ed25519 note key must verify (one need not be there).
        if signed and self.note_key is not None:
            kh, public = self.note_key
            for line in cp.sigs:
                if line.name == cp.origin and line.keyhash == kh \
                        and not ed25519.verify(public, cp.text.encode("utf-8"), line.sig):
                    signed = []
        if not signed:
            r.fail("checkpoint", "CHECKPOINT_SIGNATURE_INVALID", idx)
            ok = False
        if ok:
            self.valid_cover = max(self.valid_cover, n)

    def finish(self):
        r = self.report
        for i, seq, digest in self.erasure_links:
            if self.record_digests.get(seq) != digest:
                r.fail("event", "ERASURE_MISMATCH", i)
        for seq, i in self.erased_unnamed.items():
            r.fail("event", "ERASURE_MISMATCH", i)
        for size in sorted(self.cps):
            for cp in self.cps[size]:
                r.fail("checkpoint", "CHECKPOINT_MISMATCH", self.i - 1 if self.i else None,
                       "checkpoint of more records than the log holds")
        self.cps = {}
        # §23.2, last paragraph: the key set verified with is the last key record's keys, listed
        # after the checkpoints of more records than the log holds, before unsigned records and gaps.
        self.key_history.finish(self.keys)
        if self.mode == "batch" and self.tree.size > self.valid_cover:
            # §13: "reported once at the first of them (readable records only)".
            first = bisect.bisect_left(self.readable, self.valid_cover)
            if first < len(self.readable):
                r.fail("checkpoint", "RECORD_UNSIGNED", self.readable[first])  # check name: a guess
        for idx, ranges in self.gaps:
            if not isinstance(ranges, list) or ranges:
                r.fail("sequence", "SEQUENCE_GAP", idx)
        if not self.any_nonce:
            r.skip("nonce")
        r.log_id = self.log_id
        r.records = self.i
        return r


# --- §16 on-disk format ---

def _valid_frame(data, pos):
    """The payload of a valid frame at pos, and its end; None when not a valid frame."""
    if data[pos:pos + 4] != MAGIC or pos + 12 > len(data):
        return None
    (length,) = struct.unpack_from("<I", data, pos + 4)
    (crc,) = struct.unpack_from("<I", data, pos + 8)
    end = pos + 12 + length
    if length > MAX_PAYLOAD or end > len(data):
        return None
    if zlib.crc32(data[pos + 4:pos + 8] + data[pos + 12:end]) != crc:
        return None
    return data[pos + 12:end], end


def _is_debris(tail, start, frame_follows):
    """§16 Recovery: what an unfinished write leaves at the end of the last segment: "a prefix of
    a frame at the end of the file (the magic or part of it, or a header whose length reaches past
    the end ...), or zeros where sectors never reached the disk (only zeros, or a run of zeros from
    a 512-byte boundary of the file, a whole sector long or to its end), together with any valid
    frames after such a hole". `frame_follows`: whether a valid frame begins after the tail's
    first byte. A frame prefix is debris only when it is at the end of the
    file: a valid frame after it means a later write completed, so it was not an unfinished one."""
    if not tail:
        return True
    prefix = False
    if len(tail) < 4:
        prefix = MAGIC.startswith(tail)
    elif tail[:4] == MAGIC:
        if len(tail) < 8:
            prefix = True
        else:
            (length,) = struct.unpack_from("<I", tail, 4)
            prefix = 12 + length > len(tail)
    if prefix and not frame_follows:  # only at the very end (a guess)
        return True
    if tail.count(0) == len(tail):
        return True
    # a run of zeros from a 512-byte boundary of the file, a whole sector long or to its end
    b = ((start + 511) // 512) * 512
    while b - start < len(tail):
        rel = b - start
        run = tail[rel:rel + 512]
        if run.count(0) == len(run) and (len(run) == 512 or rel + len(run) == len(tail)):
            return True
        b += 512
    return False


SEARCH_BUDGET = 2 * 64 * 1024 * 1024


def read_frames(data, last=False, acknowledged_left=0):
    """Walk a file's frames (§16 "Reading frames"): a list of payloads, with UNREADABLE for
    skipped bytes. `last`: the file is the last segment, whose tail may be the debris of an
    unfinished write, but only when none of the `acknowledged_left` entries still expected
    (§16 Recovery step 1: "damage when an acknowledged entry is among them") lies in it."""
    out = []
    pos = 0
    n = len(data)
    budget = SEARCH_BUDGET
    while pos < n:
        f = _valid_frame(data, pos)
        if f:
            out.append(f[0])
            pos = f[1]
            continue
        # Search forward, from the next byte, for the first offset where a valid frame begins;
        # the checksums computed count against the file's budget (a guess: the bytes checksummed).
        j = data.find(MAGIC, pos + 1)
        nxt = None
        while j >= 0:
            if j + 12 <= n:
                (length,) = struct.unpack_from("<I", data, j + 4)
                if length <= MAX_PAYLOAD and j + 12 + length <= n:
                    budget -= 4 + length
                    if budget < 0:
                        break
            if _valid_frame(data, j):
                nxt = j
                break
            j = data.find(MAGIC, j + 1)
        if last and len(out) >= acknowledged_left and _is_debris(data[pos:], pos, nxt is not None):
            break
        out.append(UNREADABLE)
        if nxt is None:
            break  # no valid frame follows, or the budget is spent: the rest is one entry
        pos = nxt
    return out


def index_acknowledged(index, seg_datas):
    """§16 Recovery step 1: entries acknowledged by the index: up to the last slot when that
    slot is trusted (it points at offset 0 of a segment, or right after the intact entry the slot
    before names), else up to the slot before it (a guess: SPEC does not say what a distrusted last
    slot leaves acknowledged). Segment number: the segment's position in name order (a guess)."""
    count = len(index) // 8
    if count == 0:
        return 0
    slots = [struct.unpack_from("<Q", index, 8 * k)[0] for k in range(count)]
    seg, off = slots[-1] >> 32, slots[-1] & 0xFFFFFFFF
    if off == 0 and seg < len(seg_datas):
        return count
    if count >= 2:
        pseg, poff = slots[-2] >> 32, slots[-2] & 0xFFFFFFFF
        if pseg == seg and seg < len(seg_datas):
            f = _valid_frame(seg_datas[seg], poff)
            if f and f[1] == off:
                return count
    return count - 1


def parse_entry(payload):
    if payload is UNREADABLE or len(payload) < 5:
        return UNREADABLE
    kind = payload[0]
    (ln,) = struct.unpack_from("<I", payload, 1)
    if kind not in (1, 2) or 5 + ln > len(payload):
        return UNREADABLE
    first = payload[5:5 + ln]
    event = payload[5 + ln:]
    return kind, first, (event if event else None)


def _read_file(path, limit=400 * 1024 * 1024):
    """§16: a regular file of a plausible size, else refused; the code, IO, is a guess."""
    if os.path.islink(path) or not os.path.isfile(path):
        raise EvError("IO", f"{os.path.basename(path)} is not a regular file")
    if os.path.getsize(path) > limit:
        raise EvError("IO", f"{os.path.basename(path)} is larger than any the store writes")
    with open(path, "rb") as f:
        return f.read()


def read_config(d):
    """§16 log.json, read first: missing, LOG_NOT_FOUND; not JSON, or `format`, `version` (1),
    `log_id` (§6), `mode`, or `key_file` if present (a string) missing or other,
    LOG_CONFIG_INVALID; other members are ignored."""
    p = os.path.join(d, "log.json")
    if not os.path.lexists(p):
        raise EvError("LOG_NOT_FOUND", "no log.json")
    raw = _read_file(p, 1 << 20)
    try:
        cfg = jcs.parse(raw)
    except EvError as e:
        raise EvError("LOG_CONFIG_INVALID", "log.json is not JSON: " + e.message)
    if not isinstance(cfg, dict):
        # "not JSON ... refused": a JSON value that is not an object has none of the members.
        raise EvError("LOG_CONFIG_INVALID", "log.json is not an object")
    if cfg.get("format") != "evidentia-log" or not jcs.is_int(cfg.get("version")) or cfg["version"] not in (1, 2) \
            or cfg.get("mode") not in ("receipts", "batch") \
            or ("key_file" in cfg and not isinstance(cfg["key_file"], str)):
        raise EvError("LOG_CONFIG_INVALID", "log.json values")
    try:
        check_log_id(cfg.get("log_id"))
    except EvError:
        raise EvError("LOG_CONFIG_INVALID", "log.json log_id")
    if "note_vkey" in cfg:
        cfg["note_key"] = _note_key(cfg["note_vkey"], cfg["log_id"])
        file, uri = cfg.get("note_key_file"), cfg.get("note_key_uri")
        if (file is not None and uri is not None) or (file is not None and not isinstance(file, str)) \
                or (uri is not None and not (isinstance(uri, str) and uri.startswith("pkcs11:"))):
            raise EvError("LOG_CONFIG_INVALID", "log.json note_key_file / note_key_uri")
    return cfg


def _note_key(vkey, log_id):
    """§10.1 and §16: `note_vkey`, an Ed25519 verifier key named by the log id, as
    (key hash, public key); otherwise LOG_CONFIG_INVALID."""
    parts = vkey.split("+", 2) if isinstance(vkey, str) else []
    key = b64std_decode(parts[2]) if len(parts) == 3 else None
    if key is None or parts[0] != log_id or len(key) != 33 or key[0] != 0x01 \
            or not re.fullmatch("[0-9a-f]{8}", parts[1]) \
            or sha256(log_id.encode("utf-8") + b"\n" + key)[:4].hex() != parts[1] \
            or ed25519.decode_point(key[1:]) is None:
        raise EvError("LOG_CONFIG_INVALID", "log.json note_vkey")
    return bytes.fromhex(parts[1]), key[1:]


def read_key_history(d):
    """§16 keys.jwks, read second (also when the verifier brings keys it trusts): missing,
    LOG_CORRUPT; not UTF-8, KEY_SET_MALFORMED; otherwise read as §4 says."""
    p = os.path.join(d, "keys.jwks")
    if not os.path.lexists(p):
        raise EvError("LOG_CORRUPT", "no keys.jwks")
    raw = _read_file(p, 1 << 24)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        raise EvError("KEY_SET_MALFORMED", "keys.jwks is not UTF-8")
    return read_key_set(raw)


def _state_entries(d):
    spath = os.path.join(d, "state.json")
    if not os.path.lexists(spath):
        return None
    try:
        st = jcs.parse(_read_file(spath, 1 << 20))
    except EvError:
        return None
    if isinstance(st, dict) and jcs.is_int(st.get("entries")) and st["entries"] >= 0:
        return int(st["entries"])
    return None


def read_dir(d):
    """(config, own key history, entries, checkpoint list, stored tree bytes or None, N or None)."""
    if not os.path.isdir(d) or os.path.islink(d):
        raise EvError("LOG_NOT_FOUND", "not a log directory")
    cfg = read_config(d)
    own = read_key_history(d)
    segdir = os.path.join(d, "segments")
    names = []
    if os.path.isdir(segdir):
        names = sorted(n for n in os.listdir(segdir) if n.endswith(".seg"))
    seg_datas = [_read_file(os.path.join(segdir, name), 320 * 1024 * 1024) for name in names]
    n = _state_entries(d)
    ipath = os.path.join(d, "index")
    index = _read_file(ipath) if os.path.lexists(ipath) else b""
    acknowledged = max(n or 0, index_acknowledged(index, seg_datas))
    entries = []
    for k, data in enumerate(seg_datas):
        last = k == len(seg_datas) - 1
        for p in read_frames(data, last=last, acknowledged_left=max(0, acknowledged - len(entries))):
            entries.append(parse_entry(p))
    cps = []
    cpath = os.path.join(d, "checkpoints.log")
    if os.path.lexists(cpath):
        data = _read_file(cpath, 320 * 1024 * 1024)
        for p in read_frames(data, last=True):
            if p is UNREADABLE:
                cps.append(EvError("CHECKPOINT_MALFORMED", "a stored checkpoint frame cannot be read"))
                continue
            try:
                cps.append(checkpoints.read(p))
            except EvError as e:
                cps.append(e)
    tree = None
    tpath = os.path.join(d, "tree")
    if os.path.lexists(tpath):
        tree = _read_file(tpath)
    return cfg, own, entries, cps, tree, n


def verify_dir(d, key_set=None, require_events=True):
    """§13 over a §16 directory; `key_set`: trusted keys, used instead of keys.jwks (which is
    read all the same, §16)."""
    cfg, own, entries, cps, tree, n = read_dir(d)
    if key_set is None:
        key_set = own
    # §16 "Verifying a log directory": "`log.json`'s `log_id` as the expected log id", every event required.
    v = LogVerifier(key_set, cfg["mode"], expected_log_id=cfg["log_id"], require_events=require_events,
                    checkpoints_list=cps, stored_tree=tree, stored_tree_leaves=n,
                    note_key=cfg.get("note_key"))
    for e in entries:
        v.push(e)
    return v.finish()
