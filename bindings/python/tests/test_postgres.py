"""Logs kept in PostgreSQL, opened by URL through the same ``Log`` class as a folder.

``cargo xtask test`` starts a throwaway PostgreSQL 15 cluster and names it in
EVIDENTIA_TEST_POSTGRES (a URL ending in ``/``, with empty databases ``receipts``
and ``batch``); without it these tests skip, unless EVIDENTIA_REQUIRE_POSTGRES is set."""

from __future__ import annotations

import json
import os

import pytest

import evidentia


@pytest.fixture
def server() -> str:
    base = os.environ.get("EVIDENTIA_TEST_POSTGRES")
    if not base:
        if os.environ.get("EVIDENTIA_REQUIRE_POSTGRES"):
            pytest.fail("EVIDENTIA_REQUIRE_POSTGRES is set but EVIDENTIA_TEST_POSTGRES is not")
        pytest.skip("no PostgreSQL server for the tests (EVIDENTIA_TEST_POSTGRES)")
    return base


@pytest.mark.parametrize("mode", ["receipts", "batch"])
def test_a_postgres_log_appends_proves_and_verifies_like_a_folder(server: str, mode: str, tmp_path) -> None:
    url = server + mode
    key = evidentia.SigningKey.generate()
    with evidentia.Log.create(url, key, log_id=f"example.com/pg-{mode}", mode=mode) as log:
        assert (log.log_id, log.mode, len(log)) == (f"example.com/pg-{mode}", mode, 0)
        first = log.append({"n": 0}, nonce="order-0")
        # A second handle on the same log, as another instance of a service: both append.
        with evidentia.Log.open(url, key) as other:
            batch = other.append_batch([{"n": 1}, {"n": 2}], nonces=[None, "order-2"])
            assert len(other) == 3
            # A retried batch gives the same acknowledgement from either handle.
            assert log.append_batch([{"n": 2}], nonces=["order-2"], idempotent=True) == batch[1:]
            assert log.find_nonce("order-2") == 2
        log.append({"n": 3})
        assert len(log) == 4
        # A retried request: the same acknowledgement, no second record.
        assert log.append({"n": 0}, nonce="order-0", idempotent=True) == first
        with pytest.raises(evidentia.StorageError) as raised:
            log.append({"n": 99}, nonce="order-0")
        assert raised.value.code_name == "NONCE_IN_USE"
        assert log.find_nonce("order-0") == 0 and log.find_nonce("nope") is None
        checkpoint = log.checkpoint()
        assert checkpoint.startswith(f"example.com/pg-{mode}\n4\n")
        jwks = log.keys()
        for index in range(len(log)):
            evidentia.verify_inclusion(log.receipt(index), log.inclusion_proof(index), checkpoint, jwks)
        if mode == "receipts":
            assert log.receipt(0) == first
        assert json.loads(log.consistency_proof(1))["new_size"] == 4
        report = log.verify()
        assert report.valid and report.records == 4 and report.log_id == f"example.com/pg-{mode}"
        assert log.verify(jwks).valid
        # What only a folder log does yet is refused, with a message that says so.
        with pytest.raises(evidentia.UsageError) as raised:
            log.add_index_field("n")
        assert raised.value.code_name == "INVALID_ARGUMENT" and "PostgreSQL" in str(raised.value)
        # The URL carries a password: it is never shown.
        assert "superpw" not in repr(log) and f"example.com/pg-{mode}" in repr(log)
    with pytest.raises(evidentia.StorageError) as raised:
        evidentia.Log.create(url, key)
    assert raised.value.code_name == "LOG_EXISTS"
    with evidentia.Log.open(url) as reader:
        assert len(reader) == 4 and reader.verify().valid
        with pytest.raises(evidentia.KeyMaterialError):
            reader.append({"n": 5})
    # Keys rotate as in a folder: a key record and a checkpoint sealing it; the
    # retired key's records keep verifying, and the current key cannot revoke itself.
    new_key = evidentia.SigningKey.generate()
    with evidentia.Log.open(url, key) as log:
        log.rotate(new_key)
        log.append({"n": 5})
        assert len(log) == 6 and log.verify().valid
        assert log.checkpoint().startswith(f"example.com/pg-{mode}\n6\n")
        with pytest.raises(evidentia.UsageError) as raised:
            log.revoke(new_key.kid, "2020-01-01T00:00:00Z")
        assert raised.value.code_name == "INVALID_ARGUMENT" and "rotate" in str(raised.value)
        # An evidence package of a record before the rotation: it carries the key
        # record, and verifies on its own.
        archive = log.export_package(1, tmp_path / "package")
        report = evidentia.verify_package(archive)
        assert report["valid"] and report["record"]["seq"] == 1, report
        # Published as tlog-tiles, and read back with no database.
        log.checkpoint()
        published = evidentia.publish_log(url, tmp_path / "tiles")
        assert published["size"] == 6 and published["previous_size"] == 0, published
        assert evidentia.verify_publication(tmp_path / "tiles", log.keys()).records == 6
    with evidentia.Log.open(url, key) as log:
        with pytest.raises(evidentia.KeyMaterialError) as raised:
            log.append({"n": 6})
        assert raised.value.code_name == "KEY_NOT_CURRENT"
    # Salted by default (version 2): an event is erased in one transaction, a held
    # record is not, and every receipt and proof stays valid.
    with evidentia.Log.open(url, new_key) as log:
        salt, receipt = log.salt(5), log.receipt(5)
        assert isinstance(salt, bytes) and len(salt) == 16
        assert evidentia.verify_receipt(receipt, log.keys(), {"n": 5}, salt=salt).valid
        log.hold(5, "case 2026-17")
        assert [(h["seq"], h["reason"]) for h in log.holds()] == [(5, "case 2026-17")]
        with pytest.raises(evidentia.StorageError) as raised:
            log.erase(5, "GDPR Art. 17")
        assert raised.value.code_name == "ERASURE_REFUSED"
        assert log.release(5) is True and log.release(5) is False
        assert log.erase(5, "GDPR Art. 17 request 118")
        with pytest.raises(evidentia.StorageError) as raised:
            log.erase(5, "again")
        assert raised.value.code_name == "RECORD_ERASED"
        with pytest.raises(evidentia.StorageError) as raised:
            log.salt(5)
        assert raised.value.code_name == "RECORD_ERASED"
        report = log.verify()
        assert report.valid, report.to_text()
        assert json.loads(report.to_json())["erased"] == [
            {"by": 6, "index": 5, "reason": "GDPR Art. 17 request 118", "seq": 5}
        ]
        log.checkpoint()
        erased = evidentia.verify_package(log.export_package(5, tmp_path / "erased"))
        assert erased["valid"] and erased["erased"]["by"] == 6, erased
        assert evidentia.verify_receipt(receipt, log.keys(), {"n": 5}, salt=salt).valid
