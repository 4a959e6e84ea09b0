"""Cross-language evidence, Python side (run by `cargo xtask test cross`).

  cross.py produce SPEC OUT    write OUT/evidence.json and OUT's logs
  cross.py verify SPEC ROOT    verify ROOT/*/evidence.json, whoever produced it
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import evidentia


def produce(spec: dict, out: Path) -> None:
    key = evidentia.SigningKey.from_jwk(spec["private_jwk"])
    evidence: dict = {"producer": "python"}
    evidence["canonical"] = [evidentia.canonicalize(d["json"]).decode() for d in spec["documents"]]
    evidence["digests"] = [evidentia.digest(d["json"]) for d in spec["documents"]]
    evidence["jws"] = []
    for p in spec["payloads"]:
        payload = bytes.fromhex(p["payload_hex"])
        evidence["jws"] += [
            key.sign_jws(payload),
            key.sign_jws(payload, detached=True),
            key.sign_jws(payload, detached=True, unencoded=True),
        ]
    # The records carry fixed past times: the key is valid from the first. The
    # fixed receipts are of version-1 records, whose events are not salted.
    valid_from = spec["receipts"][0]["time"]
    fixed = out / "fixed"
    with evidentia.Log.create(fixed, key, log_id=spec["log_id"], valid_from=valid_from, record_version=1) as log:
        evidence["receipts"] = [log.append(r["event"], nonce=r["nonce"], time=r["time"]) for r in spec["receipts"]]

    fresh = evidentia.SigningKey.generate()
    payload = bytes.fromhex(spec["fresh_payload_hex"])
    with evidentia.Log.create(out / "log", fresh, log_id="python.example/cross") as log:
        receipt = log.append(spec["fresh_event"])
        salt = log.salt(0)
        log.append_batch([{"n": 2}, {"n": 3}])
        checkpoint = log.checkpoint()
        proof = log.inclusion_proof(0)
        jwks = log.keys()
        log.export_package(0, out / "package-receipt")
    with evidentia.Log.create(out / "batch", fresh, log_id="python.example/cross-batch", mode="batch") as batch:
        batch.append_batch([spec["fresh_event"], {"n": 2}, {"n": 3}])
        batch_receipt = batch.receipt(0)
        batch_salt = batch.salt(0)
        batch.export_package(0, str(out / "package-batch"))
    evidence["fresh"] = {
        "public_jwk": fresh.public_jwk(),
        "jws": fresh.sign_jws(payload, detached=True),
        "log": str((out / "log").resolve()),
        "jwks": jwks,
        "receipt": receipt,
        "salt_hex": salt.hex(),
        "checkpoint": checkpoint,
        "size": 3,
        "inclusion_proof": proof,
        "batch_log": str((out / "batch").resolve()),
        "batch_receipt": batch_receipt,
        "batch_salt_hex": batch_salt.hex(),
    }
    (out / "evidence.json").write_text(json.dumps(evidence, indent=1, ensure_ascii=False), encoding="utf-8")


class Checks:
    def __init__(self, producer: str) -> None:
        self.producer, self.passed = producer, 0

    def that(self, condition: bool, what: str) -> None:
        if not condition:
            raise AssertionError(f"python verifying {self.producer}'s evidence: {what}")
        self.passed += 1


def verify_one(spec: dict, evidence: dict) -> int:
    check = Checks(evidence["producer"])
    expected_jws = [j for p in spec["payloads"] for j in (p["jws"], p["detached"], p["unencoded_detached"])]
    for name, expected in [
        ("canonical", [d["canonical"] for d in spec["documents"]]),
        ("digests", [d["digest"] for d in spec["documents"]]),
        ("jws", expected_jws),
        ("receipts", [r["receipt"] for r in spec["receipts"]]),
    ]:
        if name in evidence:
            check.that(evidence[name] == expected, f"{name} differ from the expected bytes")
    for receipt, r in zip(evidence.get("receipts", []), spec["receipts"]):
        check.that(evidentia.verify_receipt(receipt, spec["public_jwk"], r["event"]).valid, "a fixed receipt")

    fresh = evidence["fresh"]
    payload = bytes.fromhex(spec["fresh_payload_hex"])
    verified = evidentia.verify_jws(fresh["jws"], fresh["public_jwk"], payload)
    check.that(verified.kid == evidentia.jwk_thumbprint(fresh["public_jwk"]), "the JWS kid")
    try:
        evidentia.verify_jws(fresh["jws"], fresh["public_jwk"], payload + b"!")
        check.that(False, "a JWS over another payload verified")
    except evidentia.VerificationError:
        check.that(True, "")
    salt, batch_salt = bytes.fromhex(fresh["salt_hex"]), bytes.fromhex(fresh["batch_salt_hex"])
    report = evidentia.verify_receipt(fresh["receipt"], fresh["jwks"], spec["fresh_event"], salt=salt)
    check.that(report.valid, report.to_text())
    other_event = {"type": "cross.check", "amount": 10.51}
    other = evidentia.verify_receipt(fresh["receipt"], fresh["jwks"], other_event, salt=salt)
    check.that(other.failure_codes == ["EVENT_MISMATCH"], f"another event: {other.failure_codes}")
    checkpoint = evidentia.verify_checkpoint(fresh["checkpoint"], fresh["jwks"])
    check.that(checkpoint["size"] == fresh["size"], "the checkpoint size")
    evidentia.verify_inclusion(fresh["receipt"], fresh["inclusion_proof"], fresh["checkpoint"], fresh["jwks"])
    log = evidentia.verify_log(fresh["log"])
    check.that(log.valid and log.records == fresh["size"], log.to_text())
    batch = evidentia.verify_receipt(fresh["batch_receipt"], fresh["jwks"], spec["fresh_event"], salt=batch_salt)
    check.that(batch.valid and batch.subject == "batch_receipt", batch.to_text())
    check.that(evidentia.verify_log(fresh["batch_log"]).valid, "the batch log")
    return check.passed


def main() -> None:
    command, spec_path, directory = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    if command == "produce":
        produce(spec, directory)
        return
    for path in sorted(directory.glob("*/evidence.json")):
        evidence = json.loads(path.read_text(encoding="utf-8"))
        print(f"python verified {evidence['producer']}'s evidence: {verify_one(spec, evidence)} checks passed")


if __name__ == "__main__":
    main()
