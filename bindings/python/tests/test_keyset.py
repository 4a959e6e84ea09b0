"""KeySet: a JWKS parsed once, taken by every verification function in place of
its text, with the same results and the same errors."""

from __future__ import annotations

from pathlib import Path

import pytest

import evidentia


def test_a_key_set_verifies_what_its_text_verifies(tmp_path: Path) -> None:
    key = evidentia.SigningKey.generate()
    stranger = evidentia.KeySet.from_json(evidentia.SigningKey.generate().public_jwk())
    path = tmp_path / "log"
    # Records of version 1: the entries checked below carry each event as such a
    # record stores it, whole and unsalted.
    with evidentia.Log.create(path, key, log_id="example.com/keyset", record_version=1) as log:
        first = log.append({"n": 1})
        older = log.checkpoint()
        log.append({"n": 2})
        checkpoint = log.checkpoint()
        proof = log.inclusion_proof(0)
        consistency = log.consistency_proof(1)
        jwks = log.keys()
        keys = evidentia.KeySet.from_json(jwks)
        assert len(keys) == 1 and repr(keys) == "KeySet(keys=1)"
        assert evidentia.KeySet.from_json(keys.to_json()).to_json() == keys.to_json()
        for given in (jwks, keys):
            assert evidentia.verify_receipt(first, given, {"n": 1}).valid
            assert evidentia.verify_receipt(first, given, {"n": 9}).failure_codes == ["EVENT_MISMATCH"]
            assert evidentia.verify_jws(first, given).kid == key.kid
            assert evidentia.verify_checkpoint(checkpoint, given)["size"] == 2
            evidentia.verify_inclusion(first, proof, checkpoint, given)
            evidentia.verify_consistency(consistency, older, checkpoint, given)
            assert log.verify(given).valid
            assert evidentia.verify_log_entries([(first, b'{"n":1}')], given).valid
        # Keys that are not the log's give the same findings and errors as their text.
        theirs = evidentia.verify_receipt(first, stranger, {"n": 1})
        assert not theirs.valid
        assert theirs.failure_codes == evidentia.verify_receipt(first, stranger.to_json(), {"n": 1}).failure_codes
        with pytest.raises(evidentia.VerificationError) as raised:
            evidentia.verify_checkpoint(checkpoint, stranger)
        assert raised.value.code_name == "CHECKPOINT_SIGNATURE_INVALID"
        assert not log.verify(stranger).valid
    assert evidentia.verify_log(path, keys).valid
    assert not evidentia.verify_log(path, stranger).valid


def test_a_key_set_is_made_from_strict_jwks_text_only() -> None:
    with pytest.raises(evidentia.KeyMaterialError) as raised:
        evidentia.KeySet.from_json('{"keys":[1]}')
    assert raised.value.code_name == "KEY_SET_MALFORMED"
    with pytest.raises(evidentia.KeyMaterialError):
        evidentia.KeySet.from_json("{")
    with pytest.raises(TypeError):
        evidentia.KeySet.from_json(42)  # type: ignore[arg-type]
    receipt = evidentia.ReceiptChain("example.com/k").issue(evidentia.SigningKey.generate(), {"n": 1})
    for not_keys in (42, {}, b"{}", evidentia.SigningKey.generate(), None):
        with pytest.raises(TypeError, match="str or a KeySet"):
            evidentia.verify_receipt(receipt, not_keys)  # type: ignore[arg-type]
    # Text with a lone surrogate is refused as for any other text.
    with pytest.raises(evidentia.UsageError):
        evidentia.verify_receipt(receipt, "\ud800")
