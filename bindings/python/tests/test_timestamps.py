"""RFC 3161 trusted timestamps (SPEC.md §20): every case of the shared vectors
(testvectors/timestamps.json), requests for a log's checkpoint, and a response
from a local OpenSSL time-stamping authority attached to a log, which packages
exported afterwards carry."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

import evidentia

VECTORS = Path(os.environ.get("EVIDENTIA_VECTORS", Path(__file__).resolve().parents[3] / "testvectors"))


def load() -> Any:
    return json.loads((VECTORS / "timestamps.json").read_text(encoding="utf-8"))


def optional_bytes(text: str | None) -> bytes | None:
    return None if text is None else text.encode()


def test_verification_vectors() -> None:
    doc = load()
    for case in doc["cases"]:
        try:
            result = evidentia.verify_timestamp(
                bytes.fromhex(case["response_hex"]),
                bytes.fromhex(case["data_hex"]),
                case["roots"].encode(),
                intermediates=optional_bytes(case["intermediates"]),
                request=None if case["request_hex"] is None else bytes.fromhex(case["request_hex"]),
            )
            got = None
        except evidentia.EvidentiaError as e:
            got = e.code_name
            assert isinstance(e, evidentia.VerificationError), case["name"]
        assert got == case["code"], case["name"]
        if got is None:
            assert result == case["result"], case["name"]
    assert len(doc["cases"]) >= 10


def test_request_vectors() -> None:
    for case in load()["requests"]:
        data = bytes.fromhex(case["data_hex"])
        if case["code"] is not None:
            with pytest.raises(evidentia.UsageError) as raised:
                evidentia.timestamp_request(data, case["hash"])
            assert raised.value.code_name == case["code"]
            continue
        first = evidentia.timestamp_request(data, case["hash"])
        second = evidentia.timestamp_request(data, case["hash"])
        assert first[0] == 0x30 and bytes.fromhex(case["imprint_hex"]) in first
        assert first != second, "each request has its own nonce"
        # ... of a fixed length, so a buffer sized by one request fits the next.
        assert {len(evidentia.timestamp_request(data, case["hash"])) for _ in range(64)} == {len(first)}


def test_garbage_is_refused_with_typed_errors() -> None:
    case = load()["cases"][0]
    roots = case["roots"].encode()
    with pytest.raises(evidentia.ProofError) as raised:
        evidentia.verify_timestamp(b"\x30\x03\x02\x01", b"hello", roots)
    assert raised.value.code_name == "TIMESTAMP_MALFORMED"
    with pytest.raises(evidentia.ProofError) as raised:
        evidentia.verify_timestamp(bytes.fromhex(case["response_hex"]), b"hello", b"not a certificate")
    assert raised.value.code_name == "TIMESTAMP_MALFORMED"
    with pytest.raises(evidentia.ProofError):
        evidentia.verify_timestamp(bytes.fromhex(case["response_hex"]), b"hello", roots, request=b"\x00")
    with pytest.raises(TypeError):
        evidentia.verify_timestamp("text", b"hello", roots)  # type: ignore[arg-type]


class LocalTsa:
    """A time-stamping authority made with OpenSSL: a P-256 root and a TSA
    certificate with the critical timeStamping extended key usage."""

    def __init__(self, folder: Path) -> None:
        self.dir = folder
        folder.mkdir()
        (folder / "tsa.ext").write_text(
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
            "extendedKeyUsage=critical,timeStamping\n"
        )
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        self.openssl("req", "-x509", "-new", *ec, "-keyout", "root.key", "-out", "root.pem", "-days", "3650",
                     "-subj", "/CN=Evidentia test TSA root", "-addext", "basicConstraints=critical,CA:TRUE",
                     "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        self.openssl("req", "-new", *ec, "-keyout", "tsa.key", "-out", "tsa.csr", "-subj", "/CN=Evidentia test TSA")
        self.openssl("x509", "-req", "-in", "tsa.csr", "-CA", "root.pem", "-CAkey", "root.key", "-CAcreateserial",
                     "-days", "3000", "-out", "tsa.pem", "-extfile", "tsa.ext")
        (folder / "serial").write_text("01\n")
        (folder / "tsa.cnf").write_text(
            f"[ tsa ]\ndefault_tsa = tsa_config\n[ tsa_config ]\ndir = {folder}\nserial = $dir/serial\n"
            "signer_cert = $dir/tsa.pem\nsigner_key = $dir/tsa.key\nsigner_digest = sha256\n"
            "default_policy = 1.2.3.4.1\ndigests = sha256, sha384, sha512\naccuracy = secs:1\n"
            "ess_cert_id_alg = sha256\n"
        )
        self.root = (folder / "root.pem").read_bytes()

    def openssl(self, *args: str) -> None:
        subprocess.run(["openssl", *args], cwd=self.dir, check=True, capture_output=True)

    def reply(self, request: bytes) -> bytes:
        (self.dir / "request.tsq").write_bytes(request)
        self.openssl("ts", "-reply", "-config", "tsa.cnf", "-queryfile", "request.tsq", "-out", "response.tsr")
        return (self.dir / "response.tsr").read_bytes()


def test_a_log_checkpoint_is_stamped_and_its_package_carries_the_timestamp(tmp_path: Path) -> None:
    tsa = LocalTsa(tmp_path / "tsa")
    log = evidentia.Log.create(tmp_path / "log", evidentia.SigningKey.generate(), "example.com/stamped")
    for n in range(3):
        log.append({"n": n})
    note = log.checkpoint()
    request = evidentia.timestamp_request(note.encode(), "sha384")
    response = tsa.reply(request)

    verified = evidentia.verify_timestamp(response, note.encode(), tsa.root, request=request)
    assert verified["hash"] == "sha384" and verified["tsa"] == "CN=Evidentia test TSA"
    assert verified["chain"] == ["CN=Evidentia test TSA", "CN=Evidentia test TSA root"]
    root_der = subprocess.run(["openssl", "x509", "-outform", "DER"], input=tsa.root,
                              capture_output=True, check=True).stdout
    assert verified["root_sha256_fingerprint"] == ":".join(f"{b:02X}" for b in hashlib.sha256(root_der).digest())

    attached = log.attach_timestamp(response, tsa.root, request=request)
    assert attached == {**verified, "size": 3}
    archive = log.export_package(1, tmp_path / "package")
    assert archive.endswith(".tar.gz") and (tmp_path / "package" / "timestamp.tst").is_file()

    # A response for other data, or to another request, is refused and not stored.
    other = evidentia.timestamp_request(b"something else")
    with pytest.raises(evidentia.VerificationError) as raised:
        log.attach_timestamp(tsa.reply(other), tsa.root)
    assert raised.value.code_name == "TIMESTAMP_MISMATCH"
    with pytest.raises(evidentia.VerificationError) as raised:
        log.attach_timestamp(response, tsa.root, request=other)
    assert raised.value.code_name == "TIMESTAMP_MISMATCH"
    # The TSA's own certificate is not a root: a chain ends at a self-signed one.
    with pytest.raises(evidentia.VerificationError) as raised:
        log.attach_timestamp(response, (tsa.dir / "tsa.pem").read_bytes())
    assert raised.value.code_name == "TIMESTAMP_UNTRUSTED"
    # Trusting another root: untrusted.
    stranger = LocalTsa(tmp_path / "stranger")
    with pytest.raises(evidentia.VerificationError) as raised:
        log.attach_timestamp(response, stranger.root)
    assert raised.value.code_name == "TIMESTAMP_UNTRUSTED"
