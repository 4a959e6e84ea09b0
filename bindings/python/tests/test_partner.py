"""Signatures by other parties (SPEC.md §21): the shared vectors, tokens made by the
`cryptography` library for every partner algorithm, recorded and checked again,
and finding records by an indexed field."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any, Callable

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

import evidentia

VECTORS = Path(os.environ.get("EVIDENTIA_VECTORS", Path(__file__).resolve().parents[3] / "testvectors"))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_partner_vectors() -> None:
    doc = json.loads((VECTORS / "partner.json").read_text(encoding="utf-8"))
    keys = [json.dumps(jwk) for jwk in doc["keys"]]
    signatures = 0
    for case in doc["signatures"]:
        try:
            evidentia.verify_partner_signature(
                case["alg"], keys[case["key"]], bytes.fromhex(case["message"]), bytes.fromhex(case["signature"])
            )
            got = None
        except evidentia.EvidentiaError as e:
            got = e.code_name
        assert got == case["code"], case["source"]
        signatures += 1
    jws_cases = 0
    for case in doc["jws"]:
        payload = unb64url(case["payload"]) if "payload" in case else None
        try:
            verified = evidentia.verify_partner_jws(case["jws"], json.dumps(case["keys"]), payload)
            got = None
            if payload is not None:
                assert verified.payload == payload, case["source"]
        except evidentia.EvidentiaError as e:
            got = e.code_name
        assert got == case["code"], case["source"]
        jws_cases += 1
    assert signatures == len(doc["signatures"]) > 0
    assert jws_cases == len(doc["jws"]) > 0
    print(f"partner.json: {signatures} signature cases, {jws_cases} JWS cases")


def int_bytes(n: int, size: int | None = None) -> bytes:
    return n.to_bytes(size if size is not None else (n.bit_length() + 7) // 8, "big")


class Partner:
    """A key of another party, made and used by `cryptography`, and its public JWK."""

    def __init__(self, alg: str) -> None:
        self.alg = alg
        if alg.startswith("ES"):
            curve, self.hash, size, crv = {
                "ES256": (ec.SECP256R1(), hashes.SHA256(), 32, "P-256"),
                "ES384": (ec.SECP384R1(), hashes.SHA384(), 48, "P-384"),
                "ES512": (ec.SECP521R1(), hashes.SHA512(), 66, "P-521"),
            }[alg]
            self.ec_key = ec.generate_private_key(curve)
            numbers = self.ec_key.public_key().public_numbers()
            self.size = size
            self.jwk: dict[str, Any] = {
                "kty": "EC",
                "crv": crv,
                "x": b64url(int_bytes(numbers.x, size)),
                "y": b64url(int_bytes(numbers.y, size)),
            }
        elif alg == "EdDSA":
            self.ed_key = ed25519.Ed25519PrivateKey.generate()
            raw = self.ed_key.public_key().public_bytes_raw()
            self.jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw)}
        else:
            self.rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            numbers = self.rsa_key.public_key().public_numbers()
            self.jwk = {"kty": "RSA", "n": b64url(int_bytes(numbers.n)), "e": b64url(int_bytes(numbers.e))}
        self.jwk["kid"] = f"partner-{alg.lower()}"

    def sign(self, data: bytes) -> bytes:
        if self.alg.startswith("ES"):
            r, s = decode_dss_signature(self.ec_key.sign(data, ec.ECDSA(self.hash)))
            return int_bytes(r, self.size) + int_bytes(s, self.size)
        if self.alg == "EdDSA":
            return self.ed_key.sign(data)
        if self.alg == "RS256":
            return self.rsa_key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        digest: hashes.HashAlgorithm = hashes.SHA256() if self.alg == "PS256" else hashes.SHA384()
        pss = padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size)
        return self.rsa_key.sign(data, pss, digest)

    def jws(self, payload: dict[str, Any]) -> str:
        header = b64url(json.dumps({"alg": self.alg, "kid": self.jwk["kid"], "typ": "JWT"}).encode())
        body = b64url(json.dumps(payload).encode())
        return f"{header}.{body}.{b64url(self.sign(f'{header}.{body}'.encode()))}"


ALGORITHMS = ["ES256", "ES384", "ES512", "RS256", "PS256", "PS384", "EdDSA"]


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_tokens_of_the_ecosystem_record_and_verify(tmp_path: Path, alg: str) -> None:
    partner = Partner(alg)
    jwks = json.dumps({"keys": [partner.jwk]})
    payload = {"instruction_id": f"INS-{alg}", "amount": 4200}
    token = partner.jws(payload)

    verified = evidentia.verify_partner_jws(token, jwks)
    assert verified.alg == alg
    assert verified.kid == partner.jwk["kid"]
    assert verified.key_thumbprint == evidentia.jwk_thumbprint(json.dumps(partner.jwk))
    assert verified.header["alg"] == alg
    assert json.loads(verified.payload) == payload
    header, body, signature = token.split(".")
    evidentia.verify_partner_signature(alg, partner.jwk, f"{header}.{body}".encode(), unb64url(signature))

    with evidentia.Log.create(
        tmp_path / "log", evidentia.SigningKey.generate(), index_fields=["instruction_id"]
    ) as log:
        ack = log.record_message(token, jwks, provenance={"partner_id": "issuer", "jwks_url": "https://i.example/jwks"})
        assert ack.startswith("eyJ")
        assert log.find("instruction_id", f"INS-{alg}") == [0]
        checked = log.verify_message(0)
        assert checked["valid"] is True and checked["status"] == "VALID", checked
        assert checked["reverified"]["key_thumbprint"] == verified.key_thumbprint
        shown = log.message(0)
        assert shown is not None and shown["payload"] == payload and shown["direction"] == "inbound"
        report = log.verify()
        assert report.valid, report.to_text()

        # A token changed after signing is refused, and recorded only as failed.
        tampered = f"{header}.{b64url(json.dumps({**payload, 'amount': 1}).encode())}.{signature}"
        with pytest.raises(evidentia.VerificationError) as raised:
            evidentia.verify_partner_jws(tampered, jwks)
        assert raised.value.code_name == "SIGNATURE_INVALID"
        with pytest.raises(evidentia.VerificationError):
            log.record_message(tampered, jwks)
        assert len(log) == 1
        log.record_message(tampered, jwks, record_failure=True)
        failed = log.verify_message(1)
        assert failed["valid"] is False and failed["status"] == "INVALID (as recorded)"
        assert log.verify().valid


def test_messages_link_index_and_read(tmp_path: Path) -> None:
    partner = Partner("ES256")
    request = partner.jws({"instruction_id": "INS-1"})
    key = evidentia.SigningKey.generate()
    with evidentia.Log.create(tmp_path / "log", key, valid_from="2024-01-01T00:00:00Z") as log:
        log.record_message(request, partner.jwk, time="2024-01-02T03:04:05Z", nonce="req-1")
        log.append({"instruction_id": "INS-1", "note": "an ordinary event"})
        log.record_message(request, json.dumps(partner.jwk), direction="outbound", link=0)
        with pytest.raises(evidentia.StorageError) as raised:
            log.find("instruction_id", "INS-1")
        assert raised.value.code_name == "FIELD_NOT_INDEXED"
        log.add_index_field("instruction_id")
        assert log.find("instruction_id", "INS-1") == [0, 1, 2]
        assert log.find("instruction_id", "INS-2") == []
        first = log.message(0)
        assert first is not None and first["verification"]["verified_at"] == "2024-01-02T03:04:05Z"
        assert log.message(1) is None
        linked = log.message(2)
        assert linked is not None and linked["direction"] == "outbound" and linked["link"]["seq"] == 0
        with pytest.raises(evidentia.UsageError):
            log.verify_message(1)
        with pytest.raises(evidentia.EvidentiaError):
            log.record_message(request, partner.jwk, link=99)
        with pytest.raises(evidentia.UsageError):
            log.record_message(request, partner.jwk, direction="sideways")
        assert len(log) == 3
    assert evidentia.read_signed_message({"a": 1}) is None
    with pytest.raises(evidentia.RecordError) as malformed:
        evidentia.read_signed_message('{"evidentia_signed_message": {}}')
    assert malformed.value.code_name == "MESSAGE_MALFORMED"


@pytest.mark.parametrize(
    ("call", "code_name"),
    [
        (lambda: evidentia.verify_partner_signature("none", "{}", b"", b""), "JWS_UNSUPPORTED_ALGORITHM"),
        (lambda: evidentia.verify_partner_jws("a.b.c", "{}"), None),
        (lambda: evidentia.verify_partner_jws("x", '{"keys": []}'), None),
        (lambda: evidentia.verify_partner_signature("ES256", '{"kty":"EC"}', b"m", b"s"), "KEY_MALFORMED"),
        (lambda: evidentia.read_signed_message("not json"), None),
    ],
)
def test_garbage_raises_coded_errors(call: Callable[[], object], code_name: str | None) -> None:
    with pytest.raises(evidentia.EvidentiaError) as raised:
        call()
    if code_name is not None:
        assert raised.value.code_name == code_name
