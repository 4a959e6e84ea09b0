"""Evidentia: non-repudiation evidence that anyone can re-check years later.

RFC 8785 canonical JSON, deterministic ES256 receipts, hash-chained logs with
Merkle inclusion and consistency proofs and signed checkpoints, and verification
reports. All logic runs in Evidentia's Rust core; this package converts values.

JSON inputs are JSON text (``str`` or ``bytes``) or Python values (``dict``,
``list``, ``tuple``, ``str`` inside containers, ``int`` within ±(2**53 - 1),
finite ``float``, ``bool``, ``None``); anything else raises ``JsonError`` rather
than being changed. Other text (JWS, key sets, proofs, checkpoints, log ids) is
``str``; a ``str`` holding a lone surrogate, which UTF-8 cannot carry (as
``surrogateescape`` makes of bytes that are not UTF-8), raises ``UsageError``
(INVALID_ARGUMENT), as does a size or index (``int``) below 0 or above 2**64 - 1.
"""

from __future__ import annotations

from . import errors, kms
from ._native import (
    KeySet,
    Log,
    PartnerVerified,
    PolicyResult,
    ReceiptChain,
    Report,
    SigningKey,
    VerifiedJws,
    __version__,
    canonicalize,
    check_policy,
    digest,
    error_codes,
    jwk_thumbprint,
    metrics,
    publish_log,
    read_signed_message,
    sha256,
    timestamp_request,
    verify_checkpoint,
    verify_consistency,
    verify_consistency_proof,
    verify_evidence_file,
    verify_inclusion,
    verify_inclusion_proof,
    verify_jws,
    verify_log,
    verify_log_entries,
    verify_package,
    verify_partner_jws,
    verify_partner_signature,
    verify_publication,
    verify_receipt,
    verify_tlog_proof,
    verify_timestamp,
)
from .errors import (
    EvidentiaError,
    InternalError,
    JsonError,
    JwsError,
    KeyMaterialError,
    ProofError,
    RecordError,
    StorageError,
    UsageError,
    VerificationError,
)
from .kms import Signer

__all__ = [
    "KeySet",
    "Log",
    "PartnerVerified",
    "PolicyResult",
    "ReceiptChain",
    "Report",
    "Signer",
    "SigningKey",
    "VerifiedJws",
    "__version__",
    "canonicalize",
    "check_policy",
    "digest",
    "error_codes",
    "errors",
    "kms",
    "jwk_thumbprint",
    "metrics",
    "publish_log",
    "read_signed_message",
    "sha256",
    "timestamp_request",
    "verify_checkpoint",
    "verify_consistency",
    "verify_consistency_proof",
    "verify_evidence_file",
    "verify_inclusion",
    "verify_inclusion_proof",
    "verify_jws",
    "verify_log",
    "verify_log_entries",
    "verify_package",
    "verify_partner_jws",
    "verify_partner_signature",
    "verify_publication",
    "verify_receipt",
    "verify_tlog_proof",
    "verify_timestamp",
    "EvidentiaError",
    "InternalError",
    "JsonError",
    "JwsError",
    "KeyMaterialError",
    "ProofError",
    "RecordError",
    "StorageError",
    "UsageError",
    "VerificationError",
]
