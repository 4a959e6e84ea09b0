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

REPORT_OPS = ("receipt", "evidence", "log")


def read(case, name):
    p = os.path.join(case, name)
    try:
        with open(p, "rb") as f:
            return f.read()
    except OSError as e:
        raise EvError("IO", f"cannot read {name}: {e.strerror}")


def read_artifact(case, name):
    """A receipt or batch receipt file: the artifact is the text without the line feed(s) a file
    ends with (SPEC says verifiers work on the exact string; files end in a newline: a guess)."""
    data = read(case, name)
    while data.endswith((b"\n", b"\r")):
        data = data[:-1]
    return data


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


def op_receipt(case, inputs):
    keys = read_key_set(read(case, inputs["jwks"]))
    text = read_artifact(case, inputs["receipt"])
    event = read(case, inputs["event"]) if inputs.get("event") else None
    raise report_outcome(verify_any(text, keys, event))


def op_evidence(case, inputs):
    raise report_outcome(verify_evidence(read(case, inputs["evidence"])))


def op_checkpoint(case, inputs):
    keys = read_key_set(read(case, inputs["jwks"]))
    cp = checkpoints.read(read(case, inputs["checkpoint"]))
    checkpoints.verify_alone(cp, keys)
    raise Outcome(0)


def op_inclusion(case, inputs):
    keys = read_key_set(read(case, inputs["jwks"]))
    proof = merkle.read_inclusion(read(case, inputs["proof"]))
    text = read_artifact(case, inputs["receipt"])
    if is_batch_text(text):
        first_failure(verify_batch_receipt(text, keys))
        record = parse_batch_receipt(text).record
    else:
        first_failure(verify_receipt(text, keys))
        record = parse_receipt(text).record
    cp = checkpoints.verify_alone(checkpoints.read(read(case, inputs["checkpoint"])), keys)
    if cp.origin != record.log_id or cp.size != proof.tree_size:
        raise EvError("CHECKPOINT_MISMATCH", "checkpoint is not of the record's log or the proof's size")
    if proof.leaf_index != record.seq or not merkle.verify_inclusion(proof, merkle.leaf_hash(record.bytes), cp.root):
        raise EvError("INCLUSION_PROOF_INVALID", "proof does not lead from the record to the root")
    raise Outcome(0)


def op_consistency(case, inputs):
    keys = read_key_set(read(case, inputs["jwks"]))
    proof = merkle.read_consistency(read(case, inputs["proof"]))
    old = checkpoints.verify_alone(checkpoints.read(read(case, inputs["old_checkpoint"])), keys)
    new = checkpoints.verify_alone(checkpoints.read(read(case, inputs["checkpoint"])), keys)
    if old.origin != new.origin or old.size != proof.old_size or new.size != proof.new_size:
        raise EvError("CHECKPOINT_MISMATCH", "checkpoints do not match the proof")
    if not merkle.verify_consistency(proof.old_size, proof.new_size, proof.hashes, old.root, new.root):
        raise EvError("CONSISTENCY_PROOF_INVALID", "proof does not lead from the old root to the new")
    raise Outcome(0)


def op_log(case, inputs):
    keys = read_key_set(read(case, inputs["jwks"]))
    raise report_outcome(verify_dir(os.path.join(case, inputs["log"]), keys))


def op_package(case, inputs):
    checks = verify_package(os.path.join(case, inputs["package"]))
    raise Outcome(0 if package_valid(checks) else 1)


OPS = {"receipt": op_receipt, "evidence": op_evidence, "checkpoint": op_checkpoint,
       "inclusion": op_inclusion, "consistency": op_consistency, "log": op_log, "package": op_package}


def run(case):
    with open(os.path.join(case, "expected.json"), "rb") as f:
        spec = json.loads(f.read())
    op, inputs = spec["operation"], spec.get("inputs", {})
    try:
        OPS[op](case, inputs)
        out = Outcome(0)
    except Outcome as o:
        out = o
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
