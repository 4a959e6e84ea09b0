"""SPEC §12 verifying a receipt; §11 batch receipts and their verification."""
from . import checkpoints, jcs, merkle
from .errors import EvError
from .jws import verify_signature
from .records import parse_receipt, parse_record
from .report import Report
from .stored_event import commitment_document
from .util import digest_text

BATCH_TYPE = "evidentia-batch-receipt"


def canonical_event(event):
    """An event given as JSON text (bytes/str) or as a parsed value, canonical (§1 errors raise)."""
    if isinstance(event, (bytes, str)):
        return jcs.canonicalize(event)
    if hasattr(event, "v"):  # an already parsed value (evidence files, §18)
        return jcs.canonical(event.v)
    return jcs.canonical(event)


def claimed_digest(rec, event, salt):
    """§12 "The claimed event's digest" (None without an event): the event is read first, then
    the salt judged; errors raise."""
    if event is None:
        if salt is not None:
            raise EvError("INVALID_ARGUMENT", "a salt without an event")
        return None
    canonical = canonical_event(event)
    plain = digest_text(canonical)
    if rec.version == 1:
        if salt is not None:
            raise EvError("INVALID_ARGUMENT", "a salt for a version-1 record")
        return plain
    if plain == rec.event:  # the record's own commitment document, with a salt or without
        return plain
    if salt is None:
        raise EvError("INVALID_ARGUMENT", "a version-2 record's event without its salt")
    if not 16 <= len(salt) <= 64:
        raise EvError("INVALID_ARGUMENT", "a salt of 16 to 64 bytes (§26.1)")
    return digest_text(commitment_document(canonical, salt))


def key_check(report, key_set, kid, time_ns, index=None):
    """§12 `key`: selection, then validity at the record's time. Returns the key or None."""
    key, failure = key_set.select(kid)
    if failure:
        report.fail("key", failure, index)
        return None
    v = key.validity_failure(time_ns)
    if v:
        report.fail("key", v, index)
    return key


def verify_receipt(text, key_set, event=None, salt=None):
    """§12: parse (errors raise), then a report with format, key, signature, event."""
    receipt = parse_receipt(text)
    rec = receipt.record
    ev = claimed_digest(rec, event, salt)
    report = Report("receipt")
    report.log_id, report.records = rec.log_id, 1
    if receipt.header_kid != rec.kid:
        report.fail("key", "KID_MISMATCH")
    key = key_check(report, key_set, receipt.header_kid, rec.time_ns)
    if key is None:
        report.skip("signature")
    elif not verify_signature(receipt.jws, key):
        report.fail("signature", "SIGNATURE_INVALID")
    if ev is None:
        report.skip("event")
    elif ev != rec.event:
        report.fail("event", "EVENT_MISMATCH")
    return report


class BatchReceipt:
    def __init__(self, text, record, proof, checkpoint):
        self.text = text
        self.record = record
        self.proof = proof
        self.checkpoint = checkpoint


def _bad(msg):
    raise EvError("BATCH_RECEIPT_MALFORMED", msg)


def parse_batch_receipt(text):
    """§11: exactly the canonical JSON of exactly five members."""
    if isinstance(text, str):
        text = text.encode("utf-8")
    try:
        obj = jcs.parse(text)
    except EvError as e:
        _bad("batch receipt is not JSON: " + e.message)
    if not isinstance(obj, dict) or set(obj) != {"checkpoint", "proof", "record", "type", "v"}:
        _bad("members are not exactly checkpoint, proof, record, type, v")
    if obj["type"] != BATCH_TYPE or not jcs.is_int(obj["v"]) or obj["v"] != 1:
        _bad("type or v")
    if not isinstance(obj["record"], str) or not isinstance(obj["checkpoint"], str) \
            or not isinstance(obj["proof"], dict):
        _bad("record, checkpoint or proof of the wrong type")
    if jcs.canonical(obj) != text:
        _bad("not canonical JSON")
    # §11: "the proof is then read as §9 says (PROOF_MALFORMED), and only then" the cross-checks;
    # the record and the checkpoint are read after the proof (their order: a guess).
    proof = merkle.read_inclusion(obj["proof"])
    record = parse_record(obj["record"].encode("utf-8"))
    cp = checkpoints.read(obj["checkpoint"])
    if proof.leaf_index != record.seq or proof.tree_size != cp.size:
        _bad("proof index or size differs from the record's seq or the checkpoint's size")
    return BatchReceipt(text, record, proof, cp)


def verify_batch_receipt(text, key_set, event=None, salt=None):
    br = parse_batch_receipt(text)
    rec, cp = br.record, br.checkpoint
    ev = claimed_digest(rec, event, salt)
    report = Report("batch_receipt")
    report.log_id, report.records = rec.log_id, 1
    key = key_check(report, key_set, rec.kid, rec.time_ns)
    if key is None:
        # §11 `checkpoint`: "judged in this order, each failure a finding; skipped when no key
        # was selected".
        report.skip("checkpoint")
    else:
        try:
            ok = bool(checkpoints.signed_by(cp, rec.log_id, [key]))
        except EvError:
            ok = False
        if not ok:
            report.fail("checkpoint", "CHECKPOINT_SIGNATURE_INVALID")
        if cp.origin != rec.log_id:
            report.fail("checkpoint", "CHECKPOINT_MISMATCH")
    if not merkle.verify_inclusion(br.proof, merkle.leaf_hash(rec.bytes), cp.root):
        report.fail("inclusion", "INCLUSION_PROOF_INVALID")
    if ev is None:
        report.skip("event")
    elif ev != rec.event:
        report.fail("event", "EVENT_MISMATCH")
    return report


def is_batch_text(text):
    """§12: a verifier handed "a receipt" that may be either kind "takes a string whose first
    character is `{` as a batch receipt (§11) and any other as a receipt"."""
    if isinstance(text, bytes):
        return text[:1] == b"{"
    return text[:1] == "{"


def verify_any(text, key_set, event=None, salt=None):
    """A receipt or a batch receipt, told apart by the text (a JSON object or a JWS)."""
    if is_batch_text(text):
        return verify_batch_receipt(text, key_set, event, salt)
    return verify_receipt(text, key_set, event, salt)
