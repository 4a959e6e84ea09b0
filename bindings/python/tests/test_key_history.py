"""Revoking a retired key (SPEC.md §23): a key record the log proves, checked by
verification, with an edited keys.jwks caught."""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

import evidentia


def rfc3339(seconds: float) -> str:
    """A NumericDate as RFC 3339 UTC, rounded up to the second."""
    return datetime.fromtimestamp(math.ceil(seconds), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def key_entry(jwks: str, kid: str) -> dict[str, Any]:
    return next(k for k in json.loads(jwks)["keys"] if k["kid"] == kid)


def rotated(path: Path, mode: str = "receipts") -> tuple[evidentia.Log, evidentia.SigningKey, evidentia.SigningKey]:
    """A log whose first key, which signed one record, was retired for a second."""
    old, new = evidentia.SigningKey.generate(), evidentia.SigningKey.generate()
    log = evidentia.Log.create(path, old, mode=mode)
    log.append({"n": 1})
    log.rotate(new)
    log.append({"n": 2})
    return log, old, new


@pytest.mark.parametrize("mode", ["receipts", "batch"])
def test_a_retired_key_revoked_after_its_last_record_leaves_the_log_valid(tmp_path: Path, mode: str) -> None:
    path = tmp_path / "log"
    log, old, new = rotated(path, mode)
    with log:
        retired = rfc3339(key_entry(log.keys(), old.kid)["exp"])
        length = len(log)
        log.revoke(old.kid, retired, reason="keyCompromise")
        assert len(log) == length + 1
        log.append({"n": 3})
        revoked = key_entry(log.keys(), old.kid)["revoked"]
        assert revoked["reason"] == "keyCompromise"
        assert rfc3339(revoked["revoked_at"]) == retired
        assert "revoked" not in key_entry(log.keys(), new.kid)
        report = log.verify()
        assert report.valid, report.failure_codes
    on_disk = key_entry((path / "keys.jwks").read_text(), old.kid)["revoked"]
    assert on_disk["reason"] == "keyCompromise"
    assert evidentia.verify_log(path).valid
    # Reopened with the current key, the revocation stays and cannot be made twice.
    with evidentia.Log.open(path, new) as log:
        with pytest.raises(evidentia.UsageError) as raised:
            log.revoke(old.kid, retired)
        assert raised.value.code_name == "INVALID_ARGUMENT"


def test_a_key_revoked_before_its_records_makes_them_fail(tmp_path: Path) -> None:
    path = tmp_path / "log"
    log, old, _ = rotated(path)
    with log:
        log.revoke(old.kid, "2000-01-01T00:00:00Z")
        assert "reason" not in key_entry(log.keys(), old.kid)["revoked"]
        report = log.verify()
    assert not report.valid
    assert "KEY_REVOKED" in report.failure_codes
    assert "KEY_HISTORY_MISMATCH" not in report.failure_codes
    assert "KEY_REVOKED" in evidentia.verify_log(path).failure_codes


def test_revocations_that_cannot_be_made_raise_typed_errors(tmp_path: Path) -> None:
    path = tmp_path / "log"
    key, other = evidentia.SigningKey.generate(), evidentia.SigningKey.generate()
    at = "2026-01-01T00:00:00Z"
    with evidentia.Log.create(path, key) as log:
        log.append({"n": 1})
        length = len(log)
        with pytest.raises(evidentia.UsageError) as raised:
            log.revoke(key.kid, at)
        assert raised.value.code_name == "INVALID_ARGUMENT" and raised.value.family == "Usage"
        assert "rotate" in str(raised.value)
        log.rotate(other)
        with pytest.raises(evidentia.VerificationError) as unknown:
            log.revoke(evidentia.SigningKey.generate().kid, at)
        assert unknown.value.code_name == "KEY_NOT_FOUND"
        for reason in ["", "x" * 1025]:
            with pytest.raises(evidentia.UsageError) as raised:
                log.revoke(key.kid, at, reason=reason)
            assert raised.value.code_name == "INVALID_ARGUMENT"
        with pytest.raises(evidentia.RecordError) as not_a_time:
            log.revoke(key.kid, "yesterday")
        assert not_a_time.value.code_name == "TIME_INVALID"
        with pytest.raises(evidentia.UsageError) as raised:
            log.revoke(key.kid, at, reason="\ud800")
        assert raised.value.code_name == "INVALID_ARGUMENT"
        with pytest.raises(TypeError):
            log.revoke(key.kid, 1_700_000_000)  # type: ignore[arg-type]
        assert len(log) == length + 1  # the rotation's key record only
    # Opened without a key, the log cannot sign a revocation; closed, it is refused.
    with evidentia.Log.open(path) as reader:
        with pytest.raises(evidentia.KeyMaterialError) as no_key:
            reader.revoke(key.kid, at)
        assert no_key.value.code_name == "KEY_NOT_PRIVATE"
    with pytest.raises(evidentia.UsageError) as raised:
        reader.revoke(key.kid, at)
    assert raised.value.code_name == "INVALID_HANDLE"


def test_a_keys_jwks_without_the_revocation_is_caught(tmp_path: Path) -> None:
    path = tmp_path / "log"
    log, old, _ = rotated(path)
    with log:
        log.revoke(old.kid, rfc3339(key_entry(log.keys(), old.kid)["exp"]), reason="keyCompromise")
    honest = (path / "keys.jwks").read_text()
    edited = json.loads(honest)
    for key in edited["keys"]:
        key.pop("revoked", None)
    (path / "keys.jwks").write_text(json.dumps(edited, separators=(",", ":")))
    report = evidentia.verify_log(path)
    assert not report.valid
    assert report.failure_codes == ["KEY_HISTORY_MISMATCH"]
    (path / "keys.jwks").write_text(honest)
    assert evidentia.verify_log(path).valid
