"""Exceptions raised by Evidentia.

Every exception carries the stable numeric ``code`` of Evidentia's error table
(docs/ERRORS.md), its ``code_name`` (``"JSON_DUPLICATE_KEY"``) and its ``family``.
Verification failures — evidence that was checked and is invalid — raise
:class:`VerificationError`; everything else means the input could not be used.
"""

from __future__ import annotations

__all__ = [
    "EvidentiaError",
    "UsageError",
    "JsonError",
    "KeyMaterialError",
    "JwsError",
    "RecordError",
    "VerificationError",
    "StorageError",
    "ProofError",
    "InternalError",
]


class EvidentiaError(ValueError):
    """Base class of every Evidentia error."""

    code: int
    code_name: str
    family: str

    def __init__(self, message: str, code: int, code_name: str, family: str) -> None:
        super().__init__(message)
        self.code = code
        self.code_name = code_name
        self.family = family

    def __reduce__(self):  # keeps code and name through pickling (multiprocessing)
        return (type(self), (str(self), self.code, self.code_name, self.family))


class UsageError(EvidentiaError):
    """An argument is wrong (1xx)."""


class JsonError(EvidentiaError):
    """JSON that cannot be canonicalized: syntax, duplicate keys, lone surrogates, numbers that would change (2xx)."""


class KeyMaterialError(EvidentiaError):
    """A key or key set that cannot be read or used (3xx)."""


class JwsError(EvidentiaError):
    """A JWS that is not well-formed or uses unsupported features (4xx)."""


class RecordError(EvidentiaError):
    """A record, receipt, time or digest that is not well-formed (5xx)."""


class VerificationError(EvidentiaError):
    """Well-formed evidence that failed verification (6xx)."""


class StorageError(EvidentiaError):
    """A log on disk that cannot be read or written (7xx)."""


class ProofError(EvidentiaError):
    """A Merkle proof, checkpoint or batch receipt that is not well-formed (8xx)."""


class InternalError(EvidentiaError):
    """A defect in Evidentia (9xx). Please report it."""


_FAMILIES = {
    "Usage": UsageError,
    "Json": JsonError,
    "Key": KeyMaterialError,
    "Jws": JwsError,
    "Record": RecordError,
    "Verification": VerificationError,
    "Storage": StorageError,
    "Proof": ProofError,
    "Internal": InternalError,
}


def _from_code(code: int, code_name: str, family: str, message: str) -> EvidentiaError:
    """The exception for an error of the core (called by the native module)."""
    return _FAMILIES.get(family, EvidentiaError)(message, code, code_name, family)
