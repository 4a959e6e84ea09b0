"""Erasure (SPEC.md §27): a version-2 log erases an event, keeps verifying and
reports the record erased; legal holds refuse it; every refusal has its code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import evidentia

SECRET = b"Grace-Hopper-5d1c"


def files_holding(folder: Path, needle: bytes) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and needle in p.read_bytes()]


@pytest.mark.parametrize("mode", ["receipts", "batch"])
def test_an_erased_event_is_in_no_file_and_the_log_stays_valid(tmp_path: Path, mode: str) -> None:
    key = evidentia.SigningKey.generate()
    path = tmp_path / "log"
    log = evidentia.Log.create(path, key, mode=mode, record_version=2, index_fields=["name"])
    for name in ["Bob", SECRET.decode(), "Carol"]:
        log.append({"name": name, "amount": 12})
    assert len(files_holding(path, SECRET)) == 1

    log.hold(1, "case 2026-17")
    assert [(h["seq"], h["reason"]) for h in log.holds()] == [(1, "case 2026-17")]
    with pytest.raises(evidentia.StorageError) as held:
        log.erase(1, "GDPR Art. 17")
    assert held.value.code_name == "ERASURE_REFUSED"
    assert log.release(1) is True
    assert log.release(1) is False

    # A package of record 2 disclosing one member only: the rest stays out of it.
    log.checkpoint()
    archive = log.export_package(2, tmp_path / "package", disclose=["amount"])
    report = evidentia.verify_package(archive)
    assert report["valid"], report
    assert report["disclosed"] == {"disclosed": {"amount": 12}, "names": ["amount"], "undisclosed": 1}
    assert files_holding(tmp_path / "package", b"Carol") == []
    with pytest.raises(evidentia.UsageError):
        log.export_package(2, tmp_path / "other", disclose=["nope"])

    # The salt checks the event against its receipt without the log, until erased.
    salt = log.salt(1)
    assert isinstance(salt, bytes) and len(salt) == 16
    receipt, event = log.receipt(1), {"name": SECRET.decode(), "amount": 12}
    assert evidentia.verify_receipt(receipt, log.keys(), event, salt=salt).valid
    wrong = evidentia.verify_receipt(receipt, log.keys(), {**event, "amount": 13}, salt=salt)
    assert wrong.failure_codes == ["EVENT_MISMATCH"]
    with pytest.raises(evidentia.UsageError) as unsalted:
        evidentia.verify_receipt(receipt, log.keys(), event)
    assert unsalted.value.code_name == "INVALID_ARGUMENT"

    line = log.erase(1, "GDPR Art. 17 request 118")
    assert line
    assert files_holding(path, SECRET) == []
    report = log.verify()
    assert report.valid, report.to_text()
    erased = json.loads(report.to_json())["erased"]
    assert erased == [{"by": 3, "index": 1, "reason": "GDPR Art. 17 request 118", "seq": 1}]
    # The package of the erased record shows the erasure record in place of the event.
    log.checkpoint()
    erased_package = evidentia.verify_package(log.export_package(1, tmp_path / "erased"))
    assert erased_package["valid"], erased_package
    assert erased_package["erased"]["by"] == 3
    assert erased_package["erased"]["reason"] == "GDPR Art. 17 request 118"
    assert files_holding(tmp_path / "erased", SECRET) == []
    with pytest.raises(evidentia.StorageError) as gone:
        log.export_package(1, tmp_path / "disclosed", disclose=["amount"])
    assert gone.value.code_name == "RECORD_ERASED"
    with pytest.raises(evidentia.StorageError) as no_salt:
        log.salt(1)
    assert no_salt.value.code_name == "RECORD_ERASED"
    # The holder who kept the salt still proves the erased event.
    assert evidentia.verify_receipt(receipt, log.keys(), event, salt=salt).valid

    with pytest.raises(evidentia.StorageError) as again:
        log.erase(1, "again")
    assert again.value.code_name == "RECORD_ERASED"
    with pytest.raises(evidentia.StorageError) as own:
        log.erase(3, "the erasure record")
    assert own.value.code_name == "ERASURE_REFUSED"
    with pytest.raises(evidentia.UsageError):
        log.erase(9, "beyond")


def test_a_version_1_log_does_not_erase(tmp_path: Path) -> None:
    key = evidentia.SigningKey.generate()
    log = evidentia.Log.create(tmp_path / "log", key, record_version=1)
    receipt = log.append({"name": "x"})
    assert log.salt(0) is None
    assert evidentia.verify_receipt(receipt, log.keys(), {"name": "x"}).valid
    with pytest.raises(evidentia.UsageError):
        evidentia.verify_receipt(receipt, log.keys(), {"name": "x"}, salt=bytes(16))
    with pytest.raises(evidentia.StorageError) as refused:
        log.erase(0, "request")
    assert refused.value.code_name == "ERASURE_REFUSED"
    with pytest.raises(evidentia.UsageError):
        evidentia.Log.create(tmp_path / "other", key, record_version=3)
