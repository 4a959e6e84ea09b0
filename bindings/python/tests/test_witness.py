"""Witness cosignatures and policies (SPEC.md §22): every case of the shared
vectors (testvectors/witness.json): a 2-of-3 policy satisfied, a 1-of-3 result
refused with POLICY_NOT_SATISFIED, a tampered cosignature, a malformed policy,
and tlog-proofs."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

import evidentia

VECTORS = Path(os.environ.get("EVIDENTIA_VECTORS", Path(__file__).resolve().parents[3] / "testvectors"))


def load() -> Any:
    return json.loads((VECTORS / "witness.json").read_text(encoding="utf-8"))


def check_result(got: evidentia.PolicyResult, expected: dict[str, Any]) -> None:
    assert got.origin == expected["origin"]
    assert got.size == expected["size"]
    assert got.root == base64.b64decode(expected["root"])
    assert got.signed_by == expected["signed_by"]
    assert got.cosigned == expected["cosigned"]
    assert got.quorum_met is expected["quorum_met"] is True


def test_policy_vectors() -> None:
    doc = load()
    run = 0
    for case in doc["policies"]:
        try:
            result = evidentia.check_policy(case["note"], case["policy"])
            got = None
        except evidentia.EvidentiaError as e:
            got = e.code_name
        assert got == case["code"], case["name"]
        if got is None:
            check_result(result, case["result"])
        run += 1
    assert run == len(doc["policies"]) >= 9
    print(f"witness.json: {run} policy cases")


def test_tlog_proof_vectors() -> None:
    doc = load()
    run = 0
    for case in doc["proofs"]:
        try:
            result = evidentia.verify_tlog_proof(case["proof"], case["entry"].encode(), case["policy"])
            got = None
        except evidentia.EvidentiaError as e:
            got = e.code_name
        assert got == case["code"], case["name"]
        if got is None:
            check_result(result, case["result"])
        run += 1
    assert run == len(doc["proofs"]) >= 6
    print(f"witness.json: {run} proof cases")


def test_two_of_three_satisfied_one_of_three_refused() -> None:
    cases = {c["name"]: c for c in load()["policies"]}
    two = cases["2 of 3 witnesses cosigned: the quorum is met"]
    result = evidentia.check_policy(two["note"], two["policy"])
    assert [c["witness"] for c in result.cosigned] == ["w1", "w3"]
    one = cases["1 of 3 witnesses cosigned: refused"]
    with pytest.raises(evidentia.VerificationError) as refused:
        evidentia.check_policy(one["note"], one["policy"])
    assert refused.value.code_name == "POLICY_NOT_SATISFIED" and refused.value.code == 630
    tampered = cases["a tampered cosignature"]
    with pytest.raises(evidentia.VerificationError) as invalid:
        evidentia.check_policy(tampered["note"], tampered["policy"])
    assert invalid.value.code_name == "COSIGNATURE_INVALID"
    malformed = cases["a group of 3 needing 4: a malformed policy"]
    with pytest.raises(evidentia.ProofError) as bad:
        evidentia.check_policy(malformed["note"], malformed["policy"])
    assert bad.value.code_name == "POLICY_MALFORMED" and bad.value.code == 805
    with pytest.raises(AttributeError):
        result.quorum_met = False  # type: ignore[misc]


def ecdsa_vkey(origin: str, key: evidentia.SigningKey) -> str:
    """The log's ECDSA note verifier key (SPEC.md §10): origin, SHA-256(SPKI DER)[:4], 0x02 ‖ DER."""
    body = "".join(line for line in key.public_pem().splitlines() if not line.startswith("-----"))
    der = base64.b64decode(body)
    key_bytes = base64.b64encode(bytes([2]) + der).decode()
    return f"{origin}+{hashlib.sha256(der).digest()[:4].hex()}+{key_bytes}"


def test_a_log_exports_a_tlog_proof_that_verifies_against_its_policy(tmp_path: Path) -> None:
    key = evidentia.SigningKey.generate()
    with evidentia.Log.create(tmp_path / "log", key, log_id="example.com/tlog") as log:
        for n in range(3):
            log.append({"n": n})
        note = log.checkpoint()
        proof, entry = log.tlog_proof(1)
        assert proof.startswith("c2sp.org/tlog-proof@v1\nindex 1\n") and proof.endswith(note)
        assert json.loads(entry)["seq"] == 1
        policy = f"log {ecdsa_vkey('example.com/tlog', key)}\nquorum none\n"
        result = evidentia.verify_tlog_proof(proof, entry, policy)
        assert (result.size, result.quorum_met) == (3, True)
        with pytest.raises(evidentia.VerificationError) as other:
            evidentia.verify_tlog_proof(proof, b"{}", policy)
        assert other.value.code_name == "INCLUSION_PROOF_INVALID"
        with pytest.raises(evidentia.UsageError) as beyond:
            log.tlog_proof(3)
        assert beyond.value.code_name == "INVALID_ARGUMENT"
