"""Keys held elsewhere: objects that sign, and the cloud KMS adapters."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import evidentia
from evidentia.kms import AwsKmsSigner, AzureKeyVaultSigner, GoogleCloudKmsSigner


def openssl_der_signature(pem: Path, message: bytes) -> bytes:
    """ECDSA P-256 / SHA-256 in DER, made by OpenSSL, not by Evidentia."""
    return subprocess.run(
        ["openssl", "dgst", "-sha256", "-sign", str(pem)], input=message, capture_output=True, check=True
    ).stdout


class StandInAwsKms:
    """Shaped like boto3's ``kms`` client; the key lives in a PEM file OpenSSL reads."""

    def __init__(self, pem: Path) -> None:
        self.pem, self.calls = pem, 0

    def sign(self, **request: Any) -> dict:
        assert (request["KeyId"], request["MessageType"], request["SigningAlgorithm"]) == (
            "alias/evidence",
            "RAW",
            "ECDSA_SHA_256",
        )
        self.calls += 1
        return {"KeyId": request["KeyId"], "Signature": openssl_der_signature(self.pem, request["Message"])}


@pytest.fixture
def kms_key(tmp_path: Path) -> tuple[evidentia.SigningKey, Path]:
    key = evidentia.SigningKey.generate()
    pem = tmp_path / "kms-key.pem"
    pem.write_text(key.to_pem())
    return key, pem


@pytest.mark.parametrize("mode", ["receipts", "batch"])
def test_a_log_signs_through_a_kms_that_returns_der(tmp_path: Path, kms_key: Any, mode: str) -> None:
    key, pem = kms_key
    client = StandInAwsKms(pem)
    signer = AwsKmsSigner(client, "alias/evidence", key.public_jwk())
    assert isinstance(signer, evidentia.Signer)
    path = tmp_path / "log"
    with evidentia.Log.create(path, signer, mode=mode) as log:
        receipts = [log.append({"n": n}) for n in range(3)]
        receipts += log.append_batch([{"n": 3}, {"n": 4}])
        salts = [log.salt(n) for n in range(5)]
        log.checkpoint()
        assert '"kid":"%s"' % key.kid in log.keys()
    assert evidentia.verify_log(path).valid
    if mode == "receipts":
        keys = (path / "keys.jwks").read_text()
        for n, receipt in enumerate(receipts):
            assert evidentia.verify_receipt(receipt, keys, {"n": n}, salt=salts[n]).valid
    # One check of the key at creation; then one signature per record and one for the
    # checkpoint in receipts mode, one per batch in batch mode (which seals as it goes).
    assert client.calls == (1 + 5 + 1 if mode == "receipts" else 1 + 4)
    with evidentia.Log.open(path, signer) as log:
        log.append({"n": 5})
        assert len(log) == 6


def test_a_chain_signs_through_a_callback_and_checks_each_signature(kms_key: Any) -> None:
    key, pem = kms_key
    jwks = '{"keys":[%s]}' % key.public_jwk()

    class Signer:
        public_jwk = key.public_jwk()

        def sign(self, message: bytes) -> bytes:
            return openssl_der_signature(pem, message)

    chain = evidentia.ReceiptChain("app.example/kms")
    first = chain.issue(Signer(), {"n": 1})
    assert evidentia.verify_receipt(first, jwks, {"n": 1}).valid

    other = evidentia.SigningKey.generate()
    other_pem = pem.with_name("other.pem")
    other_pem.write_text(other.to_pem())

    class Wrong:
        public_jwk = json.loads(key.public_jwk())

        def __init__(self, answer: Any) -> None:
            self.answer = answer

        def sign(self, message: bytes) -> bytes:
            return self.answer(message)

    def raising(_: bytes) -> bytes:
        raise RuntimeError("the KMS refused: AccessDeniedException")

    for name, answer in [
        ("another key", lambda m: openssl_der_signature(other_pem, m)),
        ("another message", lambda m: openssl_der_signature(pem, m + b"!")),
        ("garbage", lambda m: b"\x30\x02\x01"),
        ("not bytes", lambda m: 42),
        ("raises", raising),
    ]:
        with pytest.raises(evidentia.KeyMaterialError) as raised:
            chain.issue(Wrong(answer), {"n": 2})
        assert raised.value.code_name == "SIGNER_FAILED", name
    assert "AccessDeniedException" in str(raised.value)
    assert len(chain) == 1, "no failure advanced the chain"
    second = chain.issue(Signer(), {"n": 2})
    assert evidentia.verify_log_entries(
        [(first, evidentia.canonicalize({"n": 1})), (second, evidentia.canonicalize({"n": 2}))], jwks
    ).valid


