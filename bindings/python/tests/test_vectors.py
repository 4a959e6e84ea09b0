"""Every file of testvectors/ through the Python package, as every binding runs them."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

import evidentia

VECTORS = Path(os.environ.get("EVIDENTIA_VECTORS", Path(__file__).resolve().parents[3] / "testvectors"))


def load(name: str) -> dict:
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))


def key(name: str) -> evidentia.SigningKey:
    entry = next(k for k in load("keys.json")["keys"] if k["name"] == name)
    return evidentia.SigningKey.from_jwk(entry["private_jwk"])


def expect_report(case: dict, call) -> None:
    """A verify case: either an error code name, or validity and failure codes."""
    if "error" in case:
        with pytest.raises(evidentia.EvidentiaError) as raised:
            call()
        assert raised.value.code_name == case["error"], case["name"]
    else:
        report = call()
        assert report.valid == case["valid"], case["name"]
        assert report.failure_codes == case["failures"], case["name"]


@pytest.mark.parametrize("case", load("canonicalization.json")["cases"], ids=lambda c: c["name"])
def test_canonicalization(case: dict) -> None:
    data = bytes.fromhex(case["input_hex"])
    if "canonical" in case:
        assert evidentia.canonicalize(data) == case["canonical"].encode()
    else:
        with pytest.raises(evidentia.EvidentiaError) as raised:
            evidentia.canonicalize(data)
        assert raised.value.code_name == case["error"]


def test_digests() -> None:
    doc = load("digests.json")
    for case in doc["json"]:
        assert evidentia.canonicalize(case["input"]) == case["canonical"].encode()
        assert evidentia.digest(case["input"]) == case["digest"]
    for case in doc["raw"]:
        assert evidentia.sha256(bytes.fromhex(case["input_hex"])) == case["digest"]


def test_keys() -> None:
    doc = load("keys.json")
    for entry in doc["keys"]:
        k = evidentia.SigningKey.from_jwk(entry["private_jwk"])
        assert k.to_jwk() == entry["private_jwk"]
        assert k.public_jwk() == entry["public_jwk"]
        assert k.to_pem() == entry["private_pem"]
        assert k.public_pem() == entry["public_pem"]
        assert k.kid == entry["kid"] == evidentia.jwk_thumbprint(entry["public_jwk"])
        assert evidentia.SigningKey.from_pem(entry["private_pem"]).kid == entry["kid"]
    for case in doc["invalid_private_keys"]:
        loader = evidentia.SigningKey.from_pem if case["input"].startswith("-") else evidentia.SigningKey.from_jwk
        with pytest.raises(evidentia.KeyMaterialError) as raised:
            loader(case["input"])
        assert raised.value.code_name == case["error"], case["name"]
    for case in doc["invalid_key_sets"]:
        with pytest.raises(evidentia.KeyMaterialError) as raised:
            evidentia.verify_jws("a.b.c", case["input"])
        assert raised.value.code_name == case["error"], case["name"]


def test_jws() -> None:
    doc = load("jws.json")
    for case in doc["sign"]:
        payload = bytes.fromhex(case["payload_hex"])
        jws = key(case["key"]).sign_jws(payload, detached=case["detached"], unencoded=case["unencoded"])
        assert jws == case["jws"]
    for case in doc["verify"]:
        payload = bytes.fromhex(case["payload_hex"]) if case["payload_hex"] is not None else None
        if case["valid"]:
            verified = evidentia.verify_jws(case["jws"], case["jwks"], payload)
            assert verified.payload == bytes.fromhex(case["verified_payload_hex"]), case["name"]
            assert verified.kid == case["kid"]
            assert verified.header["alg"] == "ES256"
        else:
            with pytest.raises(evidentia.EvidentiaError) as raised:
                evidentia.verify_jws(case["jws"], case["jwks"], payload)
            assert raised.value.code_name == case["error"], case["name"]


def test_receipts(tmp_path: Path) -> None:
    doc = load("receipts.json")
    signer = key(doc["key"])
    # The records carry fixed past times: the key is valid from the first. The
    # vectors are of version-1 records, whose events are not salted.
    valid_from = doc["issue"][0]["time"]
    log = evidentia.Log.create(tmp_path / "log", signer, log_id=doc["log_id"], valid_from=valid_from, record_version=1)
    with log:
        for entry in doc["issue"]:
            receipt = log.append(entry["event"], nonce=entry["nonce"], time=entry["time"])
            assert receipt == entry["receipt"]
        # The log verifies against the key itself and against its own key history.
        assert log.verify(signer.public_jwk()).valid
        assert log.verify().valid
    for case in doc["verify"]:
        expect_report(case, lambda: evidentia.verify_receipt(case["receipt"], case["jwks"], case["event"]))


def test_logs() -> None:
    doc = load("logs.json")
    for case in doc["cases"]:
        entries = [(e["receipt"], e["event"]) for e in case["entries"]]
        report = evidentia.verify_log_entries(entries, doc["jwks"])
        assert report.valid == case["valid"], case["name"]
        found = [(f["name"], f["index"]) for f in report.findings]
        assert found == [(f["code"], f["index"]) for f in case["findings"]], case["name"]


def test_merkle() -> None:
    doc = load("merkle.json")
    leaves = [bytes.fromhex(leaf["data_hex"]) for leaf in doc["leaves"]]
    roots = [base64.b64decode(r) for r in doc["roots"]]
    for case in doc["inclusion"]:
        proof = json.loads(case["proof"])
        evidentia.verify_inclusion_proof(case["proof"], leaves[proof["leaf_index"]], roots[proof["tree_size"]])
    for case in doc["consistency"]:
        proof = json.loads(case["proof"])
        evidentia.verify_consistency_proof(case["proof"], roots[proof["old_size"]], roots[proof["new_size"]])
    for case in doc["invalid_inclusion"]:
        with pytest.raises(evidentia.EvidentiaError) as raised:
            evidentia.verify_inclusion_proof(case["proof"], leaves[5], roots[13])
        assert raised.value.code_name == case["error"], case["name"]


def test_checkpoints() -> None:
    doc = load("checkpoints.json")
    for case in doc["verify"]:
        if case["valid"]:
            checkpoint = evidentia.verify_checkpoint(case["note"], doc["jwks"])
            assert checkpoint["size"] == case["size"] and checkpoint["origin"] == doc["origin"]
        else:
            with pytest.raises(evidentia.EvidentiaError) as raised:
                evidentia.verify_checkpoint(case["note"], doc["jwks"])
            assert raised.value.code_name == case["error"], case["name"]


def test_batch_receipts(tmp_path: Path) -> None:
    doc = load("batch_receipts.json")
    signer = key(doc["key"])
    log = evidentia.Log.create(
        tmp_path / "log", signer, log_id=doc["log_id"], mode="batch", valid_from=doc["time"], record_version=1
    )
    with log:
        log.append_batch([entry["canonical_event"] for entry in doc["issue"]], time=doc["time"])
        for index, entry in enumerate(doc["issue"]):
            assert log.receipt(index) == entry["batch_receipt"]
        assert log.checkpoint() == doc["checkpoint"]
        assert log.verify().valid
    for case in doc["verify"]:
        expect_report(case, lambda: evidentia.verify_receipt(case["batch_receipt"], case["jwks"], case["event"]))


def test_commitments() -> None:
    doc = load("commitments.json")
    for case in doc["commitments"]:
        made = evidentia.commit_event(case["event"], bytes.fromhex(case["salt_hex"]))
        assert made == {k: case[k] for k in ("commitment", "disclosures", "event_digest")}, case["name"]
        # The event as a Python value commits to the same bytes as its text (a str
        # at the top is JSON text, so the value is given as a dict or not at all).
        value = json.loads(case["event"])
        if isinstance(value, dict):
            assert evidentia.commit_event(value, bytes.fromhex(case["salt_hex"])) == made
        with pytest.raises(evidentia.UsageError):
            evidentia.commit_event(case["event"], bytes.fromhex(case["salt_hex"])[:15])
    for case in doc["checks"]:
        if "error" in case:
            with pytest.raises(evidentia.EvidentiaError) as raised:
                evidentia.check_disclosures(case["event_digest"], case["commitment"], case["disclosures"])
            assert raised.value.code_name == case["error"], case["name"]
        else:
            shown = evidentia.check_disclosures(case["event_digest"], case["commitment"].encode(), case["disclosures"])
            assert (shown["disclosed"], shown["undisclosed"]) == (case["disclosed"], case["undisclosed"]), case["name"]
    for case in doc["keyed_hashes"]:
        key, data = bytes.fromhex(case["key_hex"]), bytes.fromhex(case["data_hex"])
        if "error" in case:
            with pytest.raises(evidentia.UsageError):
                evidentia.keyed_hash(key, data)
        else:
            assert evidentia.keyed_hash(key, data) == case["keyed_hash"], case["name"]
            assert evidentia.keyed_hash(key, data.decode()) == case["keyed_hash"]
    with pytest.raises(TypeError):
        evidentia.check_disclosures(doc["checks"][0]["event_digest"], doc["checks"][0]["commitment"], "WyJh")


def test_errors() -> None:
    table = {code: (name, family) for code, name, family, _, _ in evidentia.error_codes()}
    for entry in load("errors.json")["codes"]:
        assert table[entry["code"]] == (entry["name"], entry["family"])
    explanations = {name: text for _, name, _, _, text in evidentia.error_codes()}
    assert "not the one that was signed" in explanations["EVENT_MISMATCH"]


@pytest.mark.parametrize("name", ["arrays", "french", "structures", "unicode", "values", "weird"])
def test_external_jcs_documents(name: str) -> None:
    source = (VECTORS / "external/jcs/input" / f"{name}.json").read_bytes()
    assert evidentia.canonicalize(source) == (VECTORS / "external/jcs/output" / f"{name}.json").read_bytes()


def test_external_wycheproof_es256_jws() -> None:
    doc = json.loads((VECTORS / "external/wycheproof/json_web_signature_test.json").read_text())
    checked = 0
    for group in doc["testGroups"]:
        if group["comment"] not in ("es256", "SpecialCaseEs256", "ec_key_for_encryption"):
            continue
        for test in group["tests"]:
            try:
                evidentia.verify_jws(test["jws"], json.dumps(group["public"]))
                accepted = True
            except evidentia.EvidentiaError:
                accepted = False
            assert accepted == (test["result"] == "valid"), test["tcId"]
            checked += 1
    assert checked == 41
