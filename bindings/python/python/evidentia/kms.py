"""Keys held by a cloud KMS: signers for AWS KMS, Google Cloud KMS and Azure Key Vault.

Evidentia accepts any object with ``sign(message: bytes) -> bytes`` and
``public_jwk`` (JWK text or a dict) wherever it accepts a ``SigningKey``: logs,
receipt chains, rotation. The signature may be ASN.1 DER, as AWS KMS and Google
Cloud KMS return it, or the 64 bytes ``R || S``, as Azure Key Vault returns it.
Evidentia checks every signature against the public key before it stores
anything it signs, so a key service that answers with a wrong signature is refused
(``SIGNER_FAILED``): a chain, or a log in receipts mode, is unchanged; a log in
batch mode keeps the batch it stored, unsealed (``RECORDS_UNSEALED``), until a
working signer signs the next checkpoint. A key that cannot sign for its public
key is refused when a log is created with it or rotated to it.

The key must be an ECDSA P-256 key (AWS ``ECC_NIST_P256``, Google
``EC_SIGN_P256_SHA256``, Azure ``P-256``). The classes below only call the
client you pass, so this module needs none of the cloud SDKs. Signatures from a
KMS use random nonces: evidence verifies everywhere, but is not byte-identical
from run to run as it is with a ``SigningKey``.
"""

from __future__ import annotations

from typing import Any, Protocol, Union, runtime_checkable

from ._native import sha256

__all__ = ["AwsKmsSigner", "AzureKeyVaultSigner", "GoogleCloudKmsSigner", "Signer"]


@runtime_checkable
class Signer(Protocol):
    """What Evidentia calls to sign: ECDSA P-256 over SHA-256 of ``message``.

    ``sign`` runs while the log it signs for is held, and must not use that log
    (doing so raises ``UsageError`` rather than waiting for itself)."""

    @property
    def public_jwk(self) -> Union[str, dict]: ...

    def sign(self, message: bytes) -> bytes: ...


def _sha256(message: bytes) -> bytes:
    return bytes.fromhex(sha256(message).split(":", 1)[1])


class AwsKmsSigner:
    """An AWS KMS key through a boto3 ``kms`` client: ``Sign`` with
    ``MessageType="RAW"`` and ``ECDSA_SHA_256``, which returns DER."""

    def __init__(self, client: Any, key_id: str, public_jwk: Union[str, dict]) -> None:
        self._client, self._key_id, self.public_jwk = client, key_id, public_jwk

    def sign(self, message: bytes) -> bytes:
        answer = self._client.sign(
            KeyId=self._key_id, Message=message, MessageType="RAW", SigningAlgorithm="ECDSA_SHA_256"
        )
        return bytes(answer["Signature"])


class GoogleCloudKmsSigner:
    """A Google Cloud KMS key version through a ``KeyManagementServiceClient``:
    ``asymmetric_sign`` over the SHA-256 digest, which returns DER."""

    def __init__(self, client: Any, key_version_name: str, public_jwk: Union[str, dict]) -> None:
        self._client, self._name, self.public_jwk = client, key_version_name, public_jwk

    def sign(self, message: bytes) -> bytes:
        answer = self._client.asymmetric_sign(request={"name": self._name, "digest": {"sha256": _sha256(message)}})
        return bytes(answer.signature)


class AzureKeyVaultSigner:
    """An Azure Key Vault key through a ``CryptographyClient``: ``sign`` with
    ``ES256`` over the SHA-256 digest, which returns ``R || S``."""

    def __init__(self, client: Any, public_jwk: Union[str, dict]) -> None:
        self._client, self.public_jwk = client, public_jwk

    def sign(self, message: bytes) -> bytes:
        return bytes(self._client.sign("ES256", _sha256(message)).signature)