def test_a_wrong_signature_writes_nothing_to_the_log(tmp_path: Path, kms_key: Any) -> None:
    key, pem = kms_key
    path = tmp_path / "log"
    good = AwsKmsSigner(StandInAwsKms(pem), "alias/evidence", key.public_jwk())
    with evidentia.Log.create(path, good) as log:
        log.append({"n": 0})
    other = evidentia.SigningKey.generate()
    other_pem = tmp_path / "other.pem"
    other_pem.write_text(other.to_pem())
    lying = AwsKmsSigner(StandInAwsKms(other_pem), "alias/evidence", key.public_jwk())
    with evidentia.Log.open(path, lying) as log:
        with pytest.raises(evidentia.KeyMaterialError) as raised:
            log.append({"n": 1})
        assert raised.value.code_name == "SIGNER_FAILED"
        assert len(log) == 1
    with evidentia.Log.open(path, good) as log:
        assert log.append({"n": 1})
        assert len(log) == 2
    assert evidentia.verify_log(path).valid


def test_what_is_not_a_signer_is_refused(kms_key: Any) -> None:
    chain = evidentia.ReceiptChain("app.example/kms")
    for not_signer in ["key text", object(), type("NoKey", (), {"sign": lambda self, m: b""})()]:
        with pytest.raises(TypeError):
            chain.issue(not_signer, {"n": 1})  # type: ignore[arg-type]

    class P384:
        public_jwk = '{"kty":"EC","crv":"P-384","x":"AA","y":"AA"}'

        def sign(self, message: bytes) -> bytes:
            return b""

    with pytest.raises(evidentia.KeyMaterialError):
        chain.issue(P384(), {"n": 1})
    assert len(chain) == 0


def openssl_der_signature_of_digest(pem: Path, digest: bytes) -> bytes:
    """ECDSA P-256 over a SHA-256 digest already made, in DER, by OpenSSL."""
    return subprocess.run(
        ["openssl", "pkeyutl", "-sign", "-inkey", str(pem)], input=digest, capture_output=True, check=True
    ).stdout


def der_to_raw(der: bytes) -> bytes:
    """R || S from a DER ECDSA signature (SEQUENCE of two INTEGERs)."""
    r_len = der[3]
    r, s = der[4 : 4 + r_len], der[6 + r_len :]
    return r[-32:].rjust(32, b"\0") + s[-32:].rjust(32, b"\0")


class Answer:
    def __init__(self, signature: bytes) -> None:
        self.signature = signature


class StandInGoogleKms:
    """Shaped like google-cloud-kms's ``KeyManagementServiceClient``."""

    def __init__(self, pem: Path) -> None:
        self.pem = pem

    def asymmetric_sign(self, request: dict) -> Answer:
        assert request["name"].endswith("/cryptoKeyVersions/1")
        return Answer(openssl_der_signature_of_digest(self.pem, request["digest"]["sha256"]))


class StandInAzureKeyVault:
    """Shaped like azure-keyvault-keys' ``CryptographyClient``: answers R || S."""

    def __init__(self, pem: Path) -> None:
        self.pem = pem

    def sign(self, algorithm: str, digest: bytes) -> Answer:
        assert algorithm == "ES256" and len(digest) == 32
        return Answer(der_to_raw(openssl_der_signature_of_digest(self.pem, digest)))


def test_google_and_azure_adapters_sign_the_digest(kms_key: Any) -> None:
    key, pem = kms_key
    jwks = '{"keys":[%s]}' % key.public_jwk()
    name = "projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1"
    google = GoogleCloudKmsSigner(StandInGoogleKms(pem), name, key.public_jwk())
    azure = AzureKeyVaultSigner(StandInAzureKeyVault(pem), key.public_jwk())
    assert len(azure.sign(b"m")) == 64 and len(google.sign(b"m")) > 64
    chain = evidentia.ReceiptChain("app.example/clouds")
    for n, signer in enumerate([google, azure]):
        receipt = chain.issue(signer, {"n": n})
        assert evidentia.verify_receipt(receipt, jwks, {"n": n}).valid


class SlowSigner:
    """A signer that waits on the network (time.sleep releases the GIL, as I/O does)."""

    def __init__(self, key: evidentia.SigningKey, pem: Path) -> None:
        self.public_jwk, self.pem = key.public_jwk(), pem

    def sign(self, message: bytes) -> bytes:
        time.sleep(0.05)
        return openssl_der_signature(self.pem, message)


def run_threads(*targets: Any) -> None:
    """Runs the targets at once; a deadlock fails the test instead of hanging it."""
    errors: list[BaseException] = []

    def guarded(target: Any) -> None:
        try:
            target()
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=guarded, args=(t,), daemon=True) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "deadlock: a thread never finished"
    assert not errors, errors


def test_threads_share_a_chain_and_a_log_while_a_python_signer_signs(tmp_path: Path, kms_key: Any) -> None:
    key, pem = kms_key
    signer = SlowSigner(key, pem)
    chain = evidentia.ReceiptChain("app.example/threads")
    run_threads(*[lambda: [chain.issue(signer, {"n": n}) for n in range(3)] for _ in range(2)], lambda: len(chain))
    assert len(chain) == 6
    with evidentia.Log.create(tmp_path / "log", signer) as log:
        log.append({"n": 0})

        def reads() -> None:
            for _ in range(5):
                assert log.receipt(0) and len(log) >= 1 and log.keys() and log.log_id
                assert log.find_nonce("absent") is None

        run_threads(lambda: [log.append({"n": n}) for n in range(1, 4)], reads)
        assert len(log) == 4
    assert evidentia.verify_log(tmp_path / "log").valid
