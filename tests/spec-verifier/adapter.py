#!/usr/bin/env python3
"""Conformance adapter: `python3 adapter.py CASE_DIR`.

Reads only `operation` and `inputs` of CASE_DIR/expected.json, performs the operation
with the verifier in spec_verifier/ (written from SPEC.md alone), exits 0 (valid),
1 (invalid) or 2 (malformed) and prints, as its last line, {"code": ..., "codes": [...]}.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from spec_verifier import checkpoints, merkle  # noqa: E402
from spec_verifier.errors import EvError  # noqa: E402
from spec_verifier.evidence import verify_evidence  # noqa: E402
from spec_verifier.keys import read_key_set  # noqa: E402
from spec_verifier.log import verify_dir  # noqa: E402
from spec_verifier.package import package_valid, verify_package  # noqa: E402
from spec_verifier.receipt import (is_batch_text, parse_batch_receipt, verify_any,  # noqa: E402
                                   verify_batch_receipt, verify_receipt)
from spec_verifier.records import parse_receipt  # noqa: E402
from spec_verifier.tiles import verify_publication  # noqa: E402

REPORT_OPS = ("receipt", "evidence", "log", "tiles")


def read(case, name):
    p = os.path.join(case, name)
    try:
        with open(p, "rb") as f:
            return f.read()
    except OSError as e:
        raise EvError("IO", f"cannot read {name}: {e.strerror}")


def read_artifact(case, name):
    """A receipt or batch receipt file, byte for byte: SPEC §7 "verifiers work on the exact
    string", and the conformance README: inputs are "byte for byte as a verifier receives them"
    and text files "end without a line feed unless the case is about one"."""
    return read(case, name)


class Skip(Exception):
    pass


class Outcome(Exception):
    def __init__(self, exit_code, code=None, codes=None):
        self.exit_code, self.code, self.codes = exit_code, code, codes


def report_outcome(report):
    if report.valid:
        raise Outcome(0, None, [])
    return Outcome(1, report.findings[0]["name"], report.codes())


def first_failure(report):
    """An operation that stops at the first failure of a report (§9: "its first failure is the result")."""
    if not report.valid:
        name = report.findings[0]["name"]
        raise EvError(name, "receipt: " + report.findings[0]["message"])


def parse_artifact(text):
    """A receipt (§7) or a batch receipt (§11), read before the key set: §12 lists its malformed
    inputs in the order "a receipt ..., a key set ..., an event" and §15 says each operation runs
    its steps "in the order this document gives" (for a batch receipt, the same order: a guess)."""
    if is_batch_text(text):
        return parse_batch_receipt(text).record
    return parse_receipt(text).record


def op_receipt(case, inputs):
    text = read_artifact(case, inputs["receipt"])
    parse_artifact(text)
    keys = read_key_set(read(case, inputs["jwks"]))
    event = read(case, inputs["event"]) if inputs.get("event") else None
    salt = read(case, inputs["salt"]) if inputs.get("salt") else None
    raise report_outcome(verify_any(text, keys, event, salt))


def op_evidence(case, inputs):
    # §18: the file's steps 1-2 come before anything else; trusted keys replace step 3. When the
    # trusted key set is itself malformed, its error comes first (a guess: the caller's input).
    trusted = read_key_set(read(case, inputs["jwks"])) if inputs.get("jwks") else None
    raise report_outcome(verify_evidence(read(case, inputs["evidence"]), trusted))


def read_checkpoint_then_keys(case, name, inputs):
    """A signed note is read (§10 "before any signature is checked"), then the key set (a guess:
    SPEC does not order reading the key set against reading the note)."""
    cp = checkpoints.read(read(case, inputs[name]))
    return cp, read_key_set(read(case, inputs["jwks"]))


def op_checkpoint(case, inputs):
    cp, keys = read_checkpoint_then_keys(case, "checkpoint", inputs)
    checkpoints.verify_alone(cp, keys)
    raise Outcome(0)


def op_inclusion(case, inputs):
    # §9: "A proof is read before anything it leads to is looked at".
    proof = merkle.read_inclusion(read(case, inputs["proof"]))
    if "record" in inputs:
        # §9 "A record's inclusion in a checkpoint": "in the same order, the receipt's step
        # replaced by reading the record (§6 ...)". The key set is read after the record.
        from spec_verifier.records import parse_record
        record = parse_record(read(case, inputs["record"]))
        keys = read_key_set(read(case, inputs["jwks"]))
    else:
        text = read_artifact(case, inputs["receipt"])
        record = parse_artifact(text)
        keys = read_key_set(read(case, inputs["jwks"]))
        # "the receipt or batch receipt as in §12 or §11, without an event — its first failure is
        # the result"
        if is_batch_text(text):
            first_failure(verify_batch_receipt(text, keys))
        else:
            first_failure(verify_receipt(text, keys))
    cp = checkpoints.verify_alone(checkpoints.read(read(case, inputs["checkpoint"])), keys)
    if cp.origin != record.log_id or cp.size != proof.tree_size:
        raise EvError("CHECKPOINT_MISMATCH", "checkpoint is not of the record's log or the proof's size")
    if proof.leaf_index != record.seq or not merkle.verify_inclusion(proof, merkle.leaf_hash(record.bytes), cp.root):
        raise EvError("INCLUSION_PROOF_INVALID", "proof does not lead from the record to the root")
    raise Outcome(0)


def op_consistency(case, inputs):
    # §9 "Consistency between two checkpoints": the proof is read; each checkpoint is verified as
    # in §10, older first; same origin and the proof's sizes; the proof leads old -> new.
    proof = merkle.read_consistency(read(case, inputs["proof"]))
    old, keys = read_checkpoint_then_keys(case, "old_checkpoint", inputs)
    checkpoints.verify_alone(old, keys)
    new = checkpoints.verify_alone(checkpoints.read(read(case, inputs["checkpoint"])), keys)
    if old.origin != new.origin or old.size != proof.old_size or new.size != proof.new_size:
        raise EvError("CHECKPOINT_MISMATCH", "checkpoints do not match the proof")
    if not merkle.verify_consistency(proof.old_size, proof.new_size, proof.hashes, old.root, new.root):
        raise EvError("CONSISTENCY_PROOF_INVALID", "proof does not lead from the old root to the new")
    raise Outcome(0)


def op_log(case, inputs):
    # Trusted keys (the caller's input) are read before the directory (a guess); §16: log.json,
    # then keys.jwks (read also when trusted keys are given, which are then used instead).
    trusted = read_key_set(read(case, inputs["jwks"])) if inputs.get("jwks") else None
    raise report_outcome(verify_dir(os.path.join(case, inputs["log"]), trusted))


def op_tiles(case, inputs):
    # §24.2; the trusted keys (the caller's input) are read before the publication (a guess, as
    # for a log).
    keys = read_key_set(read(case, inputs["jwks"]))
    raise report_outcome(verify_publication(os.path.join(case, inputs["publication"]), keys))


def op_package(case, inputs):
    """§19: valid (0), invalid (1: a check fails, code null) or refused (2) (README "Operations")."""
    try:
        checks = verify_package(os.path.join(case, inputs["package"]))
    except EvError as e:
        # §19 "Reading a package": "refused with INVALID_ARGUMENT (100, exit class 2) and no check
        # is run".
        print(f"error: {e}", file=sys.stderr)
        raise Outcome(2, e.name)
    if not package_valid(checks):
        raise Outcome(1, None)
    if checks[8].applies:
        # Check 8 (RFC 3161) is not implemented here: with checks 1-7 passing, no verdict.
        raise Skip("check 8 (RFC 3161 timestamp) is not implemented by this verifier")
    raise Outcome(0)


OPS = {"receipt": op_receipt, "evidence": op_evidence, "checkpoint": op_checkpoint,
       "inclusion": op_inclusion, "consistency": op_consistency, "log": op_log, "package": op_package,
       "tiles": op_tiles}


def run(case):
    with open(os.path.join(case, "expected.json"), "rb") as f:
        spec = json.loads(f.read())
    op, inputs = spec["operation"], spec.get("inputs", {})
    try:
        OPS[op](case, inputs)
        out = Outcome(0)
    except Outcome as o:
        out = o
    except Skip as sk:
        return 0, {"skip": str(sk)}
    except EvError as e:
        out = Outcome(e.exit_class, e.name, [e.name] if e.exit_class == 1 else [])
        print(f"error: {e}", file=sys.stderr)
    result = {"code": out.code}
    if op in REPORT_OPS:
        result["codes"] = out.codes if out.codes is not None else []
    return out.exit_code, result


def main(argv):
    if len(argv) != 2:
        print("usage: adapter.py CASE_DIR", file=sys.stderr)
        return 2
    try:
        code, result = run(argv[1])
    except RecursionError:
        code, result = 2, {"code": "JSON_TOO_DEEP"}
    print(json.dumps(result))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
