"""A disputed payment, two years on.

The card issuer signs an authorization (PS256, with `cryptography`); the scheme's
service records it in a log with the issuer's keys as they were and where it got
them. The issuer then rotates its keys. Two years later a cardholder disputes the
payment: the service finds the record by its instruction id, checks the signature
again with the keys recorded with it (the issuer's current key set no longer has
that key), and hands over an evidence package that anyone can check with OpenSSL
alone.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

import evidentia


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def issuer_key(kid: str) -> tuple[rsa.RSAPrivateKey, dict]:
    """An RSA key of the issuer and its public JWK, as the issuer publishes it."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    numbers = key.public_key().public_numbers()
    n = numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
    e = numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")
    return key, {"kty": "RSA", "n": b64url(n), "e": b64url(e), "kid": kid, "alg": "PS256", "use": "sig"}


def sign_ps256(key: rsa.RSAPrivateKey, kid: str, claims: dict) -> str:
    """A compact JWS, PS256 (RSASSA-PSS, SHA-256, MGF1 SHA-256, 32-byte salt)."""
    header = b64url(json.dumps({"alg": "PS256", "kid": kid}).encode())
    payload = b64url(json.dumps(claims).encode())
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    signature = key.sign(f"{header}.{payload}".encode(), pss, hashes.SHA256())
    return f"{header}.{payload}.{b64url(signature)}"


def main() -> int:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    two_years_ago = now - timedelta(days=730)

    # The issuer's key of two years ago, and its published key set (JWKS) then.
    old_key, old_jwk = issuer_key("issuer-2024")
    jwks_then = {"keys": [old_jwk]}

    # The issuer authorizes a payment.
    authorization = {
        "instruction_id": "INS-2024-000042",
        "amount": "1250.00",
        "currency": "EUR",
        "payee": "Hotel Example",
        "decision": "approved",
        "iat": int(two_years_ago.timestamp()),
    }
    jws = sign_ps256(old_key, "issuer-2024", authorization)

    # The scheme's service records it, with the keys and where they came from.
    folder = Path(tempfile.mkdtemp(prefix="evidentia-dispute-"))
    log = evidentia.Log.create(
        folder / "authorizations",
        evidentia.SigningKey.generate(),
        log_id="scheme.example/authorizations",
        valid_from=iso(two_years_ago - timedelta(days=1)),
        index_fields=["instruction_id"],
    )
    ack = log.record_message(
        jws,
        jwks_then,
        direction="inbound",
        provenance={
            "jwks_url": "https://issuer.example/.well-known/jwks.json",
            "fetched_at": iso(two_years_ago - timedelta(hours=1)),
            "partner_id": "issuer.example",
            "established_by": "onboarding agreement 2023-117, key set fetched over TLS",
        },
        time=iso(two_years_ago),
    )
    print(f"recorded {iso(two_years_ago)}: {ack[:40]}…")

    # The issuer rotates its keys: its key set no longer has the old one.
    _, new_jwk = issuer_key("issuer-2026")
    jwks_now = {"keys": [new_jwk]}

    # Two years later, the dispute.
    found = log.find("instruction_id", "INS-2024-000042")
    if len(found) != 1:
        raise SystemExit(f"the authorization should be recorded once, found {found}")
    index = found[0]
    message = log.message(index)
    assert message is not None
    verification = message["verification"]
    print(f"found record {index}: {message['direction']} message, {verification['alg']}, key {verification['key_thumbprint']}")
    print(f"  payload: {json.dumps(message['payload'])}")
    print(f"  provenance: {json.dumps(message['provenance'])}")
    try:
        evidentia.verify_partner_jws(jws, jwks_now)
        raise SystemExit("the issuer's current keys should not verify the old authorization")
    except evidentia.EvidentiaError as error:
        print(f"with the issuer's current key set: {error.code_name}")
    checked = log.verify_message(index)
    print(f"checked again with the keys recorded: {checked['status']} (agrees with the result recorded: {checked['agrees']})")
    report = log.verify()
    print(f"the log: {report.summary}")

    # The evidence package, checked with OpenSSL alone.
    log.checkpoint()
    archive = log.export_package(index, folder / "package")
    print(f"exported {Path(archive).name}; sh verify.sh:")
    result = subprocess.run(["sh", "verify.sh"], cwd=folder / "package", capture_output=True, text=True)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    log.close()
    shutil.rmtree(folder)
    return 0 if checked["valid"] and report.valid and result.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
